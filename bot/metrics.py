"""Prometheus metrics: what every process counts, and one text page with all of them.

Every process of a stack (Rasa, action server, console, `bot run` itself) counts into its own files under
`PROMETHEUS_MULTIPROC_DIR` (`bot run` and the test harness set it to `<data dir>/metrics/`, emptied at
start), and `render()` in any of them adds up all the processes' files, then adds the gauges read from
Redis at scrape time (queue depths, dead letters, handoffs waiting). Without that variable (a lone script,
a unit test) the counters live in this process only.

    from bot import metrics
    metrics.MESSAGES_RECEIVED.labels("wechat").inc()
    with metrics.MESSAGE_SECONDS.labels("wechat").time(): ...

The list, and the alerts a team should set on them, is in docs/operations.md.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, List, Optional, Tuple

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = [
    "MESSAGES_RECEIVED", "MESSAGES_ANSWERED", "MESSAGES_FAILED", "MESSAGES_REDELIVERED", "MESSAGE_SECONDS",
    "DELIVERIES", "CHILD_RESTARTS", "render", "add_redis_gauge", "CONTENT_TYPE",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

MESSAGES_RECEIVED = Counter("canyu_messages_received", "User messages accepted, by channel", ["channel"])
MESSAGES_ANSWERED = Counter("canyu_messages_answered", "User messages answered, by channel", ["channel"])
MESSAGES_FAILED = Counter("canyu_messages_failed", "User messages that could not be processed", ["channel", "reason"])
MESSAGES_REDELIVERED = Counter("canyu_messages_redelivered",
                               "Platform redeliveries of a message already received (answered from the record)",
                               ["channel"])
MESSAGE_SECONDS = Histogram("canyu_message_seconds", "Time from receiving a message to its answer", ["channel"],
                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 5, 10, 30))
DELIVERIES = Counter("canyu_deliveries", "Outbound messages by channel and outcome (sent, retried, dead, queued)",
                     ["channel", "outcome"])
CHILD_RESTARTS = Counter("canyu_child_restarts", "Child processes restarted by bot run", ["child"])

# Gauges read from Redis when the page is rendered: (name, help, reader(redis) -> [(labels, value)]).
_RedisReader = Callable[[Any], List[Tuple[Tuple[Tuple[str, str], ...], float]]]
_redis_gauges: List[Tuple[str, str, _RedisReader]] = []


def add_redis_gauge(name: str, documentation: str, reader: _RedisReader) -> None:
    """Register a gauge computed from Redis at scrape time (`reader(redis)` -> [((label, value)…), number])."""
    if all(existing != name for existing, _, _ in _redis_gauges):
        _redis_gauges.append((name, documentation, reader))


class _RedisCollector:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, documentation, reader in _redis_gauges:
            try:
                rows = reader(self.redis)
            except Exception:  # Redis down: the gauge is missing, and canyu_redis_up says why
                continue
            labels = [k for k, _ in rows[0][0]] if rows else []
            family = GaugeMetricFamily(name, documentation, labels=labels)
            for pairs, value in rows:
                family.add_metric([v for _, v in pairs], value)
            yield family
        up = GaugeMetricFamily("canyu_redis_up", "1 when Redis answered this scrape")
        try:
            up.add_metric([], 1.0 if self.redis is not None and self.redis.ping() else 0.0)
        except Exception:
            up.add_metric([], 0.0)
        yield up


def render(redis: Optional[Any] = None) -> bytes:
    """The whole page: every process's counters (multiprocess mode) or this one's, plus the Redis gauges."""
    folder = os.environ.get(MULTIPROC_VARIABLE)
    if folder and os.path.isdir(folder):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        from prometheus_client import REGISTRY as registry  # type: ignore[no-redef]
    page = generate_latest(registry)
    if redis is not None:
        extra = CollectorRegistry()
        extra.register(_RedisCollector(redis))  # type: ignore[arg-type]
        page += generate_latest(extra)
    return page
