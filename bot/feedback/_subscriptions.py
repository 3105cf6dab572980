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
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, List, Optional

from bot import keys

__all__ = ["ALL", "Subscriber", "wants_news", "unsubscribe", "subscribe_digest", "unsubscribe_digest",
           "digest_subscribers", "is_digest_subscriber", "offer_digest_once", "beta_signup", "beta_signups"]

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


def _profile(sender_id: str, red: Any) -> str:
    from bot.fans import profile_id

    return profile_id(sender_id, red)


def _optout_key(profile: str) -> str:
    return f"{PREFIX}optout:{profile}"


def wants_news(red: Any, sender_id: str, item_id: Optional[str] = None) -> bool:
    """False when the person opted out of everything, or of this item."""
    key = _optout_key(_profile(sender_id, red))
    if red.sismember(key, ALL):
        return False
    return not (item_id and red.sismember(key, item_id))


def unsubscribe(red: Any, sender_id: str, item_id: Optional[str] = None) -> str:
    """No more news of `item_id`, or (None) of anything, digest included; returns the profile."""
    profile = _profile(sender_id, red)
    red.sadd(_optout_key(profile), item_id or ALL)
    if item_id is None:
        red.hdel(SUBSCRIBERS_KEY, profile)
    return profile


def subscribe_digest(red: Any, sender_id: str, language: str, now: Optional[float] = None) -> bool:
    """Add the person to the weekly digest (lifting a whole opt-out: they asked); False if already in."""
    profile = _profile(sender_id, red)
    red.srem(_optout_key(profile), ALL)
    red.sadd(ASKED_KEY, profile)
    entry = json.dumps({"sender_id": sender_id, "language": "zh" if language == "zh" else "en",
                        "ts": time.time() if now is None else now})
    return bool(red.hsetnx(SUBSCRIBERS_KEY, profile, entry))


def unsubscribe_digest(red: Any, sender_id: str) -> bool:
    return bool(red.hdel(SUBSCRIBERS_KEY, _profile(sender_id, red)))


def is_digest_subscriber(red: Any, sender_id: str) -> bool:
    return bool(red.hexists(SUBSCRIBERS_KEY, _profile(sender_id, red)))


def digest_subscribers(red: Any) -> List[Subscriber]:
    out = []
    for profile, raw in red.hgetall(SUBSCRIBERS_KEY).items():
        entry = json.loads(raw)
        out.append(Subscriber(profile, entry["sender_id"], entry.get("language", "en"), float(entry.get("ts", 0))))
    return sorted(out, key=lambda s: s.ts)


def offer_digest_once(red: Any, sender_id: str) -> bool:
    """True the first time for a person who neither subscribed nor opted out of everything: ask them now."""
    profile = _profile(sender_id, red)
    if red.hexists(SUBSCRIBERS_KEY, profile) or red.sismember(_optout_key(profile), ALL):
        return False
    return bool(red.sadd(ASKED_KEY, profile))


def _beta_key(item_id: str) -> str:
    return f"{PREFIX}beta:{item_id}"


def beta_signup(red: Any, item_id: str, sender_id: str, now: Optional[float] = None) -> bool:
    """Put the person on the item's beta list (`canyu:feedback:beta:{id}`, profile -> JSON {sender_id, ts});
    False if already on it."""
    entry = json.dumps({"sender_id": sender_id, "ts": time.time() if now is None else now})
    return bool(red.hsetnx(_beta_key(item_id), _profile(sender_id, red), entry))


def beta_signups(red: Any, item_id: str) -> List[str]:
    """Sender ids on the item's beta list, first come first."""
    entries = [json.loads(raw) for raw in red.hvals(_beta_key(item_id))]
    return [e["sender_id"] for e in sorted(entries, key=lambda e: e.get("ts", 0))]
