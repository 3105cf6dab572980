"""The handoff queue's Prometheus gauges, read from Redis when the metrics page is rendered.

Why here: the handoff package owns the queue's keys, so it registers what is read from them
(`bot.metrics.add_redis_gauge`); `bot.metrics` imports this module by name when it renders
(`GAUGE_MODULES`), so metrics depends on no feature package.
"""

from __future__ import annotations

import time
from typing import Any, List, Tuple

from bot import metrics
from bot.handoff.store import HandoffStore

__all__: List[str] = []

_Rows = List[Tuple[Tuple[Tuple[str, str], ...], float]]


def _handoffs_waiting(redis: Any) -> _Rows:
    return [((), float(redis.zcard(HandoffStore.WAITING)))]


def _oldest_handoff_wait(redis: Any) -> _Rows:
    """Seconds the longest-waiting queued conversation has waited (0 when nobody waits)."""
    senders = redis.zrange(HandoffStore.WAITING, 0, -1)
    if not senders:
        return [((), 0.0)]
    pipe = redis.pipeline(transaction=False)
    for sender in senders:
        pipe.hget(HandoffStore.key(sender if isinstance(sender, str) else sender.decode()), "queued_at")
    queued = [float(v) for v in pipe.execute() if v not in (None, b"", "")]
    return [((), max(0.0, time.time() - min(queued)) if queued else 0.0)]


metrics.add_redis_gauge("canyu_handoffs_waiting", "Conversations queued for a human agent, not yet claimed",
                        _handoffs_waiting)
metrics.add_redis_gauge("canyu_handoff_oldest_wait_seconds",
                        "How long the longest-waiting queued conversation has waited", _oldest_handoff_wait)
