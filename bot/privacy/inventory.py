"""Every place in Redis that holds personal data, in one registry: `FAMILIES`.

A `Family` names a key family (or a shared stream, list, hash or sorted set), the module that writes
it, what personal data it holds, its retention class (a `privacy.yml` `retention:` kind, or `ttl`: the
writer sets a short expiry; `live`: state that ends by itself, e.g. a queued handoff; `account`: kept
until the person is erased) and `find(redis, person)`: the person's `Entry`s in it. Export prints the
entries; erase removes exactly them (`Entry.redact` set: the entry is rewritten without the person,
e.g. a feedback item others also voiced, a perk code's record). `bot privacy inventory` prints the table.

A person is every sender id linked to them (`bot.fans` identities) and their fan profile id; see
`resolve_person`. A sender id without a channel prefix also covers its `rest:` form (the REST channel
namespaces its senders that way).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

__all__ = ["EVENTS_STREAM", "RATINGS_STREAM", "REVIEW_ITEMS", "REVIEW_OPEN", "REVIEW_ANSWERS", "Entry", "Family",
           "Person", "FAMILIES", "family", "resolve_person", "find_all", "dump_key", "scan_keys", "glob_escape",
           "RETENTION_KINDS"]

RETENTION_KINDS = ("trackers", "events", "handoff", "outbox", "feedback_text", "ttl", "live", "account")
ERASED = "erased"
_BATCH = 2000
_FAN = "canyu:fans:"
_FB = "canyu:feedback:"
_FA = "canyu:fan_answers:"
# Shared keys, named here so that the CLI does not import Rasa (tests check them against their owners).
EVENTS_STREAM = "canyu:events"  # bot/event_broker.py
RATINGS_STREAM = "canyu:analytics:ratings"  # bot/analytics/_records.py
REVIEW_ITEMS = "canyu:review:items"  # bot/trainer/inbox.py
REVIEW_OPEN = "canyu:review:open"  # bot/trainer/inbox.py
REVIEW_ANSWERS = "canyu:review:answers"  # bot/trainer/inbox.py


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
    yield from red.scan_iter(match=pattern, count=_BATCH)


def _json(raw: Any) -> Any:
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
        return _json(red.get(key))
    if kind == "hash":
        return {k: _json(v) for k, v in sorted(red.hgetall(key).items())}
    if kind == "list":
        return [_json(v) for v in red.lrange(key, 0, -1)]
    if kind == "set":
        return sorted(red.smembers(key))
    if kind == "zset":
        return [[m, s] for m, s in red.zrange(key, 0, -1, withscores=True)]
    if kind == "stream":
        return [{"id": i, **{k: _json(v) for k, v in f.items()}} for i, f in red.xrange(key)]
    return None


def _needles(ids: Iterable[str]) -> List[str]:
    out = set()
    for i in ids:
        out.update({i, json.dumps(i)[1:-1], json.dumps(i, ensure_ascii=False)[1:-1]})
    return [n for n in out if n]


def _mentions(raw: str, needles: Sequence[str]) -> bool:
    return any(n in raw for n in needles)


def _keys_of(template: str, scope: str) -> Finder:
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


def _scanned_keys(pattern: str, scope: str) -> Finder:
    """Whole keys found by SCAN, `pattern` naming the person (`{sender}`/`{profile}`/`{openid}`) inside."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids = {"sender": person.sender_ids, "profile": person.profiles, "openid": tuple(person.platform_ids)}[scope]
        out = []
        for i in sorted(set(ids)):
            for key in scan_keys(red, pattern.format(**{scope: glob_escape(i)})):
                out.append(Entry("", key, "key", value=dump_key(red, key)))
        return out

    return find


def _zset_members(key: str) -> Finder:
    def find(red: Any, person: Person) -> List[Entry]:
        out = []
        for i in sorted(person.sender_ids):
            score = red.zscore(key, i)
            if score is not None:
                out.append(Entry("", key, "zset_member", i, value={"member": i, "score": score}))
        return out

    return find


