"""Prove that an order placed on another account is yours: `verify_order_form` asks for the order number,
the phone number given when ordering, and the code texted to that phone (`bot.orders.verify`).

The replies never depend on whether the order exists or the phone matches ("if that's the number on the
order, a code is on its way"); only the right code links the order to this chat (`grant_access`), after
which `action_order_status` tells its status. Three wrong codes end the attempt.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions._context import WithContext
from bot.actions.common import tracker_language
from bot.actions.order_tasks import OrderTaskValidation, activating, user_text
from bot.actions.orders import ActionOrderStatus
from bot.errors import StorageError
from bot.orders import normalise_order_number
from bot.orders.verify import OwnershipCheck, get_code_sender

if TYPE_CHECKING:
    from bot.context import AppContext

__all__ = ["ValidateVerifyOrderForm", "ActionVerifyOrder", "ownership_check"]

_MOBILE = re.compile(r"^(?:86)?(1[3-9]\d{9})$")
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_LOOK_BACK = 4
_VERIFIED = "ok"


def ownership_check(ctx: "AppContext") -> OwnershipCheck:
    """The `OwnershipCheck` of `ctx` (its order backend, Redis and ``CANYU_CODE_SENDER``); cheap, made per call."""
    return OwnershipCheck(ctx.orders, ctx.redis, get_code_sender(ctx.redis, ctx.env))


class ValidateVerifyOrderForm(OrderTaskValidation):
    fresh_slots = ("verify_phone", "verify_code")

    def name(self) -> Text:
        return "validate_verify_order_form"

    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if activating(tracker, self.form_name()):  # the number the user tried before asking to verify
            users = [e for e in tracker.events if e.get("event") == "user"][-_LOOK_BACK:]
            for event in reversed(users):
                number = normalise_order_number(event.get("text") or "")
                if number:
                    return {"order_number": number}
            return {}
        return self.extract_order_number_from_text(tracker)

    async def extract_verify_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asking(tracker, "verify_phone"):
            return {}
        digits = re.sub(r"[\s\-+()]", "", user_text(tracker))
        return {"verify_phone": digits} if any(c.isdigit() for c in digits) else self.free_text(tracker, "verify_phone")

    async def extract_verify_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asking(tracker, "verify_code"):
            return {}
        found = _CODE.search(user_text(tracker))
        return {"verify_code": found.group(1)} if found else self.free_text(tracker, "verify_code")

    def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        number = normalise_order_number(str(value)) if value else None
        if number is None:
            dispatcher.utter_message(response="utter_order_bad_format")
            return {"order_number": None}
        return {"order_number": number}  # whether it exists is not said here

    def validate_verify_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        found = _MOBILE.match(re.sub(r"\D", "", str(value or "")))
        number = tracker.get_slot("order_number")
        if found is None or not number:
            dispatcher.utter_message(response="utter_verify_phone_bad")
            return {"verify_phone": None}
        try:
            ownership_check(self.ctx).start(tracker.sender_id, number, found.group(1), tracker_language(tracker))
        except StorageError:
            dispatcher.utter_message(response="utter_order_task_failed")
            return {"verify_phone": None, "requested_slot": None}
        return {"verify_phone": found.group(1)}

    def validate_verify_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        check = ownership_check(self.ctx)
        try:
            if check.verify(tracker.sender_id, str(value or "")):
                return {"verify_code": _VERIFIED}
            left = check.tries_left(tracker.sender_id)
        except StorageError:
            dispatcher.utter_message(response="utter_order_task_failed")
            return {"verify_code": None, "requested_slot": None}
        if left > 0:
            dispatcher.utter_message(response="utter_verify_code_wrong")
            return {"verify_code": None}
        dispatcher.utter_message(response="utter_verify_give_up")
        return {"verify_code": None, "requested_slot": None}


class ActionVerifyOrder(WithContext, Action):
    """After the right code: say so and tell the order's status (as `action_order_status`, which clears the number)."""

    def name(self) -> Text:
        return "action_verify_order"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        clear = [SlotSet("verify_phone", None), SlotSet("verify_code", None)]
        number = tracker.get_slot("order_number")
        if tracker.get_slot("verify_code") != _VERIFIED or not number:
            return clear + [SlotSet("order_number", None)]
        dispatcher.utter_message(response="utter_order_verified", order_number=number)
        return clear + ActionOrderStatus(self.ctx).run(dispatcher, tracker, domain)
