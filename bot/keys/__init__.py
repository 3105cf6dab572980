"""The registry of every Redis key Canyu uses: one builder or constant per key pattern, with its type and TTL.

Why: the same key used to be spelled in several modules (`canyu:events` in four), so a rename or a typo split the
data silently. Every module builds its keys here; `tests/test_keys.py` fails when a `"canyu:…"` literal appears
anywhere else in `bot/` or `connectors/`, and checks that no key of one pattern can be mistaken for another's.
`REGISTRY` (in `bot/keys/_registry.py`, re-exported here) documents each pattern (type, TTL, owning module: the
one that writes it); `docs/DEVELOPING.md` ("## Redis keys") is generated from it with `python -m bot.keys`.

Keys are byte-for-byte those Canyu has always written, so existing data is still found. This package imports
nothing else from `bot` (it sits below every other module). A builder called with `"*"` gives the SCAN glob of its
pattern (`user_route("*")`), with `"{sender}"` the documented pattern (`bot/privacy/inventory.py` does both).
"""

from __future__ import annotations

from typing import Final

from bot.keys._registry import (  # the documented table, re-exported
    REGISTRY as REGISTRY,
    KeySpec as KeySpec,
    markdown_table as markdown_table,
)

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
REVIEW_ITEMS: Final = f"{REVIEW_PREFIX}:items"
REVIEW_OPEN: Final = f"{REVIEW_PREFIX}:open"
REVIEW_ANSWERS: Final = f"{REVIEW_PREFIX}:answers"
WECHAT_TOKEN_PREFIX: Final = "canyu:wechat:token"
"""wechatpy's RedisStorage prefix: it stores `{prefix}:{appid}_access_token`."""


def review_convo(sender_id: str) -> str:
    return f"{REVIEW_PREFIX}:convo:{sender_id}"


def feedback_by_user(profile: str) -> str:
    return f"{FEEDBACK_PREFIX}by_user:{profile}"


def feedback_item(item_id: str) -> str:
    return f"{FEEDBACK_PREFIX}item:{item_id}"


def feedback_voices(item_id: str) -> str:
    return f"{FEEDBACK_PREFIX}voices:{item_id}"


# --- privacy --------------------------------------------------------------------------------------------------------
PRIVACY_SWEEP_LOCK: Final = "canyu:privacy:sweep_lock"

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


def wechat_seen(appid: str, dedupe_key: str) -> str:
    """No longer written (WeChat deduplicates through `connectors/_inbound.py` now); named so that the privacy
    inventory still finds, and the retention sweep still expires, what older versions left."""
    return f"canyu:wechat:seen:{appid}:{dedupe_key}"


def rest_signature(digest: str) -> str:
    return f"canyu:rest:sig:{digest}"
