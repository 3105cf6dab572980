"""`action_fallback`: what Canyu does when it did not understand a message.

First the knowledge base gets a second chance (`kb_second_chance`): a product question the intent
classifier missed may still have a good answer. Otherwise the first miss in a row asks the user to
rephrase and the second offers a person (`utter_offer_human`, run as a follow-up action so the rules
on the user's yes/no answer apply). Misses are counted from the tracker's events, so the count survives
restarts, and any understood message in between resets it.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions.common import bot_responses, turns
from bot.actions.product import kb_second_chance

__all__ = ["ActionFallback", "consecutive_misses"]

_MISS_REPLIES = {"utter_ask_rephrase", "utter_offer_human"}


def _is_miss(turn: List[Dict[Text, Any]]) -> bool:
    ran_fallback = any(e.get("event") == "action" and e.get("name") == "action_fallback" for e in turn)
    return ran_fallback and bool(_MISS_REPLIES.intersection(bot_responses(turn)))


def consecutive_misses(events: List[Dict[Text, Any]]) -> int:
    """How many user turns in a row, the current one included, ended without being understood."""
    previous = turns(events)[:-1]
    count = 1
    for turn in reversed(previous):
        if not _is_miss(turn):
            break
        count += 1
    return count


class ActionFallback(WithContext, Action):
    def name(self) -> Text:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        sent_before = len(dispatcher.messages)
        events = kb_second_chance(self.ctx, dispatcher, tracker, domain)
        if inspect.isawaitable(events):
            events = await events
        if events or len(dispatcher.messages) > sent_before:
            return list(events or [])
        if consecutive_misses(tracker.events) % 2 == 1:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        return [FollowupAction("utter_offer_human")]
