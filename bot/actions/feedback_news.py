"""What a user says back to feedback news: stop news of one item or of everything, subscribe to the weekly
"you asked, we shipped" note, sign up for an item's beta. Also the two things the filing actions add in
the conversation: the one-time digest offer, and the current status told at once to a late voice.

Buttons on every status message send `/feedback_unsubscribe{"feedback_id": "FB3"}` (this item), `"all"`
(everything, the digest included) or `"digest"` (the weekly note only); the same intent in words works
too ("别再给我发反馈进展了", "stop notifying me about FB12", "stop the weekly update").
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions._feedback_turn import _entity, _feedback_store, _id_from, _language, _phrase, _say, _text
from bot.actions.common import ran_this_turn
from bot.errors import CanyuError
from bot.knowledge.answering import ANSWER_ACTION
from bot.texts import Texts

logger = logging.getLogger(__name__)

__all__ = ["ActionFeedbackUnsubscribe", "ActionFeedbackDigestSubscribe", "ActionFeedbackBetaSignup",
           "offer_digest", "tell_status_now"]

_WEEKLY = re.compile(r"weekly|digest|every week|每周|周报|每星期", re.I)
_EVERYTHING = {"all", "*", "everything", "全部"}


def offer_digest(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], store: Any,
                 language: str) -> None:
    """Ask once per person, after they filed or joined feedback, whether they want the weekly note."""
    from bot.feedback import offer_digest_once

    try:
        if not offer_digest_once(store.red, tracker.sender_id):
            return
    except CanyuError as exc:
        logger.warning("feedback: could not check the digest offer for %s: %s", tracker.sender_id, exc)
        return
    _say(dispatcher, tracker, domain, "utter_feedback_digest_offer", language, buttons=[
        {"title": _phrase(domain, "utter_feedback_button_digest_yes", language),
         "payload": "/feedback_digest_subscribe"}])


def tell_status_now(dispatcher: CollectingDispatcher, store: Any, item: Any, sender_id: str, language: str,
                    texts: Texts) -> None:
    """A voice joined an item that is already planned, in beta or declined: tell them here, once (the
    same claim as the pushed news, so they are never pushed it again), in the words of `texts` (`ctx.texts`)."""
    from bot.feedback import status_message, wants_news

    if item.status not in ("planned", "in_beta", "declined") or not wants_news(store.red, sender_id, item.id):
        return
    if sender_id in store.told(item.id, item.status):  # told before: no F-code granted again for nothing
        return
    message = status_message(texts, store.red, item, item.status, sender_id, language)
    if store.claim_notification(item.id, sender_id, item.status):
        dispatcher.utter_message(text=message["text"], buttons=message["buttons"])


def _target(tracker: Tracker) -> Optional[str]:
    """"FB3", "all", "digest", or None (the message named neither)."""
    raw = (_entity(tracker, "feedback_id") or "").strip().lower()
    if raw in _EVERYTHING:
        return "all"
    if raw == "digest":
        return "digest"
    return _id_from(tracker)


class ActionFeedbackUnsubscribe(WithContext, Action):
    """No more news of one item, of the weekly note, or of anything (honoured by every send)."""

    def name(self) -> Text:
        return "action_feedback_unsubscribe"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.feedback import UnknownItem, unsubscribe, unsubscribe_digest

        language = _language(tracker)
        store = _feedback_store(self.ctx.redis)
        target = _target(tracker)
        if target is None and _WEEKLY.search(_text(tracker)):
            target = "digest"
        if target == "digest":
            unsubscribe_digest(store.red, tracker.sender_id)
            _say(dispatcher, tracker, domain, "utter_feedback_digest_stopped", language)
        elif target and target != "all" and not target.startswith("new"):
            try:
                item = store.get(target)
            except UnknownItem:
                _say(dispatcher, tracker, domain, "utter_feedback_status_unknown", language, feedback_id=target)
                return [SlotSet("feedback_id", None)]
            unsubscribe(store.red, tracker.sender_id, item.id)
            _say(dispatcher, tracker, domain, "utter_feedback_unsubscribed_item", language, feedback_id=item.id)
        else:
            unsubscribe(store.red, tracker.sender_id)
            _say(dispatcher, tracker, domain, "utter_feedback_unsubscribed_all", language)
        logger.info("feedback: %s unsubscribed from %s", tracker.sender_id, target or "all")
        return [SlotSet("feedback_id", None)]


class ActionFeedbackDigestSubscribe(WithContext, Action):
    """"Yes, weekly please": the person gets the weekly note from now on."""

    def name(self) -> Text:
        return "action_feedback_digest_subscribe"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.feedback import subscribe_digest

        language = _language(tracker)
        added = subscribe_digest(_feedback_store(self.ctx.redis).red, tracker.sender_id, language)
        name = "utter_feedback_digest_subscribed" if added else "utter_feedback_digest_already"
        _say(dispatcher, tracker, domain, name, language)
        return []


class ActionFeedbackBetaSignup(WithContext, Action):
    """"Count me in": the person goes on the beta list of the item (named, or their own item in beta)."""

    def name(self) -> Text:
        return "action_feedback_beta_signup"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.feedback import UnknownItem, beta_signup

        language = _language(tracker)
        store = _feedback_store(self.ctx.redis)
        wanted = _id_from(tracker)
        try:
            item = store.get(wanted) if wanted and not wanted.startswith("new") else next(
                (i for i in store.items_of(tracker.sender_id) if i.status == "in_beta"), None)
        except UnknownItem:
            _say(dispatcher, tracker, domain, "utter_feedback_status_unknown", language, feedback_id=wanted)
            return [SlotSet("feedback_id", None)]
        if item is None and not wanted and not ran_this_turn(tracker, ANSWER_ACTION):
            # "sign me up for the beta", "内测版在哪报名": no fan idea's beta in sight, so most likely the MilletOS beta
            # programme; the answer path says how to join it (knowledge/), or hands back here to ask which one
            return [FollowupAction(ANSWER_ACTION)]
        if item is None:
            _say(dispatcher, tracker, domain, "utter_feedback_beta_which", language)
        elif item.status != "in_beta":
            _say(dispatcher, tracker, domain, "utter_feedback_beta_not_open", language, feedback_id=item.id)
        else:
            beta_signup(store.red, item.id, tracker.sender_id)
            _say(dispatcher, tracker, domain, "utter_feedback_beta_signed_up", language, feedback_id=item.id)
        return [SlotSet("feedback_id", None)]

