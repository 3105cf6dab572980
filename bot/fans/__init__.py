"""Fans: one profile per person across channels, tiers from `fans.yml`, privileges, F-codes.

    rules = load_rules(rules_path(ctx.settings))      # fans.yml (CANYU_FANS_FILE), re-read when it changes
    tier, boost = priority_for("telegram:42", redis, rules)  # for the handoff queue (redis: ctx.redis)
    status = status_of("telegram:42", redis, rules)  # tier + why (rule, manual grant, default)
    code = create_link_code("wechat:oAbC", redis)    # "7KQ4M-9XDPH"; the user sends it from Telegram:
    redeem_link_code("telegram:42", code, redis)     # -> telegram:42 joins wechat:oAbC's profile
    grant_code("telegram:42", "band9-launch", redis, rules=rules)  # one F-code per person and launch

Trust: `is_verified_identity(sender_id)` is the one rule. Only `wechat:` and `telegram:` identities,
written by our platform connectors after checking the platform's signature, are counted toward tiers,
hold privileges and F-codes, and can link; the REST channel's ids (and legacy ids) cost nothing to
make, so they never do (a manual grant by staff still sets their place in the queue, nothing more).
Link codes have attempt limits (`LinkLocked`). Redis keys: `bot.fans._profiles`, `bot.fans._links` and `bot.fans._fcodes`.
Stores: `FanProfileStore` (`RedisFanProfiles`) and `LinkCodeStore` (`RedisLinkCodes`), with in-memory twins in
`bot.fans._memory` for unit tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING, Tuple

from bot.fans._explain import explain_status, queue_note
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
from bot.fans._identity import UnverifiedIdentity, is_verified_identity
from bot.fans._links import (
    LinkCodeStore,
    LinkLocked,
    RedisLinkCodes,
    create_link_code,
    find_link_code,
    redeem_link_code,
)
from bot.fans._profiles import (
    FanProfileStore,
    FanStatus,
    LinkError,
    RedisFanProfiles,
    add_points,
    grant_tier,
    identities,
    profile_id,
    revoke_tier,
    stats_of,
    status_of,
    sync_activity,
)
from bot.fans._rules import Tier, TierRules, load_rules, rules_path

if _TYPE_CHECKING:
    import redis

__all__ = [
    "AlreadyRedeemed", "FCodeError", "add_points", "FanProfileStore", "FanStatus", "Grant", "LinkCodeStore",
    "LinkError", "LinkLocked", "NotEligible", "PoolEmpty", "RedisFanProfiles", "RedisLinkCodes",
    "Tier", "TierRules", "UnknownCode", "UnverifiedIdentity", "add_codes", "campaigns", "code_info",
    "create_link_code", "explain_status", "find_link_code", "grant_code", "grant_tier", "has_privilege",
    "identities", "is_verified_identity", "load_rules", "pool_size", "priority_for", "profile_id", "queue_note", "rules_path",
    "redeem_code", "redeem_link_code", "redemptions", "revoke_tier", "stats_of", "status_of", "sync_activity",
    "tier_of",
]


def priority_for(sender_id: str, red: "redis.Redis[str]", rules: TierRules) -> Tuple[str, int]:
    """(tier id, queue boost) for the handoff queue: a higher boost goes first."""
    status = status_of(sender_id, red, rules)
    return status.tier.id, status.boost


def tier_of(sender_id: str, red: "redis.Redis[str]", rules: TierRules) -> str:
    """The person's tier id (e.g. "newcomer", "beta_tester")."""
    return status_of(sender_id, red, rules).tier.id


def has_privilege(sender_id: str, privilege: str, red: "redis.Redis[str]", rules: TierRules) -> bool:
    """Whether the person's tier gives `privilege` (e.g. "beta_answers" for knowledge entries about betas).

    An unverified identity (`is_verified_identity`) has none, except the queue place (`priority_queue`)
    of a tier a person on staff granted it by hand.
    """
    status = status_of(sender_id, red, rules)
    if not is_verified_identity(sender_id):
        return privilege == "priority_queue" and status.reason == "manual" and privilege in status.tier.privileges
    return privilege in status.tier.privileges