def _list_items(key: str, fields: Sequence[str], redact_fields: bool = False) -> Finder:
    """Items of a shared JSON list whose `fields` (dotted paths) hold one of the person's ids."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids, needles = person.ids, _needles(person.ids)
        out = []
        for raw in red.lrange(key, 0, -1):
            if not _mentions(raw, needles):
                continue
            item = _json(raw)
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


def _stream_entries(key: str, match: Callable[[Dict[str, str], Set[str]], bool]) -> Finder:
    """Entries of a shared stream that carry one of the person's ids (read in batches)."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids, needles = person.ids, _needles(person.ids)
        out, start = [], "-"
        while True:
            batch = red.xrange(key, min=start, max="+", count=_BATCH)
            for entry_id, fields in batch:
                if _mentions(" ".join(fields.values()), needles) and match(fields, ids):
                    out.append(Entry("", key, "stream_entry", entry_id,
                                     value={k: _json(v) for k, v in fields.items()}))
            if len(batch) < _BATCH:
                return out
            start = "(" + batch[-1][0]

    return find


def _event_of(fields: Dict[str, str], ids: Set[str]) -> bool:
    event = _json(fields.get("event") or "{}")
    return isinstance(event, dict) and event.get("sender_id") in ids


def _rating_of(fields: Dict[str, str], ids: Set[str]) -> bool:
    return fields.get("sender_id") in ids


def _hash_fields_scanned(pattern: str, fields: Sequence[str]) -> Finder:
    """Hashes (found by SCAN) whose `fields` hold one of the person's ids: those fields become `erased`."""

    def find(red: Any, person: Person) -> List[Entry]:
        ids = person.ids
        out = []
        for key in scan_keys(red, pattern):
            values = red.hmget(key, list(fields))
            for name, value in zip(fields, values):
                if value in ids:
                    out.append(Entry("", key, "hash_field", name, value={name: value}, redact=ERASED))
        return out

    return find


def _hash_fields_named(pattern: str) -> Finder:
    """Fields named by one of the person's ids in the hashes `pattern` names (a key, or a SCAN glob with `*`)."""

    def find(red: Any, person: Person) -> List[Entry]:
        keys = scan_keys(red, pattern) if "*" in pattern else [pattern]
        out = []
        for key in keys:
            for i in sorted(person.ids):
                value = red.hget(key, i)
                if value is not None:
                    out.append(Entry("", key, "hash_field", i, value={i: _json(value)}))
        return out

    return find


def _set_members(key: str) -> Finder:
    def find(red: Any, person: Person) -> List[Entry]:
        return [Entry("", key, "set_member", i, value={"member": i}) for i in sorted(person.ids)
                if red.sismember(key, i)]

    return find


def _keys_scanned_where(pattern: str, field: str) -> Finder:
    """Whole hashes (found by SCAN) whose `field` is one of the person's ids (a photo the person sent)."""

    def find(red: Any, person: Person) -> List[Entry]:
        out = []
        for key in scan_keys(red, pattern):
            owner = red.hget(key, field)
            if owner in person.ids:
                out.append(Entry("", key, "key", value={field: owner, "type": red.hget(key, "content_type")}))
        return out

    return find


def _string_values_scanned(pattern: str) -> Finder:
    """String keys (found by SCAN) whose value is one of the person's profile ids (link codes)."""

    def find(red: Any, person: Person) -> List[Entry]:
        out = []
        for key in scan_keys(red, pattern):
            value = red.get(key)
            if value in person.ids:
                out.append(Entry("", key, "key", value=value))
        return out

    return find


