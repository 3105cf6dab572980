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

The data model and the finders live in `_model.py`, `_finders.py` and `_store_finders.py`; this module is the
registry (`FAMILIES`), `resolve_person` and `find_all`. Every key and pattern comes from `bot.keys` (a builder given
`"{sender}"` documents its pattern, given `"*"` makes the SCAN glob), so the inventory cannot drift from the key
registry; `tests/test_keys.py` checks each family's pattern against `bot.keys.REGISTRY`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from bot import keys
from bot.keys import EVENTS_STREAM, RATINGS_STREAM, REVIEW_ANSWERS, REVIEW_ITEMS, REVIEW_OPEN
from bot.privacy._finders import (
    hash_fields_named,
    hash_fields_scanned,
    keys_of,
    keys_scanned_where,
    list_items,
    scanned_keys,
    set_members,
    stream_entries,
    string_values_scanned,
    zset_members,
    zset_members_by_sender,
)
from bot.privacy._model import ERASED, RETENTION_KINDS, Entry, Family, Finder, Person, dump_key, glob_escape, scan_keys
from bot.privacy._store_finders import (
    delivery_items,
    event_of,
    fan_answer_proposals,
    find_feedback,
    inbound_records,
    rating_of,
    review_items,
)

FANS, FEEDBACK, FAN_ANSWERS = keys.FANS_PREFIX, keys.FEEDBACK_PREFIX, keys.FAN_ANSWERS_PREFIX
FEEDBACK_DIGEST = keys.FEEDBACK_DIGEST_PREFIX

__all__ = ["EVENTS_STREAM", "RATINGS_STREAM", "REVIEW_ITEMS", "REVIEW_OPEN", "REVIEW_ANSWERS", "Entry", "Family",
           "Person", "FAMILIES", "family", "resolve_person", "find_all", "dump_key", "scan_keys", "glob_escape",
           "RETENTION_KINDS", "ERASED"]


def _f(name: str, pattern: str, owner: str, holds: str, retention: str, find: Finder,
       ttl_seconds: Optional[int] = None) -> Family:
    if retention not in RETENTION_KINDS:
        raise ValueError(f"{name}: retention kind {retention!r} is not one of {', '.join(RETENTION_KINDS)}")
    return Family(name, pattern, owner, holds, retention, find, ttl_seconds)


def _whole(name: str, template: str, owner: str, holds: str, retention: str,
           ttl_seconds: Optional[int] = None) -> Family:
    """A family of whole keys named by one id: `template` (a `bot.keys` builder given `"{sender}"` or
    `"{profile}"`) is both the documented pattern and what the finder fills in."""
    scope = "profile" if "{profile}" in template else "sender"
    return _f(name, template, owner, holds, retention, keys_of(template, scope), ttl_seconds)


_SENDER, _PROFILE = "{sender}", "{profile}"
_DELIVERY = keys.delivery("{channel}", "items") + "".join(f" / :{p}" for p in keys.DELIVERY_PARTS[1:])

