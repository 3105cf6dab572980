"""Call-backs: a 1–2 rating after a handoff opens a task for a team lead, with a promised time the user is told.

One open call-back per user: a second low rating while one is open adds to it (the lead calls once, about
everything). A lead marks it done in the console (bot/console/views/callbacks.py).

`CallbackStorage` is what callers use; `RedisCallbackStore` (also named `CallbackStore`) keeps them in Redis,
`bot.followups._memory.MemoryCallbackStore` in memory (unit tests); tests/contracts/test_callbacks.py runs the same
checks on both.

Redis keys (names and TTLs in bot/keys.py):
- `canyu:callback:{sender}` hash: `state` (open|done), `rating`, `ratings` (JSON list), `agent`, `summary` (JSON:
  the resolved handoff: reason, cue, rule, agent, resolved_at), `language`, `opened_at`, `due_at`, `done_at`,
  `done_by`, `note`. Expires 180 days after its last change.
- `canyu:callbacks:open` zset: sender id -> due time, while open.
Figures go to the follow-ups log (`callback_opened`, `callback_done`, `callback_done_late`).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Protocol

from bot import keys
from bot.errors import DataError
from bot.followups._config import FollowupConfig
from bot.followups._store import KEEP_S, log_event
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["Callback", "CallbackStorage", "CallbackStore", "OPEN_KEY", "RedisCallbackStore", "callback_from_hash",
           "callback_key", "last_handoff", "new_callback"]

Callback = Dict[str, Any]
"""A call-back as read: sender_id, state, rating, ratings, agent, summary, language, opened_at, due_at, done_at,
done_by, note."""

OPEN_KEY = keys.CALLBACKS_OPEN


def callback_key(sender_id: str) -> str:
    return keys.callback(sender_id)


class CallbackStorage(Protocol):
    """Call-backs: opened (or added to) by a low rating, closed by a lead; counted in the follow-ups' figures log."""

    config: FollowupConfig

    def open(self, sender_id: str, rating: int, *, agent: str = "", language: str = "en",
             now: Optional[float] = None) -> Callback: ...

    def done(self, sender_id: str, lead: str, note: str = "", now: Optional[float] = None) -> Callback: ...

    def get(self, sender_id: str) -> Optional[Callback]: ...

    def open_list(self, now: Optional[float] = None) -> List[Callback]: ...

    def overdue(self, now: Optional[float] = None) -> int: ...


def last_handoff(summaries: Iterable[str], sender_id: str) -> Dict[str, Any]:
    """From JSON summaries of resolved handoffs (newest first), the user's newest one."""
    for raw in summaries:
        try:
            summary = json.loads(raw)
        except ValueError:
            continue
        if summary.get("sender_id") == sender_id:
            return {k: summary.get(k) for k in ("rule", "reason", "cue", "agent", "resolved_by", "resolved_at",
                                                  "channel", "language")}
    return {}


def new_callback(rating: int, agent: str, language: str, summary: Mapping[str, Any], now: float,
                 due: float) -> Dict[str, str]:
    """The fields of a newly opened call-back, as stored."""
    return {"state": "open", "rating": str(rating), "agent": agent or str(summary.get("agent") or ""),
            "ratings": json.dumps([{"rating": rating, "agent": agent, "at": round(now, 3)}]),
            "summary": json.dumps(summary, ensure_ascii=False), "language": "zh" if language == "zh" else "en",
            "opened_at": f"{now:.3f}", "due_at": f"{due:.3f}", "done_at": "", "done_by": "", "note": ""}


def callback_from_hash(sender_id: str, raw: Mapping[str, str]) -> Callback:
    return {"sender_id": sender_id, "state": raw.get("state", ""), "rating": int(raw.get("rating") or 0),
            "ratings": json.loads(raw.get("ratings") or "[]"), "agent": raw.get("agent", ""),
            "summary": json.loads(raw.get("summary") or "{}"), "language": raw.get("language", "en"),
            "opened_at": float(raw.get("opened_at") or 0), "due_at": float(raw.get("due_at") or 0),
            "done_at": float(raw.get("done_at") or 0), "done_by": raw.get("done_by", ""),
            "note": raw.get("note", "")}


@maps_redis_errors
class RedisCallbackStore:
    """Call-backs on one Redis client (decoded responses); the handoff summary from `canyu:handoff_resolved`."""

    def __init__(self, redis: "redis.Redis[str]", config: FollowupConfig) -> None:
        """`config`: the follow-up settings (`config_from_env(ctx.env)`): when a call-back is due."""
        self.redis = redis
        self.config = config

    def open(self, sender_id: str, rating: int, *, agent: str = "", language: str = "en",
             now: Optional[float] = None) -> Callback:
        """Open (or add to) the user's call-back; returns it with its `due_at`."""
        now = time.time() if now is None else now
        key = callback_key(sender_id)
        current = self.get(sender_id)
        if current and current["state"] == "open":
            ratings = current["ratings"] + [{"rating": rating, "agent": agent, "at": round(now, 3)}]
            self.redis.hset(key, mapping={"ratings": json.dumps(ratings), "rating": min(rating, current["rating"])})
            self.redis.expire(key, KEEP_S)
            return self.get(sender_id) or current
        due = self.config.callback_due(now)
        summary = last_handoff(self.redis.lrange(keys.HANDOFF_RESOLVED, 0, 499), sender_id)
        pipe = self.redis.pipeline()
        pipe.delete(key)
        pipe.hset(key, mapping={k: v for k, v in new_callback(rating, agent, language, summary, now, due).items()})
        pipe.expire(key, KEEP_S)
        pipe.zadd(OPEN_KEY, {sender_id: due})
        pipe.execute()
        log_event(self.redis, "callback_opened", "callback", now)
        return self.get(sender_id) or {}

    def done(self, sender_id: str, lead: str, note: str = "", now: Optional[float] = None) -> Callback:
        """Mark the user's open call-back done (by `lead`); a DataError when there is none."""
        now = time.time() if now is None else now
        if not self.redis.zrem(OPEN_KEY, sender_id):
            raise DataError(f"no open call-back for {sender_id}")
        key = callback_key(sender_id)
        self.redis.hset(key, mapping={"state": "done", "done_at": f"{now:.3f}", "done_by": lead, "note": note[:500]})
        self.redis.expire(key, KEEP_S)
        record = self.get(sender_id) or {}
        log_event(self.redis, "callback_done", "callback", now)
        if record.get("due_at") and now > record["due_at"]:
            log_event(self.redis, "callback_done_late", "callback", now)
        return record

    def get(self, sender_id: str) -> Optional[Callback]:
        raw = self.redis.hgetall(callback_key(sender_id))
        return callback_from_hash(sender_id, raw) if raw else None

    def open_list(self, now: Optional[float] = None) -> List[Callback]:
        """Open call-backs, soonest due first, each with `overdue`."""
        now = time.time() if now is None else now
        out = []
        for sender_id in self.redis.zrange(OPEN_KEY, 0, -1):
            record = self.get(sender_id)
            if record is not None:
                out.append({**record, "overdue": now > record["due_at"]})
        return out

    def overdue(self, now: Optional[float] = None) -> int:
        """How many open call-backs are past their due time."""
        now = time.time() if now is None else now
        return int(self.redis.zcount(OPEN_KEY, "-inf", f"({now}"))


CallbackStore = RedisCallbackStore
"""The name callers build the Redis store by."""
