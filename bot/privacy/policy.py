"""The retention policy: how many days each kind of personal data is kept (`privacy.yml` `retention:`).

    policy = load_policy(policy_path(env))  # CANYU_PRIVACY_FILE, else <Settings.home>/privacy.yml
    policy.days("trackers")                # 90, or None: kept until erased
    parse_policy(text, source="x.yml")     # from a string (tests, validation)

A missing file means the defaults below. A bad file raises `ConfigError` naming the file, the line, the
key, the bad value and what to write instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

from bot.errors import ConfigError
from bot.settings import load_settings

__all__ = ["RETENTION_CLASSES", "DEFAULT_DAYS", "DEFAULT_INTERVAL_MINUTES", "RetentionPolicy", "policy_path",
           "load_policy", "parse_policy"]

DEFAULT_DAYS: Mapping[str, Optional[int]] = MappingProxyType({
    "trackers": 90,
    "events": 180,
    "handoff": 180,
    "outbox": 30,
    "feedback_text": 365,
})
RETENTION_CLASSES: Tuple[str, ...] = tuple(DEFAULT_DAYS)
DEFAULT_INTERVAL_MINUTES = 10
_MAX_DAYS = 36500
_TOP_KEYS = ("version", "retention", "sweep")
_SWEEP_KEYS = ("interval_minutes",)


@dataclass(frozen=True)
class RetentionPolicy:
    """Days per retention class (None: keep until erased) and the running stack's sweep interval."""

    retention: Mapping[str, Optional[int]] = field(default_factory=lambda: dict(DEFAULT_DAYS))
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES
    source: str = "defaults"

    def days(self, kind: str) -> Optional[int]:
        if kind not in RETENTION_CLASSES:
            raise KeyError(f"unknown retention class {kind!r}; known: {', '.join(RETENTION_CLASSES)}")
        return self.retention.get(kind)

    def seconds(self, kind: str) -> Optional[int]:
        days = self.days(kind)
        return None if days is None else days * 86400


def policy_path(env: Mapping[str, str]) -> Path:
    """Where privacy.yml is, from the environment the caller read once (`bot.settings.Settings.env`):
    `CANYU_PRIVACY_FILE`, else `privacy.yml` in the home that bot.settings finds from `env` (`Settings.home`)."""
    explicit = env.get("CANYU_PRIVACY_FILE")
    if explicit:
        return Path(explicit)
    return load_settings(env).home / "privacy.yml"


def load_policy(path: Path) -> RetentionPolicy:
    """The policy in `path` (usually `policy_path(env)`); the defaults when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return RetentionPolicy(source=f"defaults ({path} not found)")
    return parse_policy(path.read_text(encoding="utf-8"), source=str(path))


def _lines(node: Any, prefix: str = "") -> Dict[str, int]:
    """Dotted key path -> 1-based line, from a composed YAML node."""
    out: Dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}{key_node.value}"
            out[path] = key_node.start_mark.line + 1
            out.update(_lines(value_node, path + "."))
    return out


def parse_policy(text: str, source: str = "privacy.yml") -> RetentionPolicy:
    try:
        data = yaml.safe_load(text)
        lines = _lines(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc

    def fail(path: str, problem: str) -> ConfigError:
        line = lines.get(path) or lines.get(path.rsplit(".", 1)[0])
        where = f"{source}:{line}" if line else source
        return ConfigError(f"{where}: {path}: {problem}")

    if data is None:
        return RetentionPolicy(source=source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with `retention:` (and `sweep:`), got {type(data).__name__}")
    for key in data:
        if key not in _TOP_KEYS:
            raise fail(str(key), f"unknown key; known keys: {', '.join(_TOP_KEYS)}")
    days: Dict[str, Optional[int]] = dict(DEFAULT_DAYS)
    section = data.get("retention")
    if section is not None:
        if not isinstance(section, dict):
            raise fail("retention", f"expected a mapping of kind: days, got {section!r}")
        for kind, value in section.items():
            path = f"retention.{kind}"
            if kind not in RETENTION_CLASSES:
                raise fail(path, f"unknown kind of data; known kinds: {', '.join(RETENTION_CLASSES)}")
            days[kind] = _days(value, lambda problem, p=path: fail(p, problem))
    interval = DEFAULT_INTERVAL_MINUTES
    sweep = data.get("sweep")
    if sweep is not None:
        if not isinstance(sweep, dict):
            raise fail("sweep", f"expected a mapping with interval_minutes, got {sweep!r}")
        for key, value in sweep.items():
            path = f"sweep.{key}"
            if key not in _SWEEP_KEYS:
                raise fail(path, f"unknown key; known keys: {', '.join(_SWEEP_KEYS)}")
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1440:
                raise fail(path, f"{value!r} is not a number of minutes between 1 and 1440; write e.g. 10")
            interval = value
    return RetentionPolicy(retention=days, interval_minutes=interval, source=source)


def _days(value: Any, fail: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(f"{value!r} is not a whole number of days; write e.g. 90, or null to keep until erased")
    if not 1 <= value <= _MAX_DAYS:
        raise fail(f"{value} days is out of range; write a number from 1 to {_MAX_DAYS}, or null to keep until erased")
    return value
