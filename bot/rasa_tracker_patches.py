"""Rasa's tracker-store wrapper makes new trackers through the store it wraps (a patch installed by bot/rasa_patches.py).

Why: Rasa wraps every tracker store from endpoints.yml in a `FailSafeTrackerStore`, and Rasa's
`TrackerStore.create_tracker` calls `self.init_tracker` on the wrapper, whose own `init_tracker` is Rasa's base
one: a first message's tracker never comes from our store (bot/stores.py), so it missed the store's faster slot
copies and the handoff note of the read that found no tracker (bot/tracker_notes.py), and EscalationPolicy asked
Redis for every new conversation.

Patched: `FailSafeTrackerStore.init_tracker` asks the wrapped store's `new_tracker(sender_id, max_event_history)`
when it has one (bot.stores.TrackerStore), with the wrapper's `max_event_history` as Rasa's own code uses;
any other wrapped store gets Rasa's method. The original is kept in the patches' registry.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

__all__ = ["install_failsafe_init"]


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
