"""Perk discretion per console role: a goodwill credit up to a limit, a priority repair, a gift from a catalogue.

The limits come from `bot/handoff/discretion.yml` (or `CANYU_DISCRETION_FILE`), re-read when it changes. A grant
over the role's limit is refused with the limit and who can go further; every grant and every refusal is logged.

    config = load_discretion(discretion_path(ctx.env))
    entry = DiscretionLog(redis).grant(config, role="agent", agent="li", sender_id="wechat:o1",
                                       kind="credit", amount=30)          # PerkRefused when over the limit

Redis keys (owned here; names and TTLs in bot/keys.py):
- `canyu:discretion:log` list of JSON `{kind, amount, gift, agent, role, sender_id, at, outcome, reason}`,
  newest last, capped at `LOG_CAP`
- `canyu:discretion:credit_day:{agent}:{YYYYMMDD}` integer: yuan of credit this agent gave that day (UTC; 2 days)
- `canyu:credit:{sender_id}` integer: the user's goodwill credit balance in yuan (taken off the next order)
- `canyu:repair_priority:{sender_id}` JSON `{agent, at}`: the user's repairs go first
- `canyu:perk_grants:{sender_id}` (bot/handoff/perks.py) also gets each grant, so the agent's context shows it
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot import keys, yaml_files
from bot.errors import CanyuError, ConfigError

__all__ = ["KINDS", "RoleLimits", "Discretion", "PerkRefused", "DiscretionLog", "load_discretion",
           "parse_discretion", "discretion_path"]

KINDS = ("credit", "priority_repair", "gift")
LOG_CAP = 20000
LOG_KEY = keys.DISCRETION_LOG


class PerkRefused(CanyuError):
    """The role may not give this; `reason` says what the limit is and who can go further."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class RoleLimits:
    credit_max: int = 0
    credit_daily: int = 0
    priority_repair: bool = False
    gifts: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Discretion:
    roles: Mapping[str, RoleLimits]
    gifts: Mapping[str, Mapping[str, str]]
    source: str = "discretion.yml"

    def limits(self, role: str) -> RoleLimits:
        return self.roles.get(role) or RoleLimits()


def discretion_path(env: Mapping[str, str]) -> Path:
    """The perk limits file: `CANYU_DISCRETION_FILE` in `env` (`Settings.env`), else the one shipped here."""
    explicit = env.get("CANYU_DISCRETION_FILE")
    return Path(explicit) if explicit else Path(__file__).with_name("discretion.yml")


def parse_discretion(data: Any, source: str = "discretion.yml") -> Discretion:
    if not isinstance(data, Mapping) or not isinstance(data.get("roles"), Mapping):
        raise ConfigError(f"{source}: expected 'roles:' (agent, admin …) with credit_max, credit_daily, "
                          "priority_repair and gifts")
    gifts: Dict[str, Dict[str, str]] = {}
    for gid, names in (data.get("gifts") or {}).items():
        if not isinstance(names, Mapping) or not (names.get("zh") and names.get("en")):
            raise ConfigError(f"{source}: gift '{gid}' needs a zh and an en name, e.g. {{zh: 贴纸包, en: sticker pack}}")
        gifts[str(gid)] = {"zh": str(names["zh"]), "en": str(names["en"])}
    roles: Dict[str, RoleLimits] = {}
    for role, raw in data["roles"].items():
        raw = raw or {}
        allowed = raw.get("gifts") or []
        allowed = tuple(gifts) if allowed == "all" else tuple(str(g) for g in allowed)
        unknown = [g for g in allowed if g not in gifts]
        if unknown:
            raise ConfigError(f"{source}: role '{role}' may give {unknown}, which are not under gifts:; add them "
                              "there or remove them")
        try:
            roles[str(role)] = RoleLimits(int(raw.get("credit_max") or 0), int(raw.get("credit_daily") or 0),
                                          bool(raw.get("priority_repair")), allowed)
        except (TypeError, ValueError):
            # cause dropped: the message quotes the bad values
            raise ConfigError(f"{source}: role '{role}': credit_max and credit_daily are whole yuan (found "
                              f"{raw.get('credit_max')!r}, {raw.get('credit_daily')!r})") from None
    return Discretion(roles, gifts, source)


def load_discretion(path: Path) -> Discretion:
    """The parsed perk limits at `path` (`discretion_path(ctx.env)`; cached, re-read when the file changes)."""
    return yaml_files.load(Path(path), parse_discretion,
                           missing="perk discretion file not found; create it or set CANYU_DISCRETION_FILE")


