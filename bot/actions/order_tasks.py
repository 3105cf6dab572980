"""What the order-task forms share (cancel, address change, repair pickup, restock alert).

`OrderTaskValidation` is the base of their validation actions:
- When the form starts (by its intent or by another action's ``FollowupAction``) the slots in
  `fresh_slots` are cleared, so an earlier conversation's answers or "yes" are never reused.
- A yes/no answer fills the form's confirmation slot only while the form asks that question.
- Free-text answers (an address, what is broken) are taken from any message except a request to stop,
  a social message or a question; those interrupt the form and the rules in `dialogue/order_tasks.yml`
  answer them.
- `order_number_for` checks an order number the same way as the order form, but only the user's own
  orders count: somebody else's number gets the "can't find it" reply an unknown number gets.
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions._context import WithContext
from bot.actions._offer_slot import pending_offer
from bot.actions.common import this_turn, tracker_language
from bot.actions.orders import find_own_order
from bot.knowledge.answering import asks_question, is_request
from bot.orders import Order, normalise_order_number

__all__ = ["OrderTaskValidation", "STOP_INTENTS", "yes_or_no", "activating", "user_text", "recent_text",
           "said_this_turn", "AskOrderNumber", "ActionAskCancelOrderNumber", "ActionAskAddressOrderNumber",
           "ActionAskVerifyOrderNumber"]

STOP_INTENTS = {"human_handoff", "deny", "goodbye", "verify_order"}
"""Intents that end a form (rules in dialogue/order_tasks.yml; verify_order switches to verify_order_form)."""
_SOCIAL = {"greet", "thanks", "bot_challenge", "affirm"}
_QUESTION_INTENTS = {"ask_product", "shipping", "return_refund", "repair_warranty", "chitchat", "out_of_scope",
                     "order_status", "suggest_feature"}
_YES = re.compile(r"^(y|ya|yes|yep|yeah|yup|sure|ok|okay|confirm(ed)?|do it|go ahead|please do|correct|right|"
                  r"确认|确定|是|是的|对|对的|好|好的|好滴|嗯|嗯嗯|可以|行|没问题|要|取消吧|改吧|约吧)(\b|$|[ ,.!，。！~])")
_NO = re.compile(r"^(n|no|nope|nah|don'?t|do not|cancel that|stop|不|不要|不用|不是|别|算了|先不|不了|否)")


def user_text(tracker: Tracker) -> str:
    return unicodedata.normalize("NFKC", tracker.latest_message.get("text") or "").strip()


def _intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def yes_or_no(tracker: Tracker) -> Optional[bool]:
    """True for "yes"/"确认", False for "no"/"算了", None when the message is neither."""
    intent = _intent(tracker)
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    text = user_text(tracker).lower()
    if _NO.search(text):
        return False
    if _YES.search(text):
        return True
    return None


def activating(tracker: Tracker, form: Text) -> bool:
    """True while `form` is being started (this call belongs to the turn that activated it)."""
    if (tracker.active_loop or {}).get("name") != form:
        return True
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") == form:
            return True
    return False


def recent_text(tracker: Tracker, form: str) -> List[str]:
    """The latest message, plus the one before it when the latest takes up the bot's offer of `form`: a bare "yes"
    ("Want me to change it now?"), or its own words for it ("好的 到货了告诉我" after "要我一到货就通知你吗？"): the
    details were in the message that led to the offer."""
    texts = [user_text(tracker)]
    offer = pending_offer(tracker)
    if _intent(tracker) == "affirm" or (offer is not None and offer.get("flow") == form):
        users = [e for e in tracker.events if e.get("event") == "user"]
        if len(users) >= 2:
            texts.append(unicodedata.normalize("NFKC", users[-2].get("text") or ""))
    return texts


def said_this_turn(tracker: Tracker, responses: Tuple[str, ...]) -> bool:
    """Whether the bot sent one of `responses` since the user's latest message (e.g. the validation's own
    follow-up question, so the form's ask action need not ask again)."""
    return this_turn(tracker, lambda e: e.get("event") == "bot" and (e.get("metadata") or {}).get("utter_action") in responses)


