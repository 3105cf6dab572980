"""Pending offers: the bot keeps its word when the user says yes to "Want the steps?".

One mechanism for every offer. An answer that ends with an offer records it in the `pending_offer`
slot (`make_offer`, bot/actions/_offer_slot.py): what yes gives and the user turn it was made in. The rules send every `affirm`
and `deny` to `action_answer_offer`, which:
- with an offer made in the bot's previous turn: yes gives it (a text, another entry's answer, a flow
  such as `change_address_form`, or filing the user's words as feedback); no closes politely;
- without one (or a stale one): the plain acknowledgements `utter_affirm_ack` / `utter_deny_ack`.
The slot is cleared either way, so an offer can be taken up only right after it was made.

Offers come from the knowledge base (`offer:` of an FAQ entry, linted by `bot kb validate`: an answer
ending with a question must say what yes gives) and from the answer path (a complaint that got an
answer is offered to be filed as feedback).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions._offer_slot import OFFER_SLOT, make_offer, pending_offer
from bot.actions.common import tracker_language
from bot.actions.product import answer_entry
from bot.knowledge.answering import ANSWER_ACTION, asks_question
from bot.knowledge.specs import detect_spec
from bot.language import has_cjk

__all__ = ["OFFER_SLOT", "make_offer", "pending_offer", "ActionAnswerOffer"]


# The words of a yes or a no, and the particles around them: what is left of "包邮不" ("包邮") asks about something.
_YES_NO = re.compile(r"[不没有木吗嘛么呢吧啊呀哦噢嗯好的是对行可以要用了谢算还]|\W")


def _asks_about_something(text: str) -> bool:
    """A Chinese question with two characters or more besides yes, no and particles ("包邮不", "防水没", "能退不"):
    with nothing offered, a question for the answer path, not a "no" ("不用了", "没有", "不要了谢谢")."""
    return has_cjk(text) and len(_YES_NO.sub("", text)) >= 2


def _short_reply(text: str) -> bool:
    """A yes or no as people type it ("好的", "不用了谢谢", "nah thanks", "sure, go ahead"), not a sentence."""
    words = text.split()
    return len(words) <= 4 if not has_cjk(text) else len("".join(words)) <= 6


class ActionAnswerOffer(WithContext, Action):
    """Yes or no: to the pending offer if there is one, else a plain acknowledgement."""

    def name(self) -> Text:
        return "action_answer_offer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        offer = pending_offer(tracker)
        clear = [SlotSet(OFFER_SLOT, None)] if tracker.get_slot(OFFER_SLOT) is not None else []
        yes = intent != "deny"
        text = (tracker.latest_message or {}).get("text") or ""
        # "要不要贴膜啊 出厂带膜没": a new question, not a no; with nothing offered, a short one about a spec ("pro多重")
        if asks_question(text) and (not _short_reply(text) or (offer is None and (
                detect_spec(text) is not None or _asks_about_something(text)))):
            return clear + [FollowupAction(ANSWER_ACTION)]
        if offer is None:
            dispatcher.utter_message(response="utter_affirm_ack" if yes else "utter_deny_ack")
            return clear
        if not yes:
            dispatcher.utter_message(response="utter_offer_no_thanks")
            return clear
        return clear + self._give(dispatcher, tracker, offer)

    def _give(self, dispatcher: CollectingDispatcher, tracker: Tracker, offer: Dict[str, Any]) -> List[Dict[Text, Any]]:
        kind = offer["kind"]
        language = tracker_language(tracker)
        if kind == "answer":
            texts = offer.get("text") or {}
            dispatcher.utter_message(text=texts.get(language) or texts.get("en") or "",
                                     kb={"outcome": "answer", "entry": offer.get("entry"), "kind": "offer",
                                         "confidence": 1.0, "reason": "the user said yes to the offer", "candidates": []})
            return []
        if kind == "entry":
            return answer_entry(self.ctx, dispatcher, tracker, str(offer.get("entry")),
                                reason="the user said yes to the offer")
        if kind == "flow":
            return [FollowupAction(str(offer["flow"]))]
        # feedback: file the words the user said before the offer
        return [SlotSet("feedback_pending_text", offer.get("text") or ""), FollowupAction("action_file_feedback")]
