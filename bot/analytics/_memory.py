"""Ratings in memory: the `RatingsLog` of unit tests, with the Redis stream's ids and order (`{ms}-{seq}`, always
increasing; a time in the past gets the next free sequence number after the newest entry, as XADD allows) and
periods (`between` includes the end's millisecond, as XRANGE with `(end` does)."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = ["MemoryRatings"]


class MemoryRatings:
    """`RatingsLog` in a list; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: List[Tuple[Tuple[int, int], Dict[str, str]]] = []

    def _next_id(self, ts: Optional[float]) -> Tuple[int, int]:
        last = self._entries[-1][0] if self._entries else (0, 0)
        if ts is not None:
            ms = int(ts * 1000)
            for seq in range(1000):
                if (ms, seq) > last:
                    return ms, seq
        ms = max(int(time.time() * 1000), last[0])
        return (ms, last[1] + 1) if ms == last[0] else (ms, 0)

    def add(self, fields: Mapping[str, str], ts: Optional[float] = None) -> str:
        with self._lock:
            entry_id = self._next_id(ts)
            self._entries.append((entry_id, dict(fields)))
            return f"{entry_id[0]}-{entry_id[1]}"

    def between(self, start: float, end: float) -> List[Dict[str, Any]]:
        low, high = int(start * 1000), int(end * 1000)
        with self._lock:
            return [{**fields, "ts": ms / 1000} for (ms, _), fields in self._entries if low <= ms <= high]
