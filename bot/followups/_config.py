"""Follow-up and call-back settings: `bot/followups/followups.yml` (defaults below when a key is missing).

    delays_days:   {handoff: 2, repair: 7, return: 3}   # check-in this long after the event
    callback:      {days: 1, hour: 18, utc_offset_hours: 8}   # a lead calls back by 18:00 Beijing time tomorrow
    check_every_s: 60                                   # how often the leader's job looks for due check-ins

`CANYU_FOLLOWUPS_FILE` points at another file (tests, a staging deployment): read from the `env` handed in
(`config_file(settings.env)`), never from the process environment here. A bad value is a `ConfigError`
that names the file and the key, so a trainer can fix it; users never see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import yaml

from bot.errors import ConfigError

__all__ = ["FollowupConfig", "load_config", "config_file", "config_from_env", "KINDS", "DEFAULT_FILE", "ENV_FILE"]

DEFAULT_FILE = Path(__file__).resolve().parent / "followups.yml"
ENV_FILE = "CANYU_FOLLOWUPS_FILE"
KINDS = ("handoff", "repair", "return")
_DEFAULT_DELAYS = {"handoff": 2.0, "repair": 7.0, "return": 3.0}


@dataclass(frozen=True)
class FollowupConfig:
    delays_days: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULT_DELAYS))
    callback_days: int = 1
    callback_hour: int = 18
    utc_offset_hours: float = 8.0
    check_every_s: float = 60.0
    source: str = "defaults"

    def delay_seconds(self, kind: str) -> float:
        if kind not in self.delays_days:
            raise ConfigError(f"{self.source}: no follow-up delay for {kind!r}; kinds: {', '.join(KINDS)}")
        return float(self.delays_days[kind]) * 86400

    def callback_due(self, now: float) -> float:
        """When a lead must have called: `callback_days` later at `callback_hour`, local time."""
        tz = timezone(timedelta(hours=self.utc_offset_hours))
        local = datetime.fromtimestamp(now, tz)
        day = (local + timedelta(days=self.callback_days)).replace(hour=self.callback_hour, minute=0, second=0,
                                                                   microsecond=0)
        return day.timestamp()

    def local(self, when: float) -> datetime:
        return datetime.fromtimestamp(when, timezone(timedelta(hours=self.utc_offset_hours)))


def _number(data: Mapping[str, Any], key: str, default: float, source: str, low: float, high: float) -> float:
    raw = data.get(key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        # cause dropped: the message quotes the bad value and the reason
        raise ConfigError(f"{source}: {key}={raw!r} is not a number (e.g. {default})") from None
    if not low <= value <= high:
        raise ConfigError(f"{source}: {key}={raw!r} must be between {low} and {high}")
    return value


def config_file(env: Mapping[str, str]) -> Path:
    """`CANYU_FOLLOWUPS_FILE` in `env` (`Settings.env`), else bot/followups/followups.yml."""
    return Path(env.get(ENV_FILE) or DEFAULT_FILE)


def config_from_env(env: Mapping[str, str]) -> FollowupConfig:
    """The follow-up settings of `env` (`Settings.env`, `ctx.env`): `load_config(config_file(env))`."""
    return load_config(config_file(env))


def load_config(path: Union[str, Path]) -> FollowupConfig:
    """The settings from `path` (`config_file(ctx.env)`)."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {} if file.exists() else {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping with delays_days and callback")
    source = str(file)
    delays: Dict[str, float] = dict(_DEFAULT_DELAYS)
    for kind, raw in (data.get("delays_days") or {}).items():
        if kind not in KINDS:
            raise ConfigError(f"{source}: delays_days.{kind} is not a follow-up kind; use {', '.join(KINDS)}")
        delays[kind] = _number({kind: raw}, kind, _DEFAULT_DELAYS[kind], f"{source} delays_days", 0, 365)
    cb = data.get("callback") or {}
    if not isinstance(cb, dict):
        raise ConfigError(f"{source}: callback must be a mapping (days, hour, utc_offset_hours)")
    return FollowupConfig(
        delays_days=delays,
        callback_days=int(_number(cb, "days", 1, f"{source} callback", 0, 30)),
        callback_hour=int(_number(cb, "hour", 18, f"{source} callback", 0, 23)),
        utc_offset_hours=_number(cb, "utc_offset_hours", 8, f"{source} callback", -12, 14),
        check_every_s=_number(data, "check_every_s", 60, source, 1, 86400),
        source=source,
    )
