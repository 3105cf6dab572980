"""Book a repair pickup: `repair_booking_form` asks for the device, the fault, the pickup address and a time
window, reads it all back, and on "yes" `action_book_repair` stores the booking in the backend
(``repairs`` table) and tells the user its number (``R`` + 10 digits; `bot orders repair R…` shows it).

Time windows: a day from tomorrow up to `MAX_DAYS_AHEAD` days ahead, morning (9–12) or afternoon (14–18).
`parse_window` reads "tomorrow 9-12", "明天下午", "后天上午", "周五 14-18", "12月3日上午", "Dec 3 afternoon",
"2026-12-03 9-12"; a day without the half is kept in `pickup_day` and the form asks which half.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions._context import WithContext
from bot.actions.common import format_date, tracker_language
from bot.actions.order_changes import address_problem
from bot.actions.order_tasks import OrderTaskValidation, activating, recent_text, said_this_turn, user_text
from bot.errors import StorageError
from bot.orders import Repair
from bot.orders.products import AMBIGUOUS_PHONE, PRODUCTS, find_product, product_label

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["ValidateRepairBookingForm", "ActionAskRepairDevice", "ActionAskPickupWindow", "ActionAskRepairConfirmed", "ActionBookRepair", "parse_window",
           "window_label", "MAX_DAYS_AHEAD"]

MAX_DAYS_AHEAD = 14
HALVES = {"am": (9, 12), "pm": (14, 18)}
_REPAIR_SLOTS = ("repair_device", "repair_fault", "pickup_address", "pickup_window", "pickup_day", "repair_confirmed")

_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                           "nov", "dec"))}
_WEEKDAYS_EN = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAYS_ZH = "一二三四五六日"
_RELATIVE = [
    (re.compile(r"大后天|in three days"), 3),
    (re.compile(r"后天|day after tomorrow"), 2),
    (re.compile(r"明天|明日|明早|tomorrow|tmr|tmrw"), 1),
    (re.compile(r"今天|今日|today|tonight|今晚"), 0),
]
_ISO = re.compile(r"(20\d\d)[-/.](\d{1,2})[-/.](\d{1,2})")
_ZH_DATE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_ZH_DAY = re.compile(r"(?<![月\d])(\d{1,2})\s*[日号]")
_EN_MONTH_DAY = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s*(\d{1,2})(?:st|nd|rd|th)?\b")
_EN_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s*(?:of\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)")
_SLASH = re.compile(r"(?<![\d:])(\d{1,2})[/.](\d{1,2})(?![\d:])")
_ZH_WEEKDAY = re.compile(r"(?:下(?:个)?)?(?:周|星期|礼拜)([一二三四五六日天])")
_EN_WEEKDAY = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b")
_RANGE = re.compile(r"(\d{1,2})(?::00)?\s*(?:点|am|pm)?\s*(?:-|–|—|~|～|到|至|to|until)\s*(\d{1,2})(?::00)?\s*(am|pm|点)?")
_AM = re.compile(r"上午|早上|早晨|morning|\bam\b|a\.m\.")
_PM = re.compile(r"下午|afternoon|\bpm\b|p\.m\.")


def _year_for(month: int, day: int, today: date) -> Optional[date]:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def _parse_day(text: str, today: date) -> Optional[date]:
    for pattern, days in _RELATIVE:
        if pattern.search(text):
            return today + timedelta(days=days)
    found = _ISO.search(text)
    if found:
        try:
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        except ValueError:
            return None
    for pattern, month_first in ((_ZH_DATE, True), (_EN_DAY_MONTH, False), (_EN_MONTH_DAY, True), (_SLASH, True)):
        found = pattern.search(text)
        if found:
            a, b = found.group(1), found.group(2)
            month_raw, day_raw = (a, b) if month_first else (b, a)
            month = _MONTHS.get(month_raw[:3]) if not month_raw.isdigit() else int(month_raw)
            if month and 1 <= month <= 12:
                return _year_for(month, int(day_raw), today)
    found = _ZH_WEEKDAY.search(text) or _EN_WEEKDAY.search(text)
    if found:
        key = found.group(1)
        weekday = _WEEKDAYS_ZH.index("日" if key == "天" else key) if key in _WEEKDAYS_ZH + "天" else _WEEKDAYS_EN.index(key)
        ahead = (weekday - today.weekday()) % 7 or 7
        if found.group(0).startswith("下"):
            ahead += 7 if ahead < 7 else 0
        return today + timedelta(days=ahead)
    found = _ZH_DAY.search(text)
    if found:
        day = int(found.group(1))
        month = today.month if day >= today.day else today.month % 12 + 1
        return _year_for(month, day, today)
    return None


def _parse_half(text: str) -> Optional[str]:
    found = _RANGE.search(text)
    if found:
        start, end, suffix = int(found.group(1)), int(found.group(2)), found.group(3)
        if suffix == "pm" and start < 12:
            start, end = start + 12, end + 12 if end < 12 else end
        if 8 <= start <= 11 and end <= 13:
            return "am"
        if 13 <= start <= 17 and 15 <= end <= 19:
            return "pm"
        if 1 <= start <= 5 and 4 <= end <= 7:  # "2-6" without am/pm: the afternoon
            return "pm"
    if _PM.search(text):
        return "pm"
    if _AM.search(text):
        return "am"
    return None


def parse_window(text: str, today: Optional[date] = None) -> Tuple[Optional[date], Optional[str]]:
    """(day, "am"/"pm") found in `text`; either may be None. Does not check that the day can be booked."""
    today = today or date.today()
    lowered = text.lower()
    return _parse_day(lowered, today), _parse_half(_SLASH.sub(" ", _ISO.sub(" ", lowered)))


def bookable(day: date, today: Optional[date] = None) -> bool:
    today = today or date.today()
    return today < day <= today + timedelta(days=MAX_DAYS_AHEAD)


def window_label(window: str, language: str) -> str:
    """ "2026-12-03 am" → "Thu 3 Dec, 9:00–12:00" / "12月3日（周四）上午 9–12 点"."""
    day_raw, _, half = window.partition(" ")
    try:
        day = date.fromisoformat(day_raw)
    except ValueError:
        return window
    start, end = HALVES.get(half, (9, 12))
    if language == "zh":
        return f"{format_date(day, 'zh')}{'上午' if half == 'am' else '下午'} {start}–{end} 点"
    return f"{format_date(day, 'en')}, {start}:00–{end}:00"


class ValidateRepairBookingForm(OrderTaskValidation):
    fresh_slots = ("repair_device", "repair_fault", "pickup_address", "pickup_window", "pickup_day",
                   "repair_confirmed")
    confirm_slot = "repair_confirmed"

    def name(self) -> Text:
        return "validate_repair_booking_form"

    async def extract_repair_device(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if activating(tracker, self.form_name()):
            for text in recent_text(tracker, self.form_name()):
                found = find_product(text)
                if found in PRODUCTS:
                    return {"repair_device": found}
            return {}
        if not self.asking(tracker, "repair_device"):
            return {}
        candidate = self.free_text(tracker, "repair_device")
        return candidate if candidate else ({"repair_device": user_text(tracker)} if find_product(user_text(tracker))
                                            else {})

    async def extract_repair_fault(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self.free_text(tracker, "repair_fault")

    async def extract_pickup_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self.free_text(tracker, "pickup_address")

    async def extract_pickup_window(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asking(tracker, "pickup_window"):
            return {}
        text = user_text(tracker)
        day, half = parse_window(text)
        if day is None and half is None:
            return self.free_text(tracker, "pickup_window")  # validation says what we can book
        return {"pickup_window": text}

    async def extract_repair_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self.confirmation(tracker)

    def validate_repair_device(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        key = value if value in PRODUCTS else find_product(str(value or ""))
        if key in PRODUCTS:
            return {"repair_device": key}
        if key == AMBIGUOUS_PHONE:
            dispatcher.utter_message(response="utter_repair_which_phone")
        else:
            dispatcher.utter_message(response="utter_repair_unknown_device")
        return {"repair_device": None}

    def validate_repair_fault(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        fault = " ".join(str(value or "").split())[:200]
        if len(fault) < 2:
            return {"repair_fault": None}
        return {"repair_fault": fault}

    def validate_pickup_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        address = " ".join(str(value or "").split())
        if address_problem(address, tracker_language(tracker)):
            dispatcher.utter_message(response="utter_address_too_short")
            return {"pickup_address": None}
        return {"pickup_address": address}

    def validate_pickup_window(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        day, half = parse_window(str(value or ""))
        remembered = tracker.get_slot("pickup_day")
        if day is None and remembered:
            day = date.fromisoformat(remembered)
        if day is not None and not bookable(day):
            dispatcher.utter_message(response="utter_pickup_window_bad")
            return {"pickup_window": None, "pickup_day": None}
        if day is None:
            if half is not None:  # "afternoon" alone: the earliest day we can do
                day = date.today() + timedelta(days=1)
            else:
                dispatcher.utter_message(response="utter_pickup_window_bad")
                return {"pickup_window": None}
        if half is None:  # action_ask_pickup_window asks "morning or afternoon?" for this day
            return {"pickup_window": None, "pickup_day": day.isoformat()}
        return {"pickup_window": f"{day.isoformat()} {half}", "pickup_day": None}


def _device_and_window(tracker: Tracker, language: str) -> Dict[str, str]:
    return {
        "device": product_label(tracker.get_slot("repair_device") or "", language),
        "window": window_label(tracker.get_slot("pickup_window") or "", language),
        "fault": tracker.get_slot("repair_fault") or "",
        "address": tracker.get_slot("pickup_address") or "",
    }


class ActionAskRepairDevice(WithContext, Action):
    """Asks which device; not again when the validation just asked "Phone 14 or 14 Pro?"."""

    def name(self) -> Text:
        return "action_ask_repair_device"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if not said_this_turn(tracker, ("utter_repair_which_phone", "utter_repair_unknown_device")):
            dispatcher.utter_message(response="utter_ask_repair_device")
        return []


class ActionAskPickupWindow(WithContext, Action):
    """Asks for the pickup time; when the user already gave the day, only which half of it."""

    def name(self) -> Text:
        return "action_ask_pickup_window"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        day = tracker.get_slot("pickup_day")
        if day:
            dispatcher.utter_message(response="utter_pickup_which_half",
                                     day=format_date(date.fromisoformat(day), tracker_language(tracker)))
        else:
            dispatcher.utter_message(response="utter_ask_pickup_window")
        return []


class ActionAskRepairConfirmed(WithContext, Action):
    def name(self) -> Text:
        return "action_ask_repair_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_ask_repair_confirmed",
                                 **_device_and_window(tracker, tracker_language(tracker)))
        return []


class ActionBookRepair(WithContext, Action):
    """Creates the booking when the user said yes and tells its number; clears the form's slots either way."""

    def name(self) -> Text:
        return "action_book_repair"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        clear = [SlotSet(slot, None) for slot in _REPAIR_SLOTS]
        confirmed = tracker.get_slot("repair_confirmed")
        needed = [tracker.get_slot(s) for s in ("repair_device", "repair_fault", "pickup_address", "pickup_window")]
        if confirmed is None or not all(needed):
            return clear
        if not confirmed:
            dispatcher.utter_message(response="utter_repair_not_booked")
            return clear
        device, fault, address, window = (str(v) for v in needed)
        try:
            repair = self.ctx.orders.create_repair(tracker.sender_id, device, fault, address, window)
        except StorageError:
            dispatcher.utter_message(response="utter_order_task_failed")
            return clear
        language = tracker_language(tracker)
        _schedule_followup(self.ctx.redis, self.ctx.env, tracker.sender_id, repair, language)
        dispatcher.utter_message(response="utter_repair_booked", repair_number=repair.number,
                                 window=window_label(repair.window, language))
        return clear


def _schedule_followup(redis: "Redis[str]", env: Mapping[str, str], sender_id: str, repair: Repair,
                       language: str) -> None:
    """The check-in after the repair (bot/followups: "左耳好了吗？" a week later); never stops the booking.
    `env`: the settings' environment (the follow-up settings)."""
    try:
        from bot.followups import after_repair, config_from_env

        after_repair(redis, sender_id, repair, language, config=config_from_env(env))
    except Exception as exc:
        import logging

        logging.getLogger(__name__).error("repairs: no follow-up for %s: %s", repair.number, exc)
