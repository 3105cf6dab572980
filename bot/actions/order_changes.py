"""Cancel an order and change its delivery address, for real, in the order backend.

`cancel_order_form` asks for the order number and a yes/no; `change_address_form` for the number, the new
address and a yes/no. Only the user's own orders count (`bot.actions.orders.own_order`). An order that has
already shipped is not changed: the form stops with what the user can do instead (refuse the parcel or
return it; ask the carrier to redirect it, with the tracking number). The backend re-checks the status when
it changes the order (`OrderNotChangeable`), so a parcel that ships between the question and the "yes"
gets the same honest answer.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions._context import WithContext
from bot.actions.common import format_date, tracker_language
from bot.actions.order_tasks import OrderTaskValidation, activating, user_text
from bot.actions.orders import own_order
from bot.errors import StorageError
from bot.orders import Order, OrderNotChangeable, carrier_name, normalise_order_number, product_name

__all__ = [
    "ValidateCancelOrderForm",
    "ActionAskCancelConfirmed",
    "ActionCancelOrder",
    "ValidateChangeAddressForm",
    "ActionAskAddressConfirmed",
    "ActionChangeAddress",
    "address_problem",
]

_CANCEL_TOO_LATE = {
    "shipped": "utter_cancel_too_late_shipped",
    "delivered": "utter_cancel_too_late_delivered",
    "returned": "utter_order_already_returned",
    "cancelled": "utter_order_already_cancelled",
}
_STATUS_TEXT = {
    "zh": {"delivered": "签收", "returned": "退货", "cancelled": "取消"},
    "en": {"delivered": "delivered", "returned": "returned", "cancelled": "cancelled"},
}
MIN_ADDRESS_CHARS = {"zh": 8, "en": 12}
# "change the address on M2026110501 to 88 Nanjing Road …" / "地址改成北京市…": the new address in the request.
_ADDRESS_IN_REQUEST = re.compile(r"(?:\bto\b|改成|改到|改寄到|寄到|送到|改为)\s*[:：]?\s*(.+)$", re.IGNORECASE)
_CANCEL_SLOTS = ("order_number", "cancel_confirmed")
_ADDRESS_SLOTS = ("order_number", "new_address", "address_confirmed")


def _say_cancel_too_late(dispatcher: CollectingDispatcher, order: Order, language: str) -> None:
    dispatcher.utter_message(response=_CANCEL_TOO_LATE.get(order.status, "utter_order_already_cancelled"),
                             order_number=order.number, updated=format_date(order.updated_at.date(), language))


def _say_address_too_late(dispatcher: CollectingDispatcher, order: Order, language: str) -> None:
    if order.status == "shipped":
        dispatcher.utter_message(response="utter_address_too_late", order_number=order.number,
                                 carrier=carrier_name(order.carrier or "", language),
                                 tracking_no=order.tracking_no or "")
    else:
        dispatcher.utter_message(response="utter_address_too_late_done", order_number=order.number,
                                 status_text=_STATUS_TEXT[language].get(order.status, order.status))


def address_problem(text: str, language: str) -> bool:
    """True when `text` is too short or has no house number to be a delivery address."""
    compact = "".join(text.split())
    has_number = any(ch.isdigit() for ch in compact) or any(w in compact for w in ("号", "栋", "室", "单元"))
    return len(compact) < MIN_ADDRESS_CHARS.get(language, 10) or not has_number


def _address_in_request(text: str, language: str) -> Optional[str]:
    """The new address in "change the address on M… to 88 Nanjing Road, …" / "地址改成北京市…", if it is one."""
    found = _ADDRESS_IN_REQUEST.search(text)
    if not found:
        return None
    candidate = found.group(1).strip()
    number = normalise_order_number(text)
    if address_problem(candidate, language) or (number and number[1:] in re.sub(r"\D", "", candidate)):
        return None
    return candidate


def _clear(slots: Tuple[str, ...]) -> List[Dict[Text, Any]]:
    return [SlotSet(slot, None) for slot in slots]


class ValidateCancelOrderForm(OrderTaskValidation):
    fresh_slots = ("cancel_confirmed",)
    confirm_slot = "cancel_confirmed"

    def name(self) -> Text:
        return "validate_cancel_order_form"

    async def extract_cancel_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self.confirmation(tracker)

    def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self.changeable_order_number(value, dispatcher, tracker, _say_cancel_too_late)


class ActionAskCancelConfirmed(WithContext, Action):
    def name(self) -> Text:
        return "action_ask_cancel_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("order_number")
        order = own_order(self.ctx.orders, tracker, number) if number else None
        language = tracker_language(tracker)
        dispatcher.utter_message(response="utter_ask_cancel_confirmed", order_number=number,
                                 product=product_name(order.product, language) if order else "")
        return []


class ActionCancelOrder(WithContext, Action):
    """Cancels the order when the user said yes; says what happened either way, then clears the form's slots."""

    def name(self) -> Text:
        return "action_cancel_order"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("order_number")
        confirmed = tracker.get_slot("cancel_confirmed")
        language = tracker_language(tracker)
        if not number or confirmed is None:  # the form stopped and has already said why
            return _clear(_CANCEL_SLOTS)
        if not confirmed:
            dispatcher.utter_message(response="utter_cancel_kept", order_number=number)
            return _clear(_CANCEL_SLOTS)
        try:
            order = own_order(self.ctx.orders, tracker, number)
            if order is None:
                dispatcher.utter_message(response="utter_order_not_found", order_number=number)
                return _clear(_CANCEL_SLOTS)
            done = self.ctx.orders.cancel(order.number)
        except OrderNotChangeable as exc:
            _say_cancel_too_late(dispatcher, exc.order, language)
        except StorageError:
            dispatcher.utter_message(response="utter_order_task_failed")
        else:
            dispatcher.utter_message(response="utter_cancel_done", order_number=done.number,
                                     product=product_name(done.product, language))
        return _clear(_CANCEL_SLOTS)


