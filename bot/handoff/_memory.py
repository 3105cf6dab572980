"""The in-memory twins of this package's Redis stores, for unit tests, with the same semantics.

- `MemoryHandoffStore` (`HandoffStorage`): records kept as the same text fields as the Redis hash, the queues in
  the Redis sorted sets' order (score, then sender id), the resolve mark and the pending rating expiring on
  `clock`, the resolved summaries newest first and capped;
- `MemoryAgentProfiles` (`AgentProfileStorage`); `MemoryPerkStore` (`PerkStorage`): a code handed out once.

Thread-safe (the action server and the console's threads use one store at once). tests/contracts/ runs the same
checks on these and on the Redis stores.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from bot import keys
from bot.errors import ConfigError, StorageError
from bot.handoff.agents import AgentProfile, checked_profile, profile_of
from bot.handoff.perks import Grant, NoCodesLeft
from bot.handoff.records import (
    QUEUED,
    RESOLVED_CAP,
    WITH_AGENT,
    Clock,
    Entry,
    HandoffRecord,
    ResolveInProgress,
    best_tier,
    queue_score,
)
from bot.handoff.rules import Escalation, EscalationConfig, estimate_wait_minutes, tier_priority

__all__ = ["MemoryAgentProfiles", "MemoryHandoffStore", "MemoryPerkStore"]


def _json(entry: Mapping[str, Any]) -> Entry:
    """`entry` as it reads back from JSON (tuples become lists)."""
    return dict(json.loads(json.dumps(entry, ensure_ascii=False)))


def _ordered(scores: Mapping[str, float]) -> List[str]:
    """Members in a Redis sorted set's order: by score, then by member."""
    return [m for m, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]))]


