"""Memory the user can see, in chat: the return greeting, "what do you know about me?", and erasing it.

- `action_session_start` (Rasa's own, plus one message): a person who comes back (a new session after a gap,
  `session_expiration_time`) and has something open hears it first, in their language: an order in transit,
  an open repair, feedback still open. Nothing is said to a first-timer or when nothing is open.
- `action_what_you_know`: what is stored about the person (the privacy inventory, orders, repairs), and the
  way to delete it: a button that asks once more.
- `action_erase_my_data`: after "yes, delete": `bot.privacy.erase` for every linked identity (what `bot privacy
  erase` does) once this turn has been saved, and fan answer credits leave the KB (`FanAnswers.forget_fan`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, BotUttered, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import keys
from bot.actions._context import WithContext
from bot.actions._feedback_turn import _language, _phrase, _say, _slot_language
from bot.knowledge.answering import ANSWER_ACTION

if TYPE_CHECKING:
    from redis import Redis

    from bot.settings import Settings

__all__ = ["ActionSessionStart", "ActionWhatYouKnow", "ActionEraseMyData", "ERASE_PAYLOAD"]

logger = logging.getLogger(__name__)

ERASE_PAYLOAD = "/erase_my_data"
CONFIRM_PAYLOAD = '/erase_my_data{"erase_confirmed":"yes"}'
ERASE_WAIT = 30.0
# Said clearly: about what we keep on *this person* ("how do I delete an app" / "你知道手环9吗" are product questions,
# which the NLU can read as these intents: they go to the answer path instead).
_ABOUT_ME = re.compile(
    r"about me|on me\b|of me\b|for me\b|personal (?:data|info|information|details)|"
    r"my (?:data|info|information|details|records?|chats?|history|account|profile)|"
    r"(?:have|keep|kept|store|stored|saved|collected|remember|hold) (?:about|on|of) me|"
    r"我的(?:数据|信息|记录|聊天|资料|个人|账号)|个人(?:信息|数据)|关于我|知道我|记得我|记着我|存了我|有我的|收集了我|保存了我|"
    r"记录了我|对我了解|我在你们这|我的东西|忘掉我|忘了我", re.I)
_DELETE = re.compile(r"删|清空|清除|注销|忘掉|忘了|erase|delete|remove|wipe|clear|forget", re.I)


def _said_clearly(tracker: Tracker, deleting: bool = False) -> bool:
    """A button, or typed words about this person's own data (and, to delete, a word for deleting)."""
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):
        return True
    return bool(_ABOUT_ME.search(text)) and (not deleting or bool(_DELETE.search(text)))


def _had_conversation(tracker: Tracker) -> bool:
    return any(e.get("event") == "user" for e in tracker.events or [])


class ActionSessionStart(WithContext, Action):
    """Rasa's session start (slots carried over), then the return greeting when something is open."""

    def name(self) -> Text:
        return "action_session_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        events: List[Dict[Text, Any]] = [SessionStarted()]
        if (domain.get("session_config") or {}).get("carry_over_slots_to_new_session", True):
            events += [SlotSet(e["name"], e.get("value")) for e in tracker.applied_events() if e.get("event") == "slot"]
        events.append(ActionExecuted("action_listen"))
        note = self._welcome_back(tracker, domain)
        if note:
            events.append(BotUttered(text=note, metadata={"memory": "welcome_back"}))
        return events

    def _welcome_back(self, tracker: Tracker, domain: Dict[Text, Any]) -> str:
        from bot.memory import join, open_lines, open_things, returning

        try:
            red = self.ctx.redis
            seen = returning(red, tracker.sender_id)
            if not (seen or _had_conversation(tracker)):
                return ""
            things = open_things(red, tracker.sender_id, self.ctx.orders)
        except Exception:  # never let the greeting stop a conversation from starting
            logger.exception("memory: no return greeting for %s", tracker.sender_id)
            return ""
        language = _slot_language(tracker)
        lines = open_lines(things, language)
        if not lines:
            return ""
        return _phrase(domain, "utter_memory_welcome_back", language, open_items=join(lines, language))


class ActionWhatYouKnow(WithContext, Action):
    """"What do you know about me?" / "你都知道我什么": what is stored, and how to delete it."""

    def name(self) -> Text:
        return "action_what_you_know"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.memory import join, known_lines, stored_summary

        if not _said_clearly(tracker):
            return [FollowupAction(ANSWER_ACTION)]
        language = _language(tracker)
        try:
            summary = stored_summary(self.ctx.redis, tracker.sender_id, self.ctx.orders)
        except Exception:
            logger.exception("memory: summary of %s failed", tracker.sender_id)
            _say(dispatcher, tracker, domain, "utter_memory_unavailable", language)
            return []
        lines = known_lines(summary, language)
        buttons = [{"title": _phrase(domain, "utter_memory_erase_button", language), "payload": ERASE_PAYLOAD}]
        if not lines:
            _say(dispatcher, tracker, domain, "utter_memory_known_little", language, buttons=buttons)
        else:
            _say(dispatcher, tracker, domain, "utter_memory_known", language, buttons=buttons,
                 known=join(lines, language))
        return []


class ActionEraseMyData(WithContext, Action):
    """First ask (a button says yes); on yes, erase everything once this turn is saved."""

    def name(self) -> Text:
        return "action_erase_my_data"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if not _said_clearly(tracker, deleting=True):
            return [FollowupAction(ANSWER_ACTION)]
        language = _slot_language(tracker) if (tracker.latest_message.get("text") or "").startswith("/") \
            else _language(tracker)
        confirmed = any(e.get("entity") == "erase_confirmed" and e.get("value") == "yes"
                        for e in tracker.latest_message.get("entities") or [])
        if not confirmed:
            yes = _phrase(domain, "utter_memory_erase_yes", language)
            _say(dispatcher, tracker, domain, "utter_memory_erase_confirm", language,
                 buttons=[{"title": yes, "payload": CONFIRM_PAYLOAD}])
            return []
        _say(dispatcher, tracker, domain, "utter_memory_erase_started", language)
        threading.Thread(target=erase_after_turn, args=(self.ctx.redis, self.ctx.settings, tracker.sender_id), name="memory-erase",
                         daemon=True).start()
        return []


def erase_after_turn(red: "Redis[str]", settings: "Settings", sender_id: str, wait: float = ERASE_WAIT) -> int:
    """Erase the person once Rasa has saved this turn (its conversation lock is gone); returns entries erased.

    Erasing while the turn runs would be undone by the tracker Rasa saves at its end."""
    from bot.fan_answers import FanAnswers
    from bot.privacy import erase, resolve_person

    lock = keys.rasa_lock(sender_id)
    deadline = time.monotonic() + wait
    time.sleep(0.5)
    while red.exists(lock) and time.monotonic() < deadline:
        time.sleep(0.2)
    person = resolve_person(red, sender_id)
    try:
        FanAnswers.of(red, settings).forget_fan(list(person.profiles) + list(person.sender_ids))
    except Exception:
        logger.exception("memory: fan answer credits of %s not removed", sender_id)
    report = erase(red, person)
    logger.info("memory: %s erased at their request (%d entries, %d left)", sender_id, report.total, len(report.left))
    return report.total
