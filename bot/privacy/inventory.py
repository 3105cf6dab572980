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
registry (`FAMILIES`), `resolve_person` and `find_all`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

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
from bot.privacy._keys import (
    EVENTS_STREAM,
    FAN_ANSWERS,
    FANS,
    FEEDBACK,
    FOLLOWUPS_DUE,
    RATINGS_STREAM,
    REVIEW_ANSWERS,
    REVIEW_ITEMS,
    REVIEW_OPEN,
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

__all__ = ["EVENTS_STREAM", "RATINGS_STREAM", "REVIEW_ITEMS", "REVIEW_OPEN", "REVIEW_ANSWERS", "Entry", "Family",
           "Person", "FAMILIES", "family", "resolve_person", "find_all", "dump_key", "scan_keys", "glob_escape",
           "RETENTION_KINDS", "ERASED"]


def _f(name: str, pattern: str, owner: str, holds: str, retention: str, find: Finder,
       ttl_seconds: Optional[int] = None) -> Family:
    if retention not in RETENTION_KINDS:
        raise ValueError(f"{name}: retention kind {retention!r} is not one of {', '.join(RETENTION_KINDS)}")
    return Family(name, pattern, owner, holds, retention, find, ttl_seconds)


FAMILIES: Tuple[Family, ...] = (
    _f("trackers", "canyu:tracker:{sender}", "bot/stores.py (Rasa RedisTrackerStore)",
       "the whole conversation: every message, slot and action", "trackers",
       keys_of("canyu:tracker:{sender}", "sender")),
    _f("rasa_locks", "canyu:lock:{sender}", "bot/stores.py (Rasa RedisLockStore)",
       "the sender id while a message is processed", "ttl", keys_of("canyu:lock:{sender}", "sender"), 86400),
    _f("user_routes", "canyu:user:{sender}", "bot/outbound.py",
       "channel, platform id, time of the last message, language", "trackers",
       keys_of("canyu:user:{sender}", "sender")),
    _f("outbox", "canyu:outbox:{sender}", "bot/outbound.py", "messages waiting for a REST user", "outbox",
       keys_of("canyu:outbox:{sender}", "sender")),
    _f("pending", "canyu:pending:{sender}", "bot/outbound.py",
       "messages waiting for a WeChat user's next contact", "outbox", keys_of("canyu:pending:{sender}", "sender")),
    _f("deliveries", "canyu:delivery:{channel}:items / :queue / :processing / :leases / :retry / :dead (item.sender)",
       "bot/delivery", "messages on their way to the user, and dead letters", "outbox", delivery_items),
    _f("inbound", "canyu:inbound:{channel}:{account}:{msg_id} (hash; payload.sender_id or the update's chat) "
       "+ its :due member", "connectors/_inbound.py",
       "platform messages being received and answered: the user's words and the reply", "ttl",
       inbound_records, 86400),
    _f("events", "canyu:events (stream; event.sender_id)", "bot/event_broker.py",
       "every tracker event: the user's messages and the bot's replies", "events",
       stream_entries(EVENTS_STREAM, event_of)),
    _f("answer_ratings", "canyu:analytics:ratings (stream; sender_id)", "bot/analytics/_records.py",
       "👍/👎 and 1–5 ratings with the user's comment", "events",
       stream_entries(RATINGS_STREAM, rating_of)),
    _f("review_items", "canyu:review:items (hash; item.sender) + canyu:review:open", "bot/trainer/inbox.py",
       "messages the bot missed, with the user's text", "events", review_items),
    _f("review_answers", "canyu:review:answers (list; question.sender)", "bot/trainer/inbox.py",
       "recent knowledge answers with the user's question (last 500, 30-day expiry)", "ttl",
       list_items(REVIEW_ANSWERS, ["question.sender"]), 30 * 86400),
    _f("review_convo", "canyu:review:convo:{sender}", "bot/trainer/inbox.py",
       "the inbox's working state of a conversation (last question)", "ttl",
       keys_of("canyu:review:convo:{sender}", "sender"), 7 * 86400),
    _f("handoff_record", "canyu:handoff:{sender}", "bot/handoff/store.py",
       "a live handoff: reason, the words that triggered it, channel, language", "live",
       keys_of("canyu:handoff:{sender}", "sender")),
    _f("handoff_waiting", "canyu:handoff_queue:waiting (zset member)", "bot/handoff/store.py",
       "the sender id while queued", "live", zset_members("canyu:handoff_queue:waiting")),
    _f("handoff_active", "canyu:handoff_queue:active (zset member)", "bot/handoff/store.py",
       "the sender id while with an agent", "live", zset_members("canyu:handoff_queue:active")),
    _f("handoff_log", "canyu:handoff_log:{sender}", "bot/handoff/store.py",
       "the handoff history: reasons, cues, agents", "handoff", keys_of("canyu:handoff_log:{sender}", "sender")),
    _f("handoff_notes", "canyu:handoff_notes:{sender}", "bot/handoff/store.py",
       "agents' private notes about the user", "handoff", keys_of("canyu:handoff_notes:{sender}", "sender")),
    _f("handoff_resolved", "canyu:handoff_resolved (list; sender_id)", "bot/handoff/store.py",
       "summaries of finished handoffs", "handoff", list_items("canyu:handoff_resolved", ["sender_id"])),
    _f("csat_pending", "canyu:csat_pending:{sender}", "bot/handoff/store.py",
       "a rating is expected from the user", "ttl", keys_of("canyu:csat_pending:{sender}", "sender"), 86400),
    _f("csat_log", "canyu:csat:log (list; sender_id)", "bot/handoff/store.py",
       "1–5 ratings after a handoff, with who gave them", "events",
       list_items("canyu:csat:log", ["sender_id"])),
    _f("tier", "canyu:tier:{sender}", "bot/handoff/store.py (CRM sync, admin)", "the user's CRM tier", "account",
       keys_of("canyu:tier:{sender}", "sender")),
    _f("perk_grants", "canyu:perk_grants:{sender}", "bot/handoff/perks.py", "perk codes an agent gave the user",
       "handoff", keys_of("canyu:perk_grants:{sender}", "sender")),
    _f("perk_codes", "canyu:perk_code:* (field sender_id)", "bot/handoff/perks.py",
       "who got a perk code (the code's record stays, the id becomes `erased`)", "account",
       hash_fields_scanned("canyu:perk_code:*", ["sender_id"])),
    _f("otp", "canyu:otp:{sender}", "bot/orders/verify.py", "an order-ownership check in progress", "ttl",
       keys_of("canyu:otp:{sender}", "sender"), 600),
    _f("wechat_buttons", "canyu:wechat:buttons:{sender}", "connectors/_wechat_send.py",
       "the buttons last shown to a WeChat user", "ttl", keys_of("canyu:wechat:buttons:{sender}", "sender"), 86400),
    _f("wechat_seen", "canyu:wechat:seen:{appid}:evt:{openid}:*", "connectors/wechat.py",
       "the openid of a recent WeChat event (deduplication)", "ttl",
       scanned_keys("canyu:wechat:seen:*:evt:{openid}:*", "openid"), 3600),
    _f("fan_answers_optin", "canyu:fan_answers:optin (hash; field profile)", "bot/fan_answers/_store.py",
       "that the person answers questions as a fan, and their language", "account", hash_fields_named(FAN_ANSWERS + "optin")),
    _f("fan_answers_proposals", "canyu:fan_answers:proposal:{id} (profile, sender) + :proposals / :pending members",
       "bot/fan_answers/_store.py", "answers the person wrote for others, and what a trainer decided", "account",
       fan_answer_proposals),
    _f("fan_answers_seen", "canyu:fan_answers:seen:{profile}", "bot/fan_answers/_store.py",
       "which open questions were offered to the fan", "ttl", keys_of(FAN_ANSWERS + "seen:{profile}", "profile"), 30 * 86400),
    _f("fan_answers_limits", "canyu:fan_answers:limit:{kind}:{profile}:{day}", "bot/fan_answers/_store.py",
       "how many questions the fan got and answered today", "ttl",
       scanned_keys(FAN_ANSWERS + "limit:*:{profile}:*", "profile"), 2 * 86400),
    _f("memory_seen", "canyu:memory:seen:{profile}", "bot/memory/_seen.py",
       "when the person last started a conversation (for the return greeting)", "account",
       keys_of("canyu:memory:seen:{profile}", "profile")),
    _f("fans_identity", "canyu:fans:identity:{sender}", "bot/fans/_profiles.py",
       "which person a channel identity belongs to", "account", keys_of(FANS + "identity:{sender}", "sender")),
    _f("fans_identities", "canyu:fans:identities:{profile}", "bot/fans/_profiles.py",
       "every channel identity of a person", "account", keys_of(FANS + "identities:{profile}", "profile")),
    _f("fans_profile", "canyu:fans:profile:{profile}", "bot/fans/_profiles.py", "manual tier and who granted it",
       "account", keys_of(FANS + "profile:{profile}", "profile")),
    _f("fans_activity", "canyu:fans:activity:{profile}", "bot/fans/_profiles.py", "how many messages the person sent",
       "account", keys_of(FANS + "activity:{profile}", "profile")),
    _f("fans_days", "canyu:fans:days:{profile}", "bot/fans/_profiles.py", "the days the person wrote", "account",
       keys_of(FANS + "days:{profile}", "profile")),
    _f("fans_linkcodes", "canyu:fans:linkcode:* (value = profile)", "bot/fans/_profiles.py",
       "a one-time code linking another identity to the person", "ttl",
       string_values_scanned(FANS + "linkcode:*"), 600),
    _f("fans_linkcode_of", "canyu:fans:linkcode_of:{profile}", "bot/fans/_links.py",
       "the digest of the person's live link code", "ttl", keys_of(FANS + "linkcode_of:{profile}", "profile"), 600),
    _f("fans_linkfail", "canyu:fans:linkfail:sender:{sender}", "bot/fans/_links.py",
       "failed link-code tries of an identity", "ttl", keys_of(FANS + "linkfail:sender:{sender}", "sender"), 900),
    _f("fcode_grants", "canyu:fans:fgrant:{campaign}:{profile}", "bot/fans/_fcodes.py",
       "the early-access code the person got for a launch", "account",
       scanned_keys(FANS + "fgrant:*:{profile}", "profile")),
    _f("fcodes", "canyu:fans:fcode:* (granted_to, granted_sender, redeemed_by)", "bot/fans/_fcodes.py",
       "who got and used an early-access code (the code stays used, the ids become `erased`)", "account",
       hash_fields_scanned(FANS + "fcode:*", ["granted_to", "granted_sender", "redeemed_by"])),
    _f("fcode_redemptions", "canyu:fans:redemptions (list; profile, redeemed_by)", "bot/fans/_fcodes.py",
       "redemption records (kept, the ids become `erased`)", "account",
       list_items(FANS + "redemptions", ["profile", "redeemed_by"], redact_fields=True)),
    _f("feedback", "canyu:feedback:{voices,exemplars,item,history,notified,told:{status}}:{id}, by_user:{profile}",
       "bot/feedback/_store.py", "complaints and suggestions: the user's words, that they voted, that they were told",
       "feedback_text", find_feedback),
    _f("feedback_optout", "canyu:feedback:optout:{profile}", "bot/feedback/_subscriptions.py",
       "the items (or all) the person wants no more news of", "account", keys_of(FEEDBACK + "optout:{profile}", "profile")),
    _f("feedback_digest_subscribers", "canyu:feedback:digest:subscribers (hash; field profile)",
       "bot/feedback/_subscriptions.py", "that the person gets the weekly digest, on which sender and language",
       "account", hash_fields_named(FEEDBACK + "digest:subscribers")),
    _f("feedback_digest_asked", "canyu:feedback:digest:asked (set member profile)", "bot/feedback/_subscriptions.py",
       "that the person was offered the digest", "account", set_members(FEEDBACK + "digest:asked")),
    _f("feedback_digest_sent", "canyu:feedback:digest:sent:{week} (hash; field profile)", "bot/feedback/_weekly.py",
       "when a week's digest went to the person", "account", hash_fields_named(FEEDBACK + "digest:sent:*")),
    _f("feedback_beta", "canyu:feedback:beta:{id} (hash; field profile)", "bot/feedback/_subscriptions.py",
       "that the person signed up for an item's beta, on which sender", "account", hash_fields_named(FEEDBACK + "beta:*")),
    _f("media", "canyu:media:{id} (hash; sender_id)", "bot/media.py",
       "pictures the user sent (shown to agents)", "ttl", keys_scanned_where("canyu:media:*", "sender_id"),
       30 * 86400),
    _f("goodwill_credit", "canyu:credit:{sender}", "bot/handoff/discretion.py",
       "goodwill credit an agent gave the user", "account", keys_of("canyu:credit:{sender}", "sender")),
    _f("repair_priority", "canyu:repair_priority:{sender}", "bot/handoff/discretion.py",
       "that the user's repairs go first, and which agent said so", "account",
       keys_of("canyu:repair_priority:{sender}", "sender")),
    _f("discretion_log", "canyu:discretion:log (list; sender_id)", "bot/handoff/discretion.py",
       "goodwill granted or refused (kept for audit, the id becomes `erased`)", "account",
       list_items("canyu:discretion:log", ["sender_id"], redact_fields=True)),
    _f("followups", "canyu:followup:{sender}", "bot/followups/_store.py",
       "check-ins after a handoff or repair: what it was about (product, fault, agent), sent, the yes/no answer",
       "ttl", keys_of("canyu:followup:{sender}", "sender"), 180 * 86400),
    _f("followups_due", "canyu:followups:due (zset member {id}|{sender})", "bot/followups/_store.py",
       "that a check-in is waiting to be sent to the user", "live",
       zset_members_by_sender(FOLLOWUPS_DUE)),
    _f("callbacks", "canyu:callback:{sender}", "bot/followups/_callbacks.py",
       "a team lead's call-back after a low rating: the ratings, the handoff summary, who called and when",
       "ttl", keys_of("canyu:callback:{sender}", "sender"), 180 * 86400),
    _f("callbacks_open", "canyu:callbacks:open (zset member)", "bot/followups/_callbacks.py",
       "the sender id while a call-back is open", "live", zset_members("canyu:callbacks:open")),
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