class MemoryHandoffStore:
    """The handoff state machine and queue in plain dicts (see `HandoffStorage`). `fan_priority` gives a user's
    fan tier and boost (the Redis store asks `bot.fans`); none by default."""

    def __init__(self, config: Optional[EscalationConfig] = None, clock: Clock = time.time,
                 fan_priority: Optional[Callable[[str], Tuple[str, int]]] = None) -> None:
        self._config = config
        self._clock = clock
        self._fan_priority = fan_priority
        self._lock = threading.RLock()
        self._records: Dict[str, Dict[str, str]] = {}
        self._waiting: Dict[str, float] = {}
        self._active: Dict[str, float] = {}
        self._agents: Dict[str, float] = {}
        self._log: Dict[str, List[Entry]] = {}
        self._notes: Dict[str, List[Entry]] = {}
        self._resolved: List[Entry] = []
        self._tiers: Dict[str, str] = {}
        self._pending: Dict[str, Tuple[Entry, float]] = {}
        self._resolving: Dict[str, Tuple[str, float]] = {}
        self._ratings: List[Entry] = []

    @property
    def config(self) -> EscalationConfig:
        if self._config is None:
            raise ConfigError("this handoff store was made without the escalation config; pass "
                              "MemoryHandoffStore(load_config(config_path(settings)))")
        return self._config

    def log_event(self, sender_id: str, what: str, **data: Any) -> None:
        with self._lock:
            self._log.setdefault(sender_id, []).append(_json({"what": what, "at": round(self._clock(), 3),
                                                              **data}))

    # --- reading -----------------------------------------------------------------------------------
    def get(self, sender_id: str) -> Optional[HandoffRecord]:
        with self._lock:
            data = self._records.get(sender_id)
            return HandoffRecord.from_hash(sender_id, dict(data)) if data else None

    def _records_of(self, members: Iterable[str]) -> List[HandoffRecord]:
        return [r for r in (self.get(s) for s in members) if r is not None]

    def waiting(self) -> List[HandoffRecord]:
        with self._lock:
            return self._records_of(_ordered(self._waiting))

    def active(self, agent: Optional[str] = None) -> List[HandoffRecord]:
        with self._lock:
            return [r for r in self._records_of(_ordered(self._active)) if agent is None or r.agent == agent]

    def ahead_of(self, sender_id: str) -> int:
        with self._lock:
            order = _ordered(self._waiting)
            return order.index(sender_id) if sender_id in order else 0

    def history(self, sender_id: str) -> List[Entry]:
        with self._lock:
            return [dict(e) for e in self._log.get(sender_id, [])]

    def resolved(self, limit: int = RESOLVED_CAP) -> List[Entry]:
        with self._lock:
            return [dict(e) for e in self._resolved[:max(limit, 1)]]

    def tier_of(self, sender_id: str, metadata: Optional[Mapping[str, Any]] = None) -> str:
        with self._lock:
            tier = self._tiers.get(sender_id)
        if not tier and metadata and self.config.trust_metadata_tier:
            tier = str(metadata.get("tier") or "")
        return tier or ""

    def set_tier(self, sender_id: str, tier: str) -> None:
        with self._lock:
            self._tiers[sender_id] = tier

    def tier_and_boost(self, sender_id: str, metadata: Optional[Mapping[str, Any]] = None) -> Tuple[str, int]:
        fan = self._fan_priority(sender_id) if self._fan_priority is not None else None
        return best_tier(self.tier_of(sender_id, metadata), self.config, fan)

    # --- agents ------------------------------------------------------------------------------------
    def heartbeat(self, agent: str, now: Optional[float] = None) -> None:
        with self._lock:
            self._agents[agent] = self._clock() if now is None else now

    def agents_online(self, now: Optional[float] = None) -> List[str]:
        since = (self._clock() if now is None else now) - self.config.agent_online_seconds
        with self._lock:
            return [a for a in _ordered(self._agents) if self._agents[a] >= since]

    def estimate_minutes(self, sender_id: str, now: Optional[float] = None) -> Optional[int]:
        return estimate_wait_minutes(self.ahead_of(sender_id), len(self.agents_online(now)), self.config)

    # --- transitions -------------------------------------------------------------------------------
    def enqueue(self, sender_id: str, escalation: Escalation, *, tier: str = "", boost: Optional[int] = None,
                channel: str = "", language: str = "en", now: Optional[float] = None) -> HandoffRecord:
        now = self._clock() if now is None else now
        priority = escalation.priority + boost if boost is not None else tier_priority(escalation.priority, tier,
                                                                                          self.config)
        with self._lock:
            current = self.get(sender_id)
            if current is not None:
                if current.state == QUEUED and priority > current.priority:
                    self._records[sender_id].update({
                        "priority": str(priority), "rule": escalation.rule, "reason": escalation.reason,
                        "cue": escalation.cue, "urgent": "1" if escalation.urgent else "0"})
                    self._waiting[sender_id] = queue_score(priority, current.queued_at)
                    self.log_event(sender_id, "raised", rule=escalation.rule, priority=priority)
                return self.get(sender_id) or current
            self._records[sender_id] = {
                "state": QUEUED, "rule": escalation.rule, "reason": escalation.reason, "cue": escalation.cue,
                "priority": str(priority), "urgent": "1" if escalation.urgent else "0", "tier": tier or "",
                "channel": channel or "", "language": language or "en", "queued_at": f"{now:.3f}",
            }
            self._waiting[sender_id] = queue_score(priority, now)
            self.log_event(sender_id, "queued", rule=escalation.rule, reason=escalation.reason, cue=escalation.cue,
                           priority=priority, also=list(escalation.also))
            record = self.get(sender_id)
        if record is None:
            raise StorageError(f"handoff for {sender_id} vanished right after it was queued")
        return record

    def claim(self, sender_id: str, agent: str, now: Optional[float] = None) -> bool:
        now = self._clock() if now is None else now
        with self._lock:
            data = self._records.get(sender_id)
            if data is None or data.get("state") != QUEUED:
                return False
            data.update({"state": WITH_AGENT, "agent": agent, "claimed_at": f"{now:.3f}"})
            self._waiting.pop(sender_id, None)
            self._active[sender_id] = float(f"{now:.3f}")
            self.log_event(sender_id, "claimed", agent=agent)
            return True

    def transfer(self, sender_id: str, to_agent: str, from_agent: str = "", now: Optional[float] = None) -> bool:
        now = self._clock() if now is None else now
        with self._lock:
            data = self._records.get(sender_id)
            if data is None or data.get("state") != WITH_AGENT:
                return False
            if from_agent and data.get("agent") != from_agent:
                return False
            data.update({"agent": to_agent, "claimed_at": f"{now:.3f}"})
            self._active[sender_id] = now
            self.log_event(sender_id, "transferred", by=from_agent, to=to_agent)
            return True

    def requeue(self, sender_id: str, by: str = "") -> bool:
        with self._lock:
            record = self.get(sender_id)
            if record is None or record.state != WITH_AGENT:
                return False
            self._records[sender_id].update({"state": QUEUED, "agent": "", "claimed_at": "0"})
            self._active.pop(sender_id, None)
            self._waiting[sender_id] = queue_score(record.priority, record.queued_at)
            self.log_event(sender_id, "requeued", by=by)
            return True

    def claim_signoff(self, sender_id: str) -> bool:
        with self._lock:
            data = self._records.setdefault(sender_id, {})  # as HSETNX: it makes the hash if there is none
            if "signoff_sent" in data:
                return False
            data["signoff_sent"] = "1"
            return True

    def begin_resolve(self, sender_id: str, agent: str, seconds: int) -> None:
        now = self._clock()
        with self._lock:
            mark = self._resolving.get(sender_id)
            if mark is not None and mark[1] > now:
                raise ResolveInProgress(sender_id, mark[0])
            self._resolving[sender_id] = (agent or "-", now + max(1, int(seconds)))

    def abort_resolve(self, sender_id: str) -> None:
        with self._lock:
            self._resolving.pop(sender_id, None)

    def resolve(self, sender_id: str, agent: str = "", now: Optional[float] = None) -> Optional[HandoffRecord]:
        now = self._clock() if now is None else now
        with self._lock:
            record = self.get(sender_id)
            if record is None:
                self.abort_resolve(sender_id)
                return None
            summary = dict(record.as_dict(now), resolved_by=agent, resolved_at=round(now, 3))
            del self._records[sender_id]
            self._waiting.pop(sender_id, None)
            self._active.pop(sender_id, None)
            self._resolved.insert(0, _json(summary))
            del self._resolved[RESOLVED_CAP:]
            self._pending[sender_id] = ({"agent": agent or record.agent, "resolved_at": round(now, 3)},
                                        self._clock() + keys.CSAT_PENDING_TTL_S)
            self._resolving.pop(sender_id, None)
            self.log_event(sender_id, "resolved", by=agent)
            return record

    # --- notes -------------------------------------------------------------------------------------
    def add_note(self, sender_id: str, agent: str, text: str) -> Entry:
        note: Entry = {"agent": agent, "text": text, "at": round(self._clock(), 3)}
        with self._lock:
            self._notes.setdefault(sender_id, []).append(_json(note))
        return note

    def notes(self, sender_id: str) -> List[Entry]:
        with self._lock:
            return [dict(n) for n in self._notes.get(sender_id, [])]

    # --- no-agent timeout --------------------------------------------------------------------------
    def due_for_timeout_notice(self, now: Optional[float] = None) -> List[HandoffRecord]:
        now = self._clock() if now is None else now
        due = []
        with self._lock:
            for record in self.waiting():
                if record.timeout_notified or now - record.queued_at < self.config.no_agent_timeout_seconds:
                    continue
                data = self._records[record.sender_id]
                if "timeout_notified" not in data:
                    data["timeout_notified"] = f"{now:.3f}"
                    self.log_event(record.sender_id, "timeout_notice")
                    due.append(record)
        return due

    # --- ratings -----------------------------------------------------------------------------------
    def record_rating(self, sender_id: str, rating: int, now: Optional[float] = None) -> Entry:
        now = self._clock() if now is None else now
        with self._lock:
            pending, until = self._pending.pop(sender_id, ({}, 0.0))
            agent = pending.get("agent", "") if until > self._clock() else ""
            entry: Entry = {"sender_id": sender_id, "rating": rating, "agent": agent, "at": round(now, 3)}
            self._ratings.append(_json(entry))
        return entry

    def ratings(self) -> List[Entry]:
        with self._lock:
            return [dict(r) for r in self._ratings]


