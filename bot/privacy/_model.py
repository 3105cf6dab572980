"""The privacy inventory's data model: a `Person`, an `Entry` of their data, a `Family` of keys, and the Redis
reading helpers every finder shares (`dump_key`, `scan_keys`, the id needles).

Kept apart from the finders and the registry so that a store's package can describe its own data with these types
without importing the whole inventory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

__all__ = ["RETENTION_KINDS", "ERASED", "BATCH", "Person", "Entry", "Finder", "Family", "glob_escape", "scan_keys",
           "decode", "dump_key", "id_needles", "mentions"]

RETENTION_KINDS = ("trackers", "events", "handoff", "outbox", "feedback_text", "ttl", "live", "account")
ERASED = "erased"
BATCH = 2000


@dataclass(frozen=True)
class Person:
    """The one person behind `user`: every linked sender id and fan profile id."""

    user: str
    sender_ids: Tuple[str, ...]
    profiles: Tuple[str, ...]

    @property
    def ids(self) -> Set[str]:
        return set(self.sender_ids) | set(self.profiles)

    @property
    def platform_ids(self) -> Set[str]:
        """`wechat:oAbC` -> `oAbC` (WeChat keys some records by the bare openid)."""
        return {s.split(":", 1)[1] for s in self.sender_ids if s.startswith("wechat:")}


@dataclass
class Entry:
    """One piece of a person's data: a whole key, a hash field, a member, a list item or a stream entry.

    `part` is the field, member, list item (raw) or stream entry id; `value` is what export shows;
    `redact` (when not None) is the replacement written instead of deleting (a hash field's new value,
    a list item's new raw text).
    """

    family: str
    key: str
    kind: str  # key | hash_field | set_member | zset_member | list_item | stream_entry
    part: str = ""
    value: Any = None
    redact: Optional[str] = None

    def as_export(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"key": self.key}
        label = {"hash_field": "field", "set_member": "member", "zset_member": "member",
                 "stream_entry": "id"}.get(self.kind)
        if label:
            out[label] = self.part
        out["data"] = self.value
        return out


Finder = Callable[[Any, Person], List[Entry]]


@dataclass(frozen=True)
class Family:
    name: str
    pattern: str
    owner: str
    holds: str
    retention: str
    find: Finder = field(repr=False, compare=False)
    ttl_seconds: Optional[int] = None  # for `ttl` families: the longest expiry the writer sets


# ---------------------------------------------------------------- helpers
def glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def scan_keys(red: Any, pattern: str) -> Iterator[str]:
    yield from red.scan_iter(match=pattern, count=BATCH)


def decode(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def dump_key(red: Any, key: str) -> Any:
    """A key's whole value, JSON items decoded, for export."""
    kind = red.type(key)
    if kind == "string":
        return decode(red.get(key))
    if kind == "hash":
        return {k: decode(v) for k, v in sorted(red.hgetall(key).items())}
    if kind == "list":
        return [decode(v) for v in red.lrange(key, 0, -1)]
    if kind == "set":
        return sorted(red.smembers(key))
    if kind == "zset":
        return [[m, s] for m, s in red.zrange(key, 0, -1, withscores=True)]
    if kind == "stream":
        return [{"id": i, **{k: decode(v) for k, v in f.items()}} for i, f in red.xrange(key)]
    return None


def id_needles(ids: Iterable[str]) -> List[str]:
    out = set()
    for i in ids:
        out.update({i, json.dumps(i)[1:-1], json.dumps(i, ensure_ascii=False)[1:-1]})
    return [n for n in out if n]


def mentions(raw: str, needles: Sequence[str]) -> bool:
    return any(n in raw for n in needles)
