"""Durable outbound delivery: per-channel queues in Redis with retries, dead letters and a worker; the `Sender`
protocol channels implement; the REST outbox read with a cursor.

    from bot.delivery import DeliveryQueue, DeliveryWorker, Sender, Progress
    worker = DeliveryWorker(ctx.redis, ctx.senders, settings).start()   # in a process with senders
    DeliveryQueue(redis, "telegram").dead_letters()

`bot.outbound.send_to_user` is the way in; this package is what it stands on. Modules: `_protocol` (Sender,
Progress, Delivery, the registry), `_settings` (CANYU_DELIVERY_*), `_queue` (Redis keys and moves),
`_worker` (an attempt, the worker), `_outbox` (REST). Metrics: `canyu_deliveries{channel,outcome}` counts
messages sent / retried / dead / queued; the gauges `canyu_delivery_queue_depth{channel,state}` and
`canyu_delivery_dead_letters{channel}` are read from Redis at scrape time.
"""

from __future__ import annotations

from typing import Any, List, Tuple

from bot import keys, metrics
from bot.delivery._outbox import append as append_outbox, outbox_key, read as read_outbox
from bot.delivery._protocol import (
    Delivery,
    Progress,
    Sender,
    SenderFactory,
    SenderRegistry,
)
from bot.delivery._queue import CHANNELS, IDEMPOTENCY_TTL_S, DeliveryQueue, Item, done_of, key_of
from bot.delivery._settings import DeliverySettings
from bot.delivery._worker import DeliveryWorker, attempt, count, park, pending_key, remember

__all__ = [
    "CHANNELS", "IDEMPOTENCY_TTL_S", "Delivery", "DeliveryQueue", "DeliverySettings", "DeliveryWorker", "Item",
    "Progress", "Sender", "SenderFactory", "SenderRegistry", "append_outbox", "attempt", "count", "done_of", "key_of",
    "outbox_key", "park", "pending_key", "read_outbox", "remember",
]


def _depths(redis: Any) -> List[Tuple[Tuple[Tuple[str, str], ...], float]]:
    rows: List[Tuple[Tuple[Tuple[str, str], ...], float]] = []
    for ch in CHANNELS:
        depths = DeliveryQueue(redis, ch, DeliverySettings()).depths()
        for state in ("queued", "processing", "retry"):
            rows.append(((("channel", ch), ("state", state)), float(depths[state])))
    return rows


def _dead(redis: Any) -> List[Tuple[Tuple[Tuple[str, str], ...], float]]:
    return [((("channel", ch),), float(redis.llen(keys.delivery(ch, "dead")))) for ch in CHANNELS]


metrics.add_redis_gauge("canyu_delivery_queue_depth", "Outbound items by channel and state (queued, processing, "
                        "retry)", _depths)
metrics.add_redis_gauge("canyu_delivery_dead_letters", "Outbound items in the dead letters, by channel", _dead)
