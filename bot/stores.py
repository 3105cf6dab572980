"""Rasa's tracker store and lock store on our Redis (`bot.storage`), the tracker store appending events.

Used from `endpoints.yml` (`type: bot.stores.TrackerStore` / `bot.stores.LockStore`), so plain `rasa run`,
`rasa shell` and `bot run` all share the same Redis: `REDIS_URL` or the embedded server.
Keys: trackers `canyu:tracker:{sender_id}`, locks `canyu:lock:{conversation_id}`. Both families belong to
Rasa alone: no other key starts with `canyu:tracker:` or `canyu:lock:`, so no sender id, whatever a user
chooses, can name one of our own keys (tests/security/test_keys.py checks this). Both clients time out and
reconnect like every other (`bot.storage.redis_client_options`).

Rasa builds these stores from endpoints.yml, so each is a composition root: it builds its context
(`bot.plugin_context.plugin_context`: settings read once) in its constructor; a `url` in endpoints.yml (a
`redis://` or `unix://` URL) wins over `REDIS_URL`. The lock store's code is in bot/locks.py.

**Why appending** (issue 17): Rasa's `RedisTrackerStore.save` reads the stored tracker back twice, replays
it, and writes the whole conversation again as one JSON string. Here a tracker is a Redis LIST: element 0 a
header (`format`, `sender_id`, `n` events, `start`: index of the latest session's `action_session_start`,
`last`: newest event time, `w`: a fresh id per write), then one `Event.as_dict()` JSON per event.
`retrieve` reads the header and the latest session in one Lua script (nothing but "same" when the events this
store saved last, kept for `RECENT` conversations, are still current). `save` of a tracker it handed out
(marked with the header read and its first and last event objects) appends only the new events, in a script
that first checks the header is still the one read. Anything else (the HTTP API, `rasa` tools, a stale mark,
a concurrent write) takes the careful path: compare with every stored event; append if the stored events
are a prefix, else merge as Rasa does (`_merge_trackers`: nothing stored is dropped) and rewrite. The event
broker gets what Rasa's `stream_events` would send, without its extra read. The same script tells whether the
conversation has a handoff record (`canyu:handoff:{sender}`), noted on the tracker for EscalationPolicy
(bot/tracker_notes.py: one round trip less per message). docs/throughput.md has more.

Old (string) trackers are read as they are and become lists on their next save; `CANYU_RASA_SPEEDUPS=0` gives
Rasa's own store back and turns a list it meets into a string first. `record_exp` sets the expiry on every save;
without it a save clears any, as Rasa's SET does (retention, bot/privacy/retention.py, reads the header's `last`).
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import secrets
import time
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Tuple

import redis
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.conversation import Dialogue
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, deserialise_events
from rasa.shared.core.trackers import (
    DialogueStateTracker,
    TrackerEventDiffEngine,
    get_trackers_for_conversation_sessions,
)

from bot.keys import handoff as handoff_key
from bot.locks import KEY_PREFIX, LOCK_LUA, LockStore, held_lock, server_of
from bot.plugin_context import plugin_context
from bot.speedups import speedups_enabled
from bot.tracker_notes import note_handoff

__all__ = ["FORMAT", "KEY_PREFIX", "LockStore", "TrackerStore", "copy_slot", "reset_copy_memo"]
"""`LockStore` lives in bot/locks.py; endpoints.yml names it here (`bot.stores.LockStore`)."""

logger = logging.getLogger(__name__)

FORMAT = "canyu.tracker/1"
_MARK = "_canyu_stored"
RECENT = 2000  # conversations whose last saved events stay in memory (the next message skips parsing them)
_CHUNK = 1000  # Lua's unpack() has a stack limit: RPUSH at most this many values at a time

# KEYS[1] tracker; ARGV[1] the header read ("" = the key must not exist), ARGV[2] the new header,
# ARGV[3] expiry in seconds (0: none), ARGV[4..] events. 0 when the stored header is not the one read.
_PUSH = """local function push(from) for i = from, #ARGV, %(chunk)d do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + %(chunk)d - 1, #ARGV))) end end
""" % {"chunk": _CHUNK}
_APPEND_BODY = """
local t = redis.call('TYPE', KEYS[1]).ok
if ARGV[1] == '' then
  if t ~= 'none' then return 0 end
  redis.call('RPUSH', KEYS[1], ARGV[2])
