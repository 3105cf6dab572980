"""Ratings Canyu records itself: 👍/👎 after answers, 1–5 after a handoff.

Key layout: `canyu:analytics:ratings` is a Redis stream (ids are millisecond timestamps, so a period
is one XRANGE); each entry has `sender_id`, `kind` ("answer" or "handoff"), `value` ("up", "down" or
"1".."5"), and optional `kb_entry`, `comment`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

import redis

from bot import keys

if TYPE_CHECKING:
    Redis = redis.Redis[str]

__all__ = ["RATINGS_STREAM", "add_entry", "record_rating", "ratings_between", "normalize_rating"]

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


def record_rating(sender_id: str, value: Any, kind: Optional[str] = None, *, red: "Redis",
                  kb_entry: str = "", comment: str = "", ts: Optional[float] = None) -> Dict[str, str]:
    """Append one rating to `red` (the caller's client); `kind` defaults to "handoff" for 1–5 and "answer" for
    up/down."""
    rating = normalize_rating(value)
    if rating is None:
        raise ValueError(f"not a rating: {value!r} (use up, down or 1-5)")
    kind = kind or ("handoff" if rating.isdigit() else "answer")
    fields = {"sender_id": sender_id, "kind": kind, "value": rating, "kb_entry": kb_entry or "",
              "comment": comment or ""}
    add_entry(red, RATINGS_STREAM, fields, ts)
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
    """Every rating with start <= time < end (epoch seconds)."""
    out = []
    for entry_id, fields in red.xrange(RATINGS_STREAM, min=str(int(start * 1000)), max=f"({int(end * 1000)}"):
        out.append({**fields, "ts": int(entry_id.split("-")[0]) / 1000})
    return out
