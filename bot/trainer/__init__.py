"""Trainer tools: `bot validate`, `bot lint`, the review inbox (`bot review`), reports (`bot report`, `bot test`)."""
