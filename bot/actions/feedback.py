"""Feedback, votes and answer ratings in chat (identity linking, tiers and F-codes: `feedback_fans.py`;
unsubscribing, the weekly digest and beta sign-ups: `feedback_news.py`).

Every action here is small: it reads the turn, calls `bot.feedback` / `bot.analytics`, and answers with a
response from `responses/feedback.yml`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions._feedback_turn import _entity, _feedback_store, _id_from, _language, _phrase, _say, _text
from bot.actions.feedback_news import offer_digest, tell_status_now
from bot.errors import CanyuError
from bot.language import CJK_CHAR
from bot.texts import Texts

logger = logging.getLogger(__name__)

__all__ = [
    "ActionFileFeedback",
    "ActionFeedbackStatus",
    "ActionVote",
    "ActionRecordAnswerRating",
    "ActionFileAnswerComment",
]

_NO_COMMENT = {"deny", "thanks", "goodbye", "affirm", "greet"}
# "down" first: "not helpful" / "没有帮助" contain the "up" words.
_THUMBS = [(re.compile(r"👎|useless|not helpful|didn'?t help|没用|没有用|没帮助|没有帮助|没解决|答非所问|thumbs down|"
                       r"wrong answer", re.I), "down"),
           (re.compile(r"👍|\bhelpful\b|\bhelped\b|有用|有帮助|解决了|很棒|thumbs up|\bgreat answer", re.I), "up")]


def _intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def _channel(tracker: Tracker) -> Optional[str]:
    channel = tracker.get_latest_input_channel()
    return channel if channel and channel not in ("cmdline",) else None


def _status_text(domain: Dict[Text, Any], item: Any, language: str) -> str:
    return _phrase(domain, f"utter_feedback_state_{item.status}", language,
                   release=item.release_for(language) or "—", reason=item.reason or "—")


def _is_vague(text: str) -> bool:
    """Too little to file ("我要投诉", "I have a complaint"): ask what it is about first."""
    from bot.feedback._match import concepts_in, products_in

    if products_in(text) or concepts_in(text):
        return False
    if CJK_CHAR.search(text):
        return len(CJK_CHAR.findall(text)) < 10
    return len(text.split()) < 7


def _offered_kind(tracker: Tracker) -> str:
    """complaint or suggestion: the intent of the message before the "yes" that took up the offer."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    previous = ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name") if len(users) > 1 else None
    return "suggestion" if previous == "suggest_feature" else "complaint"


def _friendly_failure(dispatcher: CollectingDispatcher, language: str) -> None:
    dispatcher.utter_message(text="抱歉，我这边出了点问题，没能记下来。稍后再试一次好吗？" if language == "zh"
                             else "Sorry, something went wrong on my side and I couldn't save that. "
                                  "Could you try again in a minute?")


def _say_shipped(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], store: Any,
                 item: Any, language: str) -> None:
    """The item already shipped: say so now, and never send this user the shipped message later."""
    store.claim_notification(item.id, tracker.sender_id)
    _say(dispatcher, tracker, domain, "utter_feedback_already_shipped", language, feedback_id=item.id,
         title=item.title(language), release=item.release_for(language) or "—", count=item.count)


def _after_voice(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], store: Any,
                 item: Any, language: str, texts: Texts) -> None:
    """A new voice: their item's news so far (planned, in beta, declined), then the one-time digest offer."""
    try:
        tell_status_now(dispatcher, store, item, tracker.sender_id, language, texts)
    except CanyuError as exc:  # the voice is filed; the news goes out with the next notify instead
        logger.warning("feedback: could not tell %s the status of %s now: %s", tracker.sender_id, item.id, exc)
    offer_digest(dispatcher, tracker, domain, store, language)


