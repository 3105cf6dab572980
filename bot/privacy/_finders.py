"""Finder factories for the common shapes of personal data: whole keys named by an id, members of a shared set,
items of a shared list or stream, hash fields. Each returns a `Finder`: `find(redis, person) -> [Entry]`.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Sequence, Set

from bot.privacy._model import (
    BATCH,
    ERASED,
    Entry,
    Finder,
    Person,
    decode,
    dump_key,
    glob_escape,
    id_needles,
    mentions,
    scan_keys,
)

__all__ = ["keys_of", "scanned_keys", "zset_members", "zset_members_by_sender", "list_items", "stream_entries",
           "hash_fields_scanned", "hash_fields_named", "set_members", "keys_scanned_where", "string_values_scanned"]


def keys_of(template: str, scope: str) -> Finder:
    """Whole keys named by the person's sender ids (`{sender}`), profiles (`{profile}`) or openids."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids = {"sender": person.sender_ids, "profile": person.profiles, "openid": tuple(person.platform_ids)}[scope]
        out = []
        for i in sorted(set(ids)):
            key = template.format(**{scope: i})
            if red.exists(key):
                out.append(Entry("", key, "key", value=dump_key(red, key)))
        return out

    return find


def scanned_keys(pattern: str, scope: str) -> Finder:
    """Whole keys found by SCAN, `pattern` naming the person (`{sender}`/`{profile}`/`{openid}`) inside."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids = {"sender": person.sender_ids, "profile": person.profiles, "openid": tuple(person.platform_ids)}[scope]
        out = []
        for i in sorted(set(ids)):
            for key in scan_keys(red, pattern.format(**{scope: glob_escape(i)})):
                out.append(Entry("", key, "key", value=dump_key(red, key)))
        return out

    return find


def zset_members(key: str) -> Finder:
    def find(red: Any, person: Person) -> List[Entry]:
        out = []
        for i in sorted(person.sender_ids):
            score = red.zscore(key, i)
            if score is not None:
                out.append(Entry("", key, "zset_member", i, value={"member": i, "score": score}))
        return out

    return find


def list_items(key: str, fields: Sequence[str], redact_fields: bool = False) -> Finder:
    """Items of a shared JSON list whose `fields` (dotted paths) hold one of the person's ids."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids, needles = person.ids, id_needles(person.ids)
        out = []
        for raw in red.lrange(key, 0, -1):
            if not mentions(raw, needles):
                continue
            item = decode(raw)
            if not isinstance(item, dict):
                continue
            hits = [f for f in fields if _get(item, f) in ids]
            if not hits:
                continue
            redact = None
            if redact_fields:
                clean = json.loads(raw)
                for f in hits:
                    _set(clean, f, ERASED)
                redact = json.dumps(clean, ensure_ascii=False)
            out.append(Entry("", key, "list_item", raw, value=item, redact=redact))
        return out

    return find


def _get(item: Dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(item, dict):
            return None
        item = item.get(part)  # type: ignore[assignment]
    return item


def _set(item: Dict[str, Any], path: str, value: Any) -> None:
    *head, last = path.split(".")
    for part in head:
        item = item[part]
    item[last] = value


def stream_entries(key: str, match: Callable[[Dict[str, str], Set[str]], bool]) -> Finder:
    """Entries of a shared stream that carry one of the person's ids (read in batches)."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids, needles = person.ids, id_needles(person.ids)
        out, start = [], "-"
        while True:
            batch = red.xrange(key, min=start, max="+", count=BATCH)
            for entry_id, fields in batch:
                if mentions(" ".join(fields.values()), needles) and match(fields, ids):
                    out.append(Entry("", key, "stream_entry", entry_id,
                                     value={k: decode(v) for k, v in fields.items()}))
            if len(batch) < BATCH:
                return out
            start = "(" + batch[-1][0]

    return find



def hash_fields_scanned(pattern: str, fields: Sequence[str]) -> Finder:
    """Hashes (found by SCAN) whose `fields` hold one of the person's ids: those fields become `erased`."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids = person.ids
        out = []
        for key in scan_keys(red, pattern):
            values = red.hmget(key, list(fields))
            for name, value in zip(fields, values, strict=False):
                if value in ids:
                    out.append(Entry("", key, "hash_field", name, value={name: value}, redact=ERASED))
        return out

    return find


def hash_fields_named(pattern: str) -> Finder:
    """Fields named by one of the person's ids in the hashes `pattern` names (a key, or a SCAN glob with `*`)."""

    def find(red: Any, person: Person) -> List[Entry]:
        keys = scan_keys(red, pattern) if "*" in pattern else [pattern]
        out = []
        for key in keys:
            for i in sorted(person.ids):
                value = red.hget(key, i)
                if value is not None:
                    out.append(Entry("", key, "hash_field", i, value={i: decode(value)}))
        return out

    return find


def set_members(key: str) -> Finder:
    def find(red: Any, person: Person) -> List[Entry]:
        return [Entry("", key, "set_member", i, value={"member": i}) for i in sorted(person.ids)
                if red.sismember(key, i)]

    return find


def keys_scanned_where(pattern: str, field: str) -> Finder:
    """Whole hashes (found by SCAN) whose `field` is one of the person's ids (a photo the person sent)."""

    def find(red: Any, person: Person) -> List[Entry]:
        out = []
        for key in scan_keys(red, pattern):
            owner = red.hget(key, field)
            if owner in person.ids:
                out.append(Entry("", key, "key", value={field: owner, "type": red.hget(key, "content_type")}))
        return out

    return find


def string_values_scanned(pattern: str) -> Finder:
    """String keys (found by SCAN) whose value is one of the person's profile ids (link codes)."""

    def find(red: Any, person: Person) -> List[Entry]:
        out = []
        for key in scan_keys(red, pattern):
            value = red.get(key)
            if value in person.ids:
                out.append(Entry("", key, "key", value=value))
        return out

    return find


def zset_members_by_sender(key: str, separator: str = "|") -> Finder:
    """Members `{anything}{separator}{sender}` of a shared sorted set (e.g. `{id}|{sender}`), with their scores."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids = set(person.sender_ids)
        return [Entry("", key, "zset_member", member, value={"member": member, "score": score})
                for member, score in red.zscan_iter(key, count=BATCH) if member.partition(separator)[2] in ids]

    return find
