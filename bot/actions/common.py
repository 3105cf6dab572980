"""Helpers the custom actions share: the user's language, dates in that language, reading tracker events."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Text

from rasa_sdk import Tracker

from bot.dates import format_date  # re-exported: the actions take it from here (it lives below bot.memory too)
from bot.language import detect_language

__all__ = ["user_language", "format_date", "turns", "bot_responses"]

_TURN_BOUNDARIES = ("restart", "session_started")


def user_language(tracker: Tracker) -> str:
    """The conversation's language: the `language` slot, else the latest message's language, else English."""
    slot = tracker.get_slot("language")
    if slot in ("zh", "en"):
        return str(slot)
    return detect_language(tracker.latest_message.get("text") or "") or "en"


def turns(events: Iterable[Dict[Text, Any]]) -> List[List[Dict[Text, Any]]]:
    """Split the events since the last restart or session start into turns, each starting with a user event."""
    result: List[List[Dict[Text, Any]]] = []
    for event in events:
        kind = event.get("event")
        if kind in _TURN_BOUNDARIES:
            result = []
        elif kind == "user":
            result.append([event])
        elif result:
            result[-1].append(event)
    return result


def bot_responses(events: Iterable[Dict[Text, Any]]) -> List[Text]:
    """Names of the domain responses the bot sent in `events` (from the `utter_action` metadata)."""
    names = []
    for event in events:
        if event.get("event") == "bot":
            name = (event.get("metadata") or {}).get("utter_action")
            if name:
                names.append(name)
    return names
