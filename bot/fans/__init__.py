"""Fans: one profile per person across channels, tiers from `fans.yml`, privileges, F-codes.

    tier, boost = priority_for("telegram:42")        # for the handoff queue
    status = status_of("telegram:42")                # tier + why (rule, manual grant, default)
    code = create_link_code("wechat:oAbC")           # user sends it from Telegram:
    redeem_link_code("telegram:42", code)            # -> both identities are one person
    grant_code("telegram:42", "band9-launch")        # one F-code per person and launch

Redis keys: `bot.fans._profiles` and `bot.fans._fcodes`.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from bot.fans._fcodes import (
    AlreadyRedeemed,
    FCodeError,
    Grant,
    NotEligible,
    PoolEmpty,
    UnknownCode,
    add_codes,
    campaigns,
    code_info,
    grant_code,
    pool_size,
    redeem_code,
    redemptions,
)
from bot.fans._explain import explain_status, queue_note
from bot.fans._profiles import (
    FanStatus,
    LinkError,
    create_link_code,
    grant_tier,
    identities,
    profile_id,
    redeem_link_code,
    revoke_tier,
    stats_of,
    status_of,
    sync_activity,
)
from bot.fans._rules import Tier, TierRules, load_rules

__all__ = [
    "AlreadyRedeemed", "FCodeError", "FanStatus", "Grant", "LinkError", "NotEligible", "PoolEmpty", "Tier",
    "TierRules", "UnknownCode", "add_codes", "campaigns", "code_info", "create_link_code", "explain_status",
    "grant_code", "grant_tier", "has_privilege", "identities", "load_rules", "pool_size", "priority_for", "profile_id",
    "queue_note", "redeem_code", "redeem_link_code", "redemptions", "revoke_tier", "stats_of", "status_of",
    "sync_activity", "tier_of",
]


def priority_for(sender_id: str, red: Any = None) -> Tuple[str, int]:
    """(tier id, queue boost) for the handoff queue: a higher boost goes first."""
    status = status_of(sender_id, red)
    return status.tier.id, status.boost


def tier_of(sender_id: str, red: Any = None) -> str:
    """The person's tier id (e.g. "newcomer", "beta_tester")."""
    return status_of(sender_id, red).tier.id


def has_privilege(sender_id: str, privilege: str, red: Any = None) -> bool:
    """Whether the person's tier gives `privilege` (e.g. "beta_answers" for knowledge entries about betas)."""
    return privilege in status_of(sender_id, red).tier.privileges
