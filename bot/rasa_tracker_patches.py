"""Two patches of Rasa's trackers, installed by bot/rasa_patches.py.

**Rasa's tracker-store wrapper makes new trackers through the store it wraps.** Rasa wraps every tracker store from endpoints.yml in a `FailSafeTrackerStore`, and Rasa's
`TrackerStore.create_tracker` calls `self.init_tracker` on the wrapper, whose own `init_tracker` is Rasa's base
one: a first message's tracker never comes from our store (bot/stores.py), so it missed the store's faster slot
copies and the handoff note of the read that found no tracker (bot/tracker_notes.py), and EscalationPolicy asked
Redis for every new conversation.

Patched: `FailSafeTrackerStore.init_tracker` asks the wrapped store's `new_tracker(sender_id, max_event_history)`
when it has one (bot.stores.TrackerStore), with the wrapper's `max_event_history` as Rasa's own code uses;
any other wrapped store gets Rasa's method.

**`DialogueStateTracker.init_copy` copies slots without `copy.copy`'s protocol look-ups** (bot.stores.copy_slot:
the same new instances sharing the attributes, 3x faster). Every policy run replays the conversation on such a
copy (`past_states` -> `generate_all_prior_trackers`), and so does every action run (`tracker.copy()`), each
copying the domain's ~25 slots: ~3% of Rasa's CPU at c=16 was `copy.copy` there.

The originals are kept in the patches' registry.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

__all__ = ["install_failsafe_init", "install_init_copy"]


def install_failsafe_init(originals: Dict[str, Callable[..., Any]]) -> None:
    """Replace `FailSafeTrackerStore.init_tracker` (Rasa's kept in `originals["FailSafeTrackerStore.init_tracker"]`)."""
    from rasa.core.tracker_store import FailSafeTrackerStore

    original = FailSafeTrackerStore.init_tracker
    originals["FailSafeTrackerStore.init_tracker"] = original

    def init_tracker(self: Any, sender_id: str) -> Any:
        make = getattr(self._tracker_store, "new_tracker", None)
        if make is None:
            return original(self, sender_id)
        return make(sender_id, self.max_event_history)

    init_tracker.__doc__ = original.__doc__
    FailSafeTrackerStore.init_tracker = init_tracker


def install_init_copy(originals: Dict[str, Callable[..., Any]]) -> None:
    """Replace `DialogueStateTracker.init_copy` (Rasa's kept in `originals["DialogueStateTracker.init_copy"]`)."""
    from rasa.shared.constants import DEFAULT_SENDER_ID
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.stores import copy_slot

    original = DialogueStateTracker.init_copy
    originals["DialogueStateTracker.init_copy"] = original

    def init_copy(self: Any) -> DialogueStateTracker:
        tracker = DialogueStateTracker(self.sender_id or DEFAULT_SENDER_ID, None, self._max_event_history,
                                       is_rule_tracker=self.is_rule_tracker)
        tracker.slots = {slot.name: copy_slot(slot) for slot in self.slots.values()}
        for slot in tracker.slots.values():  # as Rasa's __init__ does (`_reset`)
            slot.reset()
        return tracker

    init_copy.__doc__ = original.__doc__
    DialogueStateTracker.init_copy = init_copy
