"""Prometheus metrics: what every process counts, and one text page with all of them.

Every process of a stack (Rasa, action server, console, `bot run` itself) counts into its own files under
`PROMETHEUS_MULTIPROC_DIR` (`bot run` and the test harness set it to `<data dir>/metrics/`, emptied at
start), and `render(redis, env)` in any of them adds up all the processes' files (the folder named in `env`,
the process's `Settings.env`), then adds the gauges read from
Redis at scrape time (queue depths, dead letters, handoffs waiting). Without that variable (a lone script,
a unit test) the counters live in this process only.

Processes that die: their counters and histograms stay in the sum (what they counted did happen, and the
totals stay monotonic across a child's restart); their live gauges (`multiprocess_mode="live…"`, such as
`ACTIONS_IN_PROGRESS`) are dropped by `render()` as soon as their pid is gone (`prune_dead_processes`, which
calls prometheus_client's `mark_process_dead`). `bot run` empties the folder when the stack starts, which a
scraper sees as a counter reset (`rate()` and `increase()` handle it). Every gauge declared here must name a
`multiprocess_mode`; a test keeps that true.

    from bot import metrics
    metrics.MESSAGES_RECEIVED.labels("wechat").inc()
    with metrics.MESSAGE_SECONDS.labels("wechat").time(): ...

The list, and the alerts a team should set on them, is in docs/operations.md.
"""

from __future__ import annotations

import os
import re
from types import MappingProxyType
from typing import Any, Callable, Iterator, List, Mapping, Optional, Tuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = [
    "MESSAGES_RECEIVED", "MESSAGES_ANSWERED", "MESSAGES_FAILED", "MESSAGES_REDELIVERED", "MESSAGE_SECONDS",
    "DELIVERIES", "CHILD_RESTARTS", "ACTIONS", "ACTION_SECONDS", "ACTIONS_IN_PROGRESS",
    "render", "add_redis_gauge", "reset_redis_gauges", "prune_dead_processes", "CONTENT_TYPE",
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
ACTIONS = Counter("canyu_actions", "Custom actions run by the action server, by action and outcome "
                  "(ok, rejected: a form's validation refused, error: the action raised)", ["action", "outcome"])
ACTION_SECONDS = Histogram("canyu_action_seconds", "Time the action server spent in one custom action", ["action"],
                           buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))
# Every metric here has labels, so importing this module writes no file: a value (and its file in the
# multiprocess folder) appears at the first `.labels(...)`, once the stack has created the folder.
ACTIONS_IN_PROGRESS = Gauge("canyu_actions_in_progress", "Custom actions running now (live processes only)",
                            ["action"], multiprocess_mode="livesum")

# Gauges read from Redis when the page is rendered: (name, help, reader(redis) -> [(labels, value)]).
# The modules that register some are imported by render(), so every process's page has them all.
GAUGE_MODULES = ("bot.delivery", "bot.handoff.gauges")
_RedisReader = Callable[[Any], List[Tuple[Tuple[Tuple[str, str], ...], float]]]
_redis_gauges: List[Tuple[str, str, _RedisReader]] = []
"""The Redis gauges registered by the modules of `GAUGE_MODULES` when they are imported: a process-wide registry
(like prometheus_client's own); reset with reset_redis_gauges(). The Redis they read is handed to `render`."""


def add_redis_gauge(name: str, documentation: str, reader: _RedisReader) -> None:
    """Register a gauge computed from Redis at scrape time (`reader(redis)` -> [((label, value)…), number])."""
    if all(existing != name for existing, _, _ in _redis_gauges):
        _redis_gauges.append((name, documentation, reader))


def reset_redis_gauges() -> None:
    """Forget the registered Redis gauges (tests; `render` registers those of `GAUGE_MODULES` again only in a
    process that has not imported them yet)."""
    _redis_gauges.clear()


_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def multiproc_dir(env: Mapping[str, str]) -> Optional[str]:
    """The folder every process counts into (`PROMETHEUS_MULTIPROC_DIR` of `env`), or None."""
    return env.get(MULTIPROC_VARIABLE) or None


def prune_dead_processes(folder: Optional[str]) -> List[int]:
    """Drop the live-gauge files of processes that no longer exist (`mark_process_dead`) from `folder` (see
    `multiproc_dir`); returns their pids.

    Counters and histograms of dead processes are kept on purpose: what they counted happened."""
    from prometheus_client import multiprocess

    if not folder or not os.path.isdir(folder):
        return []
    dead = sorted({int(m.group(1)) for m in map(_LIVE_GAUGE_FILE.match, os.listdir(folder))
                   if m and not _alive(int(m.group(1)))})
    mark_process_dead: Callable[[int, str], None] = multiprocess.mark_process_dead
    for pid in dead:
        mark_process_dead(pid, folder)
    return dead


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


def _import_gauge_modules() -> None:
    import importlib
    import logging

    for name in GAUGE_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken module must not take the whole page down
            logging.getLogger(__name__).warning("metrics: cannot import %s for its Redis gauges: %s", name, exc)


def render(redis: Optional[Any] = None, env: Mapping[str, str] = MappingProxyType({})) -> bytes:
    """The whole page: every process's counters (multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` of `env`, the
    caller's `Settings.env`) or this one's, plus the gauges read from `redis`."""
    from prometheus_client import REGISTRY

    folder = multiproc_dir(env)
    registry: CollectorRegistry = REGISTRY
    if folder and os.path.isdir(folder):
        from prometheus_client import multiprocess

        prune_dead_processes(folder)
        registry = CollectorRegistry()
        collect_from: Callable[..., object] = multiprocess.MultiProcessCollector
        collect_from(registry, path=folder)
    page = generate_latest(registry)
    if redis is not None:
        _import_gauge_modules()
        extra = CollectorRegistry()
        extra.register(_RedisCollector(redis))  # type: ignore[arg-type]
        page += generate_latest(extra)
    return page
