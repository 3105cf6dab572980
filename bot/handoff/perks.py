"""Perks an agent can grant: one-time codes taken from a pool, each grant recorded.

`PerkStorage` is what callers use; `RedisPerkStore` (also named `PerkStore`) keeps the codes in Redis,
`bot.handoff._memory.MemoryPerkStore` in memory (unit tests); tests/contracts/test_perks.py checks both. A code
is handed out once, even to grants at the same time.

Redis keys (owned here; names and TTLs in bot/keys.py):
- `canyu:perk_pool:{pool}` set of unused codes
- `canyu:perk_code:{code}` hash: `pool`, `sender_id`, `agent`, `at` (who got the code; written once)
- `canyu:perk_grants:{sender_id}` list of JSON grants `{pool, code, agent, at}`
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Protocol

from bot import keys
from bot.errors import ConfigError
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["Grant", "NoCodesLeft", "PerkStorage", "PerkStore", "RedisPerkStore"]

Grant = Dict[str, Any]
"""One grant as recorded: `{pool, code, agent, at}`."""


class NoCodesLeft(ConfigError):
    """The pool is empty; an admin adds codes with `bot console perks POOL CODE...`."""

    def __init__(self, pool: str) -> None:
        self.pool = pool
        super().__init__(f"perk pool {pool!r} has no codes left; add some with `bot console perks {pool} CODE...`")


class PerkStorage(Protocol):
    """Pools of one-time codes and the grants made from them."""

    def add_codes(self, pool: str, codes: Iterable[str]) -> int:
        """Add the codes never handed out before; returns how many were new to the pool."""
        ...

    def available(self, pool: str) -> int: ...

    def grant(self, pool: str, sender_id: str, agent: str, now: Optional[float] = None) -> Grant:
        """Take one code from `pool` for `sender_id` and record who granted it (NoCodesLeft when empty)."""
        ...

    def grants(self, sender_id: str) -> List[Grant]:
        """The user's grants, oldest first."""
        ...


@maps_redis_errors
class RedisPerkStore:
    """Perk pools and grants in Redis (decoded responses)."""

    def __init__(self, redis: "redis.Redis[str]") -> None:
        self.redis = redis

    def add_codes(self, pool: str, codes: Iterable[str]) -> int:
        fresh = [c.strip() for c in codes if c.strip() and not self.redis.exists(keys.perk_code(c.strip()))]
        return int(self.redis.sadd(keys.perk_pool(pool), *fresh)) if fresh else 0

    def available(self, pool: str) -> int:
        return int(self.redis.scard(keys.perk_pool(pool)))

    def grant(self, pool: str, sender_id: str, agent: str, now: Optional[float] = None) -> Grant:
        """Take one code from `pool` for `sender_id` and record who granted it."""
        code = self.redis.spop(keys.perk_pool(pool))
        if not code or not isinstance(code, str):
            raise NoCodesLeft(pool)
        at = round(time.time() if now is None else now, 3)
        grant: Grant = {"pool": pool, "code": code, "agent": agent, "at": at}
        self.redis.hset(keys.perk_code(code), mapping={"pool": pool, "sender_id": sender_id, "agent": agent, "at": at})
        self.redis.rpush(keys.perk_grants(sender_id), json.dumps(grant, ensure_ascii=False))
        return grant

    def grants(self, sender_id: str) -> List[Grant]:
        return [dict(json.loads(x)) for x in self.redis.lrange(keys.perk_grants(sender_id), 0, -1)]


PerkStore = RedisPerkStore
"""The name callers build the Redis store by."""
