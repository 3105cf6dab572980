"""Helpers the custom actions share: the user's language, dates in that language, reading tracker events."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Text

from rasa_sdk import Tracker

from bot.dates import format_date  # re-exported: the actions take it from here (it lives below bot.memory too)
from bot.language import user_language

__all__ = ["tracker_language", "platform_language", "format_date", "turns", "bot_responses", "ran_this_turn", "this_turn"]

_TURN_BOUNDARIES = ("restart", "session_started")


def platform_language(metadata: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The platform's hint in a message's metadata (Telegram's `language_code`), else None."""
    telegram = (metadata or {}).get("telegram")
    code = telegram.get("language_code") if isinstance(telegram, Mapping) else None
    return str(code) if code else None


def tracker_language(tracker: Tracker, text: Optional[str] = None) -> str:
    """The language to answer in: `bot.language.user_language` (the one decision, precedence documented there)
    on the latest message (or `text`, e.g. with ids removed), the `language` slot, the platform and the channel."""
    message = tracker.latest_message or {}
    return user_language(message.get("text") or "" if text is None else text,
                         conversation=tracker.get_slot("language"), platform=platform_language(message.get("metadata")),
                         sender_id=tracker.sender_id or "")


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


def this_turn(tracker: Tracker, test: Callable[[Dict[Text, Any]], bool]) -> bool:
    """Whether an event since the user's latest message passes `test`."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if test(event):
            return True
    return False


def ran_this_turn(tracker: Tracker, action: Text) -> bool:
    """Whether `action` already ran since the user's latest message (it handed the turn on)."""
    return this_turn(tracker, lambda e: e.get("event") == "action" and e.get("name") == action)