def _lead_hint(config: Discretion, role: str, kind: str, amount: int = 0, gift: str = "") -> str:
    """Which other role could give it (so the agent knows whom to ask)."""
    for other, limits in config.roles.items():
        if other == role:
            continue
        if (kind == "credit" and limits.credit_max >= amount) or (kind == "gift" and gift in limits.gifts) \
                or (kind == "priority_repair" and limits.priority_repair):
            return f"; ask someone with the {other} role"
    return ""


class DiscretionLog:
    """Checks a grant against the role's limits, records it (or the refusal) and applies it."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def _log(self, entry: Dict[str, Any]) -> None:
        pipe = self.redis.pipeline()
        pipe.rpush(LOG_KEY, json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(LOG_KEY, -LOG_CAP, -1)
        pipe.execute()

    def entries(self, sender_id: Optional[str] = None) -> List[Dict[str, Any]]:
        items = [json.loads(x) for x in self.redis.lrange(LOG_KEY, 0, -1)]
        return [e for e in items if sender_id is None or e.get("sender_id") == sender_id]

    def grant(self, config: Discretion, *, role: str, agent: str, sender_id: str, kind: str, amount: Any = 0,
              gift: str = "", now: Optional[float] = None) -> Dict[str, Any]:
        """Apply one perk within `role`'s limits; PerkRefused (logged too) when it is over them."""
        now = time.time() if now is None else now
        entry: Dict[str, Any] = {"kind": kind, "agent": agent, "role": role, "sender_id": sender_id,
                                 "at": round(now, 3)}
        try:
            detail = self._check_and_apply(config, role, agent, sender_id, kind, amount, gift, now, entry)
        except PerkRefused as exc:
            self._log(dict(entry, outcome="refused", reason=exc.reason))
            raise
        self._log(dict(entry, outcome="granted"))
        self.redis.rpush(keys.perk_grants(sender_id), json.dumps(
            {"pool": kind, "code": detail, "agent": agent, "at": entry["at"]}, ensure_ascii=False))
        return entry

    def _check_and_apply(self, config: Discretion, role: str, agent: str, sender_id: str, kind: str, amount: Any,
                         gift: str, now: float, entry: Dict[str, Any]) -> str:
        limits = config.limits(role)
        if kind == "credit":
            try:
                value = int(amount)
            except (TypeError, ValueError):
                # cause dropped: the message quotes the bad value and the reason
                raise PerkRefused(f"a goodwill credit is a whole number of yuan, not {amount!r}") from None
            entry["amount"] = value
            if value <= 0:
                raise PerkRefused(f"a goodwill credit must be above ¥0 (asked: ¥{value})")
            if value > limits.credit_max:
                raise PerkRefused(f"¥{value} is over the {role} role's limit of ¥{limits.credit_max} per credit"
                                  + _lead_hint(config, role, kind, value))
            day = time.strftime("%Y%m%d", time.gmtime(now))
            key = keys.credit_day(agent, day)
            total = int(self.redis.incrby(key, value))
            self.redis.expire(key, keys.CREDIT_DAY_TTL_S)
            if total > limits.credit_daily:
                self.redis.decrby(key, value)
                raise PerkRefused(f"¥{value} would bring today's credits by {agent} to ¥{total}, over the {role} "
                                  f"role's daily limit of ¥{limits.credit_daily}"
                                  + _lead_hint(config, role, kind, value))
            self.redis.incrby(keys.credit(sender_id), value)
            return f"¥{value} credit"
        if kind == "priority_repair":
            if not limits.priority_repair:
                raise PerkRefused(f"the {role} role cannot make a repair priority" + _lead_hint(config, role, kind))
            self.redis.set(keys.repair_priority(sender_id), json.dumps({"agent": agent, "at": round(now, 3)}))
            return "priority repair"
        if kind == "gift":
            entry["gift"] = gift
            if gift not in config.gifts:
                raise PerkRefused(f"no gift named {gift!r}; the catalogue has {', '.join(config.gifts) or 'nothing'}")
            if gift not in limits.gifts:
                raise PerkRefused(f"the {role} role cannot send a {gift}" + _lead_hint(config, role, kind, gift=gift))
            return f"gift: {config.gifts[gift]['en']}"
        raise PerkRefused(f"unknown perk kind {kind!r}; use one of {', '.join(KINDS)}")
