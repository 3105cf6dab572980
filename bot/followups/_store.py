"""Follow-up records in Redis: scheduled, sent once, answered once; and the figures log.

`FollowupStorage` is what callers use; `RedisFollowupStore` (also named `FollowupStore`) keeps the records in
Redis, `bot.followups._memory.MemoryFollowupStore` in memory (unit tests); tests/contracts/test_followups.py runs
the same checks on both.

A follow-up is one check-in for one user about one thing (a resolved handoff, a repair, a return). Its record
is written once when scheduled and never rewritten; what happens to it is written in fields of its own,
each with HSETNX, so two runners (or a runner and the user's answer) never overwrite each other:

- `canyu:followup:{sender}` hash: `{id}` JSON record (id, sender_id, kind, ref, subject, language, created_at,
  due_at, history), `{id}:sent` the time it was claimed for sending (the once-only claim), `{id}:outcome`
  sent | queued | dead, `{id}:answer` yes | no, `{id}:answered_at`. Expires 180 days after its last write.
- `canyu:followups:due` zset: `{id}|{sender}` -> due time, until the follow-up has been claimed and sent.
- `canyu:followups:seq` counter for the ids (`F1`, `F2`, …).
- `canyu:followups:log` list of JSON `{what, kind, at}` (scheduled, sent, queued, dead, yes, no, callback_opened,
  callback_done): the figures of `bot analytics`; no personal data (no sender id, no words).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Protocol, Tuple

from bot import keys
from bot.errors import DataError
from bot.followups._config import KINDS, FollowupConfig
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["DUE_KEY", "FollowupStorage", "FollowupStore", "KEEP_S", "LOG_KEY", "Record", "RedisFollowupStore",
           "SEQ_KEY", "log_event", "new_record", "user_key", "with_state"]

DUE_KEY = keys.FOLLOWUPS_DUE
LOG_KEY = keys.FOLLOWUPS_LOG
SEQ_KEY = keys.FOLLOWUPS_SEQ
KEEP_S = keys.FOLLOWUP_KEEP_S
"""A user's follow-up records expire this long after their last change (privacy: class `ttl`)."""
_LOG_CAP = 200_000

Record = Dict[str, Any]
"""A follow-up: id, sender_id, kind, ref, subject, language, created_at, due_at, history; read back with its
`sent`, `outcome`, `answer` and `answered_at` (None until they happen)."""


def user_key(sender_id: str) -> str:
    return keys.followup(sender_id)


def log_event(redis: "redis.Redis[str]", what: str, kind: str = "", now: Optional[float] = None) -> None:
    """One line of the figures log (no personal data)."""
    entry = {"what": what, "kind": kind, "at": round(time.time() if now is None else now, 3)}
    pipe = redis.pipeline()
    pipe.rpush(LOG_KEY, json.dumps(entry))
    pipe.ltrim(LOG_KEY, -_LOG_CAP, -1)
    pipe.execute()


class FollowupStorage(Protocol):
    """Follow-ups scheduled, claimed for sending once, answered once; each change counted in the figures log."""

    config: FollowupConfig

    def schedule(self, sender_id: str, kind: str, *, subject: Mapping[str, str], language: str, ref: str = "",
                 history: Optional[Mapping[str, Any]] = None, now: Optional[float] = None,
                 dedupe: str = "") -> Record: ...

    def claim(self, sender_id: str, fid: str, now: float) -> bool: ...

    def unclaim(self, sender_id: str, fid: str) -> None: ...

    def mark_outcome(self, record: Mapping[str, Any], outcome: str, now: float) -> None: ...

    def answer(self, sender_id: str, fid: str, reply: str, now: Optional[float] = None) -> bool: ...

    def get(self, sender_id: str, fid: str) -> Optional[Record]: ...

    def of_user(self, sender_id: str) -> List[Record]: ...

    def latest_unanswered(self, sender_id: str) -> Optional[Record]: ...

    def due(self, now: float, limit: int = 200) -> List[Tuple[str, str]]: ...

    def logged(self, start: float, end: float) -> List[Dict[str, Any]]: ...


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise DataError(f"unknown follow-up kind {kind!r}; kinds: {', '.join(KINDS)}")


def check_reply(reply: str) -> None:
    if reply not in ("yes", "no"):
        raise DataError(f"a follow-up answer is yes or no, not {reply!r}")


def new_record(fid: str, sender_id: str, kind: str, ref: str, subject: Mapping[str, str], language: str,
               history: Optional[Mapping[str, Any]], now: float, config: FollowupConfig) -> Record:
    """The record `schedule` writes, due `config.delays_days[kind]` after `now`."""
    return {"id": fid, "sender_id": sender_id, "kind": kind, "ref": ref, "subject": dict(subject),
            "language": "zh" if language == "zh" else "en", "created_at": round(now, 3),
            "due_at": round(now + config.delay_seconds(kind), 3), "history": dict(history or {})}


def records_of(data: Mapping[str, str]) -> List[Record]:
    """The follow-ups in a user's hash, newest first, each with its state."""
    ids = [f for f in data if f.startswith("F") and ":" not in f]
    return sorted((with_state(f, data) for f in ids), key=lambda r: -float(r.get("created_at") or 0))


def first_unanswered(records: Iterable[Record]) -> Optional[Record]:
    return next((r for r in records if r.get("sent") and not r.get("answer")), None)


def due_pairs(members: Iterable[str]) -> List[Tuple[str, str]]:
    """`{id}|{sender}` members as (sender_id, follow-up id)."""
    return [(sender_id, fid) for fid, _, sender_id in (m.partition("|") for m in members)]


