"""Check-ins after a return: the shop marks an order `returned` (`OrderBackend.set_status`, `bot orders status`), and
this job, run once per deployment by the leader (bot/jobs.py), schedules the owner's check-in ("退款收到了吗？").

Returns are filed in the shop, not in chat, so the order backend is the only witness. The job asks it for orders
that became `returned` since the last run (`OrderBackend.changed_since`) and calls `after_return`, which schedules
one check-in per order (a second sighting of the same order is ignored). The first run starts watching from then:
the shop's earlier returns get no check-in.

Redis key (owned here, named in bot/keys.py; no personal data): `canyu:followups:returns_seen` string, the ISO time of the latest return
seen. The check-in speaks the channel's language: WeChat users write Chinese, Telegram and REST users English.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any, Callable, Optional

from bot import keys
from bot.followups._config import FollowupConfig
from bot.followups._send import after_return
from bot.jobs import Job

__all__ = ["RETURNS_SEEN", "schedule_returns", "returns_job"]

logger = logging.getLogger(__name__)

RETURNS_SEEN = keys.FOLLOWUPS_RETURNS_SEEN


def _language(sender_id: str) -> str:
    return "zh" if sender_id.startswith("wechat:") else "en"


def schedule_returns(redis: Any, backend: Any, now: Optional[float] = None, *, config: FollowupConfig) -> int:
    """Schedule the check-ins of the returns since the last call (`backend`: the deployment's order backend,
    `ctx.orders`); returns how many orders were new returns."""
    now = time.time() if now is None else now
    seen = redis.get(RETURNS_SEEN)
    if seen is None:  # the first run watches from now on
        redis.set(RETURNS_SEEN, datetime.fromtimestamp(now).isoformat(timespec="seconds"))
        return 0
    latest, count = str(seen), 0
    for order in backend.changed_since(datetime.fromisoformat(str(seen)), "returned"):
        if order.owner:
            after_return(redis, order.owner, order.number, _language(order.owner), texts=[order.product], now=now,
                         config=config)
            count += 1
        latest = max(latest, order.updated_at.isoformat(timespec="seconds"))
    redis.set(RETURNS_SEEN, latest)
    if count:
        logger.info("followups: %d return(s) get a check-in", count)
    return count


def returns_job(redis: Any, backend: Any, config: FollowupConfig, clock: Callable[[], float] = time.time,
                every: Optional[float] = None) -> Job:
    """The `bot.jobs.Job` that watches for returns (the leader runs it; `clock` is injectable for tests)."""

    async def returns() -> None:
        await asyncio.to_thread(schedule_returns, redis, backend, clock(), config=config)

    return Job("return-checkins", every if every is not None else config.check_every_s, returns)