class ActionFileFeedback(WithContext, Action):
    """File a complaint or suggestion, matched to an existing item when it is the same thing."""

    def name(self) -> Text:
        return "action_file_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        language = _language(tracker)
        text = _text(tracker).strip()
        kind = "suggestion" if _intent(tracker) == "suggest_feature" else "complaint"
        offered = tracker.get_slot("feedback_pending_text")
        if _intent(tracker) == "affirm" and offered:
            # "yes" to "want me to file this too?" (bot.actions.offers): file what was said before
            text, kind = str(offered).strip(), _offered_kind(tracker)
        if not text or text.startswith("/") or _is_vague(text):
            _say(dispatcher, tracker, domain, "utter_feedback_ask_details", language)
            return []
        try:
            store = _feedback_store(self.ctx.redis)
            filing = store.file(tracker.sender_id, text, kind=kind, language=language, channel=_channel(tracker))
        except CanyuError as exc:
            logger.error("feedback: could not file %r from %s: %s", text, tracker.sender_id, exc)
            _friendly_failure(dispatcher, language)
            return []
        if filing.outcome == "ask" and filing.candidate is not None:
            cand = filing.candidate
            _say(dispatcher, tracker, domain, "utter_feedback_ask_same", language, feedback_id=cand.id,
                 title=cand.title(language), count=cand.count,
                buttons=[
                    {"title": _phrase(domain, "utter_feedback_button_plus_one", language),
                     "payload": "/vote" + json.dumps({"feedback_id": cand.id})},
                    {"title": _phrase(domain, "utter_feedback_button_different", language),
                     "payload": "/vote" + json.dumps({"feedback_id": f"new-{kind}"})},
                ])
            return [SlotSet("feedback_candidate", cand.id), SlotSet("feedback_pending_text", text)]
        item = filing.item
        if item is None:  # only "ask" files nothing, and it has a candidate
            raise CanyuError(f"feedback: filing {filing.outcome!r} of {tracker.sender_id} returned no item")
        if item.status == "shipped":
            _say_shipped(dispatcher, tracker, domain, store, item, language)
        elif filing.outcome == "new":
            _say(dispatcher, tracker, domain, "utter_feedback_filed_new", language, feedback_id=item.id)
        elif filing.outcome == "joined":
            _say(dispatcher, tracker, domain, "utter_feedback_filed_joined", language, feedback_id=item.id,
                                     others=filing.others, count=item.count)
        else:
            _say(dispatcher, tracker, domain, "utter_feedback_already", language, feedback_id=item.id, count=item.count,
                                     status_text=_status_text(domain, item, language))
        if filing.outcome in ("new", "joined"):
            _after_voice(dispatcher, tracker, domain, store, item, language, self.ctx.texts)
        return [SlotSet("feedback_id", item.id), SlotSet("feedback_candidate", None),
                SlotSet("feedback_pending_text", None)]


class ActionFeedbackStatus(WithContext, Action):
    """"What happened to my feedback?": the user's items (or the one they named) with their status."""

    def name(self) -> Text:
        return "action_feedback_status"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.feedback import UnknownItem

        language = _language(tracker)
        store = _feedback_store(self.ctx.redis)
        wanted = _id_from(tracker)
        try:
            items = ([store.get(wanted)] if wanted and not wanted.startswith("new")
                     else store.items_of(tracker.sender_id)[:3])
        except UnknownItem:
            _say(dispatcher, tracker, domain, "utter_feedback_status_unknown", language, feedback_id=wanted)
            return [SlotSet("feedback_id", None)]
        if not items:
            _say(dispatcher, tracker, domain, "utter_feedback_status_none", language)
            return []
        for item in items:
            _say(dispatcher, tracker, domain, "utter_feedback_status_item", language, feedback_id=item.id,
                                     title=item.title(language), count=item.count,
                                     status_text=_status_text(domain, item, language))
        return [SlotSet("feedback_id", None)]