@maps_redis_errors
class RedisFollowupStore:
    """Follow-ups on one Redis client (decoded responses); see the module docstring for the keys."""

    def __init__(self, redis: "redis.Redis[str]", config: FollowupConfig) -> None:
        """`config`: the follow-up settings (`config_from_env(ctx.env)`): delays, hours, the call-back."""
        self.redis = redis
        self.config = config

    # --- writing -----------------------------------------------------------------------------------
    def schedule(self, sender_id: str, kind: str, *, subject: Mapping[str, str], language: str, ref: str = "",
                 history: Optional[Mapping[str, Any]] = None, now: Optional[float] = None,
                 dedupe: str = "") -> Record:
        """A check-in `config.delays_days[kind]` after `now`. `dedupe` (e.g. the repair number) makes a second
        call for the same event return the first record instead of scheduling another one."""
        check_kind(kind)
        now = time.time() if now is None else now
        key = user_key(sender_id)
        if dedupe:
            existing = self.redis.hget(key, f"event:{kind}:{dedupe}")
            if existing:
                found = self.get(sender_id, existing)
                if found is not None:
                    return found
        fid = f"F{self.redis.incr(SEQ_KEY)}"
        record = new_record(fid, sender_id, kind, ref, subject, language, history, now, self.config)
        if dedupe and not self.redis.hsetnx(key, f"event:{kind}:{dedupe}", fid):  # a racing call won
            first = self.redis.hget(key, f"event:{kind}:{dedupe}") or fid
            return self.get(sender_id, first) or {**record, "id": first}
        pipe = self.redis.pipeline()
        pipe.hset(key, fid, json.dumps(record, ensure_ascii=False))
        pipe.expire(key, KEEP_S)
        pipe.zadd(DUE_KEY, {f"{fid}|{sender_id}": record["due_at"]})
        pipe.execute()
        log_event(self.redis, "scheduled", kind, now)
        return record

    def claim(self, sender_id: str, fid: str, now: float) -> bool:
        """True for exactly one caller: the one that sends this follow-up."""
        return bool(self.redis.hsetnx(user_key(sender_id), f"{fid}:sent", f"{now:.3f}"))

    def unclaim(self, sender_id: str, fid: str) -> None:
        """Nothing was queued (an error before the delivery queue took it): a later turn tries again."""
        self.redis.hdel(user_key(sender_id), f"{fid}:sent")

    def mark_outcome(self, record: Mapping[str, Any], outcome: str, now: float) -> None:
        sender_id, fid = record["sender_id"], record["id"]
        pipe = self.redis.pipeline()
        pipe.hset(user_key(sender_id), f"{fid}:outcome", outcome)
        pipe.expire(user_key(sender_id), KEEP_S)
        pipe.zrem(DUE_KEY, f"{fid}|{sender_id}")
        pipe.execute()
        log_event(self.redis, outcome, record.get("kind", ""), now)

    def answer(self, sender_id: str, fid: str, reply: str, now: Optional[float] = None) -> bool:
        """Record yes/no once; False when this follow-up was already answered (a second tap)."""
        check_reply(reply)
        now = time.time() if now is None else now
        key = user_key(sender_id)
        if not self.redis.hsetnx(key, f"{fid}:answer", reply):
            return False
        self.redis.hset(key, f"{fid}:answered_at", f"{now:.3f}")
        record = self.get(sender_id, fid) or {}
        log_event(self.redis, reply, record.get("kind", ""), now)
        return True

    # --- reading -----------------------------------------------------------------------------------
    def get(self, sender_id: str, fid: str) -> Optional[Record]:
        data = self.redis.hgetall(user_key(sender_id))
        return with_state(fid, data) if fid in data else None

    def of_user(self, sender_id: str) -> List[Record]:
        """The user's follow-ups, newest first, each with its `sent`, `outcome`, `answer`."""
        return records_of(self.redis.hgetall(user_key(sender_id)))

    def latest_unanswered(self, sender_id: str) -> Optional[Record]:
        """The newest follow-up sent to the user and not answered yet (a typed "still broken")."""
        return first_unanswered(self.of_user(sender_id))

    def due(self, now: float, limit: int = 200) -> List[Tuple[str, str]]:
        """(sender_id, follow-up id) pairs due at `now`, oldest first."""
        return due_pairs(self.redis.zrangebyscore(DUE_KEY, "-inf", now, start=0, num=limit))

    def logged(self, start: float, end: float) -> List[Dict[str, Any]]:
        """Figures-log entries in [start, end)."""
        return list(read_log(self.redis, start, end))


FollowupStore = RedisFollowupStore
"""The name callers build the Redis store by."""


def with_state(fid: str, data: Mapping[str, str]) -> Record:
    """Follow-up `fid` from a user's hash, with its `sent`, `outcome`, `answer` and `answered_at`."""
    record: Record = json.loads(data[fid])
    record.update({"sent": data.get(f"{fid}:sent"), "outcome": data.get(f"{fid}:outcome"),
                   "answer": data.get(f"{fid}:answer"), "answered_at": data.get(f"{fid}:answered_at")})
    return record


def read_log(redis: "redis.Redis[str]", start: float, end: float) -> Iterable[Dict[str, Any]]:
    """Figures-log entries in [start, end)."""
    for raw in redis.lrange(LOG_KEY, 0, -1):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if start <= float(entry.get("at") or 0) < end:
            yield entry
