"""Tier rules from `fans.yml` (in the home, `Settings.home`): which tier a person is in, and what it gives them.

Parsed files are a process-wide cache; reset with _load.cache_clear() (a changed file is re-read on its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, List, Mapping, Optional, Tuple

import yaml

from bot.errors import DataError

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["Tier", "TierRules", "load_rules", "rules_path", "CONDITIONS", "RULES_FILE"]

RULES_FILE = "fans.yml"
"""The rules file's name in the home."""
ENV_RULES = "CANYU_FANS_FILE"
CONDITIONS = ("messages", "active_days", "feedback", "shipped_feedback", "points", "fan_answers")


@dataclass(frozen=True)
class Tier:
    id: str
    names: Mapping[str, str]
    queue_boost: int = 0
    privileges: Tuple[str, ...] = ()
    manual: bool = False
    default: bool = False
    any: Tuple[Mapping[str, int], ...] = ()
    all: Tuple[Mapping[str, int], ...] = ()

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.id

    def matches(self, stats: Mapping[str, int]) -> Optional[Tuple[str, int]]:
        """The (condition, threshold) that qualifies `stats`, or None."""
        if self.manual:
            return None
        if self.all:
            if all(stats.get(k, 0) >= v for cond in self.all for k, v in cond.items()):
                key, value = next(iter(self.all[0].items()))
                return key, value
            return None
        for cond in self.any:
            for key, value in cond.items():
                if stats.get(key, 0) >= value:
                    return key, value
        return None


@dataclass(frozen=True)
class TierRules:
    tiers: Tuple[Tier, ...]
    privileges: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def get(self, tier_id: str) -> Tier:
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        raise DataError(f"unknown tier {tier_id!r}; tiers in fans.yml: {', '.join(t.id for t in self.tiers)}")

    @property
    def default(self) -> Tier:
        return next(t for t in self.tiers if t.default)

    def privilege_text(self, privilege: str, language: str) -> str:
        texts = self.privileges.get(privilege) or {}
        return texts.get(language) or texts.get("en") or privilege


def _line_of(text: str, needle: str) -> Optional[int]:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    return None


def parse_rules(text: str, file: str = "fans.yml") -> TierRules:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(f"not valid YAML: {exc}", file=file, line=(mark.line + 1) if mark else None) from exc
    privileges = data.get("privileges") or {}
    tiers: List[Tier] = []
    for raw in data.get("tiers") or []:
        tid = str(raw.get("id", ""))
        line = _line_of(text, f"id: {tid}")
        if not tid:
            raise DataError("a tier has no `id`", file=file)
        for group in ("any", "all"):
            for cond in raw.get(group) or []:
                for key, value in (cond or {}).items():
                    if key not in CONDITIONS:
                        raise DataError(f"tier {tid!r}: unknown condition {key!r}; use one of {', '.join(CONDITIONS)}",
                                        file=file, line=_line_of(text, f"{key}:") or line)
                    if not isinstance(value, int) or value < 0:
                        raise DataError(f"tier {tid!r}: {key} must be a whole number ≥ 0, not {value!r}",
                                        file=file, line=_line_of(text, f"{key}:") or line)
        for privilege in raw.get("privileges") or []:
            if privilege not in privileges:
                raise DataError(f"tier {tid!r}: privilege {privilege!r} is not described under `privileges:`",
                                file=file, line=line)
        names = raw.get("name") or {}
        if isinstance(names, str):
            names = {"en": names, "zh": names}
        tiers.append(Tier(
            id=tid, names=dict(names), queue_boost=int(raw.get("queue_boost", 0) or 0),
            privileges=tuple(raw.get("privileges") or ()), manual=bool(raw.get("manual")),
            default=bool(raw.get("default")), any=tuple(raw.get("any") or ()), all=tuple(raw.get("all") or ()),
        ))
    defaults = [t for t in tiers if t.default]
    if len(defaults) != 1:
        raise DataError(f"exactly one tier needs `default: true` (found {len(defaults)})", file=file)
    return TierRules(tuple(tiers), dict(privileges))


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> TierRules:
    """The parsed file (by path and modification time): process-wide cache; reset with _load.cache_clear()."""
    return parse_rules(Path(path).read_text(encoding="utf-8"), file=path)


def rules_path(settings: "Settings") -> Path:
    """The tier rules file: `CANYU_FANS_FILE`, else `<home>/fans.yml`."""
    explicit = settings.env.get(ENV_RULES)
    return Path(explicit) if explicit else settings.home / RULES_FILE


def load_rules(path: Path) -> TierRules:
    """The rules from `path` (`rules_path(ctx.settings)`; reloaded when the file changes)."""
    target = Path(path)
    try:
        mtime = target.stat().st_mtime
    except OSError as exc:
        raise DataError(f"cannot read the fan tier rules: {exc}", file=str(target)) from exc
    return _load(str(target), mtime)
