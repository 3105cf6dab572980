"""Dates as the bot writes them in chat, in the user's language ("Wed 25 Nov" / "11月25日（周三）").

Why a module of its own: the actions and the stores' texts (bot.memory's greeting lines) both write dates, and
neither should import the other to do it.
"""

from __future__ import annotations

from datetime import date
from typing import Optional

__all__ = ["format_date"]

_WEEKDAYS_ZH = "一二三四五六日"


def format_date(day: Optional[date], language: str) -> str:
    """A short, chat-style date: "Wed 25 Nov" / "11月25日（周三）"."""
    if day is None:
        return ""
    if language == "zh":
        return f"{day.month}月{day.day}日（周{_WEEKDAYS_ZH[day.weekday()]}）"
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b')}"
