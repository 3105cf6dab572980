"""What the fan is told after a trainer's decision: `utter_fan_answer_<kind>` in responses/fan_answers.yml (zh and
en, voice.md, checked by `bot lint` with every other response), rendered by bot.texts (no Rasa turn sends them)."""

from __future__ import annotations

from bot import texts

__all__ = ["KINDS", "text_for"]

KINDS = ("published", "rejected")


def text_for(kind: str, language: str, **values: str) -> str:
    return texts.render("fan_answers", f"utter_fan_answer_{kind}", language, **values)