class MemoryAgentProfiles:
    """Agent profiles in a dict; `console_display` gives a console user's display name (the Redis store reads
    `canyu:console_user:{agent}`), none by default."""

    def __init__(self, console_display: Optional[Callable[[str], Optional[str]]] = None) -> None:
        self._console_display = console_display
        self._lock = threading.Lock()
        self._profiles: Dict[str, Dict[str, str]] = {}

    def get(self, agent: str) -> AgentProfile:
        with self._lock:
            stored = dict(self._profiles.get(agent, {}))
        console = None
        if not (stored.get("display") or "").strip() and self._console_display is not None:
            console = self._console_display(agent)
        return profile_of(agent, stored, console)

    def save(self, agent: str, display: str, signoff: str) -> AgentProfile:
        display, signoff = checked_profile(display, signoff)
        with self._lock:
            self._profiles[agent] = {"display": display, "signoff": signoff}
        return self.get(agent)


class MemoryPerkStore:
    """Perk pools (sets of codes) and grants in plain sets, dicts and lists (see `PerkStorage`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: Dict[str, Set[str]] = {}
        self._used: Dict[str, Dict[str, str]] = {}
        self._grants: Dict[str, List[Grant]] = {}

    def add_codes(self, pool: str, codes: Iterable[str]) -> int:
        with self._lock:
            fresh = {c.strip() for c in codes if c.strip() and c.strip() not in self._used}
            kept = self._pools.setdefault(pool, set())
            added = fresh - kept
            kept.update(added)
            return len(added)

    def available(self, pool: str) -> int:
        with self._lock:
            return len(self._pools.get(pool, set()))

    def grant(self, pool: str, sender_id: str, agent: str, now: Optional[float] = None) -> Grant:
        at = round(time.time() if now is None else now, 3)
        with self._lock:
            codes = self._pools.get(pool)
            if not codes:
                raise NoCodesLeft(pool)
            code = codes.pop()
            self._used[code] = {"pool": pool, "sender_id": sender_id, "agent": agent, "at": str(at)}
            grant: Grant = {"pool": pool, "code": code, "agent": agent, "at": at}
            self._grants.setdefault(sender_id, []).append(dict(grant))
        return grant

    def grants(self, sender_id: str) -> List[Grant]:
        with self._lock:
            return [dict(g) for g in self._grants.get(sender_id, [])]
