"""bot/rasa_rule_lookup.py: RulePolicy's rule look-up gives Rasa's set of possible rule keys, for the real model's
rules and for many conversation states (each rule's own states, mixes of several rules' states, states with
slots unset or set to "should not be set", conversation starts), and is installed and removed with the patches."""

from __future__ import annotations

import json
import random
import tarfile
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from bot import rasa_patches
from bot.rasa_rule_lookup import possible_keys
from tests.harness import ensure_model

State = Dict[str, Dict[str, Any]]


@pytest.fixture(scope="module")
def rules() -> Dict[str, Any]:
    """The RulePolicy look-up of the trained model (rules, loop unhappy paths)."""
    with tarfile.open(ensure_model()) as archive:
        for member in archive.getmembers():
            if member.name.endswith("/rule_policy.json") and "RulePolicy" in member.name:
                handle = archive.extractfile(member)
                assert handle is not None
                return dict(json.load(handle)["lookup"])
    raise AssertionError("no rule_policy.json in the model")


@pytest.fixture()
def policy(tmp_path: Any) -> Iterator[Any]:
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    rasa_patches.uninstall()
    yield RulePolicy(RulePolicy.get_default_config(), LocalModelStorage(tmp_path), Resource("rules"),
                     ExecutionContext(GraphSchema({}), "test"))
    rasa_patches.uninstall()


def _as_conversation(state: State) -> State:
    """A rule state as a tracker gives it (JSON lists back to tuples)."""
    return {kind: {k: tuple(v) if isinstance(v, list) else v for k, v in sub.items()} for kind, sub in state.items()}


def _conversations(lookup: Dict[str, Any], seed: int = 17, mixed: int = 400) -> Iterator[List[State]]:
    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET

    keys = sorted(lookup["rules"]) + sorted(lookup.get("rules_for_loop_unhappy_path", {}))
    every = [[_as_conversation(s) for s in json.loads(key)] for key in keys]
    yield []
    yield from every
    pool = [state for states in every for state in states]
    rng = random.Random(seed)
    for _ in range(mixed):
        states = [json.loads(json.dumps(rng.choice(pool), default=list)) for _ in range(rng.randint(1, 12))]
        states = [_as_conversation(s) for s in states]
        for state in states:
            roll = rng.random()
            if roll < 0.1:
                state.pop(PREVIOUS_ACTION, None)  # a conversation start
            elif roll < 0.2 and state.get("slots"):
                name = rng.choice(sorted(state["slots"]))
                state["slots"][name] = SHOULD_NOT_BE_SET if rng.random() < 0.5 else (1.0,)
            elif roll < 0.3 and state.get("user"):
                state["user"].pop(rng.choice(sorted(state["user"])))
        yield states
    for states in every:  # a rule's states after some other turns
        yield [_as_conversation(s) for s in json.loads(rng.choice(keys))] + states


def _both(policy: Any, lookup: Dict[str, str], states: List[State]) -> Tuple[Any, Any]:
    from rasa.core.policies.rule_policy import RulePolicy

    return RulePolicy._get_possible_keys(policy, lookup, states), possible_keys(policy, lookup, states)


def test_the_same_keys_as_rasa_for_the_models_rules(policy: Any, rules: Dict[str, Any]) -> None:
    checked = 0
    for name in ("rules", "rules_for_loop_unhappy_path"):
        lookup = rules.get(name) or {}
        for states in _conversations(rules):
            rasa_keys, ours = _both(policy, lookup, states)
            assert ours == rasa_keys, (name, states)
            checked += 1
    assert checked > 800 and rules["rules"]


def test_every_rule_applies_to_its_own_states(policy: Any, rules: Dict[str, Any]) -> None:
    lookup = rules["rules"]
    for key in lookup:
        assert key in possible_keys(policy, lookup, [_as_conversation(s) for s in json.loads(key)])


def test_installed_with_the_speedups_and_removed_by_uninstall(policy: Any, rules: Dict[str, Any]) -> None:
    from rasa.core.policies.rule_policy import RulePolicy

    original = RulePolicy._get_possible_keys
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    assert "rule-lookup" in rasa_patches.active() and RulePolicy._get_possible_keys is not original
    states = [_as_conversation(s) for s in json.loads(sorted(rules["rules"])[0])]
    assert policy._get_possible_keys(rules["rules"], states) == original(policy, rules["rules"], states)
    rasa_patches.uninstall()
    assert RulePolicy._get_possible_keys is original
    rasa_patches.install({"CANYU_RASA_SPEEDUPS": "0", "CANYU_ACTION_RETRY_S": "0"})
    assert "rule-lookup" not in rasa_patches.active() and RulePolicy._get_possible_keys is original


def test_a_subclass_with_its_own_matching_gets_rasas_look_up(tmp_path: Any) -> None:
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    class Strict(RulePolicy):
        def _is_rule_applicable(self, rule_key: str, turn_index: int, conversation_state: State) -> bool:
            return False

    rasa_patches.uninstall()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        strict = Strict(RulePolicy.get_default_config(), LocalModelStorage(tmp_path), Resource("strict"),
                        ExecutionContext(GraphSchema({}), "test"))
        rule = '[{"prev_action": {"action_name": "action_listen"}}]'
        assert strict._get_possible_keys({rule: "x"}, [{"prev_action": {"action_name": "action_listen"}}]) == set()
    finally:
        rasa_patches.uninstall()


def test_a_look_up_changed_in_place_is_indexed_again(policy: Any, rules: Dict[str, Any]) -> None:
    lookup = dict(rules["rules"])
    conversations = list(_conversations(rules, mixed=50))
    for states in conversations:
        assert possible_keys(policy, lookup, states) == _both(policy, lookup, states)[0]
    for key in sorted(lookup)[::3]:  # as Rasa's training does when it drops a rule
        lookup.pop(key)
    lookup['[{"prev_action": {"action_name": "action_listen"}}]'] = "utter_x"
    for states in conversations:
        rasa_keys, ours = _both(policy, lookup, states)
        assert ours == rasa_keys
