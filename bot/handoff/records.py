"""What a handoff store holds and hands out: the record of one handed-off conversation, its states, and the
rules both stores share (the queue order, the tier and boost, the "someone is resolving it" error).

The Redis store (`bot.handoff.store.RedisHandoffStore`) and the in-memory one (`bot.handoff._memory`) keep a
record as the same text fields (`HandoffRecord.from_hash` reads both), so the two give back the same values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from bot.errors import StorageError
from bot.handoff.rules import EscalationConfig

__all__ = ["Clock", "Entry", "HandoffRecord", "QUEUED", "RESOLVED_CAP", "ResolveInProgress", "WITH_AGENT",
           "best_tier", "queue_score"]

QUEUED = "queued"
WITH_AGENT = "agent"
PRIORITY_SCALE = 1e10
RESOLVED_CAP = 5000
"""Summaries of finished handoffs kept (newest first)."""

Clock = Callable[[], float]
"""The time now, in seconds (`time.time`; tests pass their own)."""
Entry = Dict[str, Any]
"""A JSON object as stored: a history entry, a note, a rating, a resolved summary."""


def queue_score(priority: int, queued_at: float) -> float:
    """The waiting queue's order: highest priority first, then longest wait."""
    return -priority * PRIORITY_SCALE + queued_at


def best_tier(tier: str, config: EscalationConfig, fan: Optional[Tuple[str, int]]) -> Tuple[str, int]:
    """The larger of `tier` boosted by escalation.yml `tiers.boost` and the fan tier and boost (`fan`), which also
    names the tier when `tier` is empty."""
    best = (tier, int(config.tier_boost.get(tier, 0)))
    if fan is not None:
        fan_tier, fan_boost = fan
        if int(fan_boost) > best[1] or (not best[0] and fan_tier):
            best = (str(fan_tier), max(int(fan_boost), best[1]))
    return best


class ResolveInProgress(StorageError):
    """Someone is resolving this conversation right now; `agent` says who."""

    def __init__(self, sender_id: str, agent: str) -> None:
        self.sender_id = sender_id
        self.agent = agent
        super().__init__(f"{agent or 'another agent'} is resolving {sender_id} right now; "
                         "wait a few seconds and reload")


@dataclass(frozen=True)
class HandoffRecord:
    sender_id: str
    state: str
    rule: str
    reason: str
    cue: str
    priority: int
    urgent: bool
    tier: str
    channel: str
    language: str
    queued_at: float
    agent: str = ""
    claimed_at: float = 0.0
    timeout_notified: bool = False

    @classmethod
    def from_hash(cls, sender_id: str, data: Mapping[str, str]) -> "HandoffRecord":
        return cls(
            sender_id=sender_id, state=data.get("state", ""), rule=data.get("rule", ""),
            reason=data.get("reason", ""), cue=data.get("cue", ""), priority=int(data.get("priority") or 0),
            urgent=data.get("urgent") == "1", tier=data.get("tier", ""), channel=data.get("channel", ""),
            language=data.get("language", "en"), queued_at=float(data.get("queued_at") or 0),
            agent=data.get("agent", ""), claimed_at=float(data.get("claimed_at") or 0),
            timeout_notified=bool(data.get("timeout_notified")),
        )

    def as_dict(self, now: Optional[float] = None) -> Dict[str, Any]:
        now = time.time() if now is None else now
        data = dict(self.__dict__)
        data["waited_seconds"] = int(now - self.queued_at) if self.queued_at else 0
        return data
