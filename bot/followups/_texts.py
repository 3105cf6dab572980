"""The follow-up words, read from `responses/followups.yml` (where trainers edit them and `bot lint` checks
them), for messages sent outside a conversation: the check-in and its buttons, the call-back time.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping

from bot.followups._config import FollowupConfig
from bot.texts import Texts

__all__ = ["RESPONSES_FILE", "render", "checkin_message", "due_text"]

RESPONSES_FILE = "followups"  # responses/followups.yml (bot.texts)


def render(texts: Texts, name: str, language: str, /, **values: Any) -> str:
    """The `name` response of responses/followups.yml of `texts` (`ctx.texts`) in `language` (zh or en),
    `{placeholders}` filled."""
    return texts.render(RESPONSES_FILE, name, language, **values)


def _question(texts: Texts, subject: Mapping[str, str], language: str) -> str:
    lang = "zh" if language == "zh" else "en"
    if subject.get("kind") == "part":
        return render(texts, "utter_followup_question_part", lang, part=subject[lang])
    if subject.get("kind") == "product":
        return render(texts, "utter_followup_question_product", lang, product=subject[lang])
    return render(texts, "utter_followup_question_general", lang)


def checkin_message(texts: Texts, record: Mapping[str, Any]) -> Dict[str, Any]:
    """The check-in for one follow-up record in the words of `texts`: the question about their thing, the context,
    yes/no buttons."""
    language = "zh" if record.get("language") == "zh" else "en"
    question = _question(texts, record.get("subject") or {}, language)
    text = render(texts, f"utter_followup_check_{record['kind']}", language, question=question,
                  repair_number=record.get("ref") or "", order_id=record.get("ref") or "")
    buttons: List[Dict[str, str]] = []
    for reply in ("yes", "no"):
        payload = "/followup_answer" + json.dumps({"followup_id": record["id"], "followup_reply": reply})
        buttons.append({"title": render(texts, f"utter_followup_button_{reply}", language), "payload": payload})
    return {"text": text, "buttons": buttons}


def due_text(config: FollowupConfig, due: float, now: float, language: str) -> str:
    """"明天 18 点" / "6 pm tomorrow (Beijing time)" (the config's local time), a date when further away."""
    at, today = config.local(due), config.local(now).date()
    days = (at.date() - today).days
    if language == "zh":
        clock = f"{at.hour} 点" if at.minute == 0 else f"{at.hour}:{at.minute:02d}"
        day = {0: "今天", 1: "明天", 2: "后天"}.get(days, f"{at.month}月{at.day}日")
        return f"{day} {clock}"
    hour = at.hour % 12 or 12
    clock = f"{hour}{':%02d' % at.minute if at.minute else ''} {'am' if at.hour < 12 else 'pm'}"
    day = {0: "today", 1: "tomorrow"}.get(days, at.strftime("%a %d %b"))
    offset = config.utc_offset_hours
    zone = "Beijing time" if offset == 8 else f"UTC{offset:+g}"  # English users are often elsewhere
    return f"{clock} {day} ({zone})"
