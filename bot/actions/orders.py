"""Order tracking: `validate_order_form` checks the number the user gives, `action_order_status` answers.

Only the owner sees an order: every lookup goes through `own_order` (the order's ``owner`` must be the
conversation's sender id), and somebody else's number gets exactly the reply an unknown number gets.

The form asks for the order number; every reply is normalised (`bot.orders.normalise_order_number`).
A reply that is not an order number gets the format with an example; an unknown number gets "check it";
after three bad tries the form stops and a person is offered (`utter_offer_human` as a follow-up action,
so the yes/no rules apply). Bad tries are counted from the tracker's events since the form started.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions._context import WithContext
from bot.actions.common import bot_responses, format_date, tracker_language
from bot.errors import StorageError
from bot.orders import (
    Order,
    OrderBackend,
    carrier_name,
    normalise_order_number,
    owned_order,
    product_name,
)

if TYPE_CHECKING:
    from bot.context import AppContext

__all__ = ["ValidateOrderForm", "ActionOrderStatus", "MAX_TRIES", "own_order", "find_own_order"]

MAX_TRIES = 3
_BAD_TRY_REPLIES = {"utter_order_bad_format", "utter_order_not_found"}


def own_order(backend: OrderBackend, tracker: Tracker, order_number: str) -> Optional[Order]:
    """The order if this conversation's user placed it, else None (unknown and not yours look the same)."""
    return owned_order(backend, order_number, tracker.sender_id)


def _bad_tries_so_far(events: List[Dict[Text, Any]], form: Text = "order_form") -> int:
    """Bad order numbers the user gave since `form` last started."""
    since_start: List[Dict[Text, Any]] = []
    for event in reversed(events):
        if event.get("event") == "active_loop" and event.get("name") == form:
            break
        since_start.append(event)
    return sum(1 for name in bot_responses(since_start) if name in _BAD_TRY_REPLIES)


_VERIFY_WORDS = re.compile(r"verif|prove|验证|核实|核验|证明", re.IGNORECASE)
# "快递三天了还没到", "my parcel still hasn't arrived": a wait the user is unhappy about, acknowledged before the check.
_LATE_WORDS = re.compile(r"还没(?:到|收到|发货|发|送到|动)|怎么还没|迟迟|等了.{0,4}(?:天|周|星期)|太慢|物流不动|好几天|好多天|"
                         r"一直(?:显示|在途|没)|"
                         r"\blate\b|still (?:not|hasn'?t|haven'?t|no)|(?:hasn'?t|has not|never) (?:arrived|shipped|come)|"
                         r"taking (?:so|too) long", re.IGNORECASE)  # not "where is my order": a plain question


def _asks_to_verify(tracker: Tracker) -> bool:
    """The user asks to prove the order is theirs. A bare order number is the answer to the form's question,
    whatever intent the NLU gives it (numbers appear in verify_order's examples too)."""
    if (tracker.latest_message.get("intent") or {}).get("name") != "verify_order":
        return False
    text = tracker.latest_message.get("text") or ""
    return normalise_order_number(text) is None or bool(_VERIFY_WORDS.search(text))


def find_own_order(ctx: "AppContext", value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                   form: Text) -> Tuple[Optional[Order], Dict[Text, Any]]:
    """The user's own order named in `value` (in `ctx.orders`): (order, {}), or (None, slot events) after saying
    what is wrong (bad format, not found, the backend down, or too many bad tries since `form` started: give up)."""
    number = normalise_order_number(str(value)) if value else None
    if number is not None:
        try:
            order = own_order(ctx.orders, tracker, number)
        except StorageError:
            dispatcher.utter_message(response="utter_order_backend_down")
            return None, {"order_number": None, "requested_slot": None}
        if order is not None:
            return order, {}
    if _bad_tries_so_far(tracker.events, form) + 1 >= MAX_TRIES:
        dispatcher.utter_message(response="utter_order_give_up")
        return None, {"order_number": None, "requested_slot": None}
    if number is None:
        dispatcher.utter_message(response="utter_order_bad_format")
    else:
        dispatcher.utter_message(response="utter_order_not_found", order_number=number)
    return None, {"order_number": None}


class ValidateOrderForm(WithContext, FormValidationAction):
    def name(self) -> Text:
        return "validate_order_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        if _asks_to_verify(tracker):
            # "ordered from another account? say verify": prove it with the phone number instead
            return [SlotSet("order_number", None), SlotSet("requested_slot", None), FollowupAction("verify_order_form")]
        if _LATE_WORDS.search(tracker.latest_message.get("text") or ""):
            dispatcher.utter_message(response="utter_order_sorry_late")  # the wait first, then the order
        events: List[Dict[Text, Any]] = await super().run(dispatcher, tracker, domain)
        if any(m.get("response") == "utter_order_give_up" for m in dispatcher.messages):
            events.append(FollowupAction("utter_offer_human"))
        return events

    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """An order number anywhere in the message counts, whatever intent the message got."""
        number = normalise_order_number(tracker.latest_message.get("text") or "")
        return {"order_number": number} if number else {}

    def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        order, problem = find_own_order(self.ctx, value, dispatcher, tracker, "order_form")
        return problem if order is None else {"order_number": order.number}


class ActionOrderStatus(WithContext, Action):
    def name(self) -> Text:
        return "action_order_status"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("order_number")
        if not number:  # the form stopped without a number and has already said why
            return []
        try:
            order = own_order(self.ctx.orders, tracker, number)
        except StorageError:
            dispatcher.utter_message(response="utter_order_backend_down")
            return [SlotSet("order_number", None)]
        if order is None:
            dispatcher.utter_message(response="utter_order_not_found", order_number=number)
            return [SlotSet("order_number", None)]

        language = tracker_language(tracker)
        dispatcher.utter_message(
            response=f"utter_order_{order.status}",
            order_number=order.number,
            product=product_name(order.product, language),
            carrier=carrier_name(order.carrier or "", language),
            tracking_no=order.tracking_no or "",
            eta=format_date(order.eta, language),
            updated=format_date(order.updated_at.date(), language),
        )
        return [SlotSet("order_number", None)]
