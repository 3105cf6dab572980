"""Trainer-edited YAML files read once and again only when they change: one cache for every such file.

`escalation.yml`, `bot/handoff/discretion.yml`, `knowledge/service_centres.yml` and `responses/*.yml` (texts sent
outside a Rasa turn) are edited while the bot runs; each reader hands `load` its parser, and gets the parsed value,
cached per (file, parser) until the file's modification time changes. Errors name the file (and the line, for
YAML syntax) and what to do, so a trainer can fix them:

    config = load(path, parse_config, missing="escalation config not found; create it or set CANYU_ESCALATION_FILE")

`clear()` drops the cache (tests that rewrite a file within the same second).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Dict, Tuple, TypeVar

import yaml

from bot.errors import ConfigError

__all__ = ["load", "clear"]

T = TypeVar("T")

_cache: Dict[Tuple[str, Any], Tuple[float, Any]] = {}
"""(file, parser) -> (modification time, parsed value): a process-wide cache; reset with clear()."""
_lock = threading.Lock()


def load(path: Path, parse: Callable[[Any, str], T], missing: str = "missing") -> T:
    """`parse(data, str(path))` of the YAML at `path`, cached until the file changes; ConfigError when the file is
    missing (`missing` says what it is and how to create it) or not valid YAML (with its line)."""
    path = Path(path)
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise ConfigError(f"{path}: {missing}") from exc
    key = (str(path), parse)
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] == mtime:
            return hit[1]  # type: ignore[no-any-return]
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
        parsed = parse(data, str(path))
        _cache[key] = (mtime, parsed)
        return parsed


def clear() -> None:
    """Drop every cached file (the next `load` reads it again)."""
    with _lock:
        _cache.clear()
