"""Ratings Canyu records itself: 👍/👎 after answers, 1–5 after a handoff.

Key layout: `canyu:analytics:ratings` is a Redis stream (ids are millisecond timestamps, so a period
is one XRANGE); each entry has `sender_id`, `kind` ("answer" or "handoff"), `value` ("up", "down" or
"1".."5"), and optional `kb_entry`, `comment`.

The stream is a store: `RatingsLog` (the protocol), `RedisRatings` (here, `@maps_redis_errors`) and `MemoryRatings`
(`bot/analytics/_memory.py`, for unit tests), with one contract test (tests/contracts/test_ratings.py).
`record_rating` and `ratings_between` are the Redis one's, on the caller's client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Protocol

import redis

from bot import keys
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    Redis = redis.Redis[str]

__all__ = ["RATINGS_STREAM", "RatingsLog", "RedisRatings", "add_entry", "record_rating", "ratings_between",
           "normalize_rating", "rating_fields"]

RATINGS_STREAM = keys.RATINGS_STREAM
_UP = {"up", "+", "+1", "👍", "good", "yes", "1up", "thumbs_up"}
_DOWN = {"down", "-", "-1", "👎", "bad", "no", "thumbs_down"}


def normalize_rating(raw: Any) -> Optional[str]:
    """"up" / "down" / "1".."5", or None when `raw` is not a rating."""
    value = str(raw or "").strip().lower()
    if value in _UP:
        return "up"
    if value in _DOWN:
        return "down"
    if value.isdigit() and 1 <= int(value) <= 5:
        return value
    return None


class RatingsLog(Protocol):
    """Ratings in time order."""

    def add(self, fields: Mapping[str, str], ts: Optional[float] = None) -> str:
        """Append a rating at time `ts` (default now); returns its entry id (`{ms}-{seq}`)."""

    def between(self, start: float, end: float) -> List[Dict[str, Any]]:
        """Every rating from `start` to `end` (epoch seconds), oldest first: its fields plus `ts`. In milliseconds
        the end is inclusive: XRANGE's `(end` on an incomplete id excludes only `{end}-{max seq}`."""


@maps_redis_errors
class RedisRatings:
    """`RatingsLog` on the caller's Redis client (the `canyu:analytics:ratings` stream)."""

    def __init__(self, redis: "Redis", stream: str = RATINGS_STREAM) -> None:
        self.redis = redis
        self.stream = stream

    def add(self, fields: Mapping[str, str], ts: Optional[float] = None) -> str:
        return add_entry(self.redis, self.stream, dict(fields), ts)

    def between(self, start: float, end: float) -> List[Dict[str, Any]]:
        out = []
        for entry_id, fields in self.redis.xrange(self.stream, min=str(int(start * 1000)), max=f"({int(end * 1000)}"):
            out.append({**fields, "ts": int(entry_id.split("-")[0]) / 1000})
        return out


def rating_fields(sender_id: str, value: Any, kind: Optional[str] = None, kb_entry: str = "",
                  comment: str = "") -> Dict[str, str]:
    """The entry of one rating; `kind` defaults to "handoff" for 1–5 and "answer" for up/down (ValueError when
    `value` is not a rating)."""
    rating = normalize_rating(value)
    if rating is None:
        raise ValueError(f"not a rating: {value!r} (use up, down or 1-5)")
    kind = kind or ("handoff" if rating.isdigit() else "answer")
    return {"sender_id": sender_id, "kind": kind, "value": rating, "kb_entry": kb_entry or "", "comment": comment or ""}


def record_rating(sender_id: str, value: Any, kind: Optional[str] = None, *, red: "Redis",
                  kb_entry: str = "", comment: str = "", ts: Optional[float] = None) -> Dict[str, str]:
    """Append one rating to `red` (the caller's client); see `rating_fields`."""
    fields = rating_fields(sender_id, value, kind, kb_entry, comment)
    RedisRatings(red).add(fields, ts)
    return fields


def add_entry(red: "Redis", stream: str, fields: Dict[str, str], ts: Optional[float] = None) -> str:
    """XADD at time `ts` (for imports and seeded data; Redis 6.2 has no `ms-*` ids), else now."""
    if ts is None:
        return str(red.xadd(stream, fields))
    ms = int(ts * 1000)
    for seq in range(1000):
        try:
            return str(red.xadd(stream, fields, id=f"{ms}-{seq}"))
        except redis.ResponseError:
            continue
    return str(red.xadd(stream, fields))


def ratings_between(start: float, end: float, red: "Redis") -> List[Dict[str, Any]]:
    """Every rating with start <= time < end (epoch seconds), from the caller's client."""
    return RedisRatings(red).between(start, end)
