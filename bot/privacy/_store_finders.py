"""Finders for the stores whose data does not fit a common shape: feedback items shared between people, outbound
deliveries, inbound platform messages, the review inbox, fan-written answers; and the matchers of the shared streams.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Set

from bot import keys
from bot.keys import FAN_ANSWERS_PREFIX as FAN_ANSWERS, FEEDBACK_PREFIX as FEEDBACK, REVIEW_ITEMS, REVIEW_OPEN
from bot.privacy._model import BATCH, ERASED, Entry, Person, decode, dump_key, id_needles, mentions, scan_keys

__all__ = ["event_of", "rating_of", "review_items", "find_feedback", "delivery_items", "inbound_records",
           "fan_answer_proposals"]


def event_of(fields: Dict[str, str], ids: Set[str]) -> bool:
    event = decode(fields.get("event") or "{}")
    return isinstance(event, dict) and event.get("sender_id") in ids


def rating_of(fields: Dict[str, str], ids: Set[str]) -> bool:
    return fields.get("sender_id") in ids



def review_items(red: Any, person: Person) -> List[Entry]:
    needles = id_needles(person.sender_ids)
    out = []
    for item_id, raw in red.hscan_iter(REVIEW_ITEMS, count=BATCH):
        if not mentions(raw, needles):
            continue
        item = decode(raw)
        if isinstance(item, dict) and item.get("sender") in person.sender_ids:
            out.append(Entry("", REVIEW_ITEMS, "hash_field", item_id, value=item))
            if red.zscore(REVIEW_OPEN, item_id) is not None:
                out.append(Entry("", REVIEW_OPEN, "zset_member", item_id, value={"member": item_id}))
    return out



def find_feedback(red: Any, person: Person) -> List[Entry]:
    """Voices, and what they left in items: a sole author's items go whole; shared items lose this
    person's voice, their text among the exemplars, a title copied from it, their name in the history."""
    ids = person.ids
    out: List[Entry] = []
    item_ids: Set[str] = set()
    for profile in person.ids:
        key = f"{FEEDBACK}by_user:{profile}"
        if red.exists(key):
            out.append(Entry("", key, "key", value=dump_key(red, key)))
            item_ids.update(red.zrange(key, 0, -1))
    needles = id_needles(ids)
    for key in scan_keys(red, f"{FEEDBACK}voices:*"):
        voices = red.hgetall(key)
        if any(f in ids or mentions(v, needles) for f, v in voices.items()):
            item_ids.add(key[len(f"{FEEDBACK}voices:"):])
    for item_id in sorted(item_ids):
        out.extend(_feedback_item(red, item_id, ids))
    seen = {(e.key, e.kind, e.part) for e in out}
    for pattern, how in ((f"{FEEDBACK}notified:*", "notified"), (f"{FEEDBACK}told:*", "notified"), (f"{FEEDBACK}history:*", "history")):
        for key in scan_keys(red, pattern):
            for entry in (_notified(red, key, ids) if how == "notified" else _history(red, key, ids)):
                if (entry.key, entry.kind, entry.part) not in seen and (key, "key", "") not in seen:
                    out.append(entry)
    return out


def _feedback_item(red: Any, item_id: str, ids: Set[str]) -> List[Entry]:
    voices_key = f"{FEEDBACK}voices:{item_id}"
    voices = {f: decode(v) for f, v in red.hgetall(voices_key).items()}
    mine = {f: v for f, v in voices.items() if f in ids or (isinstance(v, dict) and v.get("sender_id") in ids)}
    if not mine:
        return []
    others = {f: v for f, v in voices.items() if f not in mine}
    if not others:  # the person's own item: all of it goes
        out = []
        for kind in ("item", "voices", "exemplars", "history", "notified"):
            key = f"{FEEDBACK}{kind}:{item_id}"
            if red.exists(key):
                out.append(Entry("", key, "key", value=dump_key(red, key)))
        out.append(Entry("", f"{FEEDBACK}items", "zset_member", item_id, value={"member": item_id}))
        return out
    out = [Entry("", voices_key, "hash_field", f, value=v) for f, v in mine.items()]
    texts = {str(v.get("text") or "").strip() for v in mine.values() if isinstance(v, dict)} - {""}
    for raw in red.lrange(f"{FEEDBACK}exemplars:{item_id}", 0, -1):
        ex = decode(raw)
        if isinstance(ex, dict) and str(ex.get("text") or "").strip() in texts:
            out.append(Entry("", f"{FEEDBACK}exemplars:{item_id}", "list_item", raw,
                             value={"text": ex.get("text"), "language": ex.get("language")}))
    item_key = f"{FEEDBACK}item:{item_id}"
    other_texts = [(str(v.get("language") or ""), str(v.get("text") or "").strip())
                   for v in sorted(others.values(), key=lambda v: v.get("ts", 0) if isinstance(v, dict) else 0)
                   if isinstance(v, dict) and str(v.get("text") or "").strip()]
    for title_field, language in (("title_en", "en"), ("title_zh", "zh")):
        title = red.hget(item_key, title_field) or ""
        if title and any(title == t[:120] for t in texts):
            same = [t for lang, t in other_texts if (lang == "zh") == (language == "zh")]
            out.append(Entry("", item_key, "hash_field", title_field, value={title_field: title},
                             redact=same[0][:120] if same else ""))
    out.extend(_history(red, f"{FEEDBACK}history:{item_id}", ids))
    out.extend(_notified(red, f"{FEEDBACK}notified:{item_id}", ids))
    return out


