"""Canyu (参与感): a bilingual customer-service assistant on Rasa 3.6."""

__version__ = "0.1.0"
