"""Rasa's ticket lock, made atomic in Redis, so several Rasa servers serialise one sender's messages.

Why: Rasa's `RedisLockStore` reads the lock (a JSON list of tickets), changes it in Python and writes it back
(`issue_ticket`, `update_lock` every second for each waiting message, `finish_serving`, `cleanup`). Inside one
Rasa process that is safe (one event loop, blocking Redis calls), but two processes can interleave between the
read and the write: a ticket is lost or issued twice, and two servers handle the same sender at once, or a
message fails with a LockError when its ticket vanished. Measured here (two processes, three messages each at
a time, ten rounds; tests/test_scale_out.py): with Rasa's store 30 of the 60 entries found another holder
inside, or a lost ticket kept the conversation locked until it expired (60 s); with this one, none.

`AtomicLockStore` keeps Rasa's keys and JSON (so Rasa's own tools read the same locks) and does each
read-change-write in one Redis transaction (WATCH the key, change, MULTI/SET/EXEC, again if another process
wrote it meanwhile). It subclasses `bot.stores.LockStore`, so the connection (REDIS_URL or the embedded server,
timeouts, reconnects) is that class's. Use it in endpoints.yml:

    lock_store:
      type: bot.locks.AtomicLockStore
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, Text, Tuple, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError

from bot.stores import LockStore

__all__ = ["AtomicLockStore", "UNCHANGED"]

T = TypeVar("T")
UNCHANGED: Any = object()
"""Returned by a change that leaves the stored lock as it is (nothing written)."""


class AtomicLockStore(LockStore):
    """Rasa's Redis ticket lock with every read-change-write done atomically (see the module docstring)."""

    def _atomic(self, conversation_id: Text,
                change: Callable[[Optional[TicketLock]], Tuple[Any, T]]) -> T:
        """Apply `change(lock)` -> (new lock | None to delete | UNCHANGED, result) atomically; return the result."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new, result = change(lock)
                    if new is UNCHANGED:
                        pipe.unwatch()
                        return result
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another server changed this lock between our read and our write: read it again

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def change(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._atomic(conversation_id, change)
        except redis.RedisError as exc:
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: Text) -> None:
        def change(lock: Optional[TicketLock]) -> Tuple[Any, None]:
            if lock is None:
                return UNCHANGED, None
            lock.remove_expired_tickets()
            return lock, None

        self._atomic(conversation_id, change)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        def change(lock: Optional[TicketLock]) -> Tuple[Any, None]:
            if lock is None:
                return UNCHANGED, None
            lock.remove_ticket_for(ticket_number)
            return lock, None

        self._atomic(conversation_id, change)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Our ticket is done; the lock goes when nobody else holds a ticket (in one step: a ticket issued by
        another server in between must not be deleted with it)."""
        def change(lock: Optional[TicketLock]) -> Tuple[Any, None]:
            if lock is None:
                return UNCHANGED, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._atomic(conversation_id, change)
