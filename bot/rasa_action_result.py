"""A fast, exact check of the common action-server responses, before Rasa's jsonschema (compiled-validation).

Why: validating every response against Rasa's response schema with a compiled jsonschema validator still cost ~2%
of Rasa's CPU at c=16 (bench/profile_rasa.py): the schema's `oneOf` tries all 23 event kinds for every event.

`plainly_valid(result)` is True only for a response that Rasa's schema accepts: `events` a list of objects whose
`event` names a kind the schema constrains no further (or `slot` with a string `name` and a `value`), each with
a number or null `timestamp` and an object or null `metadata` when present; `responses` a list of objects.
Anything else (`user`, `action` and `entities` events, a malformed response) answers False, and jsonschema
decides, with Rasa's error message.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plainly_valid"]

_FREE = frozenset({"user_featurization", "cancel_reminder", "reminder", "action_execution_rejected", "form_validation",
                   "loop_interrupted", "form", "active_loop", "reset_slots", "resume", "pause", "followup",
                   "export", "restart", "undo", "rewind", "bot", "session_started", "agent"})
"""The event kinds whose branch of the schema's `oneOf` has only the `event` constant."""


def _number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _plain_event(event: Any) -> bool:
    if type(event) is not dict:
        return False
    kind = event.get("event")
    if type(kind) is not str:
        return False
    if "timestamp" in event and not _number_or_none(event["timestamp"]):
        return False
    if "metadata" in event and not (event["metadata"] is None or type(event["metadata"]) is dict):
        return False
    if kind == "slot":
        return type(event.get("name")) is str and "value" in event
    return kind in _FREE


def plainly_valid(result: Any) -> bool:
    """True only for a response Rasa's schema accepts (see the module docstring); False: ask jsonschema."""
    if type(result) is not dict:
        return False
    events = result.get("events", [])
    responses = result.get("responses", [])
    return (type(events) is list and type(responses) is list and all(type(r) is dict for r in responses)
            and all(_plain_event(e) for e in events))