else
  if t ~= 'list' or redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return 0 end
  redis.call('LSET', KEYS[1], 0, ARGV[2])
end
push(%(first)d)
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) else redis.call('PERSIST', KEYS[1]) end
"""
_APPEND = _PUSH + _APPEND_BODY % {"first": 4} + "return 1\n"
# The same, then the sender's lock cleaned up (bot/locks.py `cleanup`: the message's last write under it):
# KEYS[2] the lock; ARGV[4] now, ARGV[5] the ticket, ARGV[6] the conversation id, ARGV[7..] events.
# 2 when the lock was cleaned up too, 1 when only the events were appended (a lock it could not read stays).
_APPEND_RELEASE = _PUSH + LOCK_LUA + _APPEND_BODY % {"first": 7} + """
if pcall(cleanup, KEYS[2], ARGV[4], ARGV[5], ARGV[6]) then return 2 end
return 1
"""

# KEYS[1] tracker; ARGV[1] expiry (0: none), ARGV[2] header, ARGV[3..] events: the whole list, written anew.
_REWRITE = _PUSH + """
redis.call('DEL', KEYS[1])
push(2)
if tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
"""

# KEYS[1] tracker, KEYS[2] (optional) the conversation's handoff record; ARGV[1] '1' for every session, ARGV[2]
# the header of the events held in memory ('' none). {kind, handoff record exists (0/1), ...}:
# {'list', h, header, events...}, {'same', h} when the header is ARGV[2], {'string', h, json}, {'none', h}.
_READ = """
local h = 0
if KEYS[2] then h = redis.call('EXISTS', KEYS[2]) end
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'string' then return {'string', h, redis.call('GET', KEYS[1])} end
if t ~= 'list' then return {t, h} end
local header = redis.call('LINDEX', KEYS[1], 0)
if header == ARGV[2] then return {'same', h} end
local start = 0
if ARGV[1] ~= '1' then start = tonumber(cjson.decode(header).start) or 0 end
local out = redis.call('LRANGE', KEYS[1], start + 1, -1)
table.insert(out, 1, header); table.insert(out, 1, h); table.insert(out, 1, 'list')
return out
"""
ABSENT_NOTE_S = 1.0  # a handoff look-up for a sender without a tracker is noted on a new tracker this soon after


class _Stored(NamedTuple):
    """What a handed-out tracker holds of the stored list: the header read, and events[0:count] are the stored
    events base…base+count-1 (checked by identity of the first and last objects)."""
    header: str
    meta: Dict[str, Any]
    base: int
    n_events: int
    first: Optional[Event]
    last: Optional[Event]


def _is_session_start(event: Dict[str, Any]) -> bool:
    """Where Rasa's `get_trackers_for_conversation_sessions` splits (an event as `as_dict()` gives it)."""
    return bool(event.get("event") == ActionExecuted.type_name and event.get("name") == ACTION_SESSION_START_NAME)


