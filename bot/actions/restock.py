"""Restock alerts: "tell me when the 14 Pro is back" / "14 Pro 到货了通知我".

`restock_alert_form` asks for the product (a product named in the first message skips the question);
`action_restock_alert` then either says it is in stock right now, or stores one alert per user and
product in the backend. The message that the product is back is sent by `bot.orders.restock`: right away
when `bot orders stock PRODUCT N` raises it from 0, and by the `RestockWatcher` this module starts in
the action server process for changes made directly in the backend.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.common import user_language
from bot.actions.order_tasks import OrderTaskValidation, activating, recent_text, said_this_turn, user_text
from bot.actions.orders import order_backend
from bot.errors import StorageError
from bot.orders.products import AMBIGUOUS_PHONE, PRODUCTS, find_product, product_label
from bot.orders.restock import RestockWatcher

__all__ = ["ValidateRestockAlertForm", "ActionAskRestockProduct", "ActionRestockAlert", "start_watcher"]

logger = logging.getLogger(__name__)
_watcher: Optional[RestockWatcher] = None


class ValidateRestockAlertForm(OrderTaskValidation):
    fresh_slots = ("restock_product",)

    def name(self) -> Text:
        return "validate_restock_alert_form"

    async def extract_restock_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if activating(tracker, self.form_name()):
            for text in recent_text(tracker):
                found = find_product(text)
                if found is not None:
                    return {"restock_product": found}
            return {}
        found = find_product(user_text(tracker)) if self.asking(tracker, "restock_product") else None
        return {"restock_product": found} if found else self.free_text(tracker, "restock_product")

    def validate_restock_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        key = value if value in PRODUCTS or value == AMBIGUOUS_PHONE else find_product(str(value or ""))
        if key in PRODUCTS:
            return {"restock_product": key}
        dispatcher.utter_message(response="utter_restock_which_phone" if key == AMBIGUOUS_PHONE
                                 else "utter_restock_unknown_product")
        return {"restock_product": None}


class ActionAskRestockProduct(Action):
    """Asks which product; not again when the validation just asked "Phone 14 or 14 Pro?"."""

    def name(self) -> Text:
        return "action_ask_restock_product"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if not said_this_turn(tracker, ("utter_restock_which_phone", "utter_restock_unknown_product")):
            dispatcher.utter_message(response="utter_ask_restock_product")
        return []


class ActionRestockAlert(Action):
    """In stock: say so. Otherwise store the alert (one per user and product) and promise one message."""

    def name(self) -> Text:
        return "action_restock_alert"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        product = tracker.get_slot("restock_product")
        clear = [SlotSet("restock_product", None)]
        if product not in PRODUCTS:
            return clear
        language = user_language(tracker)
        name = product_label(product, language)
        backend = order_backend()
        try:
            if backend.stock(product) > 0:
                dispatcher.utter_message(response="utter_restock_in_stock", product=name)
                return clear
            new = backend.add_restock_alert(tracker.sender_id, product, language, None)
        except StorageError:
            dispatcher.utter_message(response="utter_order_task_failed")
            return clear
        dispatcher.utter_message(response="utter_restock_subscribed" if new else "utter_restock_already",
                                 product=name)
        return clear


def _in_action_server() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and str(spec.name).startswith("rasa_sdk"):
        return True
    return "actions" in sys.argv[1:3] and sys.argv[0].endswith("rasa")


def start_watcher() -> Optional[RestockWatcher]:
    """Start the periodic restock check in this process once (`CANYU_RESTOCK_CHECK_S`, 0 = off)."""
    global _watcher
    if _watcher is None:
        try:
            _watcher = RestockWatcher.from_env(order_backend())
        except Exception as exc:  # a broken backend must not stop the action server from serving
            logger.warning("restock: periodic check not started: %s", exc)
            return None
        if _watcher is not None:
            _watcher.start()
    return _watcher


if _in_action_server():
    start_watcher()
