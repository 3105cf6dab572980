"""The registry of every Redis key Canyu uses: one builder or constant per key pattern, with its type and TTL.

Why: the same key used to be spelled in several modules (`canyu:events` in four), so a rename or a typo split the
data silently. Every module builds its keys here; `tests/test_keys.py` fails when a `"canyu:…"` literal appears
anywhere else in `bot/` or `connectors/`, and checks that no key of one pattern can be mistaken for another's.
`REGISTRY` documents each pattern (type, TTL, owning module: the one that writes it); `docs/DEVELOPING.md`
("## Redis keys") is generated from it with `python -m bot.keys`.

Keys are byte-for-byte those Canyu has always written, so existing data is still found. This module imports
nothing from `bot` (it sits below every other module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ROOT: Final = "canyu:"
"""Every Canyu key starts with this (Rasa's trackers and locks too: `bot/stores.py` gives Rasa the prefix `canyu`)."""

DAY_S: Final = 86400

# TTLs that are plain constants (imported back by the owning modules). Settings-driven TTLs are named in REGISTRY.
IDEMPOTENCY_TTL_S: Final = 7 * DAY_S
OTP_TTL_S: Final = 600
RESTOCK_LOCK_TTL_S: Final = 30
CSAT_PENDING_TTL_S: Final = DAY_S
CREDIT_DAY_TTL_S: Final = 2 * DAY_S
FOLLOWUP_KEEP_S: Final = 180 * DAY_S
LINK_CODE_TTL_S: Final = 600
FAN_ANSWERS_SEEN_TTL_S: Final = 30 * DAY_S
FAN_ANSWERS_LIMIT_TTL_S: Final = 2 * DAY_S
FAN_ANSWERS_STATS_TTL_S: Final = 90 * DAY_S
LOGIN_FAILURE_WINDOW_S: Final = 15 * 60
TELEGRAM_CALLBACK_TTL_S: Final = 30 * DAY_S
WECHAT_BUTTONS_TTL_S: Final = DAY_S
INBOUND_KEEP_S: Final = DAY_S

# --- Rasa (bot/stores.py gives Rasa's tracker and lock stores the prefix "canyu") -------------------------------


def rasa_tracker(sender_id: str) -> str:
    return f"canyu:tracker:{sender_id}"


def rasa_lock(conversation_id: str) -> str:
    return f"canyu:lock:{conversation_id}"


# --- streams ------------------------------------------------------------------------------------------------------
EVENTS_STREAM: Final = "canyu:events"
RATINGS_STREAM: Final = "canyu:analytics:ratings"

# --- users, outbox, delivery ----------------------------------------------------------------------------------------
OUTBOX_SEQ: Final = "canyu:delivery:outbox_seq"


def user_route(sender_id: str) -> str:
    return f"canyu:user:{sender_id}"


def pending(sender_id: str) -> str:
    return f"canyu:pending:{sender_id}"


def outbox(sender_id: str) -> str:
    return f"canyu:outbox:{sender_id}"


DELIVERY_PARTS: Final = ("items", "queue", "processing", "leases", "retry", "dead")


def delivery(channel: str, part: str) -> str:
    """One of a channel's queue keys; `part` is one of `DELIVERY_PARTS`."""
    if part not in DELIVERY_PARTS:
        raise ValueError(f"delivery key part {part!r} is not one of {', '.join(DELIVERY_PARTS)}")
    return f"canyu:delivery:{channel}:{part}"


def delivery_idempotency(digest: str) -> str:
    return f"canyu:delivery:key:{digest}"


def delivery_done(digest: str) -> str:
    return f"canyu:delivery:done:{digest}"


# --- jobs and orders ------------------------------------------------------------------------------------------------
JOBS_LEADER: Final = "canyu:jobs:leader"
RESTOCK_LOCK: Final = "canyu:orders:restock_lock"


def otp(sender_id: str) -> str:
    return f"canyu:otp:{sender_id}"


def otp_sent(phone_digits: str) -> str:
    return f"canyu:otp:sent:{phone_digits}"


# --- handoff --------------------------------------------------------------------------------------------------------
HANDOFF_WAITING: Final = "canyu:handoff_queue:waiting"
HANDOFF_ACTIVE: Final = "canyu:handoff_queue:active"
HANDOFF_AGENTS: Final = "canyu:handoff_agents"
HANDOFF_RESOLVED: Final = "canyu:handoff_resolved"
CSAT_LOG: Final = "canyu:csat:log"
DISCRETION_LOG: Final = "canyu:discretion:log"


def handoff(sender_id: str) -> str:
    return f"canyu:handoff:{sender_id}"


def handoff_log(sender_id: str) -> str:
    return f"canyu:handoff_log:{sender_id}"


def handoff_notes(sender_id: str) -> str:
    return f"canyu:handoff_notes:{sender_id}"


def handoff_resolving(sender_id: str) -> str:
    return f"canyu:handoff_resolving:{sender_id}"


def csat_pending(sender_id: str) -> str:
    return f"canyu:csat_pending:{sender_id}"


def tier(sender_id: str) -> str:
    return f"canyu:tier:{sender_id}"


def agent_profile(agent: str) -> str:
    return f"canyu:agent_profile:{agent}"


def credit_day(agent: str, day: str) -> str:
    return f"canyu:discretion:credit_day:{agent}:{day}"


def credit(sender_id: str) -> str:
    return f"canyu:credit:{sender_id}"


def repair_priority(sender_id: str) -> str:
    return f"canyu:repair_priority:{sender_id}"


def perk_pool(pool: str) -> str:
    return f"canyu:perk_pool:{pool}"


def perk_code(code: str) -> str:
    return f"canyu:perk_code:{code}"


def perk_grants(sender_id: str) -> str:
    return f"canyu:perk_grants:{sender_id}"


# --- follow-ups and call-backs --------------------------------------------------------------------------------------
FOLLOWUPS_DUE: Final = "canyu:followups:due"
FOLLOWUPS_LOG: Final = "canyu:followups:log"
FOLLOWUPS_SEQ: Final = "canyu:followups:seq"
FOLLOWUPS_RETURNS_SEEN: Final = "canyu:followups:returns_seen"
CALLBACKS_OPEN: Final = "canyu:callbacks:open"


def followup(sender_id: str) -> str:
    return f"canyu:followup:{sender_id}"


def callback(sender_id: str) -> str:
    return f"canyu:callback:{sender_id}"


# --- families built from a prefix by their owning module (key tables in REGISTRY) ----------------------------------
FANS_PREFIX: Final = "canyu:fans:"
FAN_ANSWERS_PREFIX: Final = "canyu:fan_answers:"
FEEDBACK_PREFIX: Final = "canyu:feedback:"
FEEDBACK_DIGEST_PREFIX: Final = "canyu:feedback:digest:"
MEMORY_SEEN_PREFIX: Final = "canyu:memory:seen:"
CONSOLE_LOGIN_FAIL_PREFIX: Final = "canyu:console_login_fail:"
REVIEW_PREFIX: Final = "canyu:review"
"""Without the trailing colon, as bot/trainer/inbox.py joins it (`f"{KEY_PREFIX}:items"`)."""
WECHAT_TOKEN_PREFIX: Final = "canyu:wechat:token"
"""wechatpy's RedisStorage prefix: it stores `{prefix}:{appid}_access_token`."""


def feedback_by_user(profile: str) -> str:
    return f"{FEEDBACK_PREFIX}by_user:{profile}"


def feedback_item(item_id: str) -> str:
    return f"{FEEDBACK_PREFIX}item:{item_id}"


def feedback_voices(item_id: str) -> str:
    return f"{FEEDBACK_PREFIX}voices:{item_id}"


# --- console --------------------------------------------------------------------------------------------------------
CONSOLE_USERS: Final = "canyu:console_users"


def console_user(name: str) -> str:
    return f"canyu:console_user:{name}"


def console_session(token_digest: str) -> str:
    return f"canyu:console_session:{token_digest}"


# --- connectors -----------------------------------------------------------------------------------------------------


def inbound(channel: str, msg_id: str) -> str:
    """`channel` is the account-qualified channel, e.g. `wechat:{appid}` or `telegram:{bot_id}`."""
    return f"canyu:inbound:{channel}:{msg_id}"


def inbound_due(channel: str) -> str:
    return f"canyu:inbound:{channel}:due"


def media(media_id: str) -> str:
    return f"canyu:media:{media_id}"


def telegram_callback(digest: str) -> str:
    return f"canyu:telegram:cb:{digest}"


def wechat_buttons(sender_id: str) -> str:
    return f"canyu:wechat:buttons:{sender_id}"


def wechat_token_lock(appid: str) -> str:
    return f"canyu:wechat:token_lock:{appid}"


def wechat_nonce(appid: str, timestamp: str, nonce: str) -> str:
    return f"canyu:wechat:nonce:{appid}:{timestamp}:{nonce}"


def rest_signature(digest: str) -> str:
    return f"canyu:rest:sig:{digest}"


# --- the documented table -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySpec:
    """One key pattern: `{name}` parts are filled in by a builder above (or by the owning module's prefix)."""

    pattern: str
    type: str
    ttl: str
    owner: str


def _k(pattern: str, type_: str, ttl: str, owner: str) -> KeySpec:
    return KeySpec(pattern, type_, ttl, owner)


_NONE = "-"
REGISTRY: Final[tuple[KeySpec, ...]] = (
    _k("canyu:tracker:{sender}", "string", "tracker store `ttl` setting", "bot/stores.py (Rasa)"),
    _k("canyu:lock:{conversation}", "string", "Rasa lock lifetime", "bot/stores.py, bot/locks.py (Rasa)"),
    _k("canyu:events", "stream", "capped (`max_len`)", "bot/event_broker.py"),
    _k("canyu:analytics:ratings", "stream", _NONE, "bot/analytics/_records.py"),
    _k("canyu:user:{sender}", "hash", "privacy retention", "bot/outbound.py"),
    _k("canyu:pending:{sender}", "list", "privacy retention", "bot/delivery/_worker.py"),
    _k("canyu:outbox:{sender}", "list", "privacy retention", "bot/delivery/_outbox.py"),
    _k("canyu:delivery:outbox_seq", "string", _NONE, "bot/delivery/_outbox.py"),
    _k("canyu:delivery:{channel}:items", "hash", _NONE, "bot/delivery/_queue.py"),
    _k("canyu:delivery:{channel}:queue", "list", _NONE, "bot/delivery/_queue.py"),
    _k("canyu:delivery:{channel}:processing", "list", _NONE, "bot/delivery/_queue.py"),
    _k("canyu:delivery:{channel}:leases", "zset", _NONE, "bot/delivery/_queue.py"),
    _k("canyu:delivery:{channel}:retry", "zset", _NONE, "bot/delivery/_queue.py"),
    _k("canyu:delivery:{channel}:dead", "list", _NONE, "bot/delivery/_queue.py"),
    _k("canyu:delivery:key:{digest}", "string", "IDEMPOTENCY_TTL_S (7 days)", "bot/delivery/_queue.py"),
    _k("canyu:delivery:done:{digest}", "string", "IDEMPOTENCY_TTL_S (7 days)", "bot/delivery/_worker.py"),
    _k("canyu:jobs:leader", "string", "lease (JobRunner `ttl`, 15 s)", "bot/jobs.py"),
    _k("canyu:orders:restock_lock", "string", "RESTOCK_LOCK_TTL_S (30 s)", "bot/orders/restock.py"),
    _k("canyu:otp:{sender}", "hash", "OTP_TTL_S (600 s)", "bot/orders/verify.py"),
    _k("canyu:otp:sent:{phone}", "string", "OTP_TTL_S (600 s)", "bot/orders/verify.py"),
    _k("canyu:handoff:{sender}", "hash", _NONE, "bot/handoff/store.py"),
    _k("canyu:handoff_queue:waiting", "zset", _NONE, "bot/handoff/store.py"),
    _k("canyu:handoff_queue:active", "zset", _NONE, "bot/handoff/store.py"),
    _k("canyu:handoff_log:{sender}", "list", "privacy retention", "bot/handoff/store.py"),
    _k("canyu:handoff_notes:{sender}", "list", "privacy retention", "bot/handoff/store.py"),
    _k("canyu:handoff_agents", "zset", _NONE, "bot/handoff/store.py"),
    _k("canyu:handoff_resolved", "list", "capped", "bot/handoff/store.py"),
    _k("canyu:handoff_resolving:{sender}", "string", "the resolve time allowed", "bot/handoff/store.py"),
    _k("canyu:csat_pending:{sender}", "string", "CSAT_PENDING_TTL_S (1 day)", "bot/handoff/store.py"),
    _k("canyu:csat:log", "list", "privacy retention", "bot/handoff/store.py"),
    _k("canyu:tier:{sender}", "string", _NONE, "bot/handoff/store.py (CRM sync, `bot console tier`)"),
    _k("canyu:agent_profile:{agent}", "hash", _NONE, "bot/handoff/agents.py"),
    _k("canyu:discretion:log", "list", "privacy retention", "bot/handoff/discretion.py"),
    _k("canyu:discretion:credit_day:{agent}:{day}", "string", "CREDIT_DAY_TTL_S (2 days)", "bot/handoff/discretion.py"),
    _k("canyu:credit:{sender}", "string", _NONE, "bot/handoff/discretion.py"),
    _k("canyu:repair_priority:{sender}", "string", _NONE, "bot/handoff/discretion.py"),
    _k("canyu:perk_pool:{pool}", "set", _NONE, "bot/handoff/perks.py"),
    _k("canyu:perk_code:{code}", "hash", _NONE, "bot/handoff/perks.py"),
    _k("canyu:perk_grants:{sender}", "list", "privacy retention", "bot/handoff/perks.py"),
    _k("canyu:followup:{sender}", "hash", "FOLLOWUP_KEEP_S (180 days)", "bot/followups/_store.py"),
    _k("canyu:followups:due", "zset", _NONE, "bot/followups/_store.py"),
    _k("canyu:followups:seq", "string", _NONE, "bot/followups/_store.py"),
    _k("canyu:followups:log", "list", _NONE, "bot/followups/_store.py"),
    _k("canyu:followups:returns_seen", "string", _NONE, "bot/followups/_returns.py"),
    _k("canyu:callback:{sender}", "hash", "FOLLOWUP_KEEP_S (180 days)", "bot/followups/_callbacks.py"),
    _k("canyu:callbacks:open", "zset", _NONE, "bot/followups/_callbacks.py"),
    _k("canyu:fans:identity:{sender}", "string", _NONE, "bot/fans/_profiles.py"),
    _k("canyu:fans:identities:{profile}", "set", _NONE, "bot/fans/_profiles.py"),
    _k("canyu:fans:profile:{profile}", "hash", _NONE, "bot/fans/_profiles.py"),
    _k("canyu:fans:activity:{profile}", "hash", _NONE, "bot/fans/_profiles.py"),
    _k("canyu:fans:days:{profile}", "set", _NONE, "bot/fans/_profiles.py"),
    _k("canyu:fans:activity_cursor", "string", _NONE, "bot/fans/_profiles.py"),
    _k("canyu:fans:activity_lock", "string", "lock (120 s)", "bot/fans/_profiles.py"),
    _k("canyu:fans:linkcode:{digest}", "string", "LINK_CODE_TTL_S (600 s)", "bot/fans/_links.py"),
    _k("canyu:fans:linkcode_of:{profile}", "string", "LINK_CODE_TTL_S (600 s)", "bot/fans/_links.py"),
    _k("canyu:fans:linkfail:sender:{sender}", "string", "SENDER_WINDOW (15 min)", "bot/fans/_links.py"),
    _k("canyu:fans:linkfail:global", "string", "GLOBAL_WINDOW (60 s)", "bot/fans/_links.py"),
    _k("canyu:fans:fpool:{campaign}", "set", _NONE, "bot/fans/_fcodes.py"),
    _k("canyu:fans:fcode:{code}", "hash", _NONE, "bot/fans/_fcodes.py"),
    _k("canyu:fans:fgrant:{campaign}:{profile}", "string", _NONE, "bot/fans/_fcodes.py"),
    _k("canyu:fans:campaigns", "hash", _NONE, "bot/fans/_fcodes.py"),
    _k("canyu:fans:redemptions", "list", _NONE, "bot/fans/_fcodes.py"),
    _k("canyu:fan_answers:optin", "hash", _NONE, "bot/fan_answers/_store.py"),
    _k("canyu:fan_answers:proposal:{id}", "hash", _NONE, "bot/fan_answers/_store.py"),
    _k("canyu:fan_answers:proposals", "zset", _NONE, "bot/fan_answers/_store.py"),
    _k("canyu:fan_answers:pending", "zset", _NONE, "bot/fan_answers/_store.py"),
    _k("canyu:fan_answers:seen:{profile}", "set", "FAN_ANSWERS_SEEN_TTL_S (30 days)", "bot/fan_answers/_store.py"),
    _k("canyu:fan_answers:limit:{kind}:{profile}:{day}", "string", "FAN_ANSWERS_LIMIT_TTL_S (2 days)",
       "bot/fan_answers/_store.py"),
    _k("canyu:fan_answers:next_id", "string", _NONE, "bot/fan_answers/_store.py"),
    _k("canyu:fan_answers:stats:{day}", "hash", "FAN_ANSWERS_STATS_TTL_S (90 days)", "bot/fan_answers/_store.py"),
    _k("canyu:fan_answers:kb_lock", "string", "lock (60 s)", "bot/fan_answers/_publish.py"),
    _k("canyu:feedback:seq", "string", _NONE, "bot/feedback/_store.py"),
    _k("canyu:feedback:item:{id}", "hash", _NONE, "bot/feedback/_store.py"),
    _k("canyu:feedback:items", "zset", _NONE, "bot/feedback/_store.py"),
    _k("canyu:feedback:voices:{id}", "hash", "privacy retention", "bot/feedback/_store.py"),
    _k("canyu:feedback:exemplars:{id}", "list", _NONE, "bot/feedback/_store.py"),
    _k("canyu:feedback:by_user:{profile}", "zset", _NONE, "bot/feedback/_store.py"),
    _k("canyu:feedback:notified:{id}", "hash", _NONE, "bot/feedback/_store.py"),
    _k("canyu:feedback:told:{status}:{id}", "hash", _NONE, "bot/feedback/_store.py"),
    _k("canyu:feedback:history:{id}", "list", _NONE, "bot/feedback/_store.py"),
    _k("canyu:feedback:optout:{profile}", "set", _NONE, "bot/feedback/_subscriptions.py"),
    _k("canyu:feedback:beta:{id}", "hash", _NONE, "bot/feedback/_subscriptions.py"),
    _k("canyu:feedback:digest:subscribers", "hash", _NONE, "bot/feedback/_subscriptions.py"),
    _k("canyu:feedback:digest:asked", "set", _NONE, "bot/feedback/_subscriptions.py"),
    _k("canyu:feedback:digest:week:{week}", "hash", _NONE, "bot/feedback/_weekly.py"),
    _k("canyu:feedback:digest:weeks", "zset", _NONE, "bot/feedback/_weekly.py"),
    _k("canyu:feedback:digest:sent:{week}", "hash", _NONE, "bot/feedback/_weekly.py"),
    _k("canyu:memory:seen:{profile}", "string", _NONE, "bot/memory/_seen.py"),
    _k("canyu:review:cursor", "string", _NONE, "bot/trainer/inbox_store.py"),
    _k("canyu:review:items", "hash", _NONE, "bot/trainer/inbox_store.py"),
    _k("canyu:review:open", "zset", _NONE, "bot/trainer/inbox_store.py"),
    _k("canyu:review:convo:{sender}", "string", "CONVO_TTL (7 days)", "bot/trainer/inbox_store.py"),
    _k("canyu:review:answers", "list", "capped (500); ANSWERS_TTL (30 days)", "bot/trainer/inbox_store.py"),
    _k("canyu:review:stats:{day}", "hash", "STATS_TTL (90 days)", "bot/trainer/inbox_store.py"),
    _k("canyu:review:lock", "string", "lock (30 s)", "bot/trainer/inbox_store.py"),
    _k("canyu:privacy:sweep_lock", "string", "lock", "bot/privacy/retention.py"),
    _k("canyu:console_user:{name}", "hash", _NONE, "bot/console/users.py"),
    _k("canyu:console_users", "set", _NONE, "bot/console/users.py"),
    _k("canyu:console_session:{digest}", "hash", "idle time (console `session_seconds`)", "bot/console/auth.py"),
    _k("canyu:console_login_fail:ip:{ip}", "string", "LOGIN_FAILURE_WINDOW_S (15 min)", "bot/console/auth.py"),
    _k("canyu:console_login_fail:ipname:{ip}|{name}", "string", "LOGIN_FAILURE_WINDOW_S (15 min)",
       "bot/console/auth.py"),
    _k("canyu:console_login_fail:name:{name}", "string", "LOGIN_FAILURE_WINDOW_S (15 min)", "bot/console/auth.py"),
    _k("canyu:console_login_fail:wait:ip:{ip}", "string", "the wait", "bot/console/auth.py"),
    _k("canyu:console_login_fail:wait:ipname:{ip}|{name}", "string", "the wait", "bot/console/auth.py"),
    _k("canyu:inbound:{channel}:{msg_id}", "hash", "INBOUND_KEEP_S (1 day)", "connectors/_inbound.py"),
    _k("canyu:inbound:{channel}:due", "zset", _NONE, "connectors/_inbound.py"),
    _k("canyu:media:{id}", "hash", "CANYU_MEDIA_KEEP_DAYS (30 days)", "bot/media.py"),
    _k("canyu:telegram:cb:{digest}", "string", "TELEGRAM_CALLBACK_TTL_S (30 days)", "connectors/_telegram_send.py"),
    _k("canyu:wechat:buttons:{sender}", "string", "WECHAT_BUTTONS_TTL_S (1 day)", "connectors/_wechat_send.py"),
    _k("canyu:wechat:token:{appid}_access_token", "string", "the token's lifetime", "connectors/_wechat_api.py"),
    _k("canyu:wechat:token_lock:{appid}", "string", "lock (20 s)", "connectors/_wechat_api.py"),
    _k("canyu:wechat:nonce:{appid}:{timestamp}:{nonce}", "string", "2 x replay window", "connectors/wechat.py"),
    _k("canyu:rest:sig:{digest}", "string", "2 x MAX_SKEW_S (10 min)", "connectors/_rest_auth.py"),
)


def markdown_table() -> str:
    """The "## Redis keys" table of docs/DEVELOPING.md."""
    rows = ["| key | type | TTL | owner (writes it) |", "|---|---|---|---|"]
    rows += [f"| `{s.pattern}` | {s.type} | {s.ttl} | {s.owner} |" for s in REGISTRY]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