def _review_items(red: Any, person: Person) -> List[Entry]:
    needles = _needles(person.sender_ids)
    out = []
    for item_id, raw in red.hscan_iter(REVIEW_ITEMS, count=_BATCH):
        if not _mentions(raw, needles):
            continue
        item = _json(raw)
        if isinstance(item, dict) and item.get("sender") in person.sender_ids:
            out.append(Entry("", REVIEW_ITEMS, "hash_field", item_id, value=item))
            if red.zscore(REVIEW_OPEN, item_id) is not None:
                out.append(Entry("", REVIEW_OPEN, "zset_member", item_id, value={"member": item_id}))
    return out


# ---------------------------------------------------------------- feedback
def _find_feedback(red: Any, person: Person) -> List[Entry]:
    """Voices, and what they left in items: a sole author's items go whole; shared items lose this
    person's voice, their text among the exemplars, a title copied from it, their name in the history."""
    ids = person.ids
    out: List[Entry] = []
    item_ids: Set[str] = set()
    for profile in person.ids:
        key = f"{_FB}by_user:{profile}"
        if red.exists(key):
            out.append(Entry("", key, "key", value=dump_key(red, key)))
            item_ids.update(red.zrange(key, 0, -1))
    needles = _needles(ids)
    for key in scan_keys(red, f"{_FB}voices:*"):
        voices = red.hgetall(key)
        if any(f in ids or _mentions(v, needles) for f, v in voices.items()):
            item_ids.add(key[len(f"{_FB}voices:"):])
    for item_id in sorted(item_ids):
        out.extend(_feedback_item(red, item_id, ids))
    seen = {(e.key, e.kind, e.part) for e in out}
    for pattern, how in ((f"{_FB}notified:*", "notified"), (f"{_FB}told:*", "notified"), (f"{_FB}history:*", "history")):
        for key in scan_keys(red, pattern):
            for entry in (_notified(red, key, ids) if how == "notified" else _history(red, key, ids)):
                if (entry.key, entry.kind, entry.part) not in seen and (key, "key", "") not in seen:
                    out.append(entry)
    return out


def _feedback_item(red: Any, item_id: str, ids: Set[str]) -> List[Entry]:
    voices_key = f"{_FB}voices:{item_id}"
    voices = {f: _json(v) for f, v in red.hgetall(voices_key).items()}
    mine = {f: v for f, v in voices.items() if f in ids or (isinstance(v, dict) and v.get("sender_id") in ids)}
    if not mine:
        return []
    others = {f: v for f, v in voices.items() if f not in mine}
    if not others:  # the person's own item: all of it goes
        out = []
        for kind in ("item", "voices", "exemplars", "history", "notified"):
            key = f"{_FB}{kind}:{item_id}"
            if red.exists(key):
                out.append(Entry("", key, "key", value=dump_key(red, key)))
        out.append(Entry("", f"{_FB}items", "zset_member", item_id, value={"member": item_id}))
        return out
    out = [Entry("", voices_key, "hash_field", f, value=v) for f, v in mine.items()]
    texts = {str(v.get("text") or "").strip() for v in mine.values() if isinstance(v, dict)} - {""}
    for raw in red.lrange(f"{_FB}exemplars:{item_id}", 0, -1):
        ex = _json(raw)
        if isinstance(ex, dict) and str(ex.get("text") or "").strip() in texts:
            out.append(Entry("", f"{_FB}exemplars:{item_id}", "list_item", raw,
                             value={"text": ex.get("text"), "language": ex.get("language")}))
    item_key = f"{_FB}item:{item_id}"
    other_texts = [(str(v.get("language") or ""), str(v.get("text") or "").strip())
                   for v in sorted(others.values(), key=lambda v: v.get("ts", 0) if isinstance(v, dict) else 0)
                   if isinstance(v, dict) and str(v.get("text") or "").strip()]
    for title_field, language in (("title_en", "en"), ("title_zh", "zh")):
        title = red.hget(item_key, title_field) or ""
        if title and any(title == t[:120] for t in texts):
            same = [t for lang, t in other_texts if (lang == "zh") == (language == "zh")]
            out.append(Entry("", item_key, "hash_field", title_field, value={title_field: title},
                             redact=same[0][:120] if same else ""))
    out.extend(_history(red, f"{_FB}history:{item_id}", ids))
    out.extend(_notified(red, f"{_FB}notified:{item_id}", ids))
    return out


