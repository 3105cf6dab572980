"""The in-memory twins of the fan stores, for unit tests, with the Redis ones' semantics:

- `MemoryFanProfiles` (`FanProfileStore`): linked identities, activity counters, days, the manual grant;
- `MemoryLinkCodes` (`LinkCodeStore`): codes live `LINK_CODE_TTL` seconds and work once, one live code per
  profile, and the same failure windows as the Redis script (a window starts at the first failure and starts
  again when the limit is reached). Time comes from `clock` (tests move it on).

Thread-safe.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable, Dict, Iterable, Mapping, Optional, Set, Tuple

from bot.fans._links import (
    GLOBAL_MAX_FAILURES,
    GLOBAL_WINDOW,
    LINK_CODE_TTL,
    SENDER_MAX_FAILURES,
    SENDER_WINDOW,
    Redemption,
)
from bot.fans._profiles import MANUAL_FIELDS

__all__ = ["MemoryFanProfiles", "MemoryLinkCodes"]


class MemoryFanProfiles:
    """`FanProfileStore` in plain dicts and sets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._profile_of: Dict[str, str] = {}
        self._identities: Dict[str, Set[str]] = {}
        self._activity: Dict[str, Dict[str, int]] = {}
        self._days: Dict[str, Set[str]] = {}
        self._manual: Dict[str, Dict[str, str]] = {}

    def linked_profile(self, identity: str) -> Optional[str]:
        with self._lock:
            return self._profile_of.get(identity)

    def linked_identities(self, profile: str) -> Set[str]:
        with self._lock:
            return set(self._identities.get(profile, set()))

    def link(self, identity: str, profile: str) -> None:
        with self._lock:
            self._profile_of[identity] = profile
            self._identities.setdefault(profile, set()).add(identity)

    def forget_identities(self, profile: str) -> None:
        with self._lock:
            self._identities.pop(profile, None)

    def activity(self, profile: str) -> Dict[str, int]:
        with self._lock:
            return dict(self._activity.get(profile, {}))

    def add_activity(self, profile: str, field: str, amount: int) -> int:
        with self._lock:
            counters = self._activity.setdefault(profile, {})
            counters[field] = counters.get(field, 0) + amount
            return counters[field]

    def days(self, profile: str) -> Set[str]:
        with self._lock:
            return set(self._days.get(profile, set()))

    def add_days(self, profile: str, days: Iterable[str]) -> None:
        values = set(days)
        if values:
            with self._lock:
                self._days.setdefault(profile, set()).update(values)

    def manual(self, profile: str) -> Dict[str, str]:
        with self._lock:
            return dict(self._manual.get(profile, {}))

    def set_manual(self, profile: str, fields: Mapping[str, str]) -> None:
        values = {k: v for k, v in fields.items() if k in MANUAL_FIELDS}
        if values:
            with self._lock:
                self._manual.setdefault(profile, {}).update(values)

    def clear_manual(self, profile: str) -> None:
        with self._lock:
            self._manual.pop(profile, None)

    def drop(self, profile: str) -> None:
        with self._lock:
            self._activity.pop(profile, None)
            self._days.pop(profile, None)
            self._manual.pop(profile, None)


class MemoryLinkCodes:
    """`LinkCodeStore` in dicts, expiring by `clock()` (default `time.time`)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._codes: Dict[str, Tuple[str, float]] = {}
        self._code_of: Dict[str, Tuple[str, float]] = {}
        self._failures: Dict[str, Tuple[int, float]] = {}

    def _live(self, table: Mapping[str, Tuple[str, float]], key: str) -> Optional[str]:
        entry = table.get(key)
        return entry[0] if entry is not None and entry[1] > self.clock() else None

    def put(self, profile: str, digest: str) -> bool:
        with self._lock:
            if self._live(self._codes, digest) is not None:
                return False
            until = self.clock() + LINK_CODE_TTL
            self._codes[digest] = (profile, until)
            old = self._live(self._code_of, profile)
            self._code_of[profile] = (digest, until)
            if old and old != digest:
                self._codes.pop(old, None)
            return True

    def _count(self, key: str) -> Tuple[int, float]:
        count, until = self._failures.get(key, (0, 0.0))
        return (count, until) if until > self.clock() else (0, 0.0)

    def _locked(self, key: str, limit: int, window: int) -> Optional[int]:
        count, until = self._count(key)
        if count < limit:
            return None
        return max(0, math.ceil(until - self.clock())) or window

    def _fail(self, key: str, limit: int, window: int) -> None:
        count, until = self._count(key)
        count += 1
        if count == 1 or count >= limit:
            until = self.clock() + window
        self._failures[key] = (count, until)

    def take(self, digest: str, sender_id: str) -> Redemption:
        sender_key = f"sender:{sender_id}"
        with self._lock:
            left = self._locked(sender_key, SENDER_MAX_FAILURES, SENDER_WINDOW)
            if left is not None:
                return Redemption("locked", scope="sender", retry_after=left)
            left = self._locked("global", GLOBAL_MAX_FAILURES, GLOBAL_WINDOW)
            if left is not None:
                return Redemption("locked", scope="global", retry_after=left)
            profile = self._live(self._codes, digest)
            if profile is not None:
                del self._codes[digest]
                return Redemption("ok", profile=profile)
            self._fail(sender_key, SENDER_MAX_FAILURES, SENDER_WINDOW)
            self._fail("global", GLOBAL_MAX_FAILURES, GLOBAL_WINDOW)
            return Redemption("miss")
