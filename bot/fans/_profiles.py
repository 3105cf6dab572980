"""One profile per person across channels, their activity, and the tier it earns.

Key layout (under `canyu:fans:`; names and TTLs in bot/keys.py):

| key | type | what |
|---|---|---|
| `canyu:fans:identity:{sender_id}` | string | the profile id a channel identity belongs to (absent: itself) |
| `canyu:fans:identities:{profile}` | set | every sender id linked to the profile |
| `canyu:fans:profile:{profile}` | hash | `manual_tier`, `granted_by`, `granted_at`, `created` |
| `canyu:fans:activity:{profile}` | hash | `messages`; `points` and `fan_answers` (published fan answers, `add_points`) |
| `canyu:fans:days:{profile}` | set | days (YYYY-MM-DD, UTC) the person wrote |
| `canyu:fans:activity_cursor` | string | last `canyu:events` stream id counted into activity |
| `canyu:fans:activity_lock` | string | held while one process counts new events |

Link codes and their keys live in `bot.fans._links`. Only verified identities
(`bot.fans._identity.is_verified_identity`: `wechat:` and `telegram:` senders) are counted into activity,
belong to a linked profile, or earn a tier by the rules; anyone else stays in the default tier unless a
person on staff grants one by hand.

The handoff queue asks `bot.fans.priority_for` for a person's tier and boost when they escalate.

The records are a store: `FanProfileStore` (the protocol), `RedisFanProfiles` (here, `@maps_redis_errors`) and
`MemoryFanProfiles` (`bot/fans/_memory.py`, for unit tests), with one contract test
(tests/contracts/test_fan_profiles.py). The functions below (`profile_id(sender_id, red)`, `status_of`, …) keep
their signatures for their many callers and take the caller's Redis client (required).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Protocol, Set, Union

from bot import keys
from bot.errors import CanyuError
from bot.fans._identity import is_verified_identity
from bot.fans._rules import Tier, TierRules
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["FanStatus", "FanProfileStore", "RedisFanProfiles", "merge_profiles", "profile_id", "identities",
           "LinkError", "sync_activity", "stats_of", "status_of", "grant_tier", "revoke_tier", "add_points"]

PREFIX = keys.FANS_PREFIX
EVENTS_STREAM = keys.EVENTS_STREAM
MANUAL_FIELDS = ("manual_tier", "granted_by", "granted_at")


class LinkError(CanyuError):
    """A link code is unknown, expired, or already used (`LinkLocked`: too many tries)."""


class FanProfileStore(Protocol):
    """A person's records, by profile id: linked identities, activity counters, active days, a manual tier."""

    def linked_profile(self, identity: str) -> Optional[str]:
        """The profile the identity was linked to (None: never linked)."""

    def linked_identities(self, profile: str) -> Set[str]:
        """The identities linked to the profile (the profile's own id only if it was linked too)."""

    def link(self, identity: str, profile: str) -> None:
        """The identity belongs to the profile from now on."""

    def forget_identities(self, profile: str) -> None:
        """The profile has no linked identities any more (after they moved to another one)."""

    def activity(self, profile: str) -> Dict[str, int]:
        """Counters: `messages`, `points`, and one per kind of contribution (e.g. `fan_answers`)."""

    def add_activity(self, profile: str, field: str, amount: int) -> int:
        """Add to one counter; returns its new value."""

    def days(self, profile: str) -> Set[str]:
        """Days (YYYY-MM-DD, UTC) the person wrote."""

    def add_days(self, profile: str, days: Iterable[str]) -> None: ...

    def manual(self, profile: str) -> Dict[str, str]:
        """The manual grant: `manual_tier`, `granted_by`, `granted_at` ({} when none)."""

    def set_manual(self, profile: str, fields: Mapping[str, str]) -> None: ...

    def clear_manual(self, profile: str) -> None: ...

    def drop(self, profile: str) -> None:
        """Delete the profile's activity, days and manual grant (its identities stay: `forget_identities`)."""