class ValidateChangeAddressForm(OrderTaskValidation):
    fresh_slots = ("new_address", "address_confirmed")
    confirm_slot = "address_confirmed"

    def name(self) -> Text:
        return "validate_change_address_form"

    async def extract_new_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        named = _address_in_request(user_text(tracker), tracker_language(tracker))
        if activating(tracker, self.form_name()):
            return {"new_address": named} if named else {}
        answer = self.free_text(tracker, "new_address")
        return {"new_address": named} if answer and named else answer

    async def extract_address_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self.confirmation(tracker)

    def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self.changeable_order_number(value, dispatcher, tracker, _say_address_too_late)

    def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        address = " ".join(str(value or "").split())
        if address_problem(address, tracker_language(tracker)):
            dispatcher.utter_message(response="utter_address_too_short")
            return {"new_address": None}
        return {"new_address": address}


class ActionAskAddressConfirmed(WithContext, Action):
    def name(self) -> Text:
        return "action_ask_address_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("order_number")
        order = own_order(self.ctx.orders, tracker, number) if number else None
        language = tracker_language(tracker)
        dispatcher.utter_message(response="utter_ask_address_confirmed", order_number=number,
                                 product=product_name(order.product, language) if order else "",
                                 address=tracker.get_slot("new_address") or "")
        return []


class ActionChangeAddress(WithContext, Action):
    """Stores the new address when the user said yes; says what happened either way, then clears the slots."""

    def name(self) -> Text:
        return "action_change_address"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("order_number")
        address = tracker.get_slot("new_address")
        confirmed = tracker.get_slot("address_confirmed")
        language = tracker_language(tracker)
        if not number or not address or confirmed is None:
            return _clear(_ADDRESS_SLOTS)
        if not confirmed:
            dispatcher.utter_message(response="utter_address_kept", order_number=number)
            return _clear(_ADDRESS_SLOTS)
        try:
            order = own_order(self.ctx.orders, tracker, number)
            if order is None:
                dispatcher.utter_message(response="utter_order_not_found", order_number=number)
                return _clear(_ADDRESS_SLOTS)
            done = self.ctx.orders.change_address(order.number, address)
        except OrderNotChangeable as exc:
            _say_address_too_late(dispatcher, exc.order, language)
        except StorageError:
            dispatcher.utter_message(response="utter_order_task_failed")
        else:
            dispatcher.utter_message(response="utter_address_changed", order_number=done.number,
                                     address=done.address)
        return _clear(_ADDRESS_SLOTS)
