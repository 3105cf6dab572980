"""The `pending_offer` slot: recording an offer made in this turn, and reading it back in the next one.

Why apart from `offers.py`: the answer path (`product.py`) records offers, and the yes/no action (`offers.py`)
gives what was offered, which may be an answer of the answer path; both use this slot and neither imports the
other's way back.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

__all__ = ["OFFER_SLOT", "KINDS", "from_previous_turn", "make_offer", "pending_offer", "user_turns"]

OFFER_SLOT = "pending_offer"
KINDS = ("answer", "entry", "flow", "feedback")


def user_turns(tracker: Tracker) -> int:
    """How many messages the user has sent in this conversation (the current one included)."""
    return sum(1 for e in tracker.events if e.get("event") == "user")


def make_offer(tracker: Tracker, kind: str, **data: Any) -> Dict[Text, Any]:
    """The event that records an offer made in this turn (`kind` in KINDS; `data` is what yes needs)."""
    if kind not in KINDS:
        raise ValueError(f"offer kind {kind!r} is not one of {', '.join(KINDS)}")
    event: Dict[Text, Any] = SlotSet(OFFER_SLOT, {"kind": kind, "turn": user_turns(tracker), **data})
    return event


def from_previous_turn(tracker: Tracker, slot: str) -> Optional[Dict[str, Any]]:
    """A dict slot recorded with its user turn (`{"turn": n, …}`), when that turn was the user's previous one."""
    value = tracker.get_slot(slot)
    if not isinstance(value, dict) or value.get("turn") != user_turns(tracker) - 1:
        return None
    return value


def pending_offer(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The offer made in the bot's previous turn, or None (none made, or made earlier than that)."""
    offer = from_previous_turn(tracker, OFFER_SLOT)
    return offer if offer is not None and offer.get("kind") in KINDS else None
