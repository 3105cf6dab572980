"""What the console says to a user in the agent's name (the intro on claim, perks), from the domain's responses.

The texts are Rasa responses in `responses/handoff.yml` (`utter_agent_intro`, `utter_perk_*`), so trainers edit
them where every other text lives and `bot lint` checks them, zh and en. The console does not ask Rasa to run
them: it renders the variation for the user's language here and sends it as the agent's own message (recorded
with the agent's name), so the transcript shows who said it.

    render(ctx.texts, "utter_agent_intro", "zh", agent_name="小李")   # -> "我是小李，接下来我来帮你。"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.texts import Texts

__all__ = ["render", "responses_file"]


RESPONSES_FILE = "handoff"  # responses/handoff.yml (bot.texts)


def responses_file(texts: Texts) -> Path:
    """`responses/handoff.yml` of the caller's texts."""
    return texts.path(RESPONSES_FILE)


def render(texts: Texts, name: str, language: str, /, **values: Any) -> str:
    """The `language` variation of response `name` (else the en one), with `{key}` filled from `values`."""
    return texts.render(RESPONSES_FILE, name, language, **values)
