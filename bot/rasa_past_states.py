"""The conversation is replayed once per turn for the policies' states, not once per policy and prediction (a patch
installed by bot/rasa_patches.py: `past-states`).

Why: every policy that reads the dialogue history (MemoizationPolicy, RulePolicy: once with the text, once with
the intent, right after a user message) calls `tracker.past_states` -> `Domain.states_for_tracker_history`, which
copies the tracker and applies every event of the session again, taking the state before each action
(`generate_all_prior_trackers`, `get_active_state`); and it does so for every action predicted in a turn, on a
tracker that only grew by an event or two. ~9% of Rasa's CPU at c=16 (bench/profile_rasa.py, `past_states`).

How: the replay's steps (per action: the state before it, the previous action, and what Rasa's rule-turn logic
reads of that tracker) are kept on the tracker object (`_canyu_states`, per domain and `omit_unset_slots`),
with the applied events they came from and the replaying tracker. A later call on the same events takes them
as they are (RulePolicy's second look, MemoizationPolicy); one whose applied events start with the same event
objects applies only the new ones; anything else (a rewind, a restart, another domain) replays
from the start, as Rasa does. Each call then runs Rasa's own loop over those steps (the rule-only turns hidden
or not, `_remove_rule_only_features`, `_substitute_rule_only_user_input`, `_clean_state`) on fresh copies of the
kept states, so the states, and which of them share a sub-state, are Rasa's: callers change them
(`_choose_last_user_input`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["install_past_states"]

_KEPT = "_canyu_states"
State = Dict[str, Any]


@dataclass
class _Step:
    """What Rasa's loop reads of the replayed tracker before one action (or at the end)."""

    hide_rule_turn: bool
    updates_hidden: bool  # no follow-up action and the latest action is not the active loop
    prev_action: Optional[Dict[str, Any]]
    state: State


@dataclass
class _Replay:
    domain: Any
    applied: List[Any]
    tracker: Any
    steps: List[_Step]
    final: Optional[_Step]
    seen: Tuple[int, Any] = (-1, None)  # the tracker's event count and newest event when last asked


def _step(domain: Any, tracker: Any, hide: bool, omit: bool) -> _Step:
    """The step of `tracker` as it is now (copies: the replaying tracker changes on)."""
    memo: Dict[int, Any] = {}
    state = _copy_state(domain.get_active_state(tracker, omit_unset_slots=omit), memo)
    prev = domain._get_prev_action_sub_state(tracker)
    return _Step(hide, not tracker.followup_action and not tracker.latest_action_name == tracker.active_loop_name,
                 _copy_sub(prev, memo), state)


def _copy_sub(sub: Any, memo: Dict[int, Any]) -> Any:
    """A copy of a sub-state (its values are strings and tuples), one per original object (as Rasa's share)."""
    if not isinstance(sub, dict):
        return sub
    found = memo.get(id(sub))
    if found is None:
        found = memo[id(sub)] = (dict(sub), sub)  # the original kept alive: its id is not reused meanwhile
    return found[0]


def _copy_state(state: State, memo: Dict[int, Any]) -> State:
    return {key: _copy_sub(sub, memo) for key, sub in state.items()}


def _replayed(domain: Any, tracker: Any, omit: bool) -> Tuple[List[_Step], _Step]:
    """The steps of `tracker`'s history and its final step, from the kept replay where it still applies."""
    from rasa.shared.core.events import ActionExecuted

    kept: Dict[bool, _Replay] = tracker.__dict__.setdefault(_KEPT, {})
    replay = kept.get(omit)
    events = tracker.events
    seen = (len(events), events[-1] if events else None)
    if replay is not None and replay.domain is domain and replay.final is not None and \
            replay.seen[0] == seen[0] and replay.seen[1] is seen[1]:
        return replay.steps, replay.final  # nothing happened since: the same steps
    applied = tracker.applied_events()
    if (replay is None or replay.domain is not domain or len(replay.applied) > len(applied)
            or any(old is not new for old, new in zip(replay.applied, applied, strict=False))):
        replay = kept[omit] = _Replay(domain, [], tracker.init_copy(), [], None)
    new = applied[len(replay.applied):]
    for event in new:
        if isinstance(event, ActionExecuted):
            replay.steps.append(_step(domain, replay.tracker, event.hide_rule_turn, omit))
        replay.tracker.update(event)
    replay.applied.extend(new)
    if new or replay.final is None:
        replay.final = _step(domain, replay.tracker, False, omit)
    replay.seen = seen
    return replay.steps, replay.final


def _states(domain: Any, tracker: Any, omit_unset_slots: bool, ignore_rule_only_turns: bool,
            rule_only_data: Optional[Dict[str, Any]]) -> List[State]:
    """Rasa 3.6's `Domain.states_for_tracker_history` over the kept steps."""
    import rasa.shared.core.constants as constants

    steps, final = _replayed(domain, tracker, omit_unset_slots)
    states: List[State] = []
    last_ml_action_sub_state = None
    turn_was_hidden = False
    for step in [*steps, final]:
        memo: Dict[int, Any] = {}
        if ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action_sub_state = _copy_sub(step.prev_action, memo)
            if step.updates_hidden:
                turn_was_hidden = step.hide_rule_turn
            if turn_was_hidden:
                continue
        state = _copy_state(step.state, memo)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if states:
                domain._substitute_rule_only_user_input(state, states[-1])
            if last_ml_action_sub_state:
                state[constants.PREVIOUS_ACTION] = last_ml_action_sub_state
        states.append(domain._clean_state(state))
    return states


def install_past_states(originals: Dict[str, Callable[..., Any]]) -> None:
    """Replace `Domain.states_for_tracker_history` (Rasa's kept in
    `originals["Domain.states_for_tracker_history"]`)."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    original = Domain.states_for_tracker_history
    own = (DialogueStateTracker.generate_all_prior_trackers, DialogueStateTracker.applied_events)
    originals["Domain.states_for_tracker_history"] = original

    def states_for_tracker_history(self: Any, tracker: Any, omit_unset_slots: bool = False,
                                   ignore_rule_only_turns: bool = False,
                                   rule_only_data: Optional[Dict[str, Any]] = None) -> List[State]:
        if (type(tracker).generate_all_prior_trackers, type(tracker).applied_events) != own:
            rasas: List[State] = original(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
            return rasas  # a tracker class that replays its own way (Rasa's training trackers)
        return _states(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)

    states_for_tracker_history.__doc__ = original.__doc__
    Domain.states_for_tracker_history = states_for_tracker_history
