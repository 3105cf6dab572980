"""RulePolicy's rule look-up, with the same answers for less work (a patch installed by bot/rasa_patches.py).

Why: `RulePolicy._get_possible_keys` was ~12% of Rasa's CPU at c=16 (bench/profile_rasa.py, docs/throughput.md).
For every prediction it walks the conversation's states from the newest back to the session start and, at
each step, re-checks every rule key still possible: `_is_rule_applicable` copies and reverses the rule's states
(`list(reversed(...))`) and `_does_rule_match_state` converts list values to tuples, per key, per step.
A rule of k states can only fail at the steps 0…k-1; from step k on Rasa keeps it without looking.

Here the same test runs on rules prepared once per rule key (its states reversed, list values already
tuples, the values that can never fail a match left out); the first step only looks at the rules whose newest
state allows the conversation's previous action (an index by that action; the others fail there in Rasa's
test), and the walk stops once every key still possible is shorter than the steps taken (Rasa would keep
each of them at every later step). 10x less time for the model's 361 rules. The set returned is Rasa's:
tests/test_rasa_rule_lookup.py compares both on the real model's rules and many conversation states.

A subclass that overrides `_is_rule_applicable`, `_does_rule_match_state` or `_rule_key_to_state` gets Rasa's
own `_get_possible_keys`. The prepared rules live on the policy object (`_canyu_rules`), keyed by the rule key
(a rule key is the JSON of its states, so it fixes its preparation); the index (`_canyu_rule_index`) is made
again whenever the look-up's keys are not the ones it was made from (Rasa's training removes rules in place).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set, Text, Tuple

__all__ = ["install_rule_lookup", "possible_keys"]

_RULES_ATTR, _INDEX_ATTR = "_canyu_rules", "_canyu_rule_index"

# one rule state, prepared: (has a previous action, ((sub-state name, ((key, value, must_not_be_set), ...)), ...))
_Check = Tuple[Text, Any, bool]
_Turn = Tuple[bool, Tuple[Tuple[Text, Tuple[_Check, ...]], ...]]
_Rule = Tuple[Text, Tuple[_Turn, ...]]
_Index = Tuple[Dict[Text, List[_Rule]], List[_Rule]]


def _prepare(states: List[Dict[Text, Dict[Text, Any]]]) -> Tuple[_Turn, ...]:
    """A rule's states, newest first, each reduced to what `_is_rule_applicable` looks at."""
    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET

    turns: List[_Turn] = []
    for state in reversed(states):
        subs = []
        for state_type, sub_state in state.items():
            checks = []
            for key, value in sub_state.items():
                if isinstance(value, list):
                    value = tuple(value)  # as Rasa's `_does_rule_match_state` does
                if value == SHOULD_NOT_BE_SET:
                    checks.append((key, value, True))
                elif value:  # a falsy value never fails a match in Rasa's test
                    checks.append((key, value, False))
            subs.append((state_type, tuple(checks)))
        turns.append((bool(state.get(PREVIOUS_ACTION)), tuple(subs)))
    return tuple(turns)


def _applicable(turn: _Turn, state: Dict[Text, Any], has_previous: bool, not_set: Text) -> bool:
    """Rasa's `_is_rule_applicable` for a rule state within the rule (`turn_index < len(rule)`)."""
    rule_has_previous, subs = turn
    if not rule_has_previous or not has_previous:
        return not rule_has_previous and not has_previous
    for state_type, checks in subs:
        sub_state = state.get(state_type, {})
        for key, value, must_not_be_set in checks:
            got = sub_state.get(key)
            if must_not_be_set:
                if got and got != not_set:
                    return False
            elif got != value:
                return False
    return True


def _rule(policy: Any, key: Text) -> Tuple[_Turn, ...]:
    prepared: Dict[Text, Tuple[_Turn, ...]] = policy.__dict__.setdefault(_RULES_ATTR, {})
    rule = prepared.get(key)
    if rule is None:
        rule = prepared[key] = _prepare(policy._rule_key_to_state(key))
    return rule


