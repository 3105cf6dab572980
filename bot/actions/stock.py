"""Live stock in the answer to "is it in stock?" ("14pro 512g 还有货没", "is the band 9 in stock", "14pro啥时候有货啊").

The knowledge base answers a stock question with the entry `stock_availability` (`bot.knowledge.specs.STOCK_ENTRY`):
from the exact patterns of `bot.knowledge.spec_words` for "in stock now?" about a product, or from the ranking for the
FAQ's phrasings (restock days). Neither knows the stock; the orders backend does (`OrderBackend.stock`, the level the
restock alerts watch). `with_live_stock` runs after the answer path (`ActionAnswerProduct.run`, decorated with
`live_stock`) and, for such an answer
about a product the message names (the answer path's product matcher, else `bot.orders.products.find_product` as the
restock form reads it), says the
backend's figure first:
- in stock: "Good news, the Buds 5 is in stock right now …" (never "Yes" to "sold out?"), and no restock alert offered;
- sold out: "The 14 Pro is sold out right now." followed by the entry's own answer (restock days and the offer of a
  restock alert), and the offer recorded, so "yes" starts `restock_alert_form`.
Storage per colour or size is not kept by the backend: the figure is the product's. A broken backend leaves the
answer as it was.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions._offer_slot import OFFER_SLOT, make_offer
from bot.actions.common import tracker_language
from bot.errors import StorageError
from bot.knowledge.catalog import category_products
from bot.knowledge.specs import STOCK_ENTRY
from bot.orders.products import AMBIGUOUS_PHONE, PRODUCTS, find_product, product_label

if TYPE_CHECKING:
    from bot.context import AppContext

__all__ = ["live_stock", "with_live_stock", "stock_lines", "RESTOCK_FLOW"]

logger = logging.getLogger(__name__)

RESTOCK_FLOW = "restock_alert_form"
_IN_STOCK = {"en": "Good news, the {name} is in stock right now: you can order it in the Millet app or on our website.",
             "zh": "有货！{name}现在就能买，在米粒 App 或官网下单就行。"}
_SOLD_OUT = {"en": "The {name} is sold out right now.", "zh": "{name}现在卖完了。"}


def _asked_products(ctx: "AppContext", text: str) -> List[str]:
    """The products a message names, as the answer path reads them ("pro一直缺货": the bare "pro" is the 14 Pro; "手机":
    both phones), else as the restock form does; only those the backend keeps stock of."""
    retriever = ctx.knowledge.retriever()
    named = retriever.matcher.find(text).known or category_products(retriever.kb.products, text)
    if not named:
        key = find_product(text)
        named = ["phone_14", "phone_14_pro"] if key == AMBIGUOUS_PHONE else [key] if key else []
    return [p for p in named if p in PRODUCTS]


def stock_lines(levels: Dict[str, int], language: str) -> str:
    """One sentence per product: in stock, or sold out ("14 Pro 卖完了")."""
    lang = "zh" if language == "zh" else "en"
    sep = "" if lang == "zh" else " "
    return sep.join((_IN_STOCK if n > 0 else _SOLD_OUT)[lang].format(name=product_label(p, lang))
                    for p, n in levels.items())


def _stock_message(dispatcher: CollectingDispatcher) -> Optional[Dict[Text, Any]]:
    messages: List[Dict[Text, Any]] = dispatcher.messages
    for message in messages:
        record = message.get("kb") or {}
        if record.get("outcome") == "answer" and record.get("entry") == STOCK_ENTRY and message.get("text"):
            return message
    return None


def _entry_answer(ctx: "AppContext", language: str) -> str:
    entry = ctx.knowledge.retriever().kb.faq.get(STOCK_ENTRY)
    return entry.answer.get(language, "") if entry is not None else ""


def with_live_stock(ctx: "AppContext", dispatcher: CollectingDispatcher, tracker: Tracker,
                    events: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    """`events` of an answer turn, with a stock answer's text saying the backend's stock (see the module docstring)."""
    message = _stock_message(dispatcher)
    products = _asked_products(ctx, tracker.latest_message.get("text") or "") if message is not None else []
    if message is None or not products:
        return events
    try:
        levels = {p: ctx.orders.stock(p) for p in products}
    except StorageError:
        logger.exception("stock: backend unavailable; the answer stays as it was")
        return events
    language = tracker_language(tracker)
    lines = stock_lines(levels, language)
    offers = [e for e in events if e.get("event") == "slot" and e.get("name") == OFFER_SLOT]
    if all(n > 0 for n in levels.values()):  # nothing to wait for: no restock alert offered
        message["text"] = lines
        return [e for e in events if e not in offers]
    message["text"] = f"{lines}{'' if language == 'zh' else ' '}{_entry_answer(ctx, language)}".strip()
    return events if offers else [*events, make_offer(tracker, "flow", flow=RESTOCK_FLOW)]


Run = Callable[[Any, CollectingDispatcher, Tracker, Dict[Text, Any]], List[Dict[Text, Any]]]


def live_stock(run: Run) -> Run:
    """An action's `run` (of a `WithContext` action) whose stock answers say the backend's stock (`with_live_stock`)."""
    @functools.wraps(run)
    def wrapped(action: WithContext, dispatcher: CollectingDispatcher, tracker: Tracker,
                domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        return with_live_stock(action.ctx, dispatcher, tracker, run(action, dispatcher, tracker, domain))

    return wrapped
