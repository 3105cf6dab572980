"""Product questions answered from the knowledge base (`bot.knowledge`).

`action_answer_product` runs for the `ask_product` intent:
- confident → the answer (FAQ entry or spec sentence) in the user's language;
- close call → "did you mean …?" with 2-3 buttons whose payload `/ask_product{"kb_entry": "<id>"}`
  brings the user back here with the entry chosen;
- not sure (or a product we do not sell) → `utter_product_unsure`, which offers a colleague.

Every reply records what it used: slots `kb_entry` / `kb_score`, and a `kb` record (outcome, entry,
confidence, candidates) in the bot message's metadata, for agents and trainers.
`kb_second_chance` is the same retrieval for `action_fallback`, but silent when not sure.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import user_language
from bot.knowledge import Result, get_service
from bot.language import detect_language

__all__ = ["ActionAnswerProduct", "kb_second_chance"]

logger = logging.getLogger(__name__)

def _language(tracker: Tracker) -> str:
    return detect_language(tracker.latest_message.get("text") or "") or user_language(tracker)


def _chosen_entry(tracker: Tracker) -> Optional[str]:
    for ent in tracker.latest_message.get("entities") or []:
        if ent.get("entity") == "kb_entry" and ent.get("value"):
            return str(ent["value"])
    return None


def _payload(entry_id: str) -> str:
    return "/ask_product" + json.dumps({"kb_entry": entry_id}, ensure_ascii=False)


# After every knowledge answer: was it useful? (recorded by action_record_answer_rating, see bot/actions/feedback.py)
RATING_BUTTONS = [
    {"title": "👍", "payload": '/rate_answer{"rating":"up"}'},
    {"title": "👎", "payload": '/rate_answer{"rating":"down"}'},
]


def _reply(dispatcher: CollectingDispatcher, result: Result, quiet_when_unsure: bool) -> List[Dict[Text, Any]]:
    record = result.record()
    if result.outcome == "answer":
        dispatcher.utter_message(text=result.text, buttons=RATING_BUTTONS, kb=record)
        return [SlotSet("kb_entry", result.entry_id), SlotSet("kb_score", round(result.confidence, 3))]
    if result.outcome == "suggest":
        retriever = get_service().retriever()
        buttons = [{"title": retriever.question_label(c.entry_id, result.language), "payload": _payload(c.entry_id)}
                   for c in result.candidates]
        dispatcher.utter_message(response="utter_kb_did_you_mean", buttons=buttons, kb=record)
        return [SlotSet("kb_entry", None), SlotSet("kb_score", round(result.confidence, 3))]
    if quiet_when_unsure:
        return []
    dispatcher.utter_message(response="utter_product_unsure", kb=record)
    return [SlotSet("kb_entry", None), SlotSet("kb_score", round(result.confidence, 3))]


def _answer(dispatcher: CollectingDispatcher, tracker: Tracker, quiet_when_unsure: bool) -> List[Dict[Text, Any]]:
    service = get_service()
    retriever = service.retriever()
    lang = _language(tracker)
    chosen = _chosen_entry(tracker)
    result = retriever.answer_entry(chosen, user_language(tracker)) if chosen else None
    if result is None:
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/"):  # a payload without a usable entry: nothing to search
            text = ""
        result = retriever.ask(text, lang)
    logger.info("kb %s entry=%s confidence=%.3f reason=%s (%.1f ms)", result.outcome, result.entry_id,
                result.confidence, result.reason, result.latency_ms)
    return _reply(dispatcher, result, quiet_when_unsure)


def kb_second_chance(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
    """Try the knowledge base before falling back: the events of an answer or a "did you mean", or []."""
    try:
        return _answer(dispatcher, tracker, quiet_when_unsure=True)
    except Exception:  # the fallback ladder must still run if the KB is broken
        logger.exception("knowledge base second chance failed")
        return []


def _warm_up() -> None:
    try:
        get_service().retriever()
    except Exception:  # reported again, with the user-facing fallback, on the first question
        logger.exception("knowledge base warm-up failed")


# In the action server, load the model and the KB index in the background right away, so the
# first product question does not wait for them (requests wait on the service's lock meanwhile).
if "rasa_sdk.endpoint" in sys.modules:
    threading.Thread(target=_warm_up, name="kb-warm-up", daemon=True).start()


class ActionAnswerProduct(Action):
    """Answer a product question from the knowledge base (see the module docstring)."""

    def name(self) -> Text:
        return "action_answer_product"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        try:
            return _answer(dispatcher, tracker, quiet_when_unsure=False)
        except Exception:
            logger.exception("knowledge base failed; telling the user we are not sure")
            dispatcher.utter_message(response="utter_product_unsure")
            return []
