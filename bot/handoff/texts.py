"""What the console says to a user in the agent's name (the intro on claim, perks), from the domain's responses.

The texts are Rasa responses in `responses/handoff.yml` (`utter_agent_intro`, `utter_perk_*`), so trainers edit
them where every other text lives and `bot lint` checks them, zh and en. The console does not ask Rasa to run
them: it renders the variation for the user's language here and sends it as the agent's own message (recorded
with the agent's name), so the transcript shows who said it.

    render("utter_agent_intro", "zh", agent_name="小李")   # -> "我是小李，接下来我来帮你。"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from bot import texts

__all__ = ["render", "responses_file"]


def responses_file() -> Path:
    return texts.responses_path("handoff")


def render(name: str, language: str, path: Optional[Path] = None, **values: Any) -> str:
    """The `language` variation of response `name` (else the en one), with `{key}` filled from `values`."""
    return texts.render(path or "handoff", name, language, **values)