@maps_redis_errors
class RedisFanProfiles:
    """`FanProfileStore` on one Redis client (`decode_responses=True`); keys in the module docstring."""

    def __init__(self, redis: "redis.Redis[str]") -> None:
        self.redis = redis

    def linked_profile(self, identity: str) -> Optional[str]:
        return self.redis.get(f"{PREFIX}identity:{identity}")

    def linked_identities(self, profile: str) -> Set[str]:
        return set(self.redis.smembers(f"{PREFIX}identities:{profile}"))

    def link(self, identity: str, profile: str) -> None:
        self.redis.set(f"{PREFIX}identity:{identity}", profile)
        self.redis.sadd(f"{PREFIX}identities:{profile}", identity)

    def forget_identities(self, profile: str) -> None:
        self.redis.delete(f"{PREFIX}identities:{profile}")

    def activity(self, profile: str) -> Dict[str, int]:
        return {k: int(v) for k, v in self.redis.hgetall(f"{PREFIX}activity:{profile}").items()}

    def add_activity(self, profile: str, field: str, amount: int) -> int:
        return int(self.redis.hincrby(f"{PREFIX}activity:{profile}", field, amount))

    def days(self, profile: str) -> Set[str]:
        return set(self.redis.smembers(f"{PREFIX}days:{profile}"))

    def add_days(self, profile: str, days: Iterable[str]) -> None:
        values = list(days)
        if values:
            self.redis.sadd(f"{PREFIX}days:{profile}", *values)

    def manual(self, profile: str) -> Dict[str, str]:
        record = self.redis.hgetall(f"{PREFIX}profile:{profile}")
        return {k: v for k, v in record.items() if k in MANUAL_FIELDS}

    def set_manual(self, profile: str, fields: Mapping[str, str]) -> None:
        values: Dict[Union[str, bytes], Union[bytes, float, int, str]] = {
            k: v for k, v in fields.items() if k in MANUAL_FIELDS}
        if values:
            self.redis.hset(f"{PREFIX}profile:{profile}", mapping=values)

    def clear_manual(self, profile: str) -> None:
        self.redis.hdel(f"{PREFIX}profile:{profile}", *MANUAL_FIELDS)

    def drop(self, profile: str) -> None:
        self.redis.delete(f"{PREFIX}activity:{profile}", f"{PREFIX}days:{profile}", f"{PREFIX}profile:{profile}")


def merge_profiles(store: FanProfileStore, source: str, target: str) -> None:
    """Move every identity and record of profile `source` onto profile `target` (a link code was redeemed)."""
    for ident in sorted(store.linked_identities(source) | {source}):
        store.link(ident, target)
    store.forget_identities(source)
    messages = store.activity(source).get("messages", 0)
    if messages:
        store.add_activity(target, "messages", messages)
    store.add_days(target, store.days(source))
    granted = store.manual(source)
    if granted.get("manual_tier") and not store.manual(target).get("manual_tier"):
        store.set_manual(target, granted)
    store.drop(source)


def _r(red: Optional["redis.Redis[str]"]) -> "redis.Redis[str]":
    """The caller's client (every caller hands one in: `ctx.redis`)."""
    if red is None:
        raise TypeError("bot.fans needs the caller's Redis client (ctx.redis)")
    return red


def profile_id(sender_id: str, red: "redis.Redis[str]") -> str:
    """The person behind a channel identity (the identity itself until it is linked).

    An unverified identity is always only itself, even if an old link put it in a profile.
    """
    if not is_verified_identity(sender_id):
        return sender_id
    return RedisFanProfiles(_r(red)).linked_profile(sender_id) or sender_id


def identities(profile: str, red: "redis.Redis[str]") -> List[str]:
    """Every sender id of the person (the profile's own id included), sorted."""
    return sorted(RedisFanProfiles(_r(red)).linked_identities(profile) | {profile})


def sync_activity(red: "redis.Redis[str]", stream: str = EVENTS_STREAM, batch: int = 5000) -> int:
    """Count new user messages from the event stream into each person's activity; returns how many."""
    red = _r(red)
    lock = red.lock(f"{PREFIX}activity_lock", timeout=120, blocking_timeout=0)
    if not lock.acquire(blocking=False):
        return 0  # another process is counting right now
    try:
        return _sync(red, stream, batch)
    finally:
        try:
            lock.release()
        except Exception:  # expired while counting a very long backlog
            pass


