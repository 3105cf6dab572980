"""Feedback and suggestions as tracked items: filed from chat, matched across languages, voted on,
moved through statuses by people, and every step told to every user who asked.

    store = FeedbackStore(ctx.redis)                  # or FeedbackStore(MemoryFeedbackRepository()) in unit tests
    filing = store.file("telegram:42", "14 Pro 掉电快", language="zh", channel="telegram")
    filing.outcome, filing.item.id, filing.others     # "joined", "FB3", 1
    store.set_status("FB3", "planned")
    await notify_status(store, "FB3", texts=ctx.texts)  # each voice told once, in their language, on their channel
    store.set_status("FB3", "declined", reason="…", instead="…")
    await send_weekly_digest(redis, schedule=ctx.env.get("CANYU_DIGEST_SCHEDULE"), texts=ctx.texts)  # once a week

Modules: `_model` (items, voices), `_store` (the service: filing, matching, statuses), `_repository` (what it
asks of storage: `FeedbackRepository`), `_redis_repository` / `_memory` (Redis / in memory), `_match` (similarity),
`_notify` (status news), `_subscriptions` (opt-outs, digest subscribers), `_weekly` (the weekly digest and its
job), `_digest` (the terminal's shipped list). Redis keys: see `_redis_repository`, `_subscriptions` and `_weekly`.
"""

from typing import Any, List, Mapping

from bot.feedback._digest import digest_text, shipped_since
from bot.feedback._match import AUTO_JOIN, SUGGEST, signature, similarity
from bot.feedback._memory import MemoryFeedbackRepository, MemorySubscriptions
from bot.feedback._model import (
    ANNOUNCED,
    KINDS,
    STATUSES,
    FeedbackItem,
    Filing,
    UnknownItem,
    Voice,
    normalize_id,
    normalize_status,
)
from bot.feedback._notify import NotifyReport, notify_shipped, notify_status, render, shipped_message, status_message
from bot.feedback._redis_repository import RedisFeedbackRepository
from bot.feedback._repository import FeedbackRepository
from bot.feedback._store import FeedbackStore, told_key
from bot.feedback._subscriptions import (
    RedisSubscriptions,
    Subscriber,
    Subscriptions,
    beta_signup,
    beta_signups,
    digest_subscribers,
    is_digest_subscriber,
    offer_digest_once,
    subscribe_digest,
    unsubscribe,
    unsubscribe_digest,
    wants_news,
)
from bot.feedback._weekly import DigestReport, digest_job, digest_weeks, send_weekly_digest, week_changes, week_of
from bot.jobs import Job
from bot.texts import Texts

__all__ = [
    "ANNOUNCED",
    "AUTO_JOIN",
    "SUGGEST",
    "KINDS",
    "STATUSES",
    "DigestReport",
    "FeedbackItem",
    "FeedbackRepository",
    "FeedbackStore",
    "Filing",
    "MemoryFeedbackRepository",
    "MemorySubscriptions",
    "NotifyReport",
    "RedisFeedbackRepository",
    "RedisSubscriptions",
    "Subscriber",
    "Subscriptions",
    "UnknownItem",
    "Voice",
    "beta_signup",
    "beta_signups",
    "digest_job",
    "digest_subscribers",
    "digest_text",
    "digest_weeks",
    "feedback_jobs",
    "is_digest_subscriber",
    "normalize_id",
    "normalize_status",
    "notify_shipped",
    "notify_status",
    "offer_digest_once",
    "render",
    "send_weekly_digest",
    "shipped_message",
    "shipped_since",
    "signature",
    "similarity",
    "status_message",
    "subscribe_digest",
    "told_key",
    "unsubscribe",
    "unsubscribe_digest",
    "wants_news",
    "week_changes",
    "week_of",
]


def feedback_jobs(redis: Any, env: Mapping[str, str], texts: Texts) -> List[Job]:
    """The deployment jobs of this package (listed by bot/deployment_jobs.py, run by the leader): the weekly
    digest, on the deployment's schedule (`CANYU_DIGEST_SCHEDULE` in `env`, `Settings.env`), in the words of
    `texts` (the deployment's `ctx.texts`)."""
    return [digest_job(redis, env.get("CANYU_DIGEST_SCHEDULE"), texts=texts)]
