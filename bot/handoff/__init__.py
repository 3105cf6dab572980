"""Human handoff: the escalation rules (`escalation.yml`), the Redis state machine and queue, perks.

    from bot.handoff import assess, turns_from_events, HandoffStore
"""

from __future__ import annotations

from bot.handoff.rules import (
    Escalation,
    EscalationConfig,
    Turn,
    assess,
    estimate_wait_minutes,
    load_config,
    parse_rating,
    turns_from_events,
)
from bot.handoff.store import QUEUED, WITH_AGENT, HandoffRecord, HandoffStore

__all__ = [
    "Escalation",
    "EscalationConfig",
    "Turn",
    "assess",
    "estimate_wait_minutes",
    "load_config",
    "parse_rating",
    "turns_from_events",
    "HandoffRecord",
    "HandoffStore",
    "QUEUED",
    "WITH_AGENT",
]
