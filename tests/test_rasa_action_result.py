"""The fast check of action-server responses (bot/rasa_action_result.py) accepts only what Rasa's schema accepts."""

from __future__ import annotations

import itertools
from typing import Any, List

import pytest
from jsonschema import Draft202012Validator, validators

from bot.rasa_action_result import _FREE, plainly_valid

EVENTS: List[Any] = [
    {"event": "slot", "name": "kb_entry", "value": None}, {"event": "slot", "name": "x"}, {"event": "slot", "value": 1},
    {"event": "slot", "name": 5, "value": 1}, {"event": "slot", "name": "x", "value": [1], "timestamp": 1},
    {"event": "slot", "name": "x", "value": 1, "timestamp": True}, {"event": "slot", "name": "x", "value": 1,
                                                                    "timestamp": "now"},
    {"event": "active_loop", "name": "order_form", "metadata": {}}, {"event": "followup", "metadata": []},
    {"event": "bot", "text": "hi", "timestamp": None, "metadata": None}, {"event": "no_such_event"}, {"event": 5},
    {"name": "x"}, 5, None, "slot", {"event": "user", "text": "hi", "parse_data": {"intent": "not an object"}},
    {"event": "user", "text": "hi"}, {"event": "action", "name": "a", "hide_rule_turn": "yes"},
    {"event": "entities", "entities": []}, {"event": "entities"},
] + [{"event": kind} for kind in sorted(_FREE)]
RESPONSES: List[Any] = [[], [{"text": "hi"}], [{"response": "utter_x"}, "not an object"], {"text": "x"}, None]


def _schema_valid(result: Any) -> bool:
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    return bool(validators.validator_for(schema, default=Draft202012Validator)(schema).is_valid(result))


def _results() -> List[Any]:
    out: List[Any] = [None, [], "x", {}, {"events": "x"}, {"events": None}, {"other": 1}]
    for event, responses in itertools.product(EVENTS, RESPONSES):
        out.append({"events": [event], "responses": responses})
    out.append({"events": [EVENTS[0], EVENTS[7]]})
    out.append({"events": [EVENTS[0], EVENTS[16]]})
    out.append({"events": (EVENTS[0],)})
    return out


@pytest.mark.parametrize("result", _results())
def test_what_the_fast_check_accepts_the_schema_accepts(result: Any) -> None:
    if plainly_valid(result):
        assert _schema_valid(result), result


def test_the_common_responses_need_no_jsonschema() -> None:
    cases: List[Any] = [
        {}, {"events": [], "responses": []},
        {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": None}],
         "responses": [{"text": "hi", "buttons": []}]},
        {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "x"}]},
    ]
    for result in cases:
        assert plainly_valid(result) and _schema_valid(result)
