"""What fan answers keep: opt-ins, proposals and their decisions, the daily limits, what a fan was offered, the
daily figures. `FanAnswerRecords` is the protocol; `RedisFanAnswerRecords` (here, keys in `_keys.py`,
`@maps_redis_errors`) and `MemoryFanAnswerRecords` (`_memory.py`, for unit tests, with an injectable clock for the
TTLs) implement it, with one contract test (tests/contracts/test_fan_answers.py).

A proposal is a flat record ({id, item, question, text, language, profile, sender, status, ts, …}); values that are
not text (dicts, lists, booleans, times) are stored as text and read back as they were (`encode`/`decode`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Protocol, Set, Union

from bot.fan_answers import _keys as K
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["FanAnswerRecords", "RedisFanAnswerRecords", "decode", "encode"]

Proposal = Dict[str, Any]


def encode(value: Any) -> str:
    """A proposal value as stored: JSON for dicts, lists and booleans, `str()` for the rest."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list, bool)) else str(value)


def decode(key: str, value: str) -> Any:
    """A stored proposal value read back (`encode`'s inverse for the fields fan answers write)."""
    if key in ("name",) or value in ("true", "false") or value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in ("ts", "decided", "credit_removed_at"):
        return float(value)
    return value


class FanAnswerRecords(Protocol):
    """The records of fan answers, by fan profile and proposal id."""

    def opt_in(self, profile: str, record: Mapping[str, Any]) -> None:
        """The fan answers questions ({sender, language, at}; replaces an earlier opt-in)."""

    def opt_out(self, profile: str) -> bool:
        """False when the fan had not opted in."""

    def opted_in(self, profile: str) -> bool: ...

    def count(self, kind: str, profile: str, day: str) -> int:
        """One more of `kind` ("offers", "proposals") by the fan on `day`; returns how many that day (kept for
        `FAN_ANSWERS_LIMIT_TTL_S`)."""

    def bump_stat(self, day: str, field: str) -> None:
        """One more `field` in the day's figures (kept for `FAN_ANSWERS_STATS_TTL_S`)."""

    def stats(self, day: str) -> Dict[str, int]: ...

    def mark_seen(self, profile: str, item_id: str) -> None:
        """The review-inbox item was offered to the fan (remembered for `FAN_ANSWERS_SEEN_TTL_S`)."""

    def seen(self, profile: str) -> Set[str]: ...

    def next_number(self) -> int:
        """The next proposal number (`FA{n}`)."""

    def add(self, proposal: Mapping[str, Any]) -> None:
        """A new proposal (its `id` and `ts` set), pending until decided."""

    def get(self, proposal_id: str) -> Optional[Proposal]:
        """The proposal as written and changed since (None when there is none)."""

    def pending(self) -> List[str]:
        """Ids of undecided proposals, oldest first."""

    def ids(self) -> List[str]:
        """Every proposal id, oldest first."""

    def recent(self, limit: int) -> List[str]:
        """The `limit` newest proposal ids, newest first (Redis range semantics: 0 means all)."""

    def claim(self, proposal_id: str, by: str) -> Optional[str]:
        """Mark `by` as deciding the proposal: None when granted, else who is deciding it."""

    def unclaim(self, proposal_id: str) -> None:
        """Nobody is deciding it any more (the decision failed)."""

    def update(self, proposal_id: str, changes: Mapping[str, Any], *, decided: bool = False) -> None:
        """Change some fields; `decided` takes the proposal off the pending list."""


@maps_redis_errors
class RedisFanAnswerRecords:
    """`FanAnswerRecords` on one Redis client (`decode_responses=True`)."""

    def __init__(self, redis: "redis.Redis[str]") -> None:
        self.redis = redis

    def opt_in(self, profile: str, record: Mapping[str, Any]) -> None:
        self.redis.hset(K.OPTIN, profile, json.dumps(dict(record), ensure_ascii=False))

    def opt_out(self, profile: str) -> bool:
        return bool(self.redis.hdel(K.OPTIN, profile))

    def opted_in(self, profile: str) -> bool:
        return bool(self.redis.hexists(K.OPTIN, profile))

    def count(self, kind: str, profile: str, day: str) -> int:
        key = K.limit_key(kind, profile, day)
        used = int(self.redis.incr(key))
        self.redis.expire(key, K.LIMIT_TTL)
        return used

    def bump_stat(self, day: str, field: str) -> None:
        key = K.stats_key(day)
        self.redis.hincrby(key, field, 1)
        self.redis.expire(key, K.STATS_TTL)

    def stats(self, day: str) -> Dict[str, int]:
        return {k: int(v) for k, v in self.redis.hgetall(K.stats_key(day)).items()}

    def mark_seen(self, profile: str, item_id: str) -> None:
        self.redis.sadd(K.seen_key(profile), item_id)
        self.redis.expire(K.seen_key(profile), K.SEEN_TTL)

    def seen(self, profile: str) -> Set[str]:
        return set(self.redis.smembers(K.seen_key(profile)))

    def next_number(self) -> int:
        return int(self.redis.incr(K.NEXT_ID))

    def add(self, proposal: Mapping[str, Any]) -> None:
        proposal_id, ts = str(proposal["id"]), float(proposal["ts"])
        pipe = self.redis.pipeline()
        pipe.hset(K.proposal_key(proposal_id), mapping=_hash(proposal))
        pipe.zadd(K.PROPOSALS, {proposal_id: ts})
        pipe.zadd(K.PENDING, {proposal_id: ts})
        pipe.execute()

    def get(self, proposal_id: str) -> Optional[Proposal]:
        raw = self.redis.hgetall(K.proposal_key(proposal_id))
        return {k: decode(k, v) for k, v in raw.items()} if raw else None

    def pending(self) -> List[str]:
        return list(self.redis.zrange(K.PENDING, 0, -1))

    def ids(self) -> List[str]:
        return list(self.redis.zrange(K.PROPOSALS, 0, -1))

    def recent(self, limit: int) -> List[str]:
        return list(self.redis.zrevrange(K.PROPOSALS, 0, limit - 1))

    def claim(self, proposal_id: str, by: str) -> Optional[str]:
        if self.redis.hsetnx(K.proposal_key(proposal_id), "deciding", by):
            return None
        return self.redis.hget(K.proposal_key(proposal_id), "deciding") or ""

    def unclaim(self, proposal_id: str) -> None:
        self.redis.hdel(K.proposal_key(proposal_id), "deciding")

    def update(self, proposal_id: str, changes: Mapping[str, Any], *, decided: bool = False) -> None:
        pipe = self.redis.pipeline()
        if changes:
            pipe.hset(K.proposal_key(proposal_id), mapping=_hash(changes))
        if decided:
            pipe.zrem(K.PENDING, proposal_id)
        pipe.execute()


def _hash(fields: Mapping[str, Any]) -> Dict[Union[str, bytes], Union[bytes, float, int, str]]:
    return {k: encode(v) for k, v in fields.items()}
