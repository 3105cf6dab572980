"""Custom actions served by the rasa_sdk action server (`rasa run actions --actions bot.actions`)."""
from bot.actions import _metrics  # noqa: F401  (counts every action run: bot/actions/_metrics.py)
