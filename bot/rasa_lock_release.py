"""The lock of a message ends in its last save's script (the `lock-release` patch): one Redis round trip less.

Why: a message holds its sender's lock (bot/locks.py `LockStore.lock`) from its ticket to its clean-up, and its
last write under it is the tracker's save (Rasa's `MessageProcessor.handle_message` ends with `save_tracker`,
then returns the answers). The save's append script (bot/stores.py) can clean the lock up in the same round
trip, atomically with the append, so the lock's own clean-up script has nothing left to do.

How: `MessageProcessor.save_tracker` arms the lock the current task holds for the tracker's sender
(`arm_release`) only when it is called inside `MessageProcessor.handle_message` (wrapped to say so), where it
is the last write; not the tracker store's own save of a new conversation's tracker (`create_tracker`, early in
the message), and not a save of the other holders of a lock (the HTTP API's endpoints, reminders). The save ends
the lock only when its append went through on the lock's own Redis server; anything else (the careful path,
another server, Rasa's stores, AtomicLockStore's Rasa-style `lock`) leaves the clean-up to the lock, as before.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable, Dict, List, Optional

from bot.locks import arm_release

__all__ = ["install_lock_release"]

_IN_MESSAGE: ContextVar[bool] = ContextVar("canyu_in_message", default=False)
"""Whether the current task is inside `MessageProcessor.handle_message` (per task, not process-wide state)."""


def install_lock_release(originals: Dict[str, Callable[..., Any]]) -> None:
    """Wrap `MessageProcessor.handle_message` and `.save_tracker` (the methods found first kept in `originals`)."""
    from rasa.core.processor import MessageProcessor

    handle, save = MessageProcessor.handle_message, MessageProcessor.save_tracker
    originals.setdefault("MessageProcessor.handle_message", handle)
    originals.setdefault("MessageProcessor.save_tracker", save)

    async def handle_message(self: Any, message: Any) -> Optional[List[Dict[str, Any]]]:
        token = _IN_MESSAGE.set(True)
        try:
            answer: Optional[List[Dict[str, Any]]] = await handle(self, message)
            return answer
        finally:
            _IN_MESSAGE.reset(token)

    async def save_tracker(self: Any, tracker: Any) -> None:
        if _IN_MESSAGE.get():
            arm_release(tracker.sender_id)
        await save(self, tracker)

    handle_message.__doc__, save_tracker.__doc__ = handle.__doc__, save.__doc__
    MessageProcessor.handle_message = handle_message
    MessageProcessor.save_tracker = save_tracker