FAMILIES: Tuple[Family, ...] = (
    _whole("trackers", keys.rasa_tracker(_SENDER), "bot/stores.py (Rasa RedisTrackerStore)",
           "the whole conversation: every message, slot and action", "trackers"),
    _whole("rasa_locks", keys.rasa_lock(_SENDER), "bot/stores.py (Rasa RedisLockStore)",
           "the sender id while a message is processed", "ttl", 86400),
    _whole("user_routes", keys.user_route(_SENDER), "bot/outbound.py",
           "channel, platform id, time of the last message, language", "trackers"),
    _whole("outbox", keys.outbox(_SENDER), "bot/outbound.py", "messages waiting for a REST user", "outbox"),
    _whole("pending", keys.pending(_SENDER), "bot/outbound.py",
           "messages waiting for a WeChat user's next contact", "outbox"),
    _f("deliveries", f"{_DELIVERY} (item.sender)",
       "bot/delivery", "messages on their way to the user, and dead letters", "outbox", delivery_items),
    _f("inbound", keys.inbound("{channel}:{account}", "{msg_id}") + " (hash; payload.sender_id or the update's chat) "
       "+ its :due member", "connectors/_inbound.py",
       "platform messages being received and answered: the user's words and the reply", "ttl",
       inbound_records, 86400),
    _f("events", f"{EVENTS_STREAM} (stream; event.sender_id)", "bot/event_broker.py",
       "every tracker event: the user's messages and the bot's replies", "events",
       stream_entries(EVENTS_STREAM, event_of)),
    _f("answer_ratings", f"{RATINGS_STREAM} (stream; sender_id)", "bot/analytics/_records.py",
       "👍/👎 and 1–5 ratings with the user's comment", "events",
       stream_entries(RATINGS_STREAM, rating_of)),
    _f("review_items", f"{REVIEW_ITEMS} (hash; item.sender) + {REVIEW_OPEN}", "bot/trainer/inbox.py",
       "messages the bot missed, with the user's text", "events", review_items),
    _f("review_answers", f"{REVIEW_ANSWERS} (list; question.sender)", "bot/trainer/inbox.py",
       "recent knowledge answers with the user's question (last 500, 30-day expiry)", "ttl",
       list_items(REVIEW_ANSWERS, ["question.sender"]), 30 * 86400),
    _whole("review_convo", keys.review_convo(_SENDER), "bot/trainer/inbox.py",
           "the inbox's working state of a conversation (last question)", "ttl", 7 * 86400),
    _whole("handoff_record", keys.handoff(_SENDER), "bot/handoff/store.py",
           "a live handoff: reason, the words that triggered it, channel, language", "live"),
    _f("handoff_waiting", f"{keys.HANDOFF_WAITING} (zset member)", "bot/handoff/store.py",
       "the sender id while queued", "live", zset_members(keys.HANDOFF_WAITING)),
    _f("handoff_active", f"{keys.HANDOFF_ACTIVE} (zset member)", "bot/handoff/store.py",
       "the sender id while with an agent", "live", zset_members(keys.HANDOFF_ACTIVE)),
    _whole("handoff_log", keys.handoff_log(_SENDER), "bot/handoff/store.py",
           "the handoff history: reasons, cues, agents", "handoff"),
    _whole("handoff_notes", keys.handoff_notes(_SENDER), "bot/handoff/store.py",
           "agents' private notes about the user", "handoff"),
    _f("handoff_resolved", f"{keys.HANDOFF_RESOLVED} (list; sender_id)", "bot/handoff/store.py",
       "summaries of finished handoffs", "handoff", list_items(keys.HANDOFF_RESOLVED, ["sender_id"])),
    _whole("csat_pending", keys.csat_pending(_SENDER), "bot/handoff/store.py",
           "a rating is expected from the user", "ttl", 86400),
    _f("csat_log", f"{keys.CSAT_LOG} (list; sender_id)", "bot/handoff/store.py",
       "1–5 ratings after a handoff, with who gave them", "events",
       list_items(keys.CSAT_LOG, ["sender_id"])),
    _whole("tier", keys.tier(_SENDER), "bot/handoff/store.py (CRM sync, admin)", "the user's CRM tier", "account"),
    _whole("perk_grants", keys.perk_grants(_SENDER), "bot/handoff/perks.py", "perk codes an agent gave the user",
           "handoff"),
    _f("perk_codes", keys.perk_code("*") + " (field sender_id)", "bot/handoff/perks.py",
       "who got a perk code (the code's record stays, the id becomes `erased`)", "account",
       hash_fields_scanned(keys.perk_code("*"), ["sender_id"])),
    _whole("otp", keys.otp(_SENDER), "bot/orders/verify.py", "an order-ownership check in progress", "ttl", 600),
    _whole("wechat_buttons", keys.wechat_buttons(_SENDER), "connectors/_wechat_send.py",
           "the buttons last shown to a WeChat user", "ttl", 86400),
    _f("wechat_seen", keys.wechat_seen("{appid}", "evt:{openid}:*"), "connectors/wechat.py",
       "the openid of a recent WeChat event (deduplication)", "ttl",
       scanned_keys(keys.wechat_seen("*", "evt:{openid}:*"), "openid"), 3600),
    _f("fan_answers_optin", f"{FAN_ANSWERS}optin (hash; field profile)", "bot/fan_answers/_store.py",
       "that the person answers questions as a fan, and their language", "account",
       hash_fields_named(FAN_ANSWERS + "optin")),
    _f("fan_answers_proposals", f"{FAN_ANSWERS}proposal:{{id}} (profile, sender) + :proposals / :pending members",
       "bot/fan_answers/_store.py", "answers the person wrote for others, and what a trainer decided", "account",
       fan_answer_proposals),
    _whole("fan_answers_seen", FAN_ANSWERS + "seen:{profile}", "bot/fan_answers/_store.py",
           "which open questions were offered to the fan", "ttl", 30 * 86400),
    _f("fan_answers_limits", FAN_ANSWERS + "limit:{kind}:{profile}:{day}", "bot/fan_answers/_store.py",
       "how many questions the fan got and answered today", "ttl",
       scanned_keys(FAN_ANSWERS + "limit:*:{profile}:*", "profile"), 2 * 86400),
    _whole("memory_seen", keys.MEMORY_SEEN_PREFIX + _PROFILE, "bot/memory/_seen.py",
           "when the person last started a conversation (for the return greeting)", "account"),
    _whole("fans_identity", FANS + "identity:{sender}", "bot/fans/_profiles.py",
           "which person a channel identity belongs to", "account"),
    _whole("fans_identities", FANS + "identities:{profile}", "bot/fans/_profiles.py",
           "every channel identity of a person", "account"),
    _whole("fans_profile", FANS + "profile:{profile}", "bot/fans/_profiles.py", "manual tier and who granted it",
           "account"),
    _whole("fans_activity", FANS + "activity:{profile}", "bot/fans/_profiles.py", "how many messages the person sent",
           "account"),
    _whole("fans_days", FANS + "days:{profile}", "bot/fans/_profiles.py", "the days the person wrote", "account"),
    _f("fans_linkcodes", f"{FANS}linkcode:* (value = profile)", "bot/fans/_profiles.py",
       "a one-time code linking another identity to the person", "ttl",
       string_values_scanned(FANS + "linkcode:*"), 600),
    _whole("fans_linkcode_of", FANS + "linkcode_of:{profile}", "bot/fans/_links.py",
           "the digest of the person's live link code", "ttl", 600),
    _whole("fans_linkfail", FANS + "linkfail:sender:{sender}", "bot/fans/_links.py",
           "failed link-code tries of an identity", "ttl", 900),
    _f("fcode_grants", FANS + "fgrant:{campaign}:{profile}", "bot/fans/_fcodes.py",
       "the early-access code the person got for a launch", "account",
       scanned_keys(FANS + "fgrant:*:{profile}", "profile")),
    _f("fcodes", f"{FANS}fcode:* (granted_to, granted_sender, redeemed_by)", "bot/fans/_fcodes.py",
       "who got and used an early-access code (the code stays used, the ids become `erased`)", "account",
       hash_fields_scanned(FANS + "fcode:*", ["granted_to", "granted_sender", "redeemed_by"])),
    _f("fcode_redemptions", f"{FANS}redemptions (list; profile, redeemed_by)", "bot/fans/_fcodes.py",
       "redemption records (kept, the ids become `erased`)", "account",
       list_items(FANS + "redemptions", ["profile", "redeemed_by"], redact_fields=True)),
    _f("feedback", FEEDBACK + "{voices,exemplars,item,history,notified,told:{status}}:{id}, by_user:{profile}",
       "bot/feedback/_store.py", "complaints and suggestions: the user's words, that they voted, that they were told",
       "feedback_text", find_feedback),
    _whole("feedback_optout", FEEDBACK + "optout:{profile}", "bot/feedback/_subscriptions.py",
           "the items (or all) the person wants no more news of", "account"),
    _f("feedback_digest_subscribers", f"{FEEDBACK_DIGEST}subscribers (hash; field profile)",
       "bot/feedback/_subscriptions.py", "that the person gets the weekly digest, on which sender and language",
       "account", hash_fields_named(FEEDBACK_DIGEST + "subscribers")),
    _f("feedback_digest_asked", f"{FEEDBACK_DIGEST}asked (set member profile)", "bot/feedback/_subscriptions.py",
       "that the person was offered the digest", "account", set_members(FEEDBACK_DIGEST + "asked")),
    _f("feedback_digest_sent", FEEDBACK_DIGEST + "sent:{week} (hash; field profile)", "bot/feedback/_weekly.py",
       "when a week's digest went to the person", "account", hash_fields_named(FEEDBACK_DIGEST + "sent:*")),
    _f("feedback_beta", FEEDBACK + "beta:{id} (hash; field profile)", "bot/feedback/_subscriptions.py",
       "that the person signed up for an item's beta, on which sender", "account",
       hash_fields_named(FEEDBACK + "beta:*")),
    _f("media", keys.media("{id}") + " (hash; sender_id)", "bot/media.py",
       "pictures the user sent (shown to agents)", "ttl", keys_scanned_where(keys.media("*"), "sender_id"),
       30 * 86400),
    _whole("goodwill_credit", keys.credit(_SENDER), "bot/handoff/discretion.py",
           "goodwill credit an agent gave the user", "account"),
    _whole("repair_priority", keys.repair_priority(_SENDER), "bot/handoff/discretion.py",
           "that the user's repairs go first, and which agent said so", "account"),
    _f("discretion_log", f"{keys.DISCRETION_LOG} (list; sender_id)", "bot/handoff/discretion.py",
       "goodwill granted or refused (kept for audit, the id becomes `erased`)", "account",
       list_items(keys.DISCRETION_LOG, ["sender_id"], redact_fields=True)),
    _whole("followups", keys.followup(_SENDER), "bot/followups/_store.py",
           "check-ins after a handoff or repair: what it was about (product, fault, agent), sent, the yes/no answer",
           "ttl", 180 * 86400),
    _f("followups_due", f"{keys.FOLLOWUPS_DUE} (zset member {{id}}|{{sender}})", "bot/followups/_store.py",
       "that a check-in is waiting to be sent to the user", "live",
       zset_members_by_sender(keys.FOLLOWUPS_DUE)),
    _whole("callbacks", keys.callback(_SENDER), "bot/followups/_callbacks.py",
           "a team lead's call-back after a low rating: the ratings, the handoff summary, who called and when",
           "ttl", 180 * 86400),
    _f("callbacks_open", f"{keys.CALLBACKS_OPEN} (zset member)", "bot/followups/_callbacks.py",
       "the sender id while a call-back is open", "live", zset_members(keys.CALLBACKS_OPEN)),
)

_BY_NAME: Mapping[str, Family] = MappingProxyType({f.name: f for f in FAMILIES})


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
        profile = red.get(f"{FANS}identity:{current}") or current
        if profile in profiles:
            continue
        profiles.add(profile)
        linked = set(red.smembers(f"{FANS}identities:{profile}")) | {profile}
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