def _history(red: Any, key: str, ids: Set[str]) -> List[Entry]:
    out = []
    for raw in red.lrange(key, 0, -1):
        entry = _json(raw)
        if isinstance(entry, dict) and entry.get("by") in ids:
            out.append(Entry("", key, "list_item", raw, value=entry,
                             redact=json.dumps(dict(entry, by=ERASED), ensure_ascii=False)))
    return out


def _notified(red: Any, key: str, ids: Set[str]) -> List[Entry]:
    return [Entry("", key, "hash_field", f, value={f: v}) for f, v in red.hgetall(key).items() if f in ids]


def _delivery_items(red: Any, person: Person) -> List[Entry]:
    """Outbound items of the person (bot/delivery): the item, its id in the queue, processing list, leases and
    retry set, and dead letters (they hold the sender id and the messages' words)."""
    ids, out = set(person.sender_ids), []
    for items_key in scan_keys(red, "canyu:delivery:*:items"):
        base = items_key[: -len(":items")]
        mine = {}
        for item_id, raw in red.hgetall(items_key).items():
            item = _json(raw)
            if isinstance(item, dict) and item.get("sender") in ids:
                mine[item_id] = item
                out.append(Entry("", items_key, "hash_field", item_id, value=item))
        for list_key in (f"{base}:queue", f"{base}:processing"):
            out += [Entry("", list_key, "list_item", i, value=i) for i in red.lrange(list_key, 0, -1) if i in mine]
        for zset_key in (f"{base}:leases", f"{base}:retry"):
            out += [Entry("", zset_key, "zset_member", i, value={"member": i}) for i in mine
                    if red.zscore(zset_key, i) is not None]
    for dead_key in scan_keys(red, "canyu:delivery:*:dead"):
        for raw in red.lrange(dead_key, 0, -1):
            item = _json(raw)
            if isinstance(item, dict) and item.get("sender") in ids:
                out.append(Entry("", dead_key, "list_item", raw, value=item))
    return out


def _inbound_records(red: Any, person: Person) -> List[Entry]:
    """Platform messages on their way in (connectors/_inbound.py): the record holds the message (WeChat: the
    sender id and text; Telegram: the whole update) and the reply; its id in the channel's due set."""
    ids, out = set(person.sender_ids), []
    for key in scan_keys(red, "canyu:inbound:*"):
        if key.endswith(":due") or red.type(key) != "hash":
            continue
        payload = _json(red.hget(key, "payload"))
        if not isinstance(payload, dict):
            continue
        sender = payload.get("sender_id")
        if sender is None:  # a Telegram update
            chat = ((payload.get("message") or (payload.get("callback_query") or {}).get("message") or {})
                    .get("chat") or {}).get("id")
            sender = f"telegram:{chat}" if chat is not None else None
        if sender in ids:
            out.append(Entry("", key, "key", value=dump_key(red, key)))
            base, _, msg_id = key.rpartition(":")
            due = f"{base}:due"
            if red.zscore(due, msg_id) is not None:
                out.append(Entry("", due, "zset_member", msg_id, value={"member": msg_id}))
    return out


def _followups_due(red: Any, person: Person) -> List[Entry]:
    from bot.followups._privacy import due_members  # `{id}|{sender}` members (bot/followups)

    return due_members(red, person)