class ActionVote(WithContext, Action):
    """+1 on an item (button or "+1 FB12"), or "mine's different" to file the pending text as new."""

    def name(self) -> Text:
        return "action_vote"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.feedback import UnknownItem

        language = _language(tracker)
        store = _feedback_store(self.ctx.redis)
        pending = tracker.get_slot("feedback_pending_text") or ""
        target = _id_from(tracker) or tracker.get_slot("feedback_candidate")
        clear = [SlotSet("feedback_candidate", None), SlotSet("feedback_pending_text", None),
                 SlotSet("feedback_id", None)]
        if target and target.startswith("new"):
            if not pending:
                _say(dispatcher, tracker, domain, "utter_feedback_ask_details", language)
                return clear
            kind = "suggestion" if target.endswith("suggestion") else "complaint"
            item = store.create(pending, sender_id=tracker.sender_id, kind=kind, language=language,
                                channel=_channel(tracker))
            _say(dispatcher, tracker, domain, "utter_feedback_filed_new", language, feedback_id=item.id)
            _after_voice(dispatcher, tracker, domain, store, item, language, self.ctx.texts)
            return clear
        if not target:
            _say(dispatcher, tracker, domain, "utter_vote_which", language)
            return clear
        try:
            item, added = store.add_voice(target, tracker.sender_id, pending if target == tracker.get_slot(
                "feedback_candidate") else "", language=language, channel=_channel(tracker), how="vote")
        except UnknownItem:
            _say(dispatcher, tracker, domain, "utter_feedback_status_unknown", language, feedback_id=target)
            return clear
        if item.status == "shipped":
            _say_shipped(dispatcher, tracker, domain, store, item, language)
        else:
            _say(dispatcher, tracker, domain, "utter_vote_added" if added else "utter_vote_already", language,
                 feedback_id=item.id, count=item.count)
            if added:
                _after_voice(dispatcher, tracker, domain, store, item, language, self.ctx.texts)
        return clear


class ActionRecordAnswerRating(WithContext, Action):
    """👍/👎 after an answer (1–5 after a handoff is the handoff's csat); a 👎 asks what was missing
    (answer_comment_form)."""

    def name(self) -> Text:
        return "action_record_answer_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.analytics import normalize_rating, record_rating

        language = _language(tracker)
        text = _text(tracker)
        rating = normalize_rating(_entity(tracker, "rating") or tracker.get_slot("rating"))
        if rating is None:
            for pattern, value in _THUMBS:
                if pattern.search(text):
                    rating = value
                    break
        if rating not in ("up", "down"):  # 1-5 after a handoff belongs to action_store_rating (csat)
            _say(dispatcher, tracker, domain, "utter_answer_rated_up", language)
            return [SlotSet("rating", None)]
        try:
            record_rating(tracker.sender_id, rating, kb_entry=str(tracker.get_slot("kb_entry") or ""),
                          red=self.ctx.redis)
        except CanyuError as exc:
            logger.error("ratings: could not record %s from %s: %s", rating, tracker.sender_id, exc)
        if rating == "up":
            _say(dispatcher, tracker, domain, "utter_answer_rated_up", language)
            return [SlotSet("rating", None)]
        return [SlotSet("rating", None), FollowupAction("answer_comment_form")]


class ActionFileAnswerComment(WithContext, Action):
    """After a 👎: the user's comment becomes a feedback item (unless they just said no)."""

    def name(self) -> Text:
        return "action_file_answer_comment"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.analytics import record_rating

        language = _language(tracker)
        comment = (tracker.get_slot("answer_comment") or "").strip()
        if not comment or _intent(tracker) in _NO_COMMENT or len(comment) < 3:
            _say(dispatcher, tracker, domain, "utter_answer_comment_skipped", language)
            return [SlotSet("answer_comment", None)]
        try:
            filing = _feedback_store(self.ctx.redis).file(tracker.sender_id, comment, kind="complaint",
                                                          language=language, channel=_channel(tracker),
                                                          ask_when_unsure=False)
            record_rating(tracker.sender_id, "down", kind="answer_comment",
                          kb_entry=str(tracker.get_slot("kb_entry") or ""), comment=comment, red=self.ctx.redis)
        except CanyuError as exc:
            logger.error("feedback: could not file the answer comment of %s: %s", tracker.sender_id, exc)
            _friendly_failure(dispatcher, language)
            return [SlotSet("answer_comment", None)]
        item_id = filing.item.id if filing.item is not None else None  # filed without asking: always an item
        _say(dispatcher, tracker, domain, "utter_answer_comment_thanks", language, feedback_id=item_id)
        return [SlotSet("answer_comment", None), SlotSet("feedback_id", item_id)]
