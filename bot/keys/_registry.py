"""The documented table of every Redis key pattern (`REGISTRY`): type, TTL and owning module (the one that writes it).

Why a module of its own: the builders (`bot.keys`) and this table together passed the 400-line limit. The table
is re-exported by `bot.keys` (`bot.keys.REGISTRY`, `bot.keys.KeySpec`, `bot.keys.markdown_table`);
`tests/test_keys.py` checks that every builder makes a key of exactly one pattern here. Imports nothing from `bot`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["KeySpec", "REGISTRY", "markdown_table"]

@dataclass(frozen=True)
class KeySpec:
    """One key pattern: `{name}` parts are filled in by a builder of `bot.keys` (or by the owning module's prefix)."""

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
    _k("canyu:fan_answers:optin", "hash", _NONE, "bot/fan_answers/_records.py"),
    _k("canyu:fan_answers:proposal:{id}", "hash", _NONE, "bot/fan_answers/_records.py"),
    _k("canyu:fan_answers:proposals", "zset", _NONE, "bot/fan_answers/_records.py"),
    _k("canyu:fan_answers:pending", "zset", _NONE, "bot/fan_answers/_records.py"),
    _k("canyu:fan_answers:seen:{profile}", "set", "FAN_ANSWERS_SEEN_TTL_S (30 days)", "bot/fan_answers/_records.py"),
    _k("canyu:fan_answers:limit:{kind}:{profile}:{day}", "string", "FAN_ANSWERS_LIMIT_TTL_S (2 days)",
       "bot/fan_answers/_records.py"),
    _k("canyu:fan_answers:next_id", "string", _NONE, "bot/fan_answers/_records.py"),
    _k("canyu:fan_answers:stats:{day}", "hash", "FAN_ANSWERS_STATS_TTL_S (90 days)", "bot/fan_answers/_records.py"),
    _k("canyu:fan_answers:kb_lock", "string", "lock (60 s)", "bot/fan_answers/_publish.py"),
    _k("canyu:feedback:seq", "string", _NONE, "bot/feedback/_redis_repository.py"),
    _k("canyu:feedback:item:{id}", "hash", _NONE, "bot/feedback/_redis_repository.py"),
    _k("canyu:feedback:items", "zset", _NONE, "bot/feedback/_redis_repository.py"),
    _k("canyu:feedback:voices:{id}", "hash", "privacy retention", "bot/feedback/_redis_repository.py"),
    _k("canyu:feedback:exemplars:{id}", "list", _NONE, "bot/feedback/_redis_repository.py"),
    _k("canyu:feedback:by_user:{profile}", "zset", _NONE, "bot/feedback/_redis_repository.py"),
    _k("canyu:feedback:notified:{id}", "hash", _NONE, "bot/feedback/_redis_repository.py"),
    _k("canyu:feedback:told:{status}:{id}", "hash", _NONE, "bot/feedback/_redis_repository.py"),
    _k("canyu:feedback:history:{id}", "list", _NONE, "bot/feedback/_redis_repository.py"),
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
    _k("canyu:wechat:seen:{appid}:{dedupe_key}", "string", "1 hour", "connectors/wechat.py (older versions)"),
    _k("canyu:rest:sig:{digest}", "string", "2 x MAX_SKEW_S (10 min)", "connectors/_rest_auth.py"),
)


def markdown_table() -> str:
    """The "## Redis keys" table of docs/DEVELOPING.md."""
    rows = ["| key | type | TTL | owner (writes it) |", "|---|---|---|---|"]
    rows += [f"| `{s.pattern}` | {s.type} | {s.ttl} | {s.owner} |" for s in REGISTRY]
    return "\n".join(rows)
