"""Product questions answered from the knowledge base (placeholder until the retriever lands)."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


def kb_second_chance(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
    """Try the knowledge base before falling back; return the events of an answer, or [] if it had none."""
    return []


class ActionAnswerProduct(Action):
    def name(self) -> Text:
        return "action_answer_product"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_product_unsure")
        return []
