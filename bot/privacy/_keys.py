"""Redis key names the inventory's finders read beyond their own patterns.

Shared keys are named here so that the CLI does not import Rasa or the stores' packages; tests check them against
their owners.
"""

from __future__ import annotations

__all__ = ["EVENTS_STREAM", "RATINGS_STREAM", "REVIEW_ITEMS", "REVIEW_OPEN", "REVIEW_ANSWERS", "FOLLOWUPS_DUE",
           "FANS", "FEEDBACK", "FAN_ANSWERS"]

EVENTS_STREAM = "canyu:events"  # bot/event_broker.py
RATINGS_STREAM = "canyu:analytics:ratings"  # bot/analytics/_records.py
REVIEW_ITEMS = "canyu:review:items"  # bot/trainer/inbox.py
REVIEW_OPEN = "canyu:review:open"  # bot/trainer/inbox.py
REVIEW_ANSWERS = "canyu:review:answers"  # bot/trainer/inbox.py
FOLLOWUPS_DUE = "canyu:followups:due"  # bot/followups/_store.py (members `{id}|{sender}`)
FANS = "canyu:fans:"  # prefix, bot/fans
FEEDBACK = "canyu:feedback:"  # prefix, bot/feedback
FAN_ANSWERS = "canyu:fan_answers:"  # prefix, bot/fan_answers