def _sync(red: "redis.Redis[str]", stream: str, batch: int) -> int:
    store = RedisFanProfiles(red)
    cursor = red.get(f"{PREFIX}activity_cursor") or "0-0"
    counted = 0
    while True:
        entries = red.xrange(stream, min=f"({cursor}" if cursor != "0-0" else "-", max="+", count=batch)
        if not entries:
            break
        for entry_id, fields in entries:
            cursor = entry_id
            try:
                event = json.loads(fields.get("event") or "{}")
            except ValueError:
                continue
            if event.get("event") != "user" or not is_verified_identity(event.get("sender_id")):
                continue  # only messages from verified platform identities count toward a tier
            profile = profile_id(event["sender_id"], red)
            store.add_activity(profile, "messages", 1)
            store.add_days(profile, [time.strftime("%Y-%m-%d", time.gmtime(float(event.get("timestamp") or
                                                                                time.time())))])
            counted += 1
        red.set(f"{PREFIX}activity_cursor", cursor)
        if len(entries) < batch:
            break
    return counted


def stats_of(sender_id: str, red: "redis.Redis[str]") -> Dict[str, Any]:
    """The numbers tier rules look at, plus the shipped item ids (for explanations)."""
    red = _r(red)
    try:
        sync_activity(red)
    except Exception:  # the stream is optional (no broker configured): activity stays as it was
        pass
    profile = profile_id(sender_id, red)
    item_ids = red.zrange(keys.feedback_by_user(profile), 0, -1)
    shipped = [i for i in item_ids if red.hget(keys.feedback_item(i), "status") == "shipped"]
    store = RedisFanProfiles(red)
    activity = store.activity(profile)
    return {
        "profile": profile,
        "messages": activity.get("messages", 0),
        "points": activity.get("points", 0),
        "fan_answers": activity.get("fan_answers", 0),
        "active_days": len(store.days(profile)),
        "feedback": len(item_ids),
        "shipped_feedback": len(shipped),
        "shipped_ids": shipped,
    }


@dataclass
class FanStatus:
    """A person's tier and why they have it.

    `reason` is "manual", "default", "unverified" (the identity cannot earn a tier) or a rule condition.
    """

    profile: str
    tier: Tier
    reason: str
    threshold: int = 0
    stats: Dict[str, Any] = field(default_factory=dict)
    granted_by: str = ""

    @property
    def boost(self) -> int:
        return self.tier.queue_boost


def status_of(sender_id: str, red: "redis.Redis[str]", rules: TierRules) -> FanStatus:
    """The person's tier and why (a manual grant, the rule that matched, or the default).

    For an unverified identity only a manual grant counts (a person on staff chose to give it); the
    rules never apply, so activity or feedback from a free identity cannot raise a tier.
    """
    red = _r(red)
    stats = stats_of(sender_id, red)
    profile = stats["profile"]
    record = RedisFanProfiles(red).manual(profile)
    manual = record.get("manual_tier")
    if manual:
        try:
            return FanStatus(profile, rules.get(manual), "manual", stats=stats, granted_by=record.get("granted_by", ""))
        except CanyuError:
            pass  # the tier was removed from fans.yml: fall back to the rules
    if not is_verified_identity(sender_id):
        return FanStatus(profile, rules.default, "unverified", stats=stats)
    for tier in rules.tiers:
        hit = tier.matches(stats)
        if hit:
            return FanStatus(profile, tier, hit[0], hit[1], stats)
    return FanStatus(profile, rules.default, "default", stats=stats)


def grant_tier(sender_id: str, tier_id: str, by: str = "console", red: Optional["redis.Redis[str]"] = None, *,
               rules: TierRules) -> FanStatus:
    """Give a person a tier of `rules` by hand (e.g. beta_tester); it wins over the rules until revoked."""
    red = _r(red)
    rules.get(tier_id)
    profile = profile_id(sender_id, red)
    RedisFanProfiles(red).set_manual(profile, {"manual_tier": tier_id, "granted_by": by,
                                               "granted_at": f"{time.time():.0f}"})
    return status_of(sender_id, red, rules)


def revoke_tier(sender_id: str, red: "redis.Redis[str]") -> None:
    red = _r(red)
    RedisFanProfiles(red).clear_manual(profile_id(sender_id, red))


def add_points(sender_id: str, kind: str, points: int, red: "redis.Redis[str]") -> int:
    """Tier points for a contribution (`kind`, e.g. "fan_answers": one more published fan answer); returns the total.

    `points` and the `kind` count are conditions `fans.yml` rules can use."""
    red = _r(red)
    store, profile = RedisFanProfiles(red), profile_id(sender_id, red)
    store.add_activity(profile, kind, 1)
    return store.add_activity(profile, "points", points)
