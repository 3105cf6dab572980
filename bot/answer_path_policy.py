"""`AnswerPathPolicy`: the dialogue side of the one answer path (docs/dialogue.md).

It does two things the rules cannot express.

**A question about a task goes to the answer path first.**
"能改收货地址吗?" / "can I change the delivery address?" is classified `change_address`, whose rule starts
`change_address_form`. But the user asked whether and how, not "do it": the knowledge base explains it
(`shipping_change_address`), and its answer offers to do it ("Want me to change it now?"). So when the
latest message has a task intent (`bot.knowledge.answering.TASK_FLOWS`), is phrased as a question, is not
a request ("can you…", "帮我…") and names no order, this policy predicts `action_answer_product`. That
action gives the ranking's answer when it is confident (here the entry that offers the task), or starts
the task's form itself (a follow-up action). Requests and messages with an order number go to the form by
the rules, as before. A task's price asked without wanting it done ("how much to replace a cracked back glass",
`asks_cost`, `wants_task_done`) goes to the answer path even phrased as a request, and never starts the form
(docs/dialogue.md, "A task's price is information"); so does stock asked without wanting to be told ("band 9 in stock
or nah" read as restock_alert: the live stock, and the alert offered when sold out; "ping me when it's back" starts
it). The same holds for the guarded flows (`GUARDED_FLOWS`: order status, the fan tier, and a handoff the
EscalationPolicy let through because only the intent asked for it): "how do I get an invoice?" is asked of the knowledge base first, and its flow runs when no FAQ entry is clearly right.

**A question the NLU cannot place goes to the answer path, not to "please rephrase".**
"do you guys have a student discount" is `nlu_fallback` (nothing in intents/ is like it), whose rule runs
`action_fallback`: the knowledge base's second chance is silent when unsure, so the user heard "didn't quite get
that" for a plain question. A message that asks something in words (`asks_in_words`: a question's form, at least
three words or four Chinese characters) goes to `action_answer_product` instead: the ranking's answer, "did you
mean", or an honest not sure (`utter_product_unsure`, which offers a colleague). Anything else (a stray "??", a
statement, a payload) keeps the fallback ladder.

**The answer path closes its turn.** `action_answer_product` and `action_answer_offer` may hand the turn to
another action (a complaint with no clear answer → `action_file_feedback`, "yes" → the offered flow) as a
follow-up action. No rule knows the action that ran last then, so without this the core fallback would run
again and again; this policy predicts `action_listen` once the turn's last action has run (a form that
started keeps the turn as forms do).

config.yml:

    policies:
      - name: bot.answer_path_policy.AnswerPathPolicy

Its priority (6.5) is above RulePolicy's (6) and below the EscalationPolicy's (7): an angry or unsafe
message is still handed to a person first.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.knowledge.answering import (
    ANSWER_ACTION,
    GUARDED_FLOWS,
    TASK_FLOWS,
    answer_path_first,
    asks_for_restock_alert,
    asks_in_words,
    lacks_flow_words,
    names_an_order,
    said_unclearly,
    small_talk_unclear,
)
from bot.knowledge.follow_up import ANSWERED_SLOT, corrects

__all__ = ["AnswerPathPolicy", "ANSWER_ACTION", "FORM_SUBMITS", "OFFER_ACTION"]

OFFER_ACTION = "action_answer_offer"
FORM_SUBMITS = {"cancel_order_form": "action_cancel_order", "change_address_form": "action_change_address",
                "repair_booking_form": "action_book_repair", "restock_alert_form": "action_restock_alert",
                "verify_order_form": "action_verify_order", "order_form": "action_order_status"}
"""A task form the answer path started (an offer taken up) -> what runs when it is complete: the rules' "… complete"
steps (dialogue/; a test keeps them alike). A form started with every slot known ends in its first run, where the
rules cannot see it start: this policy runs the submission then."""
RESTOCK = "restock_alert"  # asked for in its own words whatever the NLU says (`asks_for_restock_alert`)
NLU_FALLBACK = "nlu_fallback"  # the intent the NLU gives a message it cannot place (config.yml `fallback_intent`)
ANSWER_PATH_POLICY_PRIORITY = 6.5


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class AnswerPathPolicy(Policy):
    """Sends task questions to the answer path and closes the answer path's turns (see the module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": ANSWER_PATH_POLICY_PRIORITY}

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: Optional[Dict[Text, Any]] = None, **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        action = self._decide(tracker)
        if action is not None and action in domain.action_names_or_texts:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)

    @classmethod
    def _decide(cls, tracker: DialogueStateTracker) -> Optional[str]:
        if tracker.active_loop_name:
            return None
        latest = tracker.latest_action_name
        if latest == ACTION_LISTEN_NAME:
            return ANSWER_ACTION if cls._asks_about_a_task(tracker) else None
        if cls._answer_path_ran_this_turn(tracker):
            if latest in FORM_SUBMITS and cls._loop_ended_after(tracker, latest):
                return FORM_SUBMITS[latest]  # "yes" to "notify you when the 14 Pro is back?": the form had it all
            return str(ACTION_LISTEN_NAME)  # rasa is untyped: name the type
        return None

    @staticmethod
    def _loop_ended_after(tracker: DialogueStateTracker, form: str) -> bool:
        """Whether `form`, the turn's latest action, ended its loop (every slot it needs was already known)."""
        for event in reversed(tracker.events):
            if isinstance(event, ActiveLoop):
                return event.name is None
            if isinstance(event, ActionExecuted):
                return False
        return False

    @staticmethod
    def _answer_path_ran_this_turn(tracker: DialogueStateTracker) -> bool:
        for event in reversed(tracker.events):
            if isinstance(event, UserUttered):
                return False
            if isinstance(event, ActionExecuted) and event.action_name in (ANSWER_ACTION, OFFER_ACTION):
                return True
        return False

    @staticmethod
    def _asks_about_a_task(tracker: DialogueStateTracker) -> bool:
        message = tracker.latest_message
        if not isinstance(message, UserUttered) or not message.text:
            return False
        intent = (message.intent or {}).get("name")
        confidence = float((message.intent or {}).get("confidence") or 0.0)
        if intent != RESTOCK and asks_for_restock_alert(message.text):
            return True  # "pls add me to the waitlist for the pro in sky blue" read as a suggestion: the alert's form
        if said_unclearly(intent, confidence, message.text):
            return True  # "update stuck at 45%, help" leaning towards unsubscribe: the answer path, not the flow
        if lacks_flow_words(intent, message.text):
            return True  # "promo code for my first order?" read as request_fcode: no F-code is asked for
        if small_talk_unclear(intent, confidence, message.text):
            return True  # "right bud went silent, left still fine" leaning towards goodbye: its answer, else "bye"
        if corrects(message.text) and tracker.get_slot(ANSWERED_SLOT):
            return True  # "no i meant the band" after an answer (read as "no"): the question before, of the band
        if intent == NLU_FALLBACK and asks_in_words(message.text):
            return True  # "do you guys have a student discount": not sure (or an answer), not "please rephrase"
        if intent not in TASK_FLOWS and intent not in GUARDED_FLOWS:
            return False
        return answer_path_first(message.text, names_an_order(message.entities or []), confidence, intent in TASK_FLOWS)
