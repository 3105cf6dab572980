"""Who wants to hear what: per-item and whole opt-outs from status news, and the weekly digest's subscribers.

Everything is keyed by the person (a fan profile, see `bot.fans`), so an opt-out said on Telegram also
holds for the same person's WeChat. Key layout (under `canyu:feedback:`; names and TTLs in bot/keys.py):

| key | type | what |
|---|---|---|
| `canyu:feedback:optout:{profile}` | set | item ids the person wants no more news of; `*` means none at all |
| `canyu:feedback:digest:subscribers` | hash | profile -> JSON {sender_id, language, ts}: who gets the digest |
| `canyu:feedback:digest:asked` | set | profiles already offered the digest (asked once, never nagged) |
| `canyu:feedback:beta:{id}` | hash | profile -> JSON {sender_id, ts}: who signed up for an item's beta in chat |

Every sender of feedback news checks `wants_news` just before sending; unsubscribing from everything
also ends the digest.

`Subscriptions` is the protocol; `RedisSubscriptions` (here, `@maps_redis_errors`) and `MemorySubscriptions`
(`_memory.py`, for unit tests) implement it, with one contract test (tests/contracts/test_subscriptions.py). The
module functions (`wants_news(red, sender_id)`, …) are the Redis one's methods for the many callers that hold a
Redis client.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, List, Optional, Protocol

from bot import keys
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["ALL", "Subscriber", "Subscriptions", "RedisSubscriptions", "wants_news", "unsubscribe",
           "subscribe_digest", "unsubscribe_digest", "digest_subscribers", "is_digest_subscriber",
           "offer_digest_once", "beta_signup", "beta_signups"]

PREFIX = keys.FEEDBACK_PREFIX
ALL = "*"
SUBSCRIBERS_KEY = f"{PREFIX}digest:subscribers"
ASKED_KEY = f"{PREFIX}digest:asked"


@dataclass
class Subscriber:
    profile: str
    sender_id: str
    language: str
    ts: float


class Subscriptions(Protocol):
    """Opt-outs, digest subscribers and beta sign-ups, each held per person (profile): every method takes a
    sender id and applies to the person behind it."""

    def wants_news(self, sender_id: str, item_id: Optional[str] = None) -> bool:
        """False when the person opted out of everything, or of this item."""

    def unsubscribe(self, sender_id: str, item_id: Optional[str] = None) -> str:
        """No more news of `item_id`, or (None) of anything, digest included; returns the profile."""

    def subscribe_digest(self, sender_id: str, language: str, now: Optional[float] = None) -> bool:
        """Add the person to the weekly digest (lifting a whole opt-out: they asked); False if already in."""

    def unsubscribe_digest(self, sender_id: str) -> bool: ...

    def is_digest_subscriber(self, sender_id: str) -> bool: ...

    def digest_subscribers(self) -> List[Subscriber]:
        """Every subscriber, the earliest first."""

    def offer_digest_once(self, sender_id: str) -> bool:
        """True the first time for a person who neither subscribed nor opted out of everything: ask them now."""

    def beta_signup(self, item_id: str, sender_id: str, now: Optional[float] = None) -> bool:
        """Put the person on the item's beta list; False if already on it."""

    def beta_signups(self, item_id: str) -> List[str]:
        """Sender ids on the item's beta list, first come first."""


def _fan_profile_of(red: "redis.Redis[str]") -> Callable[[str], str]:
    def profile_of(sender_id: str) -> str:
        from bot.fans import profile_id

        return profile_id(sender_id, red)

    return profile_of


def _optout_key(profile: str) -> str:
    return f"{PREFIX}optout:{profile}"


def _beta_key(item_id: str) -> str:
    return f"{PREFIX}beta:{item_id}"


def _digest_entry(sender_id: str, language: str, now: Optional[float]) -> str:
    return json.dumps({"sender_id": sender_id, "language": "zh" if language == "zh" else "en",
                       "ts": time.time() if now is None else now})


