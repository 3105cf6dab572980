"""Bot texts sent outside a Rasa turn, rendered in one place from the Rasa responses in `responses/*.yml`.

Status news and the weekly digest (bot.feedback), check-ins and call-back promises (bot.followups), what the
console says in an agent's name (bot.handoff), a fan's thanks (bot.fan_answers): none of them is a reply to a
message, so Rasa does not run them, but they are responses like every other text, so trainers edit them where
all texts live and `bot lint` checks them in both languages. A response's variation is chosen by its
`language` slot condition (the user's language, else English); `{placeholders}` are filled from `values`.

    render("handoff", "utter_agent_intro", "zh", agent_name="小李")   # -> "我是小李，接下来我来帮你。"

The parsed files are cached and read again when they change on disk (a trainer's edit needs no restart).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Dict, Tuple, Union

import yaml

from bot.errors import ConfigError

__all__ = ["render", "responses_path", "variations"]

_cache: Dict[str, Tuple[float, Dict[str, Dict[str, str]]]] = {}
_lock = threading.Lock()


def responses_path(file: Union[str, Path]) -> Path:
    """`responses/<file>.yml` of this checkout (`CANYU_HOME`), or `file` itself when it is a path."""
    if isinstance(file, Path):
        return file
    from bot.settings import load_settings

    return load_settings().home / "responses" / f"{file}.yml"


def _language_of(variation: Dict[str, Any]) -> str:
    for condition in variation.get("condition") or []:
        if isinstance(condition, dict) and condition.get("name") == "language":
            return str(condition.get("value"))
    return "en"


def variations(file: Union[str, Path]) -> Dict[str, Dict[str, str]]:
    """Every response of the file: name -> {language: text}."""
    path = responses_path(file)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise ConfigError(f"{path}: missing; the bot's texts sent outside a conversation turn live there") from None
    with _lock:
        hit = _cache.get(str(path))
        if hit and hit[0] == mtime:
            return hit[1]
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
        out: Dict[str, Dict[str, str]] = {}
        for name, listed in (data.get("responses") or {}).items():
            for variation in listed or []:
                if isinstance(variation, dict):
                    out.setdefault(str(name), {}).setdefault(_language_of(variation), str(variation.get("text") or ""))
        _cache[str(path)] = (mtime, out)
        return out


def render(file: Union[str, Path], name: str, language: str, /, **values: Any) -> str:
    """Response `name` of `responses/<file>.yml` in `language` (else English), `{placeholders}` filled."""
    found = variations(file).get(name)
    if not found:
        raise ConfigError(f"{responses_path(file)}: no response named {name!r}; add it with a zh and an en variation")
    template = found.get(language) or found.get("en") or next(iter(found.values()))
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"{responses_path(file)}: response {name!r} ({language}) has a placeholder that is not "
                          f"filled ({exc}); filled: {sorted(values)}") from exc