def _fan_answer_proposals(red: Any, person: Person) -> List[Entry]:
    """Fan-written answers the person proposed (bot/fan_answers): the record, and its id in the two sorted sets."""
    out = []
    for key in scan_keys(red, _FA + "proposal:*"):
        if red.hget(key, "profile") in person.ids or red.hget(key, "sender") in person.ids:
            out.append(Entry("", key, "key", value=dump_key(red, key)))
            proposal_id = key[len(_FA + "proposal:"):]
            for zset in (_FA + "proposals", _FA + "pending"):
                if red.zscore(zset, proposal_id) is not None:
                    out.append(Entry("", zset, "zset_member", proposal_id, value={"member": proposal_id}))
    return out


# ---------------------------------------------------------------- the registry
def _f(name: str, pattern: str, owner: str, holds: str, retention: str, find: Finder,
       ttl_seconds: Optional[int] = None) -> Family:
    if retention not in RETENTION_KINDS:
        raise ValueError(f"{name}: retention kind {retention!r} is not one of {', '.join(RETENTION_KINDS)}")
    return Family(name, pattern, owner, holds, retention, find, ttl_seconds)


FAMILIES: Tuple[Family, ...] = (
    _f("trackers", "canyu:tracker:{sender}", "bot/stores.py (Rasa RedisTrackerStore)",
       "the whole conversation: every message, slot and action", "trackers",
       _keys_of("canyu:tracker:{sender}", "sender")),
    _f("rasa_locks", "canyu:lock:{sender}", "bot/stores.py (Rasa RedisLockStore)",
       "the sender id while a message is processed", "ttl", _keys_of("canyu:lock:{sender}", "sender"), 86400),
    _f("user_routes", "canyu:user:{sender}", "bot/outbound.py",
       "channel, platform id, time of the last message, language", "trackers",
       _keys_of("canyu:user:{sender}", "sender")),
    _f("outbox", "canyu:outbox:{sender}", "bot/outbound.py", "messages waiting for a REST user", "outbox",
       _keys_of("canyu:outbox:{sender}", "sender")),
    _f("pending", "canyu:pending:{sender}", "bot/outbound.py",
       "messages waiting for a WeChat user's next contact", "outbox", _keys_of("canyu:pending:{sender}", "sender")),
    _f("deliveries", "canyu:delivery:{channel}:items / :queue / :processing / :leases / :retry / :dead (item.sender)",
       "bot/delivery", "messages on their way to the user, and dead letters", "outbox", _delivery_items),
    _f("inbound", "canyu:inbound:{channel}:{account}:{msg_id} (hash; payload.sender_id or the update's chat) "
       "+ its :due member", "connectors/_inbound.py",
       "platform messages being received and answered: the user's words and the reply", "ttl",
       _inbound_records, 86400),
    _f("events", "canyu:events (stream; event.sender_id)", "bot/event_broker.py",
       "every tracker event: the user's messages and the bot's replies", "events",
       _stream_entries(EVENTS_STREAM, _event_of)),
    _f("answer_ratings", "canyu:analytics:ratings (stream; sender_id)", "bot/analytics/_records.py",
       "👍/👎 and 1–5 ratings with the user's comment", "events",
       _stream_entries(RATINGS_STREAM, _rating_of)),
    _f("review_items", "canyu:review:items (hash; item.sender) + canyu:review:open", "bot/trainer/inbox.py",
       "messages the bot missed, with the user's text", "events", _review_items),
    _f("review_answers", "canyu:review:answers (list; question.sender)", "bot/trainer/inbox.py",
       "recent knowledge answers with the user's question (last 500, 30-day expiry)", "ttl",
       _list_items(REVIEW_ANSWERS, ["question.sender"]), 30 * 86400),
    _f("review_convo", "canyu:review:convo:{sender}", "bot/trainer/inbox.py",
       "the inbox's working state of a conversation (last question)", "ttl",
       _keys_of("canyu:review:convo:{sender}", "sender"), 7 * 86400),
    _f("handoff_record", "canyu:handoff:{sender}", "bot/handoff/store.py",
       "a live handoff: reason, the words that triggered it, channel, language", "live",
       _keys_of("canyu:handoff:{sender}", "sender")),
    _f("handoff_waiting", "canyu:handoff_queue:waiting (zset member)", "bot/handoff/store.py",
       "the sender id while queued", "live", _zset_members("canyu:handoff_queue:waiting")),
    _f("handoff_active", "canyu:handoff_queue:active (zset member)", "bot/handoff/store.py",
       "the sender id while with an agent", "live", _zset_members("canyu:handoff_queue:active")),
    _f("handoff_log", "canyu:handoff_log:{sender}", "bot/handoff/store.py",
       "the handoff history: reasons, cues, agents", "handoff", _keys_of("canyu:handoff_log:{sender}", "sender")),
    _f("handoff_notes", "canyu:handoff_notes:{sender}", "bot/handoff/store.py",
       "agents' private notes about the user", "handoff", _keys_of("canyu:handoff_notes:{sender}", "sender")),
    _f("handoff_resolved", "canyu:handoff_resolved (list; sender_id)", "bot/handoff/store.py",
       "summaries of finished handoffs", "handoff", _list_items("canyu:handoff_resolved", ["sender_id"])),
    _f("csat_pending", "canyu:csat_pending:{sender}", "bot/handoff/store.py",
       "a rating is expected from the user", "ttl", _keys_of("canyu:csat_pending:{sender}", "sender"), 86400),
    _f("csat_log", "canyu:csat:log (list; sender_id)", "bot/handoff/store.py",
       "1–5 ratings after a handoff, with who gave them", "events",
       _list_items("canyu:csat:log", ["sender_id"])),
    _f("tier", "canyu:tier:{sender}", "bot/handoff/store.py (CRM sync, admin)", "the user's CRM tier", "account",
       _keys_of("canyu:tier:{sender}", "sender")),
    _f("perk_grants", "canyu:perk_grants:{sender}", "bot/handoff/perks.py", "perk codes an agent gave the user",
       "handoff", _keys_of("canyu:perk_grants:{sender}", "sender")),
    _f("perk_codes", "canyu:perk_code:* (field sender_id)", "bot/handoff/perks.py",
       "who got a perk code (the code's record stays, the id becomes `erased`)", "account",
       _hash_fields_scanned("canyu:perk_code:*", ["sender_id"])),
    _f("otp", "canyu:otp:{sender}", "bot/orders/verify.py", "an order-ownership check in progress", "ttl",
       _keys_of("canyu:otp:{sender}", "sender"), 600),
    _f("wechat_buttons", "canyu:wechat:buttons:{sender}", "connectors/_wechat_send.py",
       "the buttons last shown to a WeChat user", "ttl", _keys_of("canyu:wechat:buttons:{sender}", "sender"), 86400),
    _f("wechat_seen", "canyu:wechat:seen:{appid}:evt:{openid}:*", "connectors/wechat.py",
       "the openid of a recent WeChat event (deduplication)", "ttl",
       _scanned_keys("canyu:wechat:seen:*:evt:{openid}:*", "openid"), 3600),
    _f("fan_answers_optin", "canyu:fan_answers:optin (hash; field profile)", "bot/fan_answers/_store.py",
       "that the person answers questions as a fan, and their language", "account", _hash_fields_named(_FA + "optin")),
    _f("fan_answers_proposals", "canyu:fan_answers:proposal:{id} (profile, sender) + :proposals / :pending members",
       "bot/fan_answers/_store.py", "answers the person wrote for others, and what a trainer decided", "account",
       _fan_answer_proposals),
    _f("fan_answers_seen", "canyu:fan_answers:seen:{profile}", "bot/fan_answers/_store.py",
       "which open questions were offered to the fan", "ttl", _keys_of(_FA + "seen:{profile}", "profile"), 30 * 86400),
    _f("fan_answers_limits", "canyu:fan_answers:limit:{kind}:{profile}:{day}", "bot/fan_answers/_store.py",
       "how many questions the fan got and answered today", "ttl",
       _scanned_keys(_FA + "limit:*:{profile}:*", "profile"), 2 * 86400),
    _f("memory_seen", "canyu:memory:seen:{profile}", "bot/memory/_seen.py",
       "when the person last started a conversation (for the return greeting)", "account",
       _keys_of("canyu:memory:seen:{profile}", "profile")),
    _f("fans_identity", "canyu:fans:identity:{sender}", "bot/fans/_profiles.py",
       "which person a channel identity belongs to", "account", _keys_of(_FAN + "identity:{sender}", "sender")),
    _f("fans_identities", "canyu:fans:identities:{profile}", "bot/fans/_profiles.py",
       "every channel identity of a person", "account", _keys_of(_FAN + "identities:{profile}", "profile")),
    _f("fans_profile", "canyu:fans:profile:{profile}", "bot/fans/_profiles.py", "manual tier and who granted it",
       "account", _keys_of(_FAN + "profile:{profile}", "profile")),
    _f("fans_activity", "canyu:fans:activity:{profile}", "bot/fans/_profiles.py", "how many messages the person sent",
       "account", _keys_of(_FAN + "activity:{profile}", "profile")),
    _f("fans_days", "canyu:fans:days:{profile}", "bot/fans/_profiles.py", "the days the person wrote", "account",
       _keys_of(_FAN + "days:{profile}", "profile")),
    _f("fans_linkcodes", "canyu:fans:linkcode:* (value = profile)", "bot/fans/_profiles.py",
       "a one-time code linking another identity to the person", "ttl",
       _string_values_scanned(_FAN + "linkcode:*"), 600),
    _f("fans_linkcode_of", "canyu:fans:linkcode_of:{profile}", "bot/fans/_links.py",
       "the digest of the person's live link code", "ttl", _keys_of(_FAN + "linkcode_of:{profile}", "profile"), 600),
    _f("fans_linkfail", "canyu:fans:linkfail:sender:{sender}", "bot/fans/_links.py",
       "failed link-code tries of an identity", "ttl", _keys_of(_FAN + "linkfail:sender:{sender}", "sender"), 900),
    _f("fcode_grants", "canyu:fans:fgrant:{campaign}:{profile}", "bot/fans/_fcodes.py",
       "the early-access code the person got for a launch", "account",
       _scanned_keys(_FAN + "fgrant:*:{profile}", "profile")),
    _f("fcodes", "canyu:fans:fcode:* (granted_to, granted_sender, redeemed_by)", "bot/fans/_fcodes.py",
       "who got and used an early-access code (the code stays used, the ids become `erased`)", "account",
       _hash_fields_scanned(_FAN + "fcode:*", ["granted_to", "granted_sender", "redeemed_by"])),
    _f("fcode_redemptions", "canyu:fans:redemptions (list; profile, redeemed_by)", "bot/fans/_fcodes.py",
       "redemption records (kept, the ids become `erased`)", "account",
       _list_items(_FAN + "redemptions", ["profile", "redeemed_by"], redact_fields=True)),
    _f("feedback", "canyu:feedback:{voices,exemplars,item,history,notified,told:{status}}:{id}, by_user:{profile}",
       "bot/feedback/_store.py", "complaints and suggestions: the user's words, that they voted, that they were told",
       "feedback_text", _find_feedback),
    _f("feedback_optout", "canyu:feedback:optout:{profile}", "bot/feedback/_subscriptions.py",
       "the items (or all) the person wants no more news of", "account", _keys_of(_FB + "optout:{profile}", "profile")),
    _f("feedback_digest_subscribers", "canyu:feedback:digest:subscribers (hash; field profile)",
       "bot/feedback/_subscriptions.py", "that the person gets the weekly digest, on which sender and language",
       "account", _hash_fields_named(_FB + "digest:subscribers")),
    _f("feedback_digest_asked", "canyu:feedback:digest:asked (set member profile)", "bot/feedback/_subscriptions.py",
       "that the person was offered the digest", "account", _set_members(_FB + "digest:asked")),
    _f("feedback_digest_sent", "canyu:feedback:digest:sent:{week} (hash; field profile)", "bot/feedback/_weekly.py",
       "when a week's digest went to the person", "account", _hash_fields_named(_FB + "digest:sent:*")),
    _f("feedback_beta", "canyu:feedback:beta:{id} (hash; field profile)", "bot/feedback/_subscriptions.py",
       "that the person signed up for an item's beta, on which sender", "account", _hash_fields_named(_FB + "beta:*")),
    _f("media", "canyu:media:{id} (hash; sender_id)", "connectors/_media.py",
       "pictures the user sent (shown to agents)", "ttl", _keys_scanned_where("canyu:media:*", "sender_id"),
       30 * 86400),
    _f("goodwill_credit", "canyu:credit:{sender}", "bot/handoff/discretion.py",
       "goodwill credit an agent gave the user", "account", _keys_of("canyu:credit:{sender}", "sender")),
    _f("repair_priority", "canyu:repair_priority:{sender}", "bot/handoff/discretion.py",
       "that the user's repairs go first, and which agent said so", "account",
       _keys_of("canyu:repair_priority:{sender}", "sender")),
    _f("discretion_log", "canyu:discretion:log (list; sender_id)", "bot/handoff/discretion.py",
       "goodwill granted or refused (kept for audit, the id becomes `erased`)", "account",
       _list_items("canyu:discretion:log", ["sender_id"], redact_fields=True)),
    _f("followups", "canyu:followup:{sender}", "bot/followups/_store.py",
       "check-ins after a handoff or repair: what it was about (product, fault, agent), sent, the yes/no answer",
       "ttl", _keys_of("canyu:followup:{sender}", "sender"), 180 * 86400),
    _f("followups_due", "canyu:followups:due (zset member {id}|{sender})", "bot/followups/_store.py",
       "that a check-in is waiting to be sent to the user", "live", _followups_due),
    _f("callbacks", "canyu:callback:{sender}", "bot/followups/_callbacks.py",
       "a team lead's call-back after a low rating: the ratings, the handoff summary, who called and when",
       "ttl", _keys_of("canyu:callback:{sender}", "sender"), 180 * 86400),
    _f("callbacks_open", "canyu:callbacks:open (zset member)", "bot/followups/_callbacks.py",
       "the sender id while a call-back is open", "live", _zset_members("canyu:callbacks:open")),
)

