"""Bot texts sent outside a Rasa turn, rendered in one place from the Rasa responses in `responses/*.yml`.

Status news and the weekly digest (bot.feedback), check-ins and call-back promises (bot.followups), what the
console says in an agent's name (bot.handoff), a fan's thanks (bot.fan_answers): none of them is a reply to a
message, so Rasa does not run them, but they are responses like every other text, so trainers edit them where
all texts live and `bot lint` checks them in both languages. A response's variation is chosen by its
`language` slot condition (the user's language, else English); `{placeholders}` are filled from `values`.

    render("handoff", "utter_agent_intro", "zh", agent_name="小李")   # -> "我是小李，接下来我来帮你。"

The parsed files are cached and read again when they change on disk (bot.yaml_files: a trainer's edit needs no
restart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Union

from bot import yaml_files
from bot.errors import ConfigError

__all__ = ["render", "responses_path", "variations"]

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


def _parse(data: Any, source: str) -> Dict[str, Dict[str, str]]:
    out: Dict[str, Dict[str, str]] = {}
    for name, listed in ((data or {}).get("responses") or {}).items():
        for variation in listed or []:
            if isinstance(variation, dict):
                out.setdefault(str(name), {}).setdefault(_language_of(variation), str(variation.get("text") or ""))
    return out


def variations(file: Union[str, Path]) -> Dict[str, Dict[str, str]]:
    """Every response of the file: name -> {language: text}."""
    return yaml_files.load(responses_path(file), _parse,
                           missing="missing; the bot's texts sent outside a conversation turn live there")


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
