"""Reading a feedback turn and answering it in the language of the message (the feedback, fan and memory actions).

Why apart from `feedback.py`: the actions around feedback (`feedback_news.py`, `feedback_fans.py`, `fan_answers.py`,
`memory.py`) read the turn and speak the same way; they take these helpers from here, below `feedback.py`, which
itself uses `feedback_news.py` after a filing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import tracker_language

if TYPE_CHECKING:
    from redis import Redis

    from bot.feedback import FeedbackStore

__all__ = ["_ID_IN_TEXT", "_slot_language", "_language", "_say", "_text", "_entity", "_phrase", "_feedback_store",
           "_id_from"]

_ID_IN_TEXT = re.compile(r"\b(?:fb|FB|Fb)\s*-?\s*(\d{1,7})\b|#(\d{1,7})\b")


def _slot_language(tracker: Tracker) -> str:
    return "zh" if tracker.get_slot("language") == "zh" else "en"


def _language(tracker: Tracker) -> str:
    """The language of this message (a payload or "👍" has none: then the conversation's): `tracker_language`
    on the text without feedback ids ("+1 FB12" says nothing about the language)."""
    return tracker_language(tracker, _ID_IN_TEXT.sub(" ", _text(tracker)))


def _say(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], name: str, language: str,
         buttons: Optional[List[Dict[str, str]]] = None, **values: Any) -> None:
    """Utter response `name` in `language` (rendered here when the slot says otherwise)."""
    if language == _slot_language(tracker):
        dispatcher.utter_message(response=name, buttons=buttons or [], **values)
    else:
        dispatcher.utter_message(text=_phrase(domain, name, language, **values), buttons=buttons or [])


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None


def _phrase(domain: Dict[Text, Any], name: str, language: str, **values: Any) -> str:
    """A response from the domain as plain text (for button titles and nested phrases)."""
    for variation in (domain.get("responses") or {}).get(name, []):
        for cond in variation.get("condition") or []:
            if cond.get("name") == "language" and cond.get("value") == language:
                text: str = variation.get("text", "")
                try:
                    return text.format(**values)
                except (KeyError, IndexError):
                    return text
    return name


def _feedback_store(redis: "Redis[str]") -> "FeedbackStore":
    from bot.feedback import FeedbackStore

    return FeedbackStore(redis)


def _id_from(tracker: Tracker) -> Optional[str]:
    from bot.feedback import normalize_id

    raw = _entity(tracker, "feedback_id")
    if raw:
        return raw.strip().lower() if raw.strip().lower().startswith("new") else normalize_id(raw)
    match = _ID_IN_TEXT.search(_text(tracker))
    return f"FB{int(match.group(1) or match.group(2))}" if match else None