def _newest_action(turn: _Turn) -> Optional[Text]:
    """The previous action a rule's newest state must have (None: any, or none at all)."""
    from rasa.shared.core.constants import PREVIOUS_ACTION
    from rasa.shared.nlu.constants import ACTION_NAME

    has_previous, subs = turn
    for state_type, checks in subs if has_previous else ():
        if state_type == PREVIOUS_ACTION:
            for key, value, must_not_be_set in checks:
                if key == ACTION_NAME and not must_not_be_set and isinstance(value, str):
                    return value
    return None


def _index(policy: Any, lookup: Dict[Text, Text]) -> _Index:
    """The rules of `lookup` by the previous action of their newest state (made again when its keys change)."""
    indexes: Dict[int, Tuple[Set[Text], _Index]] = policy.__dict__.setdefault(_INDEX_ATTR, {})
    known = indexes.get(id(lookup))
    if known is not None and lookup.keys() == known[0]:
        return known[1]
    by_action: Dict[Text, List[_Rule]] = {}
    anywhere: List[_Rule] = []
    for key in lookup:
        rule = _rule(policy, key)
        action = _newest_action(rule[0]) if rule else None
        (anywhere if action is None else by_action.setdefault(action, [])).append((key, rule))
    if len(indexes) > 8:  # lookups replaced (training): forget the old ones
        indexes.clear()
    index = (by_action, anywhere)
    indexes[id(lookup)] = (set(lookup), index)
    return index


def possible_keys(policy: Any, lookup: Dict[Text, Text], states: List[Dict[Text, Any]]) -> Set[Text]:
    """The rule keys of `lookup` that apply to `states` (oldest first), as `RulePolicy._get_possible_keys`."""
    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
    from rasa.shared.nlu.constants import ACTION_NAME

    if not states:
        return set(lookup)
    by_action, anywhere = _index(policy, lookup)
    newest = states[-1].get(PREVIOUS_ACTION) or {}
    action = newest.get(ACTION_NAME) if isinstance(newest, dict) else None
    # a rule whose newest state needs another previous action fails at step 0: only these can pass it
    candidates = [*(by_action.get(action, ()) if isinstance(action, str) else ()), *anywhere]
    kept: Set[Text] = set()  # rules shorter than the steps taken: Rasa keeps them from then on
    for i, state in enumerate(reversed(states)):
        if not candidates:
            break
        has_previous = bool(state.get(PREVIOUS_ACTION))
        still: List[_Rule] = []
        for key, rule in candidates:
            if i >= len(rule):
                kept.add(key)
            elif _applicable(rule[i], state, has_previous, SHOULD_NOT_BE_SET):
                still.append((key, rule))
        candidates = still
    kept.update(key for key, _ in candidates)
    return kept


def install_rule_lookup(originals: Dict[str, Callable[..., Any]]) -> None:
    """Replace `RulePolicy._get_possible_keys` (Rasa's kept in `originals["RulePolicy._get_possible_keys"]`)."""
    from rasa.core.policies.rule_policy import RulePolicy

    original = RulePolicy._get_possible_keys
    originals["RulePolicy._get_possible_keys"] = original
    own = ("_is_rule_applicable", "_does_rule_match_state", "_rule_key_to_state")

    def _get_possible_keys(self: Any, lookup: Dict[Text, Text], states: List[Dict[Text, Any]]) -> Set[Text]:
        cls = type(self)
        if cls is not RulePolicy and any(
                getattr(cls, name) is not getattr(RulePolicy, name) for name in own):
            found: Set[Text] = original(self, lookup, states)  # a subclass with its own matching: Rasa's way
            return found
        return possible_keys(self, lookup, states)

    RulePolicy._get_possible_keys = _get_possible_keys
