"""Identity link codes: one person's WeChat and Telegram identities become one profile.

    code = create_link_code("wechat:oAbC")      # "7KQ4M-9XDPH", shown to the person on WeChat
    redeem_link_code("telegram:42", code)       # sent from Telegram: telegram:42 joins wechat:oAbC's profile

Direction: the identity that *created* the code owns the profile; the identity that redeems it joins
that profile, bringing its own activity, feedback voices and manual tier along. Whoever holds a code can
join the creator's profile (and share its tier and F-codes), so codes are made to be unguessable and
are guarded:

- only verified identities (`is_verified_identity`) may create or redeem a code;
- a code is 10 characters from a 32-symbol alphabet without 0/O/1/I (50 bits), shown as two groups of
  five, read back case-insensitively with or without the dash or spaces;
- it lives `LINK_CODE_TTL` seconds, works once (deleted in the same Lua script that reads it), and a
  profile has one live code at a time (a new one replaces the old one);
- failed redemptions are counted: `SENDER_MAX_FAILURES` per identity lock it out for `SENDER_WINDOW`
  seconds, and `GLOBAL_MAX_FAILURES` across everyone within `GLOBAL_WINDOW` seconds stop all
  redemptions until the window ends (`LinkLocked`). While locked, even the right code is refused.

Key layout (under `canyu:fans:`; names and TTLs in bot/keys.py):

| key | type | what |
|---|---|---|
| `canyu:fans:linkcode:{sha256(code)}` | string | profile id of the creator; TTL `LINK_CODE_TTL` |
| `canyu:fans:linkcode_of:{profile}` | string | sha256 of the profile's live code (to replace it); same TTL |
| `canyu:fans:linkfail:sender:{sender_id}` | string | failed redemptions in the current window |
| `canyu:fans:linkfail:global` | string | failed redemptions by anyone in the current window |

The codes are a store: `LinkCodeStore` (the protocol), `RedisLinkCodes` (here: one Lua script reads, deletes and
counts, `@maps_redis_errors`) and `MemoryLinkCodes` (`bot/fans/_memory.py`, with an injectable clock), with one
contract test (tests/contracts/test_fan_links.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Protocol, cast

from bot import keys
from bot.fans._identity import require_verified
from bot.fans._profiles import PREFIX, LinkError, RedisFanProfiles, _r, merge_profiles, profile_id
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["LinkLocked", "LinkCodeStore", "RedisLinkCodes", "Redemption", "create_link_code", "redeem_link_code",
           "find_link_code", "normalize_link_code", "LINK_CODE_TTL", "LINK_CODE_LENGTH", "SENDER_MAX_FAILURES",
           "SENDER_WINDOW", "GLOBAL_MAX_FAILURES", "GLOBAL_WINDOW"]

LINK_CODE_TTL = keys.LINK_CODE_TTL_S
LINK_CODE_LENGTH = 10
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0/O, 1/I
SENDER_MAX_FAILURES = 5
SENDER_WINDOW = 15 * 60
GLOBAL_MAX_FAILURES = 100
GLOBAL_WINDOW = 60

# A code in a chat message: 5 + 5 symbols, maybe split by a dash or spaces, with at least one digit
# (every code has one), so that words like "hello there" are never taken for a code. Old 6-digit codes
# are recognised too, so that they get "that code didn't work" rather than a new code.
_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{5})(?:\s*-\s*|\s+)?([0-9A-Za-z]{5})(?![0-9A-Za-z])")
_OLD_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})(?![0-9A-Za-z])")

# KEYS: code, sender failures, global failures. ARGV: sender max, sender window, global max, global window.
# Returns {"locked", scope, seconds left} | {"ok", profile} | {"miss"}.
_REDEEM = """
local function locked(key, max, window)
  local n = tonumber(redis.call('GET', key) or '0')
  if n < max then return nil end
  local ttl = redis.call('TTL', key)
  if ttl < 0 then redis.call('EXPIRE', key, window); ttl = window end
  return ttl
end
local function fail(key, max, window)
  local n = redis.call('INCR', key)
  if n == 1 or n >= max then redis.call('EXPIRE', key, window) end
end
local smax, swin = tonumber(ARGV[1]), tonumber(ARGV[2])
local gmax, gwin = tonumber(ARGV[3]), tonumber(ARGV[4])
local left = locked(KEYS[2], smax, swin)
if left then return {'locked', 'sender', left} end
left = locked(KEYS[3], gmax, gwin)
if left then return {'locked', 'global', left} end
local target = redis.call('GET', KEYS[1])
if target then
  redis.call('DEL', KEYS[1])
  return {'ok', target}
