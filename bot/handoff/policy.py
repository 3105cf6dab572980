"""`EscalationPolicy`: a Rasa policy that predicts `action_handoff` when the latest user message meets a
rule of `escalation.yml` (the same `assess` the action uses to record the reason).

It also routes a typed rating ("4", "五星", "⭐⭐⭐") that answers `action_ask_rating` to
`action_store_rating`, so ratings need no NLU examples that could swallow order numbers. A rating in words (the
`csat` intent) is stored when the NLU is at least `RATING_SURE` of it; less sure, the rules decide first.
In the same way a link code in the current format with a word of linking ("link 7KQ4M-9XDPH", "绑定 7kq4m9xdph":
`carries_link_code`) goes to `action_link_identity` whatever the NLU says (its examples cannot cover every code), unless
an urgent rule (safety) matches too; and a message asking for an F-code by name (`asks_for_fcode`) to
`action_grant_fcode`, unless any rule matches.

config.yml:

    policies:
      - name: bot.handoff.policy.EscalationPolicy

Its default priority (7) is above RulePolicy's (6): an urgent safety message wins over any rule.
Rasa builds it from config.yml, so it is a composition root: its constructor builds the `AppContext` of the Rasa
process (settings read once; the Redis client it reads the handoff state with is made on first use).
It also predicts `action_handoff` for a conversation still in the handoff queue whose tracker is no longer
paused (a Rasa session expired while the user waited), so the bot never talks over an agent. Whether it is
queued comes with the tracker (bot/stores.py reads it in the same script, bot/tracker_notes.py says why that is
fresh enough); only a tracker from elsewhere makes the policy ask Redis itself.
A rule marked `answer_first` (frustration: "气死 刚买三天就降了两百 能退差价不", "it's already ¥300 cheaper wtf") on a
message that names no order and asks for nothing to be done predicts `action_answer_product` instead: it answers
when the knowledge base clearly does and offers a person, and hands off otherwise (bot/actions/product.py).
It predicts only right after a user message (and `action_listen` after `action_store_rating` or
`action_link_identity`), so it
never loops.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    ConversationResumed,
    Restarted,
    UserUttered,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot import keys
from bot.context import build_context
from bot.errors import CanyuError
from bot.handoff.rules import Escalation, assess, config_path, load_config, parse_rating, turns_from_events
from bot.knowledge.answering import (
    ANSWER_ACTION,
    FCODE_NAMED,
    carries_link_code,
    is_request,
    names_an_order,
    only_asks_about_task,
)
from bot.language import CJK_CHAR, latin_words
from bot.tracker_notes import noted_handoff

logger = logging.getLogger(__name__)

HANDOFF_ACTION = "action_handoff"
ASK_RATING_ACTION = "action_ask_rating"
STORE_RATING_ACTION = "action_store_rating"
LINK_ACTION = "action_link_identity"
FCODE_ACTION = "action_grant_fcode"
# An F-code named ("求个F码", "pls gimme an fcode for the next pro drop") is asked for: no KB entry is about them, and the
# NLU reads such messages as product questions ("求个F码 米粒14pro的": ask_product) or not at all. What one is, is not.
_FCODE = re.compile(FCODE_NAMED, re.IGNORECASE)
_WHAT_IS = re.compile(r"是什么|什么是|啥意思|什么意思|\bwhat(?:'s| is| are)\s+(?:an?\s+)?f\s*-?\s*codes?\b", re.IGNORECASE)


def asks_for_fcode(text: str) -> bool:
    """Whether a message asks for an F-code by name (not what one is, not a button)."""
    return not text.startswith("/") and bool(_FCODE.search(text)) and not _WHAT_IS.search(text)
RATING_INTENT = "csat"
ESCALATION_POLICY_PRIORITY = 7
# An escalation that only the NLU's human_handoff intent asked for, below this confidence, on a message that
# asks a question ("how do I get an invoice?"), yields to the answer path (docs/dialogue.md).
YIELD_BELOW = 0.9
# The rating intent below this confidence ("呵呵 真是好服务 五天了没人回" read as csat at 0.45) yields to the rules:
# a message that meets one is handed over, not asked for a number from 1 to 5.
RATING_SURE = 0.8


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class EscalationPolicy(Policy):
    """Hands the conversation to a person when `escalation.yml` says so (see module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": ESCALATION_POLICY_PRIORITY, "escalation_file": None}

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, featurizer: Any = None) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self._ctx = build_context()
        # Fail at start-up (not on the first message) when the file is broken.
        load_config(self._rules_path())

    def _rules_path(self) -> Path:
        """`escalation_file` of the policy's config, else the settings' (`CANYU_ESCALATION_FILE`, escalation.yml)."""
        explicit = self.config.get("escalation_file")
        return Path(explicit) if explicit else config_path(self._ctx.settings)

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        for action in (HANDOFF_ACTION, STORE_RATING_ACTION, LINK_ACTION):
            if action not in domain.action_names_or_texts:
                logger.warning("EscalationPolicy: '%s' is not in the domain; it will never be predicted", action)
        return self._resource

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: Optional[Dict[Text, Any]] = None, **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        action = self._decide(tracker)
        if action is not None and action in domain.action_names_or_texts:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)

    def _decide(self, tracker: DialogueStateTracker) -> Optional[str]:
        if tracker.is_paused():
            return None
        if tracker.latest_action_name in (STORE_RATING_ACTION, LINK_ACTION, FCODE_ACTION):
            return str(ACTION_LISTEN_NAME)  # a typed rating or code matches no rule: without this the fallback would loop
        if tracker.latest_action_name != ACTION_LISTEN_NAME:
            return None
        if not isinstance(tracker.latest_message, UserUttered) or tracker.latest_message.text is None:
            return None
        if self._in_handoff(tracker):
            return HANDOFF_ACTION  # a new session (or another instance's state) must not unpause it
        if self._answers_rating(tracker):
            return STORE_RATING_ACTION
        intent = (tracker.latest_message.intent or {}).get("name")
        confidence = float((tracker.latest_message.intent or {}).get("confidence") or 0.0)
        links = carries_link_code(tracker.latest_message.text)
        if intent == RATING_INTENT and confidence >= RATING_SURE and not links:  # "客服打5分": a rating, whatever words
            return STORE_RATING_ACTION
        try:
            escalation = assess(turns_from_events(tracker.events), load_config(self._rules_path()))
        except CanyuError as exc:  # a broken edit of escalation.yml must not stop the bot
            logger.error("EscalationPolicy: %s", exc)
            escalation = None
        if links and (escalation is None or not escalation.urgent):
            logger.info("EscalationPolicy: %s -> %s (a link code)", tracker.sender_id, LINK_ACTION)
            return LINK_ACTION
        if escalation is None and asks_for_fcode(tracker.latest_message.text):
            logger.info("EscalationPolicy: %s -> %s (an F-code asked for)", tracker.sender_id, FCODE_ACTION)
            return FCODE_ACTION
        if escalation is None:
            return STORE_RATING_ACTION if intent == RATING_INTENT else None
        if self._yields_to_answer_path(tracker, escalation):
            logger.info("EscalationPolicy: %s: %s only by the intent on a question; the answer path first",
                        tracker.sender_id, escalation.rule)
            return None
        if escalation.answer_first and self._not_a_task(tracker, escalation.cue):
            logger.info("EscalationPolicy: %s: %s on a question; the answer first, else a person",
                        tracker.sender_id, escalation.rule)
            return ANSWER_ACTION
        logger.info("EscalationPolicy: %s -> %s (%s, priority %s)", tracker.sender_id, HANDOFF_ACTION,
                    escalation.rule, escalation.priority)
        return HANDOFF_ACTION

    @staticmethod
    def _yields_to_answer_path(tracker: DialogueStateTracker, escalation: Escalation) -> bool:
        """Only the intent asked for a person (no keyword, no other rule), not surely, and the message is a
        question that names no order: the answer path answers it when an FAQ entry is clearly right, and
        hands off otherwise. "转人工" / "talk to a human" match keywords and hand off at once."""
        if escalation.also or not escalation.cue.startswith("intent "):
            return False
        if float((tracker.latest_message.intent or {}).get("confidence") or 0.0) >= YIELD_BELOW:
            return False
        return EscalationPolicy._asks(tracker)

    @staticmethod
    def _not_a_task(tracker: DialogueStateTracker, cue: str) -> bool:
        """A question, or a statement that says something besides the feeling ("bought the pro 4 days ago and it's
        already ¥300 cheaper wtf"; not "气死我了"), that names no order and asks for nothing to be done: the answer path
        answers it when the knowledge base clearly can."""
        message = tracker.latest_message
        text = message.text or ""
        if names_an_order(message.entities or []) or is_request(text):
            return False
        rest = text.replace(cue, " ") if cue else text
        return EscalationPolicy._asks(tracker) or len(CJK_CHAR.findall(rest)) >= 6 or len(latin_words(rest)) >= 6

    @staticmethod
    def _asks(tracker: DialogueStateTracker) -> bool:
        message = tracker.latest_message
        return only_asks_about_task(message.text or "", names_an_order(message.entities or []))

    def _in_handoff(self, tracker: DialogueStateTracker) -> bool:
        """Paused before the latest session start and never resumed, or queued/with an agent in Redis (as the
        tracker store saw it when it read this tracker under the conversation's lock, else asked now)."""
        for event in reversed(tracker.events):
            if isinstance(event, (ConversationResumed, Restarted)):
                return False
            if isinstance(event, ConversationPaused):
                return True
        noted = noted_handoff(tracker)
        if noted is not None:
            return noted
        try:
            return bool(self._ctx.redis.exists(keys.handoff(tracker.sender_id)))
        except Exception as exc:  # no Redis here (tests of the policy alone): trust the tracker
            logger.debug("EscalationPolicy: cannot read the handoff state: %s", exc)
            return False

    @staticmethod
    def _answers_rating(tracker: DialogueStateTracker) -> bool:
        """The user typed a rating right after being asked for one."""
        previous: Optional[str] = None
        seen_user = False
        for event in reversed(tracker.events):
            if isinstance(event, UserUttered):
                if seen_user:
                    break
                seen_user = True
            elif isinstance(event, ActionExecuted) and seen_user and event.action_name != ACTION_LISTEN_NAME:
                previous = event.action_name
                break
        if previous != ASK_RATING_ACTION:
            return False
        return parse_rating(tracker.latest_message.text or "") is not None
