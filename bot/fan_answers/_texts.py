"""What the fan is told after a trainer's decision: `utter_fan_answer_<kind>` in responses/fan_answers.yml (zh and
en, voice.md, checked by `bot lint` with every other response), rendered by bot.texts (no Rasa turn sends them)."""

from __future__ import annotations

from bot.texts import Texts

__all__ = ["KINDS", "text_for"]

KINDS = ("published", "rejected")


def text_for(texts: Texts, kind: str, language: str, **values: str) -> str:
    """`utter_fan_answer_<kind>` in `language`, from the caller's texts (`ctx.texts`)."""
    return texts.render("fan_answers", f"utter_fan_answer_{kind}", language, **values)
