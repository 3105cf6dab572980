"""The policies' states from a replay kept per turn (bot/rasa_past_states.py) are Rasa's: the same states, the same
sub-states shared between them, after every event of conversations with rule-only turns, forms, follow-ups,
rewinds and restarts, with every combination of Rasa's arguments."""

from __future__ import annotations

import copy
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from bot import rasa_patches

DOMAIN = {
    "intents": ["greet", "order_status", "inform", "bye"],
    "entities": ["order_number", "product"],
    "slots": {
        "order_number": {"type": "text", "mappings": [{"type": "from_entity", "entity": "order_number"}]},
        "kb_entry": {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]},
        "verified": {"type": "bool", "mappings": [{"type": "custom"}]},
        "tier": {"type": "categorical", "values": ["gold", "plain"], "mappings": [{"type": "custom"}]},
    },
    "forms": {"order_form": {"required_slots": ["order_number"]}},
    "actions": ["action_answer", "validate_order_form"],
    "responses": {"utter_greet": [{"text": "hi"}], "utter_ask_order_number": [{"text": "number?"}]},
}
RULE_ONLY = {"rule_only_slots": ["verified"], "rule_only_loops": ["order_form"]}
ARGS = [(omit, ignore, data) for omit in (False, True) for ignore in (False, True) for data in (None, RULE_ONLY)]


def _domain() -> Any:
    from rasa.shared.core.domain import Domain

    return Domain.from_dict(copy.deepcopy(DOMAIN))


def _conversation() -> Iterator[Any]:
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        BotUttered,
        FollowupAction,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUtteranceReverted,
        UserUttered,
    )

    def user(text: str, intent: str, entities: Any = ()) -> UserUttered:
        return UserUttered(text, {"name": intent, "confidence": 0.9}, list(entities))

    yield from [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
                user("hi", "greet"), ActionExecuted("utter_greet", hide_rule_turn=True), BotUttered("hi"),
                ActionExecuted("action_listen", hide_rule_turn=True),
                user("where is my order", "order_status"), ActionExecuted("order_form"), ActiveLoop("order_form"),
                SlotSet("requested_slot", "order_number"), ActionExecuted("action_listen"),
                user("M1", "inform", [{"entity": "order_number", "value": "M1", "start": 0, "end": 2}]),
                ActionExecuted("order_form"), SlotSet("order_number", "M1"), ActiveLoop(None),
                SlotSet("requested_slot", None), SlotSet("verified", True), ActionExecuted("action_answer"),
                SlotSet("kb_entry", {"a": 1}), FollowupAction("action_listen"), ActionExecuted("action_listen"),
                user("gold?", "inform"), ActionExecuted("action_answer"), SlotSet("tier", "gold"),
                UserUtteranceReverted(), user("again", "inform"), ActionExecuted("action_answer"), ActionReverted(),
                ActionExecuted("action_listen"), user("bye", "bye"), Restarted(), ActionExecuted("action_listen"),
                user("hi", "greet"), ActionExecuted("utter_greet", hide_rule_turn=True)]


def _sharing(states: List[Dict[str, Any]]) -> List[Tuple[int, str, int, str]]:
    """Which sub-states of `states` are one object (Rasa's loop shares some; callers change them)."""
    where = [(i, key, sub) for i, state in enumerate(states) for key, sub in state.items()]
    return [(i, k, j, m) for n, (i, k, a) in enumerate(where) for j, m, b in where[n + 1:] if a is b]


def _all_states(domain: Any, grown: Any, args: Tuple[bool, bool, Any]) -> Tuple[Any, Any]:
    states = domain.states_for_tracker_history(grown, *args)
    return states, _sharing(states)


@pytest.fixture()
def rasas() -> List[List[Tuple[Any, Any]]]:
    """Rasa's own states after each event, for each combination of arguments."""
    from rasa.shared.core.trackers import DialogueStateTracker

    rasa_patches.uninstall()
    domain = _domain()
    out = []
    tracker = DialogueStateTracker("rest:states", domain.slots)
    for event in _conversation():
        tracker.update(event)
        out.append([_all_states(domain, copy.deepcopy(tracker), args) for args in ARGS])
    return out


def test_the_kept_replay_gives_rasas_states_after_every_event(rasas: List[List[Tuple[Any, Any]]]) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        assert "past-states" in rasa_patches.active()
        domain = _domain()
        tracker = DialogueStateTracker("rest:states", domain.slots)
        for n, event in enumerate(_conversation()):
            tracker.update(event)
            for k, args in enumerate(ARGS):  # one tracker growing, as in a turn: the replay is extended
                assert _all_states(domain, tracker, args) == rasas[n][k], (n, event, args)
                assert _all_states(domain, tracker, args) == rasas[n][k], (n, event, args)  # asked again
    finally:
        rasa_patches.uninstall()


def test_states_a_caller_changed_do_not_change_the_next_answer() -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        domain = _domain()
        tracker = DialogueStateTracker("rest:states", domain.slots)
        for event in _conversation():
            tracker.update(event)
        first = copy.deepcopy(domain.states_for_tracker_history(tracker))
        for state in domain.states_for_tracker_history(tracker):
            for sub in state.values():
                sub.clear()
            state.clear()
        assert domain.states_for_tracker_history(tracker) == first
    finally:
        rasa_patches.uninstall()
