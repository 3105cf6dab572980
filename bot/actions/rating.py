"""CSAT after a human handoff: `action_ask_rating` (1-5 buttons) and `action_store_rating`.

The console runs `action_ask_rating` when an agent resolves a conversation. The buttons send the plain
digits "1".."5" (Rasa would try to fill `{...}` in a JSON payload), so a tap and a typed answer ("4",
"五星", "⭐⭐⭐⭐") take the same path: the EscalationPolicy routes a rating right after the question to
`action_store_rating`. Phrases like "客服打5分" are the `csat` intent. Ratings are appended to `canyu:csat:log` (see bot.handoff.store).

A 1 or 2 opens a call-back for a team lead (bot/followups/_callbacks.py, listed in the console under
Call-backs) and the user is told by when a lead will contact them ("明天 18 点前"; followups.yml `callback`).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions.common import tracker_language
from bot.handoff.rules import parse_rating
from bot.handoff.store import HandoffStore

if TYPE_CHECKING:
    from redis import Redis

logger = logging.getLogger(__name__)


def rating_of(tracker: Tracker) -> Optional[int]:
    """The rating in the latest message: the `csat_score` entity, else the typed text."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "csat_score":
            try:
                value = int(str(entity.get("value")).strip())
            except ValueError:
                continue
            if 1 <= value <= 5:
                return value
    return parse_rating(tracker.latest_message.get("text") or "")


class ActionAskRating(WithContext, Action):
    def name(self) -> Text:
        return "action_ask_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_ask_rating")
        return []


class ActionStoreRating(WithContext, Action):
    def name(self) -> Text:
        return "action_store_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        rating = rating_of(tracker)
        if rating is None:
            dispatcher.utter_message(response="utter_rating_invalid")
            return []
        entry = HandoffStore(self.ctx.redis).record_rating(tracker.sender_id, rating)
        logger.info("rating %s from %s (agent %s)", rating, tracker.sender_id, entry.get("agent") or "-")
        if rating > 2:
            dispatcher.utter_message(response="utter_rating_thanks")
            return []
        promise = _open_callback(self.ctx.redis, self.ctx.env, tracker, rating, entry.get("agent") or "")
        if promise:
            dispatcher.utter_message(response="utter_rating_low_callback", due=promise)
        else:
            dispatcher.utter_message(response="utter_rating_thanks_low")
        return []


def _open_callback(redis: "Redis[str]", env: Mapping[str, str], tracker: Tracker, rating: int,
                   agent: str) -> Optional[str]:
    """Open the call-back and return its time in the user's words; None (logged) if it could not be opened.
    `env`: the settings' environment (the follow-up settings: when a call-back is due)."""
    from bot.followups import CallbackStore, config_from_env, due_text

    language = tracker_language(tracker)
    try:
        store = CallbackStore(redis, config_from_env(env))
        callback = store.open(tracker.sender_id, rating, agent=agent, language=language)
        return due_text(store.config, callback["due_at"], time.time(), language)
    except Exception as exc:  # the thanks still goes out; the lead sees the rating in the CSAT log
        logger.error("rating: no call-back opened for %s: %s", tracker.sender_id, exc)
        return None
