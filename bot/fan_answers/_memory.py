"""Fan answer records in memory: `FanAnswerRecords` for unit tests, with the Redis one's semantics (orderings, one
decider at a time, a decision off the pending list) and its TTLs (daily limits, figures, what a fan was offered)
measured on `clock`. Thread-safe.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple

from bot.fan_answers import _keys as K
from bot.fan_answers._records import Proposal, decode, encode

__all__ = ["MemoryFanAnswerRecords"]


class MemoryFanAnswerRecords:
    """`FanAnswerRecords` in dicts; `clock` (default `time.time`) decides what has expired."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._optin: Dict[str, str] = {}
        self._counts: Dict[Tuple[str, str, str], Tuple[int, float]] = {}
        self._stats: Dict[str, Tuple[Dict[str, int], float]] = {}
        self._seen: Dict[str, Tuple[Set[str], float]] = {}
        self._next = 0
        self._proposals: Dict[str, Dict[str, str]] = {}
        self._scores: Dict[str, float] = {}
        self._pending: Dict[str, float] = {}

    def _alive(self, until: float) -> bool:
        return until > self.clock()

    def opt_in(self, profile: str, record: Mapping[str, Any]) -> None:
        with self._lock:
            self._optin[profile] = json.dumps(dict(record), ensure_ascii=False)

    def opt_out(self, profile: str) -> bool:
        with self._lock:
            return self._optin.pop(profile, None) is not None

    def opted_in(self, profile: str) -> bool:
        with self._lock:
            return profile in self._optin

    def count(self, kind: str, profile: str, day: str) -> int:
        with self._lock:
            used, until = self._counts.get((kind, profile, day), (0, 0.0))
            used = used + 1 if self._alive(until) else 1
            self._counts[(kind, profile, day)] = (used, self.clock() + K.LIMIT_TTL)
            return used

    def bump_stat(self, day: str, field: str) -> None:
        with self._lock:
            figures, until = self._stats.get(day, ({}, 0.0))
            figures = dict(figures) if self._alive(until) else {}
            figures[field] = figures.get(field, 0) + 1
            self._stats[day] = (figures, self.clock() + K.STATS_TTL)

    def stats(self, day: str) -> Dict[str, int]:
        with self._lock:
            figures, until = self._stats.get(day, ({}, 0.0))
            return dict(figures) if self._alive(until) else {}

    def mark_seen(self, profile: str, item_id: str) -> None:
        with self._lock:
            items, until = self._seen.get(profile, (set(), 0.0))
            items = set(items) if self._alive(until) else set()
            items.add(item_id)
            self._seen[profile] = (items, self.clock() + K.SEEN_TTL)

    def seen(self, profile: str) -> Set[str]:
        with self._lock:
            items, until = self._seen.get(profile, (set(), 0.0))
            return set(items) if self._alive(until) else set()

    def next_number(self) -> int:
        with self._lock:
            self._next += 1
            return self._next

    def add(self, proposal: Mapping[str, Any]) -> None:
        proposal_id, ts = str(proposal["id"]), float(proposal["ts"])
        with self._lock:
            self._proposals.setdefault(proposal_id, {}).update({k: encode(v) for k, v in proposal.items()})
            self._scores[proposal_id] = ts
            self._pending[proposal_id] = ts

    def get(self, proposal_id: str) -> Optional[Proposal]:
        with self._lock:
            raw = self._proposals.get(proposal_id)
            return {k: decode(k, v) for k, v in raw.items()} if raw else None

    @staticmethod
    def _ordered(scores: Mapping[str, float]) -> List[str]:
        return [i for i, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]))]

    def pending(self) -> List[str]:
        with self._lock:
            return self._ordered(self._pending)

    def ids(self) -> List[str]:
        with self._lock:
            return self._ordered(self._scores)

    def recent(self, limit: int) -> List[str]:
        with self._lock:
            newest = self._ordered(self._scores)[::-1]
        end = limit - 1 if limit - 1 >= 0 else len(newest) + limit - 1
        return newest[: max(0, end + 1)]

    def claim(self, proposal_id: str, by: str) -> Optional[str]:
        with self._lock:
            record = self._proposals.setdefault(proposal_id, {})
            if "deciding" in record:
                return record["deciding"]
            record["deciding"] = by
            return None

    def unclaim(self, proposal_id: str) -> None:
        with self._lock:
            self._proposals.get(proposal_id, {}).pop("deciding", None)

    def update(self, proposal_id: str, changes: Mapping[str, Any], *, decided: bool = False) -> None:
        with self._lock:
            if changes:
                self._proposals.setdefault(proposal_id, {}).update({k: encode(v) for k, v in changes.items()})
            if decided:
                self._pending.pop(proposal_id, None)
