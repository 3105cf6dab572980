"""Hostile-input suite (issue 15): one test per attack, against the real stack."""
