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
wrote it meanwhile). It subclasses `LockStore` (below; endpoints.yml names it `bot.stores.LockStore`), so the
connection (REDIS_URL or the embedded server, timeouts, reconnects) is that class's.

`LockStore` is Rasa's ticket lock with two Lua scripts: issuing a ticket and cleaning up take one round trip each,
and a ticket issued alone (the conversation was free) is served without reading the lock back: 2 round trips
per message where Rasa makes 7. A message that waits for its turn looks again after 10 ms, 20 ms, 40 ms … up
to Rasa's 1 s, not every second. The clean-up is usually no round trip of its own: the message's last save
appends the events and cleans the lock up in one script (`HeldLock`, bot/stores.py, bot/rasa_lock_release.py).
Rasa builds both from endpoints.yml: each builds its context (`bot.plugin_context`) in its constructor, and a
`url` there (`redis://…`) wins over `REDIS_URL`. Use it in endpoints.yml:

    lock_store:
      type: bot.locks.AtomicLockStore
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, AsyncIterator, Callable, Optional, Text, Tuple, TypeVar, cast

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.plugin_context import plugin_context
from bot.speedups import speedups_enabled
from bot.storage import open_redis

__all__ = ["AtomicLockStore", "FIRST_WAIT_S", "HeldLock", "KEY_PREFIX", "LOCK_LUA", "LockStore", "UNCHANGED",
           "arm_release", "held_lock", "server_of"]

KEY_PREFIX = "canyu"
FIRST_WAIT_S = 0.01
"""The first pause of a message waiting for its sender's lock (doubled up to Rasa's 1 s on each look)."""


# Rasa's TicketLock as Rasa stores it: {"conversation_id": …, "tickets": ["{\"number\": 0, \"expires\": …}"]}
_LOCK_LIVE = """
local function live(raw, now)
  local out = {}
  for _, t in ipairs(raw and cjson.decode(raw).tickets or {}) do
    local ticket = cjson.decode(t)
    if now <= tonumber(ticket.expires) then table.insert(out, ticket) end
  end
  return out
end
local function save(key, conversation, tickets)
  local parts = {}
  for i, t in ipairs(tickets) do parts[i] = cjson.encode(string.format('{"number": %d, "expires": %.6f}',
    t.number, t.expires)) end
  redis.call('SET', key, '{"conversation_id": ' .. cjson.encode(conversation) .. ', "tickets": [' ..
    table.concat(parts, ', ') .. ']}')
end
"""
# KEYS[1] lock; ARGV now, lifetime, conversation id -> {the ticket number, live tickets with it} (Rasa's
# issue_ticket, atomically; a ticket alone is served at once)
_ISSUE = _LOCK_LIVE + """
local tickets, number = live(redis.call('GET', KEYS[1]), tonumber(ARGV[1])), 0
if #tickets > 0 then number = tonumber(tickets[#tickets].number) + 1 end
table.insert(tickets, {number = number, expires = tonumber(ARGV[1]) + tonumber(ARGV[2])})
save(KEYS[1], ARGV[3], tickets)
return {number, #tickets}
"""
LOCK_LUA = _LOCK_LIVE + """
local function cleanup(key, now, number, conversation)
  local left = {}
  for _, t in ipairs(live(redis.call('GET', key), tonumber(now))) do
    if tonumber(t.number) ~= tonumber(number) then table.insert(left, t) end
  end
  if #left == 0 then redis.call('DEL', key) else save(key, conversation, left) end
  return #left
end
"""
"""The Lua of the lock scripts: `live`, `save` and `cleanup(key, now, ticket number, conversation id)` (Rasa's
`cleanup`: finish_serving, then delete the lock if nobody is waiting, in one step -> tickets left); the
tracker store's append script uses `cleanup` too (bot/stores.py)."""
# KEYS[1] lock; ARGV now, ticket number, conversation id -> tickets left
_CLEANUP = LOCK_LUA + """
return cleanup(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
"""


class HeldLock:
    """A ticket the current task holds through `LockStore.lock`: once `armed` (bot/rasa_lock_release.py: the
    message's last save is coming), the tracker store's append may clean the lock up in its own script
    (`released`), one Redis round trip less per message; the lock's own clean-up then has nothing to do."""

    __slots__ = ("conversation_id", "ticket", "key", "server", "armed", "released")

    def __init__(self, conversation_id: str, ticket: int, key: str, server: Tuple[Any, ...]) -> None:
        self.conversation_id, self.ticket, self.key, self.server = conversation_id, ticket, key, server
        self.armed = self.released = False


