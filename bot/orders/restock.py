"""Restock alerts: when a sold-out product is back, tell every subscriber once, in their language, then forget them.

    report = await notify_restocked(backend, redis=ctx.redis, texts=ctx.texts)  # every product in stock with subscribers
    report = await notify_restocked(backend, ["phone_14_pro"], redis=ctx.redis, texts=ctx.texts)

Two ways in. `bot orders stock phone_14_pro 50` (bot/cli/orders.py) sets the stock and notifies right
away. `RestockWatcher`, a daemon thread in the action server, runs the same check every
``CANYU_RESTOCK_CHECK_S`` seconds (default 10; 0 turns it off), so a stock change made directly in
the backend reaches the subscribers too (the action server's context starts it: `RestockWatcher.from_env`).

Exactly once: the check runs under a short Redis lock (`LOCK_KEY`, so two processes do not both send)
and each alert is *claimed* by deleting its row before sending (`claim_restock_alert` is true for one
caller only). A send that fails puts the alert back for the next check. The check does not need to see
the 0 → n transition: an alert only exists while the user waits, so "in stock and somebody waiting"
is the whole condition (a user who subscribes while it is in stock is told on the spot instead).

The words are `utter_restock_back` in `responses/order_tasks.yml` (zh and en). Sending goes through
`bot.outbound.send_to_user` (WeChat's 48-hour window: the message waits for the user's next contact).

Redis keys (owned here): `canyu:orders:restock_lock` (SET NX with a 30 s expiry while a check runs).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional

from bot import keys
from bot.errors import CanyuError
from bot.orders import OrderBackend, RestockAlert
from bot.orders.products import PRODUCTS, product_label
from bot.texts import Texts

__all__ = ["RestockReport", "notify_restocked", "restock_message", "RestockWatcher", "LOCK_KEY",
           "DEFAULT_CHECK_S", "RESPONSES_FILE"]

logger = logging.getLogger(__name__)

LOCK_KEY = keys.RESTOCK_LOCK
LOCK_TTL_S = keys.RESTOCK_LOCK_TTL_S
DEFAULT_CHECK_S = 10.0
RESPONSES_FILE = "order_tasks"  # responses/order_tasks.yml (bot.texts)

SendFn = Callable[..., Awaitable[Any]]


@dataclass
class RestockReport:
    """Who was told (`sent`: delivered or queued on their channel), who failed, and whether the lock was busy."""

    sent: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)
    busy: bool = False


def restock_message(texts: Texts, product: str, language: str) -> str:
    """ "Good news: the Millet Phone 14 Pro is back in stock …" in the user's language (`texts`: `ctx.texts`)."""
    return texts.render(RESPONSES_FILE, "utter_restock_back", language, product=product_label(product, language))


def _release(redis: Any, token: str) -> None:
    try:
        if redis.get(LOCK_KEY) == token:
            redis.delete(LOCK_KEY)
    except Exception as exc:  # the lock expires by itself
        logger.warning("restock: cannot release %s: %s", LOCK_KEY, exc)


async def _tell(backend: OrderBackend, alert: RestockAlert, send: SendFn, texts: Texts,
                report: RestockReport) -> None:
    if not backend.claim_restock_alert(alert.owner, alert.product):
        return  # another process told this user already
    who = f"{alert.owner}/{alert.product}"
    try:
        await send(alert.owner, [restock_message(texts, alert.product, alert.language)], channel=alert.channel)
    except Exception as exc:  # CanyuError, OSError or a platform library's own: retry on the next check
        getattr(backend, "restore_restock_alert", lambda a: None)(alert)
        report.failed[who] = f"{type(exc).__name__}: {exc}"
        log = logger.warning if isinstance(exc, (CanyuError, OSError)) else logger.exception
        log("restock: message to %s failed: %s", who, exc)
        return
    report.sent.append(who)


async def _lock(r: Any, token: str, wait: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while not r.set(LOCK_KEY, token, nx=True, ex=LOCK_TTL_S):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def notify_restocked(backend: OrderBackend, products: Optional[Iterable[str]] = None, *, redis: Any,
                           texts: Texts, send: Optional[SendFn] = None, wait: float = 0.0) -> RestockReport:
    """Tell the subscribers of every product in `products` (default: all) that is in stock now; `redis`: the
    caller's client (the lock, and the outbound queue); `texts`: the caller's (`ctx.texts`).

    Another process's check holds the lock: wait up to `wait` seconds for it, else return with `busy`
    (that check, or the next periodic one, covers the change).
    """
    r = redis
    report = RestockReport()
    token = uuid.uuid4().hex
    if not await _lock(r, token, wait):
        report.busy = True
        return report
    if send is None:
        from bot.outbound import Outbound

        send = Outbound(r).send_to_user  # queued for a process with the channel's sender
    try:
        for product in products or PRODUCTS:
            alerts = backend.restock_alerts(product)
            if alerts and backend.stock(product) > 0:
                for alert in alerts:
                    await _tell(backend, alert, send, texts, report)
    finally:
        _release(r, token)
    return report


class RestockWatcher(threading.Thread):
    """Runs `notify_restocked` every `interval` seconds in its own event loop until `stop()`."""

    def __init__(self, backend: OrderBackend, redis: Any, texts: Texts, interval: float = DEFAULT_CHECK_S) -> None:
        super().__init__(name="canyu-restock", daemon=True)
        self.backend = backend
        self.texts = texts
        self.interval = interval
        self.redis = redis
        self._stopped = threading.Event()

    @classmethod
    def from_env(cls, backend: OrderBackend, redis: Any, texts: Texts,
                 env: Mapping[str, str]) -> Optional["RestockWatcher"]:
        """A watcher with ``CANYU_RESTOCK_CHECK_S`` of `env` (default 10 s), or None when it is 0."""
        raw = (env.get("CANYU_RESTOCK_CHECK_S") or "").strip()
        try:
            interval = float(raw) if raw else DEFAULT_CHECK_S
        except ValueError:
            logger.warning("restock: CANYU_RESTOCK_CHECK_S=%r is not a number of seconds; using %s", raw,
                           DEFAULT_CHECK_S)
            interval = DEFAULT_CHECK_S
        return cls(backend, redis, texts, interval) if interval > 0 else None

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while not self._stopped.wait(self.interval):
                try:
                    report = loop.run_until_complete(notify_restocked(self.backend, redis=self.redis, texts=self.texts))
                except Exception as exc:  # Redis or the database is down: try again next time
                    logger.warning("restock: check failed: %s", exc)
                    continue
                if report.sent or report.failed:
                    logger.info("restock: told %d subscriber(s), %d failed", len(report.sent), len(report.failed))
        finally:
            loop.close()
