"""Fan identity in chat: linking two identities, explaining the tier, granting early-access codes (F-codes).

Split from `feedback.py` (same helpers); answers come from `responses/fans.yml`.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions._feedback_turn import _language, _say, _text

logger = logging.getLogger(__name__)

__all__ = ["ActionLinkIdentity", "ActionExplainTier", "ActionGrantFCode"]


class ActionLinkIdentity(WithContext, Action):
    """Without a code: give one. With a code: link this identity to the person who asked for it.

    Only WeChat and Telegram identities link (`bot.fans.is_verified_identity`); too many wrong codes
    lock this identity (or, under a flood, everyone) out for a while.
    """

    def name(self) -> Text:
        return "action_link_identity"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.fans import (
            LinkError,
            LinkLocked,
            UnverifiedIdentity,
            create_link_code,
            find_link_code,
            redeem_link_code,
        )

        language = _language(tracker)
        code = find_link_code(_text(tracker))
        try:
            if code:
                redeem_link_code(tracker.sender_id, code, self.ctx.redis)
                _say(dispatcher, tracker, domain, "utter_link_done", language)
            else:
                _say(dispatcher, tracker, domain, "utter_link_code", language,
                     code=create_link_code(tracker.sender_id, self.ctx.redis))
        except UnverifiedIdentity:
            _say(dispatcher, tracker, domain, "utter_link_unverified", language)
        except LinkLocked as locked:
            logger.warning("fans: link codes locked (%s) for %s, %d s left", locked.scope, tracker.sender_id,
                           locked.retry_after)
            _say(dispatcher, tracker, domain, "utter_link_locked" if locked.scope == "sender" else "utter_link_busy",
                 language, minutes=locked.minutes)
        except LinkError:
            _say(dispatcher, tracker, domain, "utter_link_failed", language)
        return []


class ActionExplainTier(WithContext, Action):
    """"What's my tier?", "Why am I first in line?": the tier, the honest reason, the privileges."""

    def name(self) -> Text:
        return "action_explain_tier"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.fans import explain_status, load_rules, rules_path

        rules = load_rules(rules_path(self.ctx.settings))
        dispatcher.utter_message(text=explain_status(tracker.sender_id, _language(tracker), self.ctx.redis,
                                                     rules=rules))
        return []


class ActionGrantFCode(WithContext, Action):
    """One early-access code per person and launch, from the newest campaign that still has codes
    (WeChat and Telegram identities only)."""

    def name(self) -> Text:
        return "action_grant_fcode"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        from bot.fans import (
            NotEligible,
            PoolEmpty,
            UnverifiedIdentity,
            campaigns,
            grant_code,
            load_rules,
            rules_path,
            status_of,
        )

        language = _language(tracker)
        known = campaigns(self.ctx.redis)
        if not known:
            _say(dispatcher, tracker, domain, "utter_fcode_no_campaign", language)
            return []
        campaign, meta = max(known.items(), key=lambda kv: kv[1].get("created", 0))
        title = meta.get(f"title_{language}") or meta.get("title_en") or campaign
        rules = load_rules(rules_path(self.ctx.settings))
        try:
            grant = grant_code(tracker.sender_id, campaign, self.ctx.redis, rules=rules)
        except UnverifiedIdentity:
            _say(dispatcher, tracker, domain, "utter_fcode_unverified", language)
            return []
        except NotEligible:
            tier = status_of(tracker.sender_id, self.ctx.redis, rules).tier
            _say(dispatcher, tracker, domain, "utter_fcode_not_eligible", language, tier=tier.name(language))
            return []
        except PoolEmpty:
            _say(dispatcher, tracker, domain, "utter_fcode_none_left", language)
            return []
        _say(dispatcher, tracker, domain, "utter_fcode_granted" if grant.new else "utter_fcode_again", language,
                                 campaign=title, code=grant.code)
        return []
