"""`action_handoff`: put the conversation in the agents' queue, tell the user honestly, pause the bot.

The reason comes from the same `assess` the EscalationPolicy uses (escalation.yml); when the action was
predicted some other way (a rule on `human_handoff`, the fallback's offer) the reason is "asked for a
person". While paused, Rasa keeps logging the user's messages but predicts nothing; the agent console
resumes the conversation when the agent resolves it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions.common import tracker_language
from bot.errors import CanyuError
from bot.fans import TierRules, load_rules, queue_note, rules_path
from bot.handoff.rules import Escalation, EscalationConfig, assess, config_path, load_config, turns_from_events
from bot.handoff.store import HandoffStore

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)


def _fan_rules(settings: "Settings") -> Optional[TierRules]:
    """The fan tiers (fans.yml); None when the file is broken: fans are optional and must not block a handoff."""
    try:
        return load_rules(rules_path(settings))
    except CanyuError as exc:
        logger.warning("handoff: no fan tiers: %s", exc)
        return None


def _escalation_for(tracker: Tracker, config: EscalationConfig) -> Escalation:
    found = assess(turns_from_events(tracker.events), config)
    if found is not None:
        return found
    explicit = config.rule("explicit_request")
    return Escalation(
        rule="explicit_request" if explicit else "requested",
        reason=explicit.reason if explicit else "Asked for a person",
        priority=explicit.priority if explicit else 20,
        urgent=False,
        cue=f"predicted ({(tracker.latest_message.get('intent') or {}).get('name') or 'no intent'})",
    )


def _close_form(tracker: Tracker) -> List[Dict[Text, Any]]:
    """A handoff ends any form in progress, so the next message after the agent is not taken as its answer."""
    if (tracker.active_loop or {}).get("name"):
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
    return []


class ActionHandoff(WithContext, Action):
    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        config = load_config(config_path(self.ctx.settings))
        escalation = _escalation_for(tracker, config)
        fan_rules = _fan_rules(self.ctx.settings)
        store = HandoffStore(self.ctx.redis, config, fan_rules=fan_rules)
        metadata = tracker.latest_message.get("metadata") or {}
        existing = store.get(tracker.sender_id)
        if existing is not None:  # still waiting or with an agent (e.g. a new Rasa session): pause again
            if existing.state == "queued":
                dispatcher.utter_message(response="utter_handoff_still_queued")
            return [*_close_form(tracker), ConversationPaused()]
        tier, boost = store.tier_and_boost(tracker.sender_id, metadata)
        record = store.enqueue(
            tracker.sender_id, escalation, tier=tier, boost=boost,
            channel=tracker.get_latest_input_channel() or "",
            language=tracker_language(tracker),
        )
        minutes = store.estimate_minutes(tracker.sender_id)
        logger.info("handoff %s: %s (%s), priority %s, wait %s min", tracker.sender_id, record.rule,
                    record.cue, record.priority, minutes)
        if record.urgent:
            dispatcher.utter_message(response="utter_handoff_urgent")
        if minutes is None:
            dispatcher.utter_message(response="utter_handoff_no_agents")
        else:
            ahead = store.ahead_of(tracker.sender_id)
            dispatcher.utter_message(response="utter_handoff_queued", minutes=minutes, ahead=ahead)
        note = "" if fan_rules is None else queue_note(tracker.sender_id, record.language or tracker_language(tracker),
                                                       store.redis, rules=fan_rules)
        if note:  # a fan tier put them ahead: say so
            dispatcher.utter_message(text=note)
        return [*_close_form(tracker), SlotSet("handoff_reason", record.rule), ConversationPaused()]
