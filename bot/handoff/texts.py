"""What the console says to a user in the agent's name (the intro on claim, perks), from the domain's responses.

The texts are Rasa responses in `responses/handoff.yml` (`utter_agent_intro`, `utter_perk_*`), so trainers edit
them where every other text lives and `bot lint` checks them, zh and en. The console does not ask Rasa to run
them: it renders the variation for the user's language here and sends it as the agent's own message (recorded
with the agent's name), so the transcript shows who said it.

    render("utter_agent_intro", "zh", agent_name="小李")   # -> "我是小李，接下来我来帮你。"
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from bot.errors import ConfigError

__all__ = ["render", "responses_file"]

_cache: Dict[str, Tuple[float, Dict[str, Any]]] = {}
_lock = threading.Lock()


def responses_file() -> Path:
    from bot.settings import load_settings

    return load_settings().home / "responses" / "handoff.yml"


def _responses(path: Path) -> Dict[str, Any]:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise ConfigError(f"{path}: missing; the agent texts (utter_agent_intro, utter_perk_*) live there") from None
    with _lock:
        hit = _cache.get(str(path))
        if hit and hit[0] == mtime:
            return hit[1]
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        responses = dict(data.get("responses") or {})
        _cache[str(path)] = (mtime, responses)
        return responses


def _language_of(variation: Dict[str, Any]) -> Optional[str]:
    for condition in variation.get("condition") or []:
        if isinstance(condition, dict) and condition.get("name") == "language":
            return str(condition.get("value"))
    return None


def render(name: str, language: str, path: Optional[Path] = None, **values: Any) -> str:
    """The `language` variation of response `name` (else the en one), with `{key}` filled from `values`."""
    path = path or responses_file()
    variations: List[Dict[str, Any]] = list(_responses(path).get(name) or [])
    if not variations:
        raise ConfigError(f"{path}: no response named {name!r}; the console needs it (zh and en variations)")
    chosen = next((v for v in variations if _language_of(v) == language), None) \
        or next((v for v in variations if _language_of(v) == "en"), variations[0])
    text = str(chosen.get("text") or "")
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"{path}: response {name!r} ({language}) has a placeholder the console does not fill "
                          f"({exc}); it fills {sorted(values)}") from None