@maps_redis_errors
class RedisSubscriptions:
    """`Subscriptions` in Redis (keys: the module docstring). `profile_of` maps a sender id to the person
    (default: `bot.fans.profile_id` on the same client)."""

    def __init__(self, redis: "redis.Redis[str]", profile_of: Optional[Callable[[str], str]] = None) -> None:
        self.redis = redis
        self.profile_of = profile_of or _fan_profile_of(redis)

    def wants_news(self, sender_id: str, item_id: Optional[str] = None) -> bool:
        key = _optout_key(self.profile_of(sender_id))
        if self.redis.sismember(key, ALL):
            return False
        return not (item_id and self.redis.sismember(key, item_id))

    def unsubscribe(self, sender_id: str, item_id: Optional[str] = None) -> str:
        profile = self.profile_of(sender_id)
        self.redis.sadd(_optout_key(profile), item_id or ALL)
        if item_id is None:
            self.redis.hdel(SUBSCRIBERS_KEY, profile)
        return profile

    def subscribe_digest(self, sender_id: str, language: str, now: Optional[float] = None) -> bool:
        profile = self.profile_of(sender_id)
        self.redis.srem(_optout_key(profile), ALL)
        self.redis.sadd(ASKED_KEY, profile)
        return bool(self.redis.hsetnx(SUBSCRIBERS_KEY, profile, _digest_entry(sender_id, language, now)))

    def unsubscribe_digest(self, sender_id: str) -> bool:
        return bool(self.redis.hdel(SUBSCRIBERS_KEY, self.profile_of(sender_id)))

    def is_digest_subscriber(self, sender_id: str) -> bool:
        return bool(self.redis.hexists(SUBSCRIBERS_KEY, self.profile_of(sender_id)))

    def digest_subscribers(self) -> List[Subscriber]:
        out = []
        for profile, raw in self.redis.hgetall(SUBSCRIBERS_KEY).items():
            entry = json.loads(raw)
            out.append(Subscriber(profile, entry["sender_id"], entry.get("language", "en"),
                                  float(entry.get("ts", 0))))
        return sorted(out, key=lambda s: s.ts)

    def offer_digest_once(self, sender_id: str) -> bool:
        profile = self.profile_of(sender_id)
        if self.redis.hexists(SUBSCRIBERS_KEY, profile) or self.redis.sismember(_optout_key(profile), ALL):
            return False
        return bool(self.redis.sadd(ASKED_KEY, profile))

    def beta_signup(self, item_id: str, sender_id: str, now: Optional[float] = None) -> bool:
        entry = json.dumps({"sender_id": sender_id, "ts": time.time() if now is None else now})
        return bool(self.redis.hsetnx(_beta_key(item_id), self.profile_of(sender_id), entry))

    def beta_signups(self, item_id: str) -> List[str]:
        entries = [json.loads(raw) for raw in self.redis.hvals(_beta_key(item_id))]
        return [str(e["sender_id"]) for e in sorted(entries, key=lambda e: float(e.get("ts", 0)))]


def wants_news(red: "redis.Redis[str]", sender_id: str, item_id: Optional[str] = None) -> bool:
    """False when the person opted out of everything, or of this item."""
    return RedisSubscriptions(red).wants_news(sender_id, item_id)


def unsubscribe(red: "redis.Redis[str]", sender_id: str, item_id: Optional[str] = None) -> str:
    """No more news of `item_id`, or (None) of anything, digest included; returns the profile."""
    return RedisSubscriptions(red).unsubscribe(sender_id, item_id)


def subscribe_digest(red: "redis.Redis[str]", sender_id: str, language: str, now: Optional[float] = None) -> bool:
    """Add the person to the weekly digest (lifting a whole opt-out: they asked); False if already in."""
    return RedisSubscriptions(red).subscribe_digest(sender_id, language, now)


def unsubscribe_digest(red: "redis.Redis[str]", sender_id: str) -> bool:
    return RedisSubscriptions(red).unsubscribe_digest(sender_id)


def is_digest_subscriber(red: "redis.Redis[str]", sender_id: str) -> bool:
    return RedisSubscriptions(red).is_digest_subscriber(sender_id)


def digest_subscribers(red: "redis.Redis[str]") -> List[Subscriber]:
    return RedisSubscriptions(red).digest_subscribers()


def offer_digest_once(red: "redis.Redis[str]", sender_id: str) -> bool:
    """True the first time for a person who neither subscribed nor opted out of everything: ask them now."""
    return RedisSubscriptions(red).offer_digest_once(sender_id)


def beta_signup(red: "redis.Redis[str]", item_id: str, sender_id: str, now: Optional[float] = None) -> bool:
    """Put the person on the item's beta list (`canyu:feedback:beta:{id}`, profile -> JSON {sender_id, ts});
    False if already on it."""
    return RedisSubscriptions(red).beta_signup(item_id, sender_id, now)


def beta_signups(red: "redis.Redis[str]", item_id: str) -> List[str]:
    """Sender ids on the item's beta list, first come first."""
    return RedisSubscriptions(red).beta_signups(item_id)