_HELD: ContextVar[Optional[HeldLock]] = ContextVar("canyu_held_lock", default=None)
"""The lock the current task holds (a context variable: per task, not process-wide state)."""


def server_of(client: Any) -> Tuple[Any, ...]:
    """Which Redis server (and database) a client talks to: a lock is cleaned up by another store's script only
    on its own server."""
    kwargs = client.connection_pool.connection_kwargs
    return kwargs.get("host"), kwargs.get("port"), kwargs.get("path"), kwargs.get("db", 0)


def arm_release(conversation_id: str) -> None:
    """The current task's next save of `conversation_id` is its message's last write under the lock."""
    held = _HELD.get()
    if held is not None and held.conversation_id == conversation_id:
        held.armed = True


def held_lock(conversation_id: str) -> Optional[HeldLock]:
    """The armed, unreleased lock of `conversation_id` the current task holds, if any."""
    held = _HELD.get()
    if held is None or not held.armed or held.released or held.conversation_id != conversation_id:
        return None
    return held


class LockStore(RedisLockStore):
    """Rasa's ticket lock; issuing a ticket and cleaning up are one (atomic) Lua script each instead of Rasa's 2 and
    4 round trips, and a ticket issued alone needs no read of the lock to be served. Rasa's JSON is kept; the wait loop (`update_lock`) stays Rasa's GET/SET, so several servers use
    bot.locks.AtomicLockStore (`bot run --workers`). `CANYU_RASA_SPEEDUPS=0`: Rasa's calls."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        super().__init__(key_prefix=KEY_PREFIX)
        self.ctx = plugin_context(endpoint_config.url if endpoint_config is not None else None)
        self.red = open_redis(self.ctx.settings, binary=True)
        self.scripted = speedups_enabled(self.ctx.env)
        self._issue = self.red.register_script(_ISSUE)
        self._cleanup = self.red.register_script(_CLEANUP)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        if not self.scripted:
            ticket: int = super().issue_ticket(conversation_id, lock_lifetime)
            return ticket
        return self._issue_counted(conversation_id, lock_lifetime)[0]

    def _issue_counted(self, conversation_id: str, lock_lifetime: float) -> Tuple[int, int]:
        """(our ticket, live tickets counting ours) in one script."""
        try:
            number, count = self._issue(keys=[self.key_prefix + conversation_id],
                                        args=[repr(time.time()), repr(float(lock_lifetime)), conversation_id])
        except redis.RedisError as exc:
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc
        return int(number), int(count)

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncIterator[TicketLock]:
        """Rasa's `lock`; a ticket issued alone is served at once, without Rasa's first read of the lock (the
        script saw it: tickets issued after it wait behind it). Rasa's way otherwise, and for subclasses that
        issue tickets their own way (AtomicLockStore)."""
        if not self.scripted or type(self).issue_ticket is not LockStore.issue_ticket or lock_lifetime <= 0:
            async with super().lock(conversation_id, lock_lifetime, wait_time_in_seconds) as lock:
                yield lock
            return
        ticket, count = self._issue_counted(conversation_id, lock_lifetime)
        held = HeldLock(conversation_id, ticket, self.key_prefix + conversation_id, server_of(self.red))
        token = _HELD.set(held)
        try:
            if count == 1:
                yield TicketLock(conversation_id, deque([Ticket(ticket, time.time() + lock_lifetime)]))
            else:
                yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            try:
                _HELD.reset(token)
            except ValueError:  # closed from another context (an abandoned generator): nothing of ours is set there
                pass
            if not held.released:
                self.cleanup(conversation_id, ticket)

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Rasa's wait for our turn, looking again after `FIRST_WAIT_S`, then twice as long each time up to
        Rasa's pause (`wait_time_in_seconds`, 1 s from Rasa's agent: a second message of one sender waited up to
        a whole second after its turn came)."""
        if not self.scripted:
            return await super()._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        pause = min(FIRST_WAIT_S, wait_time_in_seconds)
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                break
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(pause)
            self.update_lock(conversation_id)
            pause = min(pause * 2, wait_time_in_seconds)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        if not self.scripted:
            super().cleanup(conversation_id, ticket_number)
            return
        self._cleanup(keys=[self.key_prefix + conversation_id],
                      args=[repr(time.time()), ticket_number, conversation_id])


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
                    raw = cast(Optional[bytes], pipe.get(key))  # immediate mode after WATCH: the value
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