def _history(red: Any, key: str, ids: Set[str]) -> List[Entry]:
    out = []
    for raw in red.lrange(key, 0, -1):
        entry = decode(raw)
        if isinstance(entry, dict) and entry.get("by") in ids:
            out.append(Entry("", key, "list_item", raw, value=entry,
                             redact=json.dumps(dict(entry, by=ERASED), ensure_ascii=False)))
    return out


def _notified(red: Any, key: str, ids: Set[str]) -> List[Entry]:
    return [Entry("", key, "hash_field", f, value={f: v}) for f, v in red.hgetall(key).items() if f in ids]


def delivery_items(red: Any, person: Person) -> List[Entry]:
    """Outbound items of the person (bot/delivery): the item, its id in the queue, processing list, leases and
    retry set, and dead letters (they hold the sender id and the messages' words)."""
    ids, out = set(person.sender_ids), []
    for items_key in scan_keys(red, keys.delivery("*", "items")):
        base = items_key[: -len(":items")]
        mine = {}
        for item_id, raw in red.hgetall(items_key).items():
            item = decode(raw)
            if isinstance(item, dict) and item.get("sender") in ids:
                mine[item_id] = item
                out.append(Entry("", items_key, "hash_field", item_id, value=item))
        for list_key in (f"{base}:queue", f"{base}:processing"):
            out += [Entry("", list_key, "list_item", i, value=i) for i in red.lrange(list_key, 0, -1) if i in mine]
        for zset_key in (f"{base}:leases", f"{base}:retry"):
            out += [Entry("", zset_key, "zset_member", i, value={"member": i}) for i in mine
                    if red.zscore(zset_key, i) is not None]
    for dead_key in scan_keys(red, keys.delivery("*", "dead")):
        for raw in red.lrange(dead_key, 0, -1):
            item = decode(raw)
            if isinstance(item, dict) and item.get("sender") in ids:
                out.append(Entry("", dead_key, "list_item", raw, value=item))
    return out


def inbound_records(red: Any, person: Person) -> List[Entry]:
    """Platform messages on their way in (connectors/_inbound.py): the record holds the message (WeChat: the
    sender id and text; Telegram: the whole update) and the reply; its id in the channel's due set."""
    ids, out = set(person.sender_ids), []
    for key in scan_keys(red, keys.inbound("*", "*")):
        if key.endswith(":due") or red.type(key) != "hash":
            continue
        payload = decode(red.hget(key, "payload"))
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



def fan_answer_proposals(red: Any, person: Person) -> List[Entry]:
    """Fan-written answers the person proposed (bot/fan_answers): the record, and its id in the two sorted sets."""
    out = []
    for key in scan_keys(red, FAN_ANSWERS + "proposal:*"):
        if red.hget(key, "profile") in person.ids or red.hget(key, "sender") in person.ids:
            out.append(Entry("", key, "key", value=dump_key(red, key)))
            proposal_id = key[len(FAN_ANSWERS + "proposal:"):]
            for zset in (FAN_ANSWERS + "proposals", FAN_ANSWERS + "pending"):
                if red.zscore(zset, proposal_id) is not None:
                    out.append(Entry("", zset, "zset_member", proposal_id, value={"member": proposal_id}))
    return out

