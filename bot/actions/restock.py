"""Restock alerts: "tell me when the 14 Pro is back" / "14 Pro 到货了通知我".

`restock_alert_form` asks for the product (a product named in the first message skips the question);
`action_restock_alert` then either says it is in stock right now, or stores one alert per user and
product in the backend. The message that the product is back is sent by `bot.orders.restock`: right away
when `bot orders stock PRODUCT N` raises it from 0, and by a `RestockWatcher` for changes made directly in the
backend: `ActionRestockAlert` starts one for its context when the action server registers it (one per process).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions._context import WithContext
from bot.actions.common import tracker_language
from bot.actions.order_tasks import OrderTaskValidation, activating, recent_text, said_this_turn, user_text
from bot.errors import StorageError
from bot.orders.products import AMBIGUOUS_PHONE, PRODUCTS, find_product, product_label
from bot.orders.restock import RestockWatcher

__all__ = ["ValidateRestockAlertForm", "ActionAskRestockProduct", "ActionRestockAlert", "start_watcher"]

if TYPE_CHECKING:
    from bot.context import AppContext

logger = logging.getLogger(__name__)


class ValidateRestockAlertForm(OrderTaskValidation):
    fresh_slots = ("restock_product",)

    def name(self) -> Text:
        return "validate_restock_alert_form"

    async def extract_restock_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if activating(tracker, self.form_name()):
            for text in recent_text(tracker, self.form_name()):
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


class ActionAskRestockProduct(WithContext, Action):
    """Asks which product; not again when the validation just asked "Phone 14 or 14 Pro?"."""

    def name(self) -> Text:
        return "action_ask_restock_product"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        if not said_this_turn(tracker, ("utter_restock_which_phone", "utter_restock_unknown_product")):
            dispatcher.utter_message(response="utter_ask_restock_product")
        return []


class ActionRestockAlert(WithContext, Action):
    """In stock: say so. Otherwise store the alert (one per user and product) and promise one message.

    Made once per context by the action server, it starts that context's periodic restock check (`watcher`)."""

    def __init__(self, ctx: "AppContext") -> None:
        super().__init__(ctx)
        self.watcher = start_watcher(ctx)

    def name(self) -> Text:
        return "action_restock_alert"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        product = tracker.get_slot("restock_product")
        clear = [SlotSet("restock_product", None)]
        if product not in PRODUCTS:
            return clear
        language = tracker_language(tracker)
        name = product_label(product, language)
        backend = self.ctx.orders
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


def start_watcher(ctx: "AppContext") -> Optional[RestockWatcher]:
    """Start the periodic restock check of `ctx` (its order backend and Redis; `CANYU_RESTOCK_CHECK_S` of its
    settings, 0 = off) and return it (`stop()` ends it); None when it is off or the backend is broken."""
    try:
        watcher = RestockWatcher.from_env(ctx.orders, ctx.redis, ctx.texts, ctx.env)
    except Exception as exc:  # a broken backend must not stop the action server from serving
        logger.warning("restock: periodic check not started: %s", exc)
        return None
    if watcher is not None:
        watcher.start()
    return watcher
