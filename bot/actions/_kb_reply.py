"""Saying one ranking's result: the answer (hedged: which question it answers, the others as buttons), "did you
mean …?" buttons, or not sure; the slots and the offer it records (`bot.actions.product` decides what to rank).

A "did you mean" button's payload (`/ask_product{"kb_entry": "<id>"}`) brings the user back to the answer path with
the entry chosen (`chosen_entry`)."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._offer_slot import from_previous_turn, make_offer, user_turns
from bot.knowledge import Result, Retriever
from bot.knowledge.follow_up import ANSWERED_SLOT

__all__ = ["RATING_BUTTONS", "answered_before", "chosen_entry", "reply"]


def chosen_entry(tracker: Tracker) -> Optional[str]:
    for ent in tracker.latest_message.get("entities") or []:
        if ent.get("entity") == "kb_entry" and ent.get("value"):
            return str(ent["value"])
    return None


def _payload(entry_id: str) -> str:
    return "/ask_product" + json.dumps({"kb_entry": entry_id}, ensure_ascii=False)


# After every knowledge answer: was it useful? (recorded by action_record_answer_rating, see bot/actions/feedback.py)
RATING_BUTTONS = [{"title": "👍", "payload": '/rate_answer{"rating":"up"}'},
                  {"title": "👎", "payload": '/rate_answer{"rating":"down"}'}]


def _offer_events(tracker: Tracker, result: Result) -> List[Dict[Text, Any]]:
    offer = result.offer
    if offer is None:
        return []
    if offer.answer:
        return [make_offer(tracker, "answer", entry=result.entry_id, text=dict(offer.answer))]
    if offer.entry:
        return [make_offer(tracker, "entry", entry=offer.entry)]
    return [make_offer(tracker, "flow", flow=offer.flow)]


def _entry_buttons(retriever: Retriever, candidates: List[Any], language: str) -> List[Dict[str, str]]:
    """One button per candidate entry: its first phrasing in `language`, asking for that entry's answer."""
    return [{"title": retriever.question_label(c.entry_id, language), "payload": _payload(c.entry_id)}
            for c in candidates]


def reply(retriever: Retriever, dispatcher: CollectingDispatcher, tracker: Tracker, result: Result,
           quiet_when_unsure: bool, alternatives: bool = True) -> List[Dict[Text, Any]]:
    """Say `result`; a hedged answer offers the other candidates as buttons when `alternatives` (one question)."""
    record = result.record()
    if result.outcome == "answer" and result.hedged:  # "I think you're asking X:" answer, the others as buttons
        dispatcher.utter_message(response="utter_kb_hedged",
                                 kb_question=retriever.question_label(result.entry_id or "", result.language))
        dispatcher.utter_message(text=result.text, buttons=RATING_BUTTONS, kb=record)
        others = _entry_buttons(retriever, result.candidates[1:], result.language) if alternatives else []
        if others:
            dispatcher.utter_message(response="utter_kb_not_this", buttons=others)
    elif result.outcome == "answer":
        dispatcher.utter_message(text=result.text, buttons=RATING_BUTTONS, kb=record)
    if result.outcome == "answer":
        answered = {"text": result.asked or tracker.latest_message.get("text") or "", "turn": user_turns(tracker),
                    "entry": result.entry_id}
        return [SlotSet("kb_entry", result.entry_id), SlotSet("kb_score", round(result.confidence, 3)),
                SlotSet(ANSWERED_SLOT, answered), *_offer_events(tracker, result)]
    if result.outcome == "suggest":
        buttons = _entry_buttons(retriever, result.candidates, result.language)
        dispatcher.utter_message(response="utter_kb_did_you_mean", buttons=buttons, kb=record)
        return [SlotSet("kb_entry", None), SlotSet("kb_score", round(result.confidence, 3))]
    part = getattr(result, "part", "")  # a part of a several-questions message no entry answers: one line, no slot
    if quiet_when_unsure and not (result.other_brand or result.unknown_products or part):  # those get their honest reply
        return []
    if result.other_brand:
        dispatcher.utter_message(response="utter_product_other_brand", brand=result.other_brand, kb=record)
    elif result.unknown_products:
        dispatcher.utter_message(response="utter_product_not_ours", product=result.unknown_products[0], kb=record)
    else:
        dispatcher.utter_message(response=f"utter_{'kb_part' if part else 'product'}_unsure", kb_part=part, kb=record)
    return [] if part else [SlotSet("kb_entry", None), SlotSet("kb_score", round(result.confidence, 3))]


def answered_before(tracker: Tracker) -> Tuple[str, str]:
    """(the question the bot's previous turn answered, its entry), or ("", "") when none was answered there."""
    answered = from_previous_turn(tracker, ANSWERED_SLOT)
    if answered is None:
        return "", ""
    return str(answered.get("text") or ""), str(answered.get("entry") or "")
