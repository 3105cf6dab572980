"""bot/rasa_tracker_patches.py: `init_copy` with the faster slot copies gives what Rasa's gives (slots of the same
classes and settings, reset, not shared with the original; the same states for the policies), and is installed
and removed with the patches. (The fail-safe wrapper's new trackers: tests/test_tracker_store_handoff_note.py.)"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_patches
from bot.settings import load_settings


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(load_settings().home / "responses"))


@pytest.fixture()
def clean() -> Iterator[None]:
    rasa_patches.uninstall()
    yield
    rasa_patches.uninstall()


def _conversation(domain: Domain) -> DialogueStateTracker:
    events: List[Any] = [ActionExecuted("action_listen"),
                         UserUttered("我的订单 M2026110501", {"name": "order_status", "confidence": 0.9},
                                     [{"entity": "order_number", "value": "M2026110501"}]),
                         ActionExecuted("order_form"), ActiveLoop("order_form"),
                         SlotSet("order_number", "M2026110501"), SlotSet("language", "zh"),
                         ActiveLoop(None), ActionExecuted("action_order_status"), ActionExecuted("action_listen")]
    return DialogueStateTracker.from_events("rest:copy", events, domain.slots)


def _slots(tracker: DialogueStateTracker) -> Dict[str, Any]:
    return {name: (type(slot), slot.value, slot.initial_value, vars(slot)) for name, slot in tracker.slots.items()}


def test_init_copy_gives_rasas_copy(domain: Domain, clean: None) -> None:
    tracker = _conversation(domain)
    rasa_copy = tracker.init_copy()
    rasa_states = tracker.past_states(domain)
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    assert "tracker-copy" in rasa_patches.active()
    ours = tracker.init_copy()
    assert type(ours) is DialogueStateTracker and ours.sender_id == rasa_copy.sender_id
    assert _slots(ours) == _slots(rasa_copy)
    assert all(ours.slots[name] is not slot for name, slot in tracker.slots.items())
    ours.slots["order_number"].value = "changed"
    assert tracker.get_slot("order_number") == "M2026110501"  # not shared with the original
    assert (ours._max_event_history, ours.is_rule_tracker) == (rasa_copy._max_event_history, rasa_copy.is_rule_tracker)
    assert tracker.past_states(domain) == rasa_states
    assert tracker.copy().current_state() == tracker.current_state()


def test_uninstall_gives_rasas_init_copy_back(clean: None) -> None:
    original = DialogueStateTracker.init_copy
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    assert DialogueStateTracker.init_copy is not original
    rasa_patches.uninstall()
    assert DialogueStateTracker.init_copy is original
    rasa_patches.install({"CANYU_RASA_SPEEDUPS": "0", "CANYU_ACTION_RETRY_S": "0"})
    assert DialogueStateTracker.init_copy is original
