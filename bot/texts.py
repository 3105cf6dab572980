"""Bot texts sent outside a Rasa turn, rendered in one place from the Rasa responses in `responses/*.yml`.

Status news and the weekly digest (bot.feedback), check-ins and call-back promises (bot.followups), what the
console says in an agent's name (bot.handoff), a fan's thanks (bot.fan_answers), restock news (bot.orders): none
of them is a reply to a message, so Rasa does not run them, but they are responses like every other text, so
trainers edit them where all texts live and `bot lint` checks them in both languages. A response's variation is
chosen by its `language` slot condition (the user's language, else English); `{placeholders}` are filled from
`values`.

The responses folder comes from the caller (`Texts.of(settings)`, `ctx.texts`): this module reads no settings.

    ctx.texts.render("handoff", "utter_agent_intro", "zh", agent_name="小李")   # -> "我是小李，接下来我来帮你。"

The parsed files are cached and read again when they change on disk (bot.yaml_files: a trainer's edit needs no
restart).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Union

from bot import yaml_files
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["Texts"]


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


class Texts:
    """The bot's texts of one responses folder (`<home>/responses`), handed down from the composition root
    (`ctx.texts`) so that nothing below it has to know where this process's checkout is."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @classmethod
    def of(cls, settings: "Settings") -> "Texts":
        """The texts of the checkout `settings` name (`settings.home / "responses"`)."""
        return cls(settings.home / "responses")

    def path(self, file: Union[str, Path]) -> Path:
        """`<folder>/<file>.yml`, or `file` itself when it is a path."""
        return file if isinstance(file, Path) else self.folder / f"{file}.yml"

    def variations(self, file: Union[str, Path]) -> Dict[str, Dict[str, str]]:
        """Every response of the file: name -> {language: text}."""
        return yaml_files.load(self.path(file), _parse,
                               missing="missing; the bot's texts sent outside a conversation turn live there")

    def render(self, file: Union[str, Path], name: str, language: str, /, **values: Any) -> str:
        """Response `name` of `<folder>/<file>.yml` in `language` (else English), `{placeholders}` filled."""
        path = self.path(file)
        found = self.variations(path).get(name)
        if not found:
            raise ConfigError(f"{path}: no response named {name!r}; add it with a zh and an en variation")
        template = found.get(language) or found.get("en") or next(iter(found.values()))
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"{path}: response {name!r} ({language}) has a placeholder that is not "
                              f"filled ({exc}); filled: {sorted(values)}") from exc

    def __repr__(self) -> str:
        return f"Texts({str(self.folder)!r})"
