"""A Rasa event broker that appends every tracker event to the Redis stream `canyu:events`.

Each stream entry has one field, `event`: the event's JSON as Rasa publishes it (with `sender_id`,
`timestamp`, and for user events `parse_data` with intent, confidence and ranking). The agent console
reads it for live transcripts, the review inbox and analytics read it for what happened. The stream is
capped (approximately) at `max_len` entries.

**Off the message path** (issue 17: ~17% of Rasa's CPU was the broker's XADD, one blocking round trip per
event, several events per message). `publish` only queues the event; one writer thread sends what is queued
in one pipeline (up to `BATCH` entries per round trip), in the order published. Nothing is dropped on a Redis
error: the batch is kept and sent again after a pause (0.1 s, doubling up to 5 s), and `close()` (Rasa calls
it at shutdown) and interpreter exit wait for the queue to drain (at most `CLOSE_WAIT_S`). Only a queue
longer than `MAX_QUEUED` (Redis away for a long time) loses its oldest events, each loss logged and counted
in `dropped`. `flush(timeout)` waits until everything published so far is in Redis (tests, tools).
`CANYU_RASA_SPEEDUPS=0` keeps the old blocking XADD per event (the stock baseline of bench/throughput.py).

Rasa builds the broker from endpoints.yml, so it is a composition root: it builds its context
(`bot.plugin_context`) in its constructor; a `url` (`redis://…`) in endpoints.yml, or given here, wins over
`REDIS_URL`.
"""

from __future__ import annotations

import atexit
import collections
import json
import logging
import threading
import time
from asyncio import AbstractEventLoop
from typing import Any, Deque, Dict, List, Optional, Text

import redis
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.keys import EVENTS_STREAM as EVENTS_STREAM  # re-exported: the trainer reads it here
from bot.plugin_context import plugin_context
from bot.speedups import speedups_enabled

logger = logging.getLogger(__name__)

DEFAULT_MAX_LEN = 1_000_000
BATCH = 500
MAX_QUEUED = 200_000
CLOSE_WAIT_S = 10.0


class RedisEventBroker(EventBroker):
    def __init__(self, url: Optional[str] = None, stream: str = EVENTS_STREAM, max_len: int = DEFAULT_MAX_LEN,
                 background: Optional[bool] = None) -> None:
        self.ctx = plugin_context(url)
        self.red = self.ctx.redis
        self.stream = stream
        self.max_len = max_len
        self.background = speedups_enabled(self.ctx.env) if background is None else background
        self.dropped = 0
        self._queue: Deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._sending = 0  # entries taken from the queue, not yet confirmed by Redis
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Optional[AbstractEventLoop] = None
    ) -> "RedisEventBroker":
        kwargs = broker_config.kwargs if broker_config else {}
        return cls(url=broker_config.url if broker_config else None, stream=kwargs.get("stream", EVENTS_STREAM),
                   max_len=int(kwargs.get("max_len", DEFAULT_MAX_LEN)))

    def publish(self, event: Dict[Text, Any]) -> None:
        payload = json.dumps(event, ensure_ascii=False)
        if not self.background:
            try:
                self.red.xadd(self.stream, {"event": payload}, maxlen=self.max_len, approximate=True)
            except redis.RedisError as exc:  # the conversation goes on; analytics miss one event
                logger.error("could not publish event to %s: %s", self.stream, exc)
            return
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._start()
            self._queue.append(payload)
            if len(self._queue) > MAX_QUEUED:
                self._queue.popleft()
                self.dropped += 1
                logger.error("event queue for %s over %d (Redis away?): oldest event dropped (%d so far)",
                             self.stream, MAX_QUEUED, self.dropped)
            self._cond.notify_all()

    def _start(self) -> None:
        if self._thread is None:
            atexit.register(self.flush, CLOSE_WAIT_S)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="canyu-event-broker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pause = 0.1
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch: List[str] = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                self._sending = len(batch)
            while True:
                try:
                    pipe = self.red.pipeline(transaction=False)
                    for payload in batch:
                        pipe.xadd(self.stream, {"event": payload}, maxlen=self.max_len, approximate=True)
                    pipe.execute()
                    pause = 0.1
                    break
                except redis.RedisError as exc:  # keep the batch; try again
                    logger.error("could not publish %d events to %s (%s); retrying in %.1f s",
                                 len(batch), self.stream, exc, pause)
                    time.sleep(pause)
                    pause = min(pause * 2, 5.0)
            with self._cond:
                self._sending = 0
                self._cond.notify_all()

    def pending(self) -> int:
        """Events published but not yet confirmed written."""
        with self._cond:
            return len(self._queue) + self._sending

    def flush(self, timeout: float = CLOSE_WAIT_S) -> bool:
        """Wait until every event published so far is in Redis (True), or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._sending:
                left = deadline - time.monotonic()
                if left <= 0:
                    logger.error("%d events not yet written to %s", len(self._queue) + self._sending, self.stream)
                    return False
                self._cond.wait(left)
        return True

    async def close(self) -> None:
        self.flush(CLOSE_WAIT_S)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def is_ready(self) -> bool:
        try:
            return bool(self.red.ping())
        except redis.RedisError:
            return False
