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
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from bot import keys
from bot.errors import CanyuError
from bot.fans._identity import is_verified_identity
from bot.fans._rules import Tier, TierRules, load_rules

__all__ = ["FanStatus", "profile_id", "identities", "LinkError", "sync_activity", "stats_of", "status_of",
           "grant_tier", "revoke_tier", "add_points"]

PREFIX = keys.FANS_PREFIX
EVENTS_STREAM = keys.EVENTS_STREAM


class LinkError(CanyuError):
    """A link code is unknown, expired, or already used (`LinkLocked`: too many tries)."""


def _r(red: Any = None) -> Any:
    if red is not None:
        return red
    from bot.storage import connect_redis

    return connect_redis()


def profile_id(sender_id: str, red: Any = None) -> str:
    """The person behind a channel identity (the identity itself until it is linked).

    An unverified identity is always only itself, even if an old link put it in a profile.
    """
    if not is_verified_identity(sender_id):
        return sender_id
    return _r(red).get(f"{PREFIX}identity:{sender_id}") or sender_id


def identities(profile: str, red: Any = None) -> List[str]:
    found = set(_r(red).smembers(f"{PREFIX}identities:{profile}"))
    found.add(profile)
    return sorted(found)


def sync_activity(red: Any = None, stream: str = EVENTS_STREAM, batch: int = 5000) -> int:
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


def _sync(red: Any, stream: str, batch: int) -> int:
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
            red.hincrby(f"{PREFIX}activity:{profile}", "messages", 1)
            day = time.strftime("%Y-%m-%d", time.gmtime(float(event.get("timestamp") or time.time())))
            red.sadd(f"{PREFIX}days:{profile}", day)
            counted += 1
        red.set(f"{PREFIX}activity_cursor", cursor)
        if len(entries) < batch:
            break
    return counted


def stats_of(sender_id: str, red: Any = None) -> Dict[str, Any]:
    """The numbers tier rules look at, plus the shipped item ids (for explanations)."""
    red = _r(red)
    try:
        sync_activity(red)
    except Exception:  # the stream is optional (no broker configured): activity stays as it was
        pass
    profile = profile_id(sender_id, red)
    item_ids = red.zrange(keys.feedback_by_user(profile), 0, -1)
    shipped = [i for i in item_ids if red.hget(keys.feedback_item(i), "status") == "shipped"]
    return {
        "profile": profile,
        "messages": int(red.hget(f"{PREFIX}activity:{profile}", "messages") or 0),
        "points": int(red.hget(f"{PREFIX}activity:{profile}", "points") or 0),
        "fan_answers": int(red.hget(f"{PREFIX}activity:{profile}", "fan_answers") or 0),
        "active_days": int(red.scard(f"{PREFIX}days:{profile}")),
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


def status_of(sender_id: str, red: Any = None, rules: Optional[TierRules] = None) -> FanStatus:
    """The person's tier and why (a manual grant, the rule that matched, or the default).

    For an unverified identity only a manual grant counts (a person on staff chose to give it); the
    rules never apply, so activity or feedback from a free identity cannot raise a tier.
    """
    red = _r(red)
    rules = rules or load_rules()
    stats = stats_of(sender_id, red)
    profile = stats["profile"]
    record = red.hgetall(f"{PREFIX}profile:{profile}")
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


def grant_tier(sender_id: str, tier_id: str, by: str = "console", red: Any = None,
               rules: Optional[TierRules] = None) -> FanStatus:
    """Give a person a tier by hand (e.g. beta_tester); it wins over the rules until revoked."""
    red = _r(red)
    rules = rules or load_rules()
    rules.get(tier_id)
    profile = profile_id(sender_id, red)
    red.hset(f"{PREFIX}profile:{profile}", mapping={"manual_tier": tier_id, "granted_by": by,
                                                     "granted_at": f"{time.time():.0f}"})
    return status_of(sender_id, red, rules)


def revoke_tier(sender_id: str, red: Any = None) -> None:
    red = _r(red)
    red.hdel(f"{PREFIX}profile:{profile_id(sender_id, red)}", "manual_tier", "granted_by", "granted_at")


def add_points(sender_id: str, kind: str, points: int, red: Any = None) -> int:
    """Tier points for a contribution (`kind`, e.g. "fan_answers": one more published fan answer); returns the total.

    `points` and the `kind` count are conditions `fans.yml` rules can use."""
    red = _r(red)
    key = f"{PREFIX}activity:{profile_id(sender_id, red)}"
    red.hincrby(key, kind, 1)
    return int(red.hincrby(key, "points", points))
