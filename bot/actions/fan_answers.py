"""Fan-written answers in chat: opting in or out, a question offered, the fan's answer filed for a trainer.

- `action_fan_answers_optin`: "我想帮忙回答问题" / "I'd like to answer questions": core fans and beta testers on
  WeChat or Telegram opt in and get a first question; others hear who can take part and how to get there.
- `action_fan_answers_optout`: no more questions.
- `action_fan_answers_offer`: the next open question (review inbox), then `fan_answer_form` takes the reply.
- `action_fan_answers_submit`: the reply becomes a proposal for a trainer (rate-limited); "跳过" / "skip"
  gets the next question instead.
Texts: `responses/fan_answers.yml`; the logic: `bot.fan_answers`.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions._feedback_turn import _language, _say, _slot_language
from bot.knowledge.answering import ANSWER_ACTION

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.fan_answers import FanAnswers

__all__ = ["ActionFanAnswersOptIn", "ActionFanAnswersOptOut", "ActionFanAnswersOffer", "ActionFanAnswersSubmit"]

logger = logging.getLogger(__name__)

CLEAR = 0.8
"""Below this NLU confidence, someone who is not answering questions yet ("下一个", "I want to help") is asked
what they meant by the answer path, not told about fan answers."""
SKIP = re.compile(r"^\s*(跳过|换一题|换一个|不会|skip|next|pass|don'?t know)\s*[.!。！]?\s*$", re.I)
STOP = re.compile(r"^\s*(算了|不答了|取消|stop|cancel|quit)\s*[.!。！]?\s*$", re.I)


def _fans(ctx: "AppContext") -> "FanAnswers":
    from bot.fan_answers import FanAnswers

    return FanAnswers.of(ctx.redis, ctx.settings)


def _unclear_for_newcomer(tracker: Tracker, fans: "FanAnswers") -> bool:
    text = tracker.latest_message.get("text") or ""
    confidence = float((tracker.latest_message.get("intent") or {}).get("confidence") or 0.0)
    return not text.startswith("/") and confidence < CLEAR and not fans.opted_in(tracker.sender_id)


def _offer(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], language: str,
           fans: "FanAnswers") -> List[Dict[Text, Any]]:
    """The next question and the form that takes the answer, or why there is none."""
    from bot.fan_answers import NotEligible, NotOptedIn, RateLimited

    try:
        question = fans.next_question(tracker.sender_id)
    except NotEligible as exc:
        _say(dispatcher, tracker, domain, "utter_fan_answers_not_eligible" if exc.verified
             else "utter_fan_answers_unverified", language)
        return []
    except NotOptedIn:
        _say(dispatcher, tracker, domain, "utter_fan_answers_not_opted_in", language)
        return []
    except RateLimited as exc:
        _say(dispatcher, tracker, domain, "utter_fan_answers_enough_today", language, limit=exc.limit)
        return []
    if question is None:
        _say(dispatcher, tracker, domain, "utter_fan_answers_none_open", language)
        return []
    return [SlotSet("fan_answer_item", question["item"]), SlotSet("fan_answer_question", question["text"]),
            SlotSet("fan_answer_text", None), FollowupAction("fan_answer_form")]


class ActionFanAnswersOptIn(WithContext, Action):
    def name(self) -> Text:
        return "action_fan_answers_optin"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.fan_answers import NotEligible

        language = _language(tracker)
        fans = _fans(self.ctx)
        if _unclear_for_newcomer(tracker, fans):
            return [FollowupAction(ANSWER_ACTION)]
        try:
            fans.opt_in(tracker.sender_id, language)
        except NotEligible as exc:
            _say(dispatcher, tracker, domain, "utter_fan_answers_not_eligible" if exc.verified
                 else "utter_fan_answers_unverified", language)
            return []
        _say(dispatcher, tracker, domain, "utter_fan_answers_welcome", language)
        return _offer(dispatcher, tracker, domain, language, fans)


class ActionFanAnswersOptOut(WithContext, Action):
    def name(self) -> Text:
        return "action_fan_answers_optout"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        _fans(self.ctx).opt_out(tracker.sender_id)
        _say(dispatcher, tracker, domain, "utter_fan_answers_opted_out", _language(tracker))
        return [SlotSet("fan_answer_item", None), SlotSet("fan_answer_question", None)]


class ActionFanAnswersOffer(WithContext, Action):
    def name(self) -> Text:
        return "action_fan_answers_offer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        fans = _fans(self.ctx)
        if _unclear_for_newcomer(tracker, fans):
            return [FollowupAction(ANSWER_ACTION)]
        return _offer(dispatcher, tracker, domain, _language(tracker), fans)


class ActionFanAnswersSubmit(WithContext, Action):
    """After `fan_answer_form`: file the answer (or skip to the next question, or stop)."""

    def name(self) -> Text:
        return "action_fan_answers_submit"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.errors import DataError
        from bot.fan_answers import FanAnswerError, RateLimited

        text = (tracker.get_slot("fan_answer_text") or "").strip()
        item = tracker.get_slot("fan_answer_item")
        language = _language(tracker) if text and not text.startswith("/") else _slot_language(tracker)
        done = [SlotSet("fan_answer_text", None), SlotSet("fan_answer_item", None),
                SlotSet("fan_answer_question", None)]
        fans = _fans(self.ctx)
        if not item or not text or STOP.match(text) or text.startswith("/"):
            _say(dispatcher, tracker, domain, "utter_fan_answers_stopped", language)
            return done
        if SKIP.match(text):
            return done[:1] + _offer(dispatcher, tracker, domain, language, fans)
        try:
            proposal = fans.propose(tracker.sender_id, item, text, language)
        except RateLimited as exc:
            _say(dispatcher, tracker, domain, "utter_fan_answers_enough_today", language, limit=exc.limit)
            return done
        except DataError as exc:
            logger.info("fan answers: %s's answer to %s refused: %s", tracker.sender_id, item, exc)
            _say(dispatcher, tracker, domain, "utter_fan_answers_too_short", language)
            return done
        except FanAnswerError:
            _say(dispatcher, tracker, domain, "utter_fan_answers_not_opted_in", language)
            return done
        _say(dispatcher, tracker, domain, "utter_fan_answers_received", language, proposal_id=proposal["id"])
        return done