def _header(sender_id: str, meta: Dict[str, Any], new: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The header after appending `new` (event dicts) to what `meta` describes."""
    n, start, last = int(meta.get("n", 0)), int(meta.get("start", 0)), meta.get("last")
    for i, event in enumerate(new):
        if _is_session_start(event):
            start = n + i
        stamp = event.get("timestamp")
        if isinstance(stamp, (int, float)) and (last is None or stamp > last):
            last = stamp
    return {"format": FORMAT, "sender_id": sender_id, "n": n + len(new), "start": start, "last": last,
            "w": secrets.token_hex(6)}


def copy_slot(slot: Any) -> Any:
    """`copy.copy(slot)` for a plain object (a new instance sharing the attributes), without copy's protocol
    look-ups; a class with copy or pickle hooks, or with `__slots__` of its own, goes through `copy.copy`."""
    cls = type(slot)
    if cls not in _PLAIN:
        _PLAIN[cls] = hasattr(slot, "__dict__") and not any(
            h in k.__dict__ for k in cls.__mro__[:-1] for h in _HOOKS) and not any(
            k.__dict__.get("__slots__") for k in cls.__mro__)
    if not _PLAIN[cls]:
        return copy.copy(slot)
    new = object.__new__(cls)
    new.__dict__.update(slot.__dict__)
    return new


_PLAIN: Dict[type, bool] = {}
"""Whether a slot class copies as a plain object (a per-class memo): a process-wide cache; reset with
reset_copy_memo()."""
_HOOKS = ("__copy__", "__reduce__", "__reduce_ex__", "__setstate__", "__getstate__")
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def reset_copy_memo() -> None:
    """Forget which slot classes copy as plain objects."""
    _PLAIN.clear()


class TrackerStore(RedisTrackerStore):
    def __init__(self, domain: Domain, host: Optional[str] = None, event_broker: Optional[EventBroker] = None,
                 record_exp: Optional[float] = None, **kwargs: Any) -> None:
        url = kwargs.pop("url", None) or host
        for unused in ("port", "db", "password", "username", "key_prefix"):
            kwargs.pop(unused, None)
        super().__init__(domain, event_broker=event_broker, record_exp=record_exp, key_prefix=KEY_PREFIX, **kwargs)
        self.ctx = plugin_context(url)
        self.red = self.ctx.redis
        self.appending = speedups_enabled(self.ctx.env)
        self._append = self.red.register_script(_APPEND)
        self._append_release = self.red.register_script(_APPEND_RELEASE)
        self._server = server_of(self.red)
        self._rewrite = self.red.register_script(_REWRITE)
        self._read = self.red.register_script(_READ)
        self._recent: "OrderedDict[str, Tuple[str, Dict[str, Any], Tuple[Event, ...]]]" = OrderedDict()
        self._absent: Dict[str, Tuple[bool, float]] = {}  # sender -> (handoff record seen, when): no tracker yet

    def init_tracker(self, sender_id: str) -> DialogueStateTracker:
        return self.new_tracker(sender_id, self.max_event_history)

    def new_tracker(self, sender_id: str, max_event_history: Optional[int]) -> DialogueStateTracker:
        """Rasa's `init_tracker`, with the domain's slots copied as `copy.copy` would, 3x faster (one tracker per
        message), and the handoff note of the `retrieve` that just found no tracker. Rasa's wrapper of this store
        calls it too (bot/rasa_tracker_patches.py)."""
        if not self.appending:
            return DialogueStateTracker(sender_id, self.domain.slots, max_event_history=max_event_history)
        tracker = DialogueStateTracker(sender_id, None, max_event_history=max_event_history)
        tracker.slots = {slot.name: copy_slot(slot) for slot in self.domain.slots}
        for slot in tracker.slots.values():  # as Rasa's __init__ does (`_reset`)
            slot.reset()
        absent = self._absent.pop(sender_id, None)
        if absent is not None and time.monotonic() - absent[1] < ABSENT_NOTE_S:
            note_handoff(tracker, absent[0])  # the look-up of the `retrieve` that found no tracker just now
        if len(self._absent) > RECENT:
            self._absent.clear()
        return tracker

    async def _retrieve(self, sender_id: str, fetch_all_sessions: bool) -> Optional[DialogueStateTracker]:
        if not self.appending:
            return await self._stock(super()._retrieve, sender_id, sender_id, fetch_all_sessions)
        recent = None if fetch_all_sessions else self._recent.get(sender_id)
        got = self._read(keys=[self.key_prefix + sender_id, handoff_key(sender_id)],
                         args=["1" if fetch_all_sessions else "0", recent[0] if recent else ""])
        kind, queued = got[0], bool(got[1])
        tracker = self._tracker_from(sender_id, fetch_all_sessions, recent, got)
        if tracker is None:  # Rasa makes the new tracker next (`create_tracker` -> `init_tracker`)
            if kind == "none":
                self._absent[sender_id] = (queued, time.monotonic())
            return None
        note_handoff(tracker, queued)  # read with the tracker: the policy need not ask (bot/tracker_notes.py)
        return tracker

    def _tracker_from(self, sender_id: str, fetch_all_sessions: bool,
                      recent: Optional[Tuple[str, Dict[str, Any], Tuple[Event, ...]]],
                      got: List[Any]) -> Optional[DialogueStateTracker]:
        if got[0] == "none":
            return None
        if got[0] == "same" and recent is not None:  # nobody wrote since: the events saved last, not parsed again
            header, meta, events = recent
            self._recent.move_to_end(sender_id)
            tracker = self._tracker_of(sender_id, list(events))
            if len(tracker.events) == len(events):
                self._mark(tracker, header, meta, int(meta.get("start", 0)), len(events))
            return tracker
        if got[0] == "string":  # Rasa's own format: read it Rasa's way; the next save makes it a list
            tracker = self.deserialise_tracker(sender_id, got[2])
            return tracker if fetch_all_sessions or tracker is None else self._latest_session(tracker)
        if got[0] != "list":
            raise redis.ResponseError(f"{self.key_prefix}{sender_id} is a Redis {got[0]}, not a tracker")
        header, items = got[2], got[3:]
        meta = json.loads(header)
        dicts = [json.loads(item) for item in items]
        tracker = self._tracker_of(sender_id, deserialise_events(dicts))
        events = tracker.events
        if len(events) == len(dicts):  # nothing dropped (unknown event, max_event_history): safe to mark
            base = 0 if fetch_all_sessions else int(meta.get("start", 0))
            self._mark(tracker, header, meta, base, len(dicts))
        return tracker

    def _latest_session(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        sessions = get_trackers_for_conversation_sessions(tracker)
        return tracker if len(sessions) <= 1 else sessions[-1]

    def _tracker_of(self, sender_id: str, events: List[Event]) -> DialogueStateTracker:
        tracker = self.init_tracker(sender_id)
        tracker.recreate_from_dialogue(Dialogue(sender_id, events))
        return tracker

    def _stored(self, key: str) -> Tuple[Optional[str], Dict[str, Any], List[Dict[str, Any]]]:
        """(header or None for Rasa's string format, header dict, every stored event as a dict)."""
        got = self._read(keys=[key], args=["1"])
        if got[0] == "none":
            return "", {"n": 0, "start": 0, "last": None}, []
        if got[0] == "string":
            dicts = json.loads(got[2]).get("events") or []
            return None, _header("", {}, dicts), dicts
        if got[0] != "list":
            raise redis.ResponseError(f"{key} is a Redis {got[0]}, not a tracker")
        return got[2], json.loads(got[2]), [json.loads(item) for item in got[3:]]

    async def exists(self, conversation_id: str) -> bool:
        return bool(self.red.exists(self.key_prefix + conversation_id))

    async def keys(self) -> Iterable[str]:
        """Sender ids (Rasa's own returns whole keys, which `retrieve` cannot take back)."""
        skip = len(self.key_prefix)
        return [key[skip:] for key in self.red.scan_iter(match=self.key_prefix + "*", count=1000)]

    # ------------------------------------------------------------------ writing
    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        if not self.appending:
            await self._stock(super().save, tracker.sender_id, tracker, timeout)
            return
        expiry = int(timeout or self.record_exp or 0)
        stored: Optional[_Stored] = getattr(tracker, _MARK, None)
        events = tracker.events
        if stored is not None and len(events) >= stored.n_events and (
                stored.n_events == 0 or (events[0] is stored.first and events[stored.n_events - 1] is stored.last)):
            new = list(tracker.events)[stored.n_events:]
            if self._try_append(tracker, stored.header, stored.meta, stored.base, new, expiry):
                return
            logger.debug("tracker %s changed since it was read; comparing with the stored events", tracker.sender_id)
        self._save_carefully(tracker, expiry)

    def _try_append(self, tracker: DialogueStateTracker, header: str, meta: Dict[str, Any], base: int,
                    new: List[Event], expiry: int) -> bool:
        dicts = [event.as_dict() for event in new]
        fresh = _header(tracker.sender_id, meta, dicts)
        fresh_raw = _dumps(fresh)
        key = self.key_prefix + tracker.sender_id
        held = held_lock(tracker.sender_id)
        if held is not None and held.server == self._server:  # one round trip for the append and the lock's end
            done = self._append_release(keys=[key, held.key], args=[header, fresh_raw, expiry, repr(time.time()),
                                                                    held.ticket, held.conversation_id,
                                                                    *map(_dumps, dicts)])
            held.released = done == 2
        else:
            done = self._append(keys=[key], args=[header, fresh_raw, expiry, *map(_dumps, dicts)])
        if not done:
            return False
        self._mark(tracker, fresh_raw, fresh, base, len(tracker.events))
        self._remember(tracker, fresh_raw, fresh, base)
        self._publish(tracker.sender_id, dicts)
        return True

    def _remember(self, tracker: DialogueStateTracker, header: str, meta: Dict[str, Any], base: int) -> None:
        """Keep the events just saved for the next `retrieve` of the latest session (Rasa shares event objects
        between trackers too: `copy`, `travel_back_in_time`), if they are exactly that session."""
        sender = tracker.sender_id
        self._recent.pop(sender, None)
        if base == int(meta.get("start", 0)) and self.max_event_history is None:
            self._recent[sender] = (header, meta, tuple(tracker.events))
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)

    def _save_carefully(self, tracker: DialogueStateTracker, expiry: int) -> None:
        key = self.key_prefix + tracker.sender_id
        self._recent.pop(tracker.sender_id, None)
        header, meta, stored = self._stored(key)
        mine = [event.as_dict() for event in tracker.events]
        n = len(stored)
        for base in sorted({0, int(meta.get("start", 0))}):
            held = n - base
            if len(mine) >= held and mine[:held] == stored[base:]:
                new = list(tracker.events)[held:]
                if header is not None:  # our list: append (fails only if someone wrote meanwhile)
                    if self._try_append(tracker, header, meta, base, new, expiry):
                        return
                    return self._save_carefully(tracker, expiry)
                self._write(tracker.sender_id, stored + mine[held:], expiry)  # Rasa's string: migrate
                self._publish(tracker.sender_id, mine[held:])
                return
        # the tracker does not continue what is stored (a rewound or replaced tracker): merge as Rasa does
        prior = self._tracker_of(tracker.sender_id, deserialise_events(stored))
        merged = self._merge_trackers(prior, tracker)
        self._write(tracker.sender_id, [event.as_dict() for event in merged.events], expiry)
        latest = self._latest_session(prior)
        new = TrackerEventDiffEngine.event_difference(latest, tracker)
        self._publish(tracker.sender_id, [event.as_dict() for event in new])
        logger.info("tracker %s rewritten: the saved tracker did not continue the stored events", tracker.sender_id)

    def _write(self, sender_id: str, dicts: List[Dict[str, Any]], expiry: int) -> None:
        header = _header(sender_id, {}, dicts)
        self._rewrite(keys=[self.key_prefix + sender_id], args=[expiry, _dumps(header), *map(_dumps, dicts)])

    @staticmethod
    def _mark(tracker: DialogueStateTracker, header: str, meta: Dict[str, Any], base: int, count: int) -> None:
        events = tracker.events
        first, last = (events[0], events[count - 1]) if count else (None, None)
        setattr(tracker, _MARK, _Stored(header, meta, base, count, first, last))

    def _publish(self, sender_id: str, new: List[Dict[str, Any]]) -> None:
        """What Rasa's `_stream_new_events` sends, from the dicts already made for Redis."""
        if self.event_broker is not None:
            for event in new:
                self.event_broker.publish({"sender_id": sender_id, **event})

    # ------------------------------------------------------------------ Rasa's own store (speed-ups off)
    async def _stock(self, method: Any, sender_id: str, *args: Any) -> Any:
        """Rasa's method; a tracker in our list format is turned into Rasa's string first."""
        try:
            return await method(*args)
        except redis.ResponseError as exc:
            if "WRONGTYPE" not in str(exc):
                raise
        key = self.key_prefix + sender_id
        header, _, dicts = self._stored(key)
        ttl = self.red.ttl(key)
        self.red.set(key, _dumps({"events": dicts, "name": sender_id}), ex=ttl if ttl > 0 else None)
        logger.info("tracker %s turned back into Rasa's format (CANYU_RASA_SPEEDUPS is off)", sender_id)
        return await method(*args)
