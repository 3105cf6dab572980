"""`action_followup_answer`: the user's answer to a check-in (bot/followups).

The buttons send `/followup_answer{"followup_id": "F3", "followup_reply": "yes"|"no"}`; a typed answer that the
NLU files under `followup_answer` is read for yes or no and applies to the user's newest unanswered check-in.
"yes" gets a warm close. "no" goes back to a person: a new handoff whose reason and cue carry the history
(what the original handoff or repair was about, and this follow-up), logged in the handoff history too, so
the agent sees both without asking the user again. An answer counts once (a second tap changes nothing).
Typed words that are neither yes nor no get the check-in's buttons again; an answer-like message from a user
who was sent no check-in gets a question about what is wrong.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions.common import tracker_language
from bot.followups import FollowupStore, checkin_message, config_from_env
from bot.handoff.rules import Escalation, EscalationConfig, config_path, load_config
from bot.handoff.store import HandoffStore

logger = logging.getLogger(__name__)

_NO = re.compile(r"没好|还没|不行|没修好|又坏|还是|问题还在|没解决|\bno\b|\bnot\b|still|broken|came back|again", re.I)
_YES = re.compile(r"好了|解决|正常|没问题|可以了|\byes\b|fixed|sorted|fine|good|works|working", re.I)


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"]).strip()
    return None


def reply_of(text: str) -> Optional[str]:
    """yes / no from typed words ("还是没好" → no), None when unclear; "no" wins over "yes"."""
    if _NO.search(text or ""):
        return "no"
    return "yes" if _YES.search(text or "") else None


def _about(record: Dict[str, Any]) -> str:
    history = record.get("history") or {}
    subject = (record.get("subject") or {}).get("en") or "their issue"
    if "handoff" in history:
        h = history["handoff"]
        return (f"follow-up {record['id']}: still not right after the handoff resolved by {h.get('agent') or '?'} "
                f"({h.get('reason') or h.get('rule') or '?'}; about {subject})")
    if "repair" in history:
        r = history["repair"]
        return f"follow-up {record['id']}: still not right after repair {r.get('number')} ({r.get('fault')})"
    return f"follow-up {record['id']}: still not right after the {record.get('kind')} ({subject})"


class ActionFollowupAnswer(WithContext, Action):
    def name(self) -> Text:
        return "action_followup_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        redis = self.ctx.redis
        store = FollowupStore(redis, config_from_env(self.ctx.env))
        fid = _entity(tracker, "followup_id")
        reply = _entity(tracker, "followup_reply") or reply_of(tracker.latest_message.get("text") or "")
        record = store.get(tracker.sender_id, fid) if fid else store.latest_unanswered(tracker.sender_id)
        if record is None:  # words like an answer, but no check-in was sent: ask what is wrong
            dispatcher.utter_message(response="utter_followup_none")
            return []
        if reply not in ("yes", "no"):  # typed, and neither yes nor no: the buttons again
            message = checkin_message(self.ctx.texts, record)
            dispatcher.utter_message(text=message["text"], buttons=message["buttons"])
            return []
        if not store.answer(tracker.sender_id, record["id"], reply):
            dispatcher.utter_message(response="utter_followup_unknown")
            return []
        logger.info("followups: %s answered %s by %s", record["id"], reply, tracker.sender_id)
        if reply == "yes":
            dispatcher.utter_message(response="utter_followup_yes")
            return []
        rules = load_config(config_path(self.ctx.settings))
        return self._back_to_a_person(dispatcher, tracker, HandoffStore(redis, rules), rules, record)

    @staticmethod
    def _back_to_a_person(dispatcher: CollectingDispatcher, tracker: Tracker, handoffs: HandoffStore,
                          rules: EscalationConfig, record: Dict[str, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_followup_no")
        explicit = rules.rule("explicit_request")
        about = _about(record)
        escalation = Escalation(rule="followup", reason="Follow-up: still not right", cue=about, urgent=False,
                                priority=explicit.priority if explicit else 20)
        if handoffs.get(tracker.sender_id) is None:
            tier, boost = handoffs.tier_and_boost(tracker.sender_id)
            language = record.get("language") or tracker_language(tracker)
            handoffs.enqueue(tracker.sender_id, escalation, tier=tier, boost=boost,
                             channel=tracker.get_latest_input_channel() or "", language=language)
            minutes = handoffs.estimate_minutes(tracker.sender_id)
            if minutes is None:
                dispatcher.utter_message(response="utter_handoff_no_agents")
            else:
                dispatcher.utter_message(response="utter_handoff_queued", minutes=minutes,
                                         ahead=handoffs.ahead_of(tracker.sender_id))
        handoffs.log_event(tracker.sender_id, "followup_no", followup=record["id"], kind=record.get("kind"),
                           about=about, history=record.get("history") or {})
        return [SlotSet("handoff_reason", "followup"), ConversationPaused()]
