"""Erase one person everywhere (`bot privacy erase USER`), and check that nothing is left.

    person = resolve_person(redis, "telegram:42")     # every linked identity
    plan = find_all(redis, person)                    # what export shows, family by family
    report = erase(redis, person, plan)               # deletes (or rewrites) exactly those entries
    leftovers(redis, person)                          # [] when no key, field, member or item names them

Erasing deletes whole keys, hash fields, set and sorted-set members, list items and stream entries
(XDEL). A few records stay without the person (`Entry.redact`): a feedback item others voiced too keeps
their voices and loses this person's voice, words and name; a perk or early-access code stays used with
`erased` as its owner. Messages that arrive while erasing start a new conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set

from bot.keys import ROOT
from bot.privacy.inventory import Entry, Person, find_all, resolve_person, scan_keys

__all__ = ["EraseReport", "erase", "erase_user", "leftovers"]

_REPLACE_ITEM = """
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local n = 0
for i, v in ipairs(items) do
  if v == ARGV[1] then
    redis.call('LSET', KEYS[1], i - 1, ARGV[2])
    n = n + 1
  end
end
return n
"""


@dataclass
class EraseReport:
    """What was erased: entries per family, and places that still name the person afterwards."""

    person: Person
    erased: Dict[str, int] = field(default_factory=dict)
    redacted: Dict[str, int] = field(default_factory=dict)
    left: List[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.erased.values()) + sum(self.redacted.values())


def _apply(red: Any, entry: Entry, replace_item: Any) -> int:
    if entry.kind == "key":
        return int(red.delete(entry.key))
    if entry.kind == "hash_field":
        if entry.redact is not None:
            red.hset(entry.key, entry.part, entry.redact)
            return 1
        return int(red.hdel(entry.key, entry.part))
    if entry.kind == "set_member":
        return int(red.srem(entry.key, entry.part))
    if entry.kind == "zset_member":
        return int(red.zrem(entry.key, entry.part))
    if entry.kind == "list_item":
        if entry.redact is not None:
            return int(replace_item(keys=[entry.key], args=[entry.part, entry.redact]))
        return int(red.lrem(entry.key, 0, entry.part))
    if entry.kind == "stream_entry":
        return int(red.xdel(entry.key, entry.part))
    raise ValueError(f"unknown entry kind {entry.kind!r}")


def erase(red: Any, person: Person, plan: Optional[Dict[str, List[Entry]]] = None, verify: bool = True) -> EraseReport:
    """Remove the entries of `plan` (default: everything `find_all` finds now) and check for leftovers."""
    plan = find_all(red, person) if plan is None else plan
    replace_item = red.register_script(_REPLACE_ITEM)
    report = EraseReport(person)
    for name, entries in plan.items():
        for entry in entries:
            done = _apply(red, entry, replace_item)
            bucket = report.redacted if entry.redact is not None else report.erased
            bucket[name] = bucket.get(name, 0) + done
    if verify:
        report.left = leftovers(red, person)
    return report


def erase_user(red: Any, user: str) -> EraseReport:
    return erase(red, resolve_person(red, user))


# ---------------------------------------------------------------- the check afterwards
def _names(value: Any, ids: Set[str]) -> bool:
    """Whether a (JSON-decoded) value holds one of `ids` as a whole string anywhere inside."""
    if isinstance(value, str):
        return value in ids
    if isinstance(value, dict):
        return any(k in ids or _names(v, ids) for k, v in value.items())
    if isinstance(value, list):
        return any(_names(v, ids) for v in value)
    return False


def _decoded(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _in_key_name(key: str, ids: Iterable[str]) -> bool:
    return any(key.endswith(":" + i) or f":{i}:" in key for i in ids)


def leftovers(red: Any, person: Person, pattern: str = ROOT + "*") -> List[str]:
    """Places under `pattern` that still name one of the person's ids: in a key's name, as a hash field,
    a member, or a whole string value inside a stored value (JSON decoded). Not a text search: words the
    person wrote are only found through the registry."""
    ids = person.ids
    found: List[str] = []
    for key in scan_keys(red, pattern):
        if _in_key_name(key, ids):
            found.append(key)
            continue
        kind = red.type(key)
        hit = ""
        if kind == "string":
            hit = "value" if _names(_decoded(red.get(key) or ""), ids) else ""
        elif kind == "hash":
            hit = next((f"field {f}" for f, v in red.hscan_iter(key, count=1000)
                        if f in ids or _names(_decoded(v), ids)), "")
        elif kind == "list":
            hit = next((f"item {n}" for n, v in enumerate(red.lrange(key, 0, -1)) if _names(_decoded(v), ids)), "")
        elif kind == "set":
            hit = next((f"member {m}" for m in red.sscan_iter(key, count=1000) if m in ids), "")
        elif kind == "zset":
            hit = next((f"member {m}" for m, _ in red.zscan_iter(key, count=1000) if m in ids), "")
        elif kind == "stream":
            hit = next((f"entry {i}" for i, f in _stream(red, key)
                        if any(_names(_decoded(v), ids) for v in f.values())), "")
        if hit:
            found.append(f"{key} ({hit})")
    return found


def _stream(red: Any, key: str, batch: int = 2000) -> Iterable[Any]:
    start = "-"
    while True:
        entries = red.xrange(key, min=start, max="+", count=batch)
        yield from entries
        if len(entries) < batch:
            return
        start = "(" + entries[-1][0]
