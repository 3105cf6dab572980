"""Sending an item (`attempt`) and the worker that drains every channel's queue in a process with senders.

An attempt sends from where the item's progress stands and saves the progress after every accepted part. Then:
- all sent: the item is done (its idempotency key remembers the `Delivery`);
- `WindowClosed` (WeChat): what is left waits in `canyu:pending:{sender}` for the user's next message;
- a permanent `DeliveryError`: straight to the dead letters;
- anything else: retried after a backoff, and dead after `max_tries` attempts.

`DeliveryWorker` runs as an asyncio task in each process that sends (the Rasa server, the console): every
`poll_s` it puts stranded items (lease run out) and due retries back in the queue, then claims and sends up
to `concurrency` items per channel at a time. Several workers in several processes share the queues safely.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, List, Optional, Sequence, Set

from bot import keys, metrics
from bot.delivery._protocol import Delivery, Progress, Sender, SenderRegistry
from bot.delivery._queue import CHANNELS, IDEMPOTENCY_TTL_S, DeliveryQueue, Item, done_of
from bot.delivery._settings import DeliverySettings
from bot.errors import DeliveryError, WindowClosed

__all__ = ["attempt", "park", "pending_key", "DeliveryWorker", "count"]

logger = logging.getLogger(__name__)


def pending_key(sender_id: str) -> str:
    return keys.pending(sender_id)


def count(channel: str, outcome: str, n: int = 1) -> None:
    if n > 0:
        metrics.DELIVERIES.labels(channel, outcome).inc(n)


def park(redis: Any, sender_id: str, messages: List[Dict[str, Any]]) -> None:
    """Messages wait in `canyu:pending:{sender}` until the user writes again (WeChat)."""
    if messages:
        redis.rpush(pending_key(sender_id), *[json.dumps({"recipient_id": sender_id, **m}, ensure_ascii=False)
                                              for m in messages])


def remember(redis: Any, key: Optional[str], report: Delivery) -> None:
    if key:
        redis.set(done_of(key), json.dumps(report.__dict__), ex=IDEMPOTENCY_TTL_S)


def _platform_id(sender_id: str) -> str:
    return sender_id.partition(":")[2] or sender_id


async def attempt(queue: DeliveryQueue, item: Item, sender: Sender) -> Delivery:
    """Send `item` (already in the processing list) and move it on (see the module docstring).

    Returns what this attempt achieved: `sent` messages went out now, `queued` are left (retry or pending).
    Raises the `DeliveryError` when the item went to the dead letters."""
    channel, start = queue.channel, item.sent

    def saved(p: Progress) -> None:
        item.sent, item.part = p.message, p.part
        queue.save(item)

    progress = Progress(item.sent, item.part, saved)
    try:
        await sender.deliver(_platform_id(item.sender), item.messages, progress)
    except WindowClosed as exc:
        left = queue.park(item, pending_key(item.sender))
        count(channel, "sent", item.sent - start)
        count(channel, "queued", left)
        logger.info("delivery: %s refused %s (%s); %d message(s) wait for the user's next message", channel,
                    item.sender, exc.code, left)
        remember(queue.redis, item.key, Delivery(channel, item.sent, left))
        return Delivery(channel, item.sent - start, left)
    except Exception as exc:
        count(channel, "sent", item.sent - start)
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, DeliveryError) and exc.permanent:
            item.tries += 1
            queue.bury(item, reason)
            alive = False
        else:
            alive = queue.retry(item, reason)
        if alive:
            count(channel, "retried", item.remaining)
            logger.warning("delivery: %s to %s failed (try %d of %d, again in %.1f s): %s", channel, item.sender,
                           item.tries, queue.settings.max_tries, item.next_at - time.time(), reason)
            return Delivery(channel, item.sent - start, item.remaining)
        count(channel, "dead", item.remaining)
        logger.error("delivery: %s to %s is a dead letter after %d tr%s: %s", channel, item.sender,
                     max(item.tries, 1), "y" if item.tries <= 1 else "ies", reason)
        remember(queue.redis, item.key, Delivery(channel, item.sent, 0))
        if isinstance(exc, DeliveryError):
            raise
        raise DeliveryError(f"{channel} delivery to {item.sender} failed: {reason}", platform=channel) from exc
    queue.finish(item)
    count(channel, "sent", item.sent - start)
    remember(queue.redis, item.key, Delivery(channel, item.sent, 0))
    return Delivery(channel, item.sent - start, 0)


class DeliveryWorker:
    """Drains the delivery queues of the channels that have a sender in `senders` (this process's registry,
    `AppContext.senders`; see the module docstring). `channels`: the queues to look at (default: all)."""

    def __init__(self, redis: Any, senders: SenderRegistry, settings: DeliverySettings,
                 channels: Sequence[str] = CHANNELS) -> None:
        self.redis = redis
        self.senders = senders
        self.settings = settings
        self.queues = {ch: DeliveryQueue(redis, ch, self.settings) for ch in channels}
        self._task: Optional["asyncio.Task[None]"] = None
        self._inflight: Set["asyncio.Task[Any]"] = set()

    def start(self) -> "DeliveryWorker":
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="canyu-delivery-worker")
        return self

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self._inflight:  # let sends in flight finish (their items stay leased otherwise)
            await asyncio.wait(set(self._inflight), timeout=10)

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down: try again later, never die
                logger.warning("delivery: worker pass failed: %s", exc)
            await asyncio.sleep(self.settings.poll_s)

    async def run_once(self) -> int:
        """One pass: requeue stranded items, promote due retries, start sending what is ready. Returns how
        many items were started."""
        started = 0
        for channel, queue in self.queues.items():
            sender = self.senders.sender_for(channel)
            if sender is None:
                continue
            queue.requeue_stranded()
            queue.promote_due()
            mine = [t for t in self._inflight if t.get_name() == channel]
            while len(mine) < self.settings.concurrency:
                item = queue.claim()
                if item is None:
                    break
                task = asyncio.get_running_loop().create_task(self._send(queue, item, sender), name=channel)
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
                mine.append(task)
                started += 1
        return started

    @staticmethod
    async def _send(queue: DeliveryQueue, item: Item, sender: Sender) -> None:
        try:
            await attempt(queue, item, sender)
        except DeliveryError:
            pass  # in the dead letters, logged
        except Exception:
            logger.exception("delivery: unexpected error sending %s", item.id)

    async def drain(self, timeout: float = 30.0) -> bool:
        """Run passes until nothing is queued, waiting for a retry, being sent or in flight (tests, shutdown);
        True if everything got through or went to the dead letters in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.run_once()
            if self._inflight:
                await asyncio.wait(set(self._inflight), timeout=max(0.0, deadline - time.monotonic()))
                continue
            if not any(d["queued"] or d["retry"] or d["processing"]
                       for ch, q in self.queues.items() if self.senders.sender_for(ch) is not None
                       for d in [q.depths()]):
                return True
            await asyncio.sleep(self.settings.poll_s)
        return False