_BY_NAME = {f.name: f for f in FAMILIES}


def family(name: str) -> Family:
    return _BY_NAME[name]


def resolve_person(red: Any, user: str) -> Person:
    """Every sender id and profile linked to `user` (a sender id such as `wechat:oAbC`, `telegram:42`,
    `rest:x`, or a fan profile id)."""
    user = user.strip()
    start = [user] + ([f"rest:{user}"] if ":" not in user else [])
    senders: Set[str] = set(start)
    profiles: Set[str] = set()
    todo = list(start)
    while todo:
        current = todo.pop()
        profile = red.get(f"{_FAN}identity:{current}") or current
        if profile in profiles:
            continue
        profiles.add(profile)
        linked = set(red.smembers(f"{_FAN}identities:{profile}")) | {profile}
        for ident in linked - senders:
            senders.add(ident)
            todo.append(ident)
    # a profile id is the first identity of the person: it is a sender id too
    return Person(user=user, sender_ids=tuple(sorted(senders)), profiles=tuple(sorted(profiles)))


def find_all(red: Any, person: Person, families: Sequence[Family] = FAMILIES) -> Dict[str, List[Entry]]:
    """The person's entries in every family (families with nothing are left out)."""
    found: Dict[str, List[Entry]] = {}
    for fam in families:
        entries = fam.find(red, person)
        for entry in entries:
            entry.family = fam.name
        if entries:
            found[fam.name] = entries
    return found