end
fail(KEYS[2], smax, swin)
fail(KEYS[3], gmax, gwin)
return {'miss'}
"""


class LinkLocked(LinkError):
    """Too many failed link codes: `scope` is "sender" (this identity) or "global" (everyone)."""

    def __init__(self, scope: str, retry_after: int) -> None:
        self.scope = scope
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"too many wrong link codes ({'from this identity' if scope == 'sender' else 'overall'}); "
                         f"try again in {self.retry_after} s")

    @property
    def minutes(self) -> int:
        """Whole minutes until the lock-out ends (at least 1), for the user."""
        return max(1, math.ceil(self.retry_after / 60))


@dataclass(frozen=True)
class Redemption:
    """What trying a code gave: `outcome` "ok" (`profile` is the creator's), "miss" (unknown, expired or used;
    counted as a failure) or "locked" (`scope` "sender" or "global", `retry_after` seconds left)."""

    outcome: str
    profile: str = ""
    scope: str = ""
    retry_after: int = 0


class LinkCodeStore(Protocol):
    """Live link codes (by digest) and the failure counters that lock redemption out."""

    def put(self, profile: str, digest: str) -> bool:
        """Make `digest` the profile's one live code for `LINK_CODE_TTL` seconds (its previous code stops
        working); False, nothing changed, if that digest is already a live code."""

    def take(self, digest: str, sender_id: str) -> Redemption:
        """Use a code once, unless `sender_id` or everyone is locked out; a miss counts a failure for both."""


@maps_redis_errors
class RedisLinkCodes:
    """`LinkCodeStore` on one Redis client (keys in the module docstring)."""

    def __init__(self, redis: "redis.Redis[str]") -> None:
        self.redis = redis

    def put(self, profile: str, digest: str) -> bool:
        if not self.redis.set(f"{PREFIX}linkcode:{digest}", profile, nx=True, ex=LINK_CODE_TTL):
            return False
        old = cast(Optional[str], self.redis.set(f"{PREFIX}linkcode_of:{profile}", digest, ex=LINK_CODE_TTL, get=True))
        if old and old != digest:
            self.redis.delete(f"{PREFIX}linkcode:{old}")
        return True

    def take(self, digest: str, sender_id: str) -> Redemption:
        redeem = self.redis.register_script(_REDEEM)
        result = redeem(keys=[f"{PREFIX}linkcode:{digest}", f"{PREFIX}linkfail:sender:{sender_id}",
                              f"{PREFIX}linkfail:global"],
                        args=[SENDER_MAX_FAILURES, SENDER_WINDOW, GLOBAL_MAX_FAILURES, GLOBAL_WINDOW])
        outcome = _text(result[0])
        if outcome == "locked":
            return Redemption("locked", scope=_text(result[1]), retry_after=int(result[2]))
        if outcome == "ok":
            return Redemption("ok", profile=_text(result[1]))
        return Redemption("miss")


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii", "replace")).hexdigest()


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LINK_CODE_LENGTH))
        if any(ch.isdigit() for ch in code):  # so that `find_link_code` tells it from words
            return code


def _display(code: str) -> str:
    half = LINK_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_link_code(text: str) -> str:
    """What the person typed as a code, upper case without dashes or spaces ("7kq4m 9xdph" -> "7KQ4M9XDPH")."""
    return "".join(ch for ch in str(text).upper() if ch.isalnum())


def find_link_code(text: str) -> Optional[str]:
    """The link code attempt in a chat message ("link 7KQ4M-9XDPH", "绑定 7kq4m9xdph"), or None.

    Anything shaped like a code counts, even with symbols no code has (a mistyped code should fail and
    be counted, not be mistaken for a request for a new code).
    """
    for match in _CODE_IN_TEXT.finditer(text or ""):
        candidate = match.group(1) + match.group(2)
        if any(ch.isdigit() for ch in candidate):
            return normalize_link_code(candidate)
    old = _OLD_CODE_IN_TEXT.search(text or "")
    return old.group(1) if old else None


def create_link_code(sender_id: str, red: "redis.Redis[str]") -> str:
    """A one-time code (e.g. "7KQ4M-9XDPH") that links another identity to this person's profile.

    Only a verified identity may ask (`UnverifiedIdentity` otherwise). The profile's previous code,
    if still live, stops working.
    """
    require_verified(sender_id, "a link code")
    red = _r(red)
    profile, codes = profile_id(sender_id, red), RedisLinkCodes(red)
    for _ in range(20):
        code = _new_code()
        if codes.put(profile, _hash(code)):
            return _display(code)
    raise LinkError("could not make a fresh link code; try again")


def redeem_link_code(sender_id: str, code: str, red: "redis.Redis[str]") -> str:
    """Link `sender_id` to the person who asked for `code`; returns the profile id.

    Raises `UnverifiedIdentity` for an unverified `sender_id`, `LinkLocked` after too many failures
    (from this identity or overall), and `LinkError` for a wrong, expired or used code (counted as a
    failure). Everything the identity had on its own (activity, feedback voices, a manual tier) moves to
    the profile. The code works once.
    """
    require_verified(sender_id, "linking accounts")
    red = _r(red)
    normalized = normalize_link_code(code)
    taken = RedisLinkCodes(red).take(_hash(normalized), sender_id)
    if taken.outcome == "locked":
        raise LinkLocked(taken.scope, taken.retry_after)
    if taken.outcome != "ok":
        raise LinkError(f"link code {_display(normalized) if len(normalized) == LINK_CODE_LENGTH else normalized!r} "
                        "is unknown, expired or used")
    target = taken.profile
    current = profile_id(sender_id, red)
    if current == target:
        return target
    _merge(current, target, red)
    return target


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _merge(source: str, target: str, red: "redis.Redis[str]") -> None:
    """Move every identity and record of profile `source` onto profile `target`, its feedback voices too."""
    merge_profiles(RedisFanProfiles(red), source, target)
    # feedback voices: keyed by profile in bot.feedback
    for item_id, score in red.zrange(keys.feedback_by_user(source), 0, -1, withscores=True):
        voice = red.hget(keys.feedback_voices(item_id), source)
        red.hdel(keys.feedback_voices(item_id), source)
        if voice:
            data = json.loads(voice)
            data["profile"] = target
            red.hsetnx(keys.feedback_voices(item_id), target, json.dumps(data, ensure_ascii=False))
        red.zadd(keys.feedback_by_user(target), {item_id: score})
    red.delete(keys.feedback_by_user(source))
