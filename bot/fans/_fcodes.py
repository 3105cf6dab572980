"""Early-access codes (F-codes): a pool per launch, one code per person, each redeemed once.

Key layout (under `canyu:fans:`; names and TTLs in bot/keys.py):

| key | type | what |
|---|---|---|
| `canyu:fans:fpool:{campaign}` | set | codes not yet given to anyone |
| `canyu:fans:fcode:{code}` | hash | `campaign`, `created`, `granted_to` (profile), `granted_sender`, `granted_at`, `redeemed_by`, `redeemed_at` |
| `canyu:fans:fgrant:{campaign}:{profile}` | string | the code a person got for a campaign (so they get one, once) |
| `canyu:fans:campaigns` | hash | campaign -> JSON {title_en, title_zh, created} |
| `canyu:fans:redemptions` | list | JSON redemption records, oldest first |
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from bot import keys
from bot.errors import CanyuError, ConfigError
from bot.fans._identity import require_verified
from bot.fans._profiles import _r, profile_id, status_of
from bot.fans._rules import TierRules

__all__ = ["FCodeError", "NotEligible", "PoolEmpty", "AlreadyRedeemed", "UnknownCode", "Grant",
           "add_codes", "grant_code", "redeem_code", "code_info", "campaigns", "redemptions", "pool_size"]

PREFIX = keys.FANS_PREFIX
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


class FCodeError(CanyuError):
    """Base of the early-access code errors."""


class NotEligible(FCodeError):
    def __init__(self, tier: str) -> None:
        self.tier = tier
        super().__init__(f"tier {tier!r} has no early_access privilege")


class PoolEmpty(FCodeError):
    def __init__(self, campaign: str) -> None:
        self.campaign = campaign
        super().__init__(f"no codes left for {campaign!r}; add some with `bot fans fcodes add {campaign} --count N`")


class UnknownCode(FCodeError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"no early-access code {code!r}")


class AlreadyRedeemed(FCodeError):
    def __init__(self, code: str, redeemed_by: str, redeemed_at: float) -> None:
        self.code, self.redeemed_by, self.redeemed_at = code, redeemed_by, redeemed_at
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(redeemed_at))
        super().__init__(f"code {code} was already redeemed by {redeemed_by} at {when}")


@dataclass
class Grant:
    code: str
    campaign: str
    new: bool  # False when the person already had this campaign's code


def _new_code() -> str:
    return "F-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def add_codes(campaign: str, count: int = 0, codes: Optional[List[str]] = None, title_en: str = "",
              title_zh: str = "", red: Any = None) -> List[str]:
    """Put `codes` (or `count` fresh ones) in the campaign's pool; returns the codes added."""
    red = _r(red)
    campaign = campaign.strip()
    if not campaign:
        raise FCodeError("a campaign needs a name, e.g. band9-launch")
    existing = red.hget(f"{PREFIX}campaigns", campaign)
    meta = json.loads(existing) if existing else {"created": time.time()}
    if title_en:
        meta["title_en"] = title_en
    if title_zh:
        meta["title_zh"] = title_zh
    red.hset(f"{PREFIX}campaigns", campaign, json.dumps(meta, ensure_ascii=False))
    wanted = [c.strip().upper() for c in (codes or []) if c.strip()]
    while len(wanted) < len(codes or []) + count:
        wanted.append(_new_code())
    added = []
    for code in wanted:
        if red.hsetnx(f"{PREFIX}fcode:{code}", "campaign", campaign):
            red.hset(f"{PREFIX}fcode:{code}", "created", f"{time.time():.3f}")
            red.sadd(f"{PREFIX}fpool:{campaign}", code)
            added.append(code)
    return added


def campaigns(red: Any = None) -> Dict[str, Dict[str, Any]]:
    red = _r(red)
    return {k: json.loads(v) for k, v in red.hgetall(f"{PREFIX}campaigns").items()}


def pool_size(campaign: str, red: Any = None) -> int:
    return int(_r(red).scard(f"{PREFIX}fpool:{campaign}"))


def grant_code(sender_id: str, campaign: str, red: Any = None, check_tier: bool = True, *,
               rules: Optional[TierRules] = None) -> Grant:
    """Give the person one code from the pool (the same one again if they already have it).

    Raises `UnverifiedIdentity` for an identity no platform vouches for (whatever its tier), then
    `NotEligible` without the `early_access` privilege (unless `check_tier` is False).
    """
    require_verified(sender_id, "an early-access code")
    red = _r(red)
    profile = profile_id(sender_id, red)
    if check_tier:
        if rules is None:
            raise ConfigError("checking the tier for an early-access code needs the fan tier rules: pass "
                              "rules=load_rules(rules_path(settings)), or check_tier=False")
        status = status_of(sender_id, red, rules)
        if "early_access" not in status.tier.privileges:
            raise NotEligible(status.tier.id)
    key = f"{PREFIX}fgrant:{campaign}:{profile}"
    have = red.get(key)
    if have:
        return Grant(have, campaign, False)
    code = red.spop(f"{PREFIX}fpool:{campaign}")
    if code is None:
        raise PoolEmpty(campaign)
    if not red.set(key, code, nx=True):  # a concurrent grant won: put ours back
        red.sadd(f"{PREFIX}fpool:{campaign}", code)
        return Grant(red.get(key), campaign, False)
    red.hset(f"{PREFIX}fcode:{code}", mapping={"granted_to": profile, "granted_sender": sender_id,
                                               "granted_at": f"{time.time():.3f}"})
    return Grant(code, campaign, True)


def code_info(code: str, red: Any = None) -> Dict[str, str]:
    info = _r(red).hgetall(f"{PREFIX}fcode:{code.strip().upper()}")
    if not info:
        raise UnknownCode(code)
    return info


def redeem_code(code: str, redeemed_by: str, red: Any = None) -> Dict[str, Any]:
    """Record a code's use (at checkout); a second redemption raises `AlreadyRedeemed`."""
    red = _r(red)
    code = code.strip().upper()
    info = code_info(code, red)
    if not info.get("granted_to"):
        raise FCodeError(f"code {code} was never given to anyone; grant it first")
    now = time.time()
    if not red.hsetnx(f"{PREFIX}fcode:{code}", "redeemed_at", f"{now:.3f}"):
        info = code_info(code, red)
        raise AlreadyRedeemed(code, info.get("redeemed_by", "?"), float(info["redeemed_at"]))
    red.hset(f"{PREFIX}fcode:{code}", "redeemed_by", redeemed_by)
    record = {"code": code, "campaign": info["campaign"], "profile": info["granted_to"],
              "redeemed_by": redeemed_by, "ts": now}
    red.rpush(f"{PREFIX}redemptions", json.dumps(record, ensure_ascii=False))
    return record


def redemptions(red: Any = None) -> List[Dict[str, Any]]:
    return [json.loads(x) for x in _r(red).lrange(f"{PREFIX}redemptions", 0, -1)]
