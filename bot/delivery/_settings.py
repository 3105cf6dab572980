"""Delivery settings, read once from the environment (`Settings.env`) where a process starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from bot.errors import ConfigError

__all__ = ["DeliverySettings"]


@dataclass(frozen=True)
class DeliverySettings:
    """`max_tries` attempts before the dead letters (CANYU_DELIVERY_MAX_TRIES, 8); backoff `backoff_s` × 2^(try-1),
    at most `max_backoff_s` (CANYU_DELIVERY_BACKOFF_S 2, CANYU_DELIVERY_MAX_BACKOFF_S 600); an item in a
    processing list whose lease is older than `visibility_s` goes back to the queue (CANYU_DELIVERY_VISIBILITY_S
    120; every accepted part renews the lease); workers look for work every `poll_s` (CANYU_DELIVERY_POLL_S 0.5)
    and send up to `concurrency` items at once per channel (CANYU_DELIVERY_CONCURRENCY 8)."""

    max_tries: int = 8
    backoff_s: float = 2.0
    max_backoff_s: float = 600.0
    visibility_s: float = 120.0
    poll_s: float = 0.5
    concurrency: int = 8

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "DeliverySettings":
        """The settings in `env` (a process's `Settings.env`, handed in by its composition root)."""

        def number(var: str, default: float, minimum: float) -> float:
            raw = (env.get(var) or "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                # cause dropped: the message quotes the bad value and the reason
                raise ConfigError(f"{var}={raw!r} is not a number; use e.g. {default}") from None
            if value < minimum:
                raise ConfigError(f"{var}={raw!r} must be at least {minimum}")
            return value

        return cls(max_tries=int(number("CANYU_DELIVERY_MAX_TRIES", cls.max_tries, 1)),
                   backoff_s=number("CANYU_DELIVERY_BACKOFF_S", cls.backoff_s, 0),
                   max_backoff_s=number("CANYU_DELIVERY_MAX_BACKOFF_S", cls.max_backoff_s, 0),
                   visibility_s=number("CANYU_DELIVERY_VISIBILITY_S", cls.visibility_s, 1),
                   poll_s=number("CANYU_DELIVERY_POLL_S", cls.poll_s, 0.01),
                   concurrency=int(number("CANYU_DELIVERY_CONCURRENCY", cls.concurrency, 1)))

    def backoff(self, tries: int) -> float:
        """Seconds to wait after the `tries`-th failed attempt."""
        return min(self.max_backoff_s, self.backoff_s * 2.0 ** max(0, tries - 1))