class OrderTaskValidation(WithContext, FormValidationAction, ABC):
    """Base of the order-task validation actions (see the module docstring)."""

    fresh_slots: Tuple[str, ...] = ()
    """Cleared when the form starts; everything the form asks except what the first message may carry."""
    confirm_slot: Optional[str] = None

    @abstractmethod
    def name(self) -> Text:
        ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        resets: List[Dict[Text, Any]] = []
        if activating(tracker, self.form_name()):
            for slot in self.fresh_slots:
                if tracker.slots.get(slot) is not None:
                    tracker.slots[slot] = None
                    resets.append(SlotSet(slot, None))
        events: List[Dict[Text, Any]] = await super().run(dispatcher, tracker, domain)
        if any(m.get("response") == "utter_order_give_up" for m in dispatcher.messages):
            events.append(FollowupAction("utter_offer_human"))
        return resets + events

    def asking(self, tracker: Tracker, slot: Text) -> bool:
        """The form is running (not starting) and its last question was for `slot`."""
        return tracker.get_slot("requested_slot") == slot and not activating(tracker, self.form_name())

    def confirmation(self, tracker: Tracker) -> Dict[Text, Any]:
        """The yes/no answer to the confirmation question, if this message is one."""
        if self.confirm_slot is None or not self.asking(tracker, self.confirm_slot):
            return {}
        answer = yes_or_no(tracker)
        return {} if answer is None else {self.confirm_slot: answer}

    def free_text(self, tracker: Tracker, slot: Text) -> Dict[Text, Any]:
        """The message as the answer to `slot`, unless it asks to stop, is small talk or is a question."""
        if not self.asking(tracker, slot):
            return {}
        intent, text = _intent(tracker), user_text(tracker)
        if not text or intent in STOP_INTENTS or intent in _SOCIAL:
            return {}
        if intent in _QUESTION_INTENTS and text.endswith(("?", "？", "吗", "呢")):
            return {}
        if asks_question(text) and not is_request(text):
            return {}
        return {slot: text}

    # order numbers (cancel and address change)

    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Called only for forms that require `order_number` (Rasa extracts a form's own slots)."""
        return self.extract_order_number_from_text(tracker)

    def extract_order_number_from_text(self, tracker: Tracker) -> Dict[Text, Any]:
        """A number anywhere in the message; while the form asks for it, any other answer is a (bad) candidate."""
        texts = recent_text(tracker, self.form_name()) if activating(tracker, self.form_name()) else [user_text(tracker)]
        for text in texts:
            number = normalise_order_number(text)
            if number:
                return {"order_number": number}
        if self.asking(tracker, "order_number") and _intent(tracker) not in STOP_INTENTS | _SOCIAL | _QUESTION_INTENTS:
            return {"order_number": user_text(tracker) or None}
        return {}

    def own_changeable_order(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Tuple[Optional[Order], Dict[Text, Any]]:
        """(order, {}) for the user's own order; (None, slot events) after saying what is wrong."""
        return find_own_order(self.ctx, value, dispatcher, tracker, self.form_name())

    def changeable_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        too_late: Callable[[CollectingDispatcher, Order, str], None],
    ) -> Dict[Text, Any]:
        """`validate_order_number` of a task that changes an order: the user's own order, before it ships;
        after that `too_late` says what to do instead and the form stops."""
        order, problem = self.own_changeable_order(value, dispatcher, tracker)
        if order is None:
            return problem
        if not order.changeable:
            too_late(dispatcher, order, tracker_language(tracker))
            return {"order_number": None, **{slot: None for slot in self.fresh_slots}, "requested_slot": None}
        return {"order_number": order.number}


class AskOrderNumber(WithContext, Action, ABC):
    """Asks a form's order number (``utter_ask_<form>_order_number``), but not right after "can't find it" or
    "that's not an order number" (those already ask for it again: one question a turn)."""

    @abstractmethod
    def name(self) -> Text:
        """``action_ask_<form>_order_number``."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        if not said_this_turn(tracker, ("utter_order_not_found", "utter_order_bad_format")):
            dispatcher.utter_message(response=self.name().replace("action_ask_", "utter_ask_", 1))
        return []


class ActionAskOrderNumber(AskOrderNumber):
    """The order-status form's (``order_form``) ask: ``utter_ask_order_number``."""

    def name(self) -> Text:
        return "action_ask_order_number"


class ActionAskCancelOrderNumber(AskOrderNumber):
    def name(self) -> Text:
        return "action_ask_cancel_order_form_order_number"


class ActionAskAddressOrderNumber(AskOrderNumber):
    def name(self) -> Text:
        return "action_ask_change_address_form_order_number"


class ActionAskVerifyOrderNumber(AskOrderNumber):
    def name(self) -> Text:
        return "action_ask_verify_order_form_order_number"
