"""Handoff state and the agents' queue in Redis, shared by every Rasa instance, action server and console.

A conversation is `bot` (no key), `queued` or `agent` (claimed by a person). Transitions:
bot → queued (`enqueue`, by action_handoff) → agent (`claim`, or `transfer` to another agent) → bot (`resolve`).

`HandoffStorage` is what callers use; `RedisHandoffStore` (also named `HandoffStore`, as most callers build it)
keeps it in Redis, `bot.handoff._memory.MemoryHandoffStore` in memory for unit tests; tests/contracts/
test_handoff.py runs the same checks on both. Redis errors leave the Redis store as `StorageError`.

Resolving is two-phase so that it can be retried: `begin_resolve` marks one resolve in progress (a key
with a time limit, so a crashed console does not block it for ever), the caller resumes Rasa, and only then
`resolve` removes the record; if Rasa fails, `abort_resolve` drops the mark and the record stays, so the
agent can try again. `resolve` of a record that is already gone changes nothing and returns None.

Redis keys (owned here; names and TTLs in bot/keys.py):
- `canyu:handoff:{sender_id}` hash: `state` (queued|agent), `rule`, `reason`, `cue`, `priority`, `urgent`,
  `tier`, `channel`, `language`, `queued_at`, `agent`, `claimed_at`, `timeout_notified`, `signoff_sent`
- `canyu:handoff_queue:waiting` sorted set of queued sender ids; score = -priority * 1e10 + queued_at, so
  ZRANGE gives highest priority first, then longest wait
- `canyu:handoff_queue:active` sorted set of sender ids with an agent; score = claimed_at
- `canyu:handoff_log:{sender_id}` list of JSON history entries (queued, claimed, transferred, resolved, ...)
- `canyu:handoff_notes:{sender_id}` list of JSON private notes `{agent, text, at}` (never shown to the user)
- `canyu:handoff_agents` sorted set agent name → last time their console checked in
- `canyu:handoff_resolved` list of JSON summaries of finished handoffs (newest first, capped)
- `canyu:tier:{sender_id}` string: the user's tier (vip, fan, ...) written by a CRM sync or an admin
- `canyu:csat_pending:{sender_id}` JSON `{agent, resolved_at}`: a rating is expected (1 day)
- `canyu:handoff_resolving:{sender_id}` string: the agent resolving it right now (expires; see `begin_resolve`)
- `canyu:csat:log` list of JSON ratings `{sender_id, rating, agent, at}`
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Protocol, Tuple, Union

from bot import keys
from bot.errors import ConfigError, StorageError
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
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

    from bot.fans import TierRules

__all__ = ["HandoffRecord", "HandoffStorage", "HandoffStore", "QUEUED", "RedisHandoffStore", "ResolveInProgress",
           "WITH_AGENT"]

logger = logging.getLogger(__name__)

_CLAIM = """
if redis.call('HGET', KEYS[1], 'state') ~= 'queued' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'agent', 'agent', ARGV[1], 'claimed_at', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return 1
"""

_RESOLVE = """
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('LPUSH', KEYS[4], ARGV[2])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[3]) - 1)
redis.call('SET', KEYS[5], ARGV[4], 'EX', ARGV[5])
redis.call('DEL', KEYS[6])
return 1
"""

_TRANSFER = """
if redis.call('HGET', KEYS[1], 'state') ~= 'agent' then return 0 end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'agent') ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'agent', ARGV[2], 'claimed_at', ARGV[3])
return 1
"""


class HandoffStorage(Protocol):
    """The handoff state machine and queue (see the module docstring for the states and transitions)."""

    @property
    def config(self) -> EscalationConfig: ...

    def log_event(self, sender_id: str, what: str, **data: Any) -> None: ...

    def get(self, sender_id: str) -> Optional[HandoffRecord]: ...

    def waiting(self) -> List[HandoffRecord]: ...

    def active(self, agent: Optional[str] = None) -> List[HandoffRecord]: ...

    def ahead_of(self, sender_id: str) -> int: ...

    def history(self, sender_id: str) -> List[Entry]: ...

    def resolved(self, limit: int = RESOLVED_CAP) -> List[Entry]: ...

    def tier_of(self, sender_id: str, metadata: Optional[Mapping[str, Any]] = None) -> str: ...

    def tier_and_boost(self, sender_id: str, metadata: Optional[Mapping[str, Any]] = None) -> Tuple[str, int]: ...

    def set_tier(self, sender_id: str, tier: str) -> None: ...

    def heartbeat(self, agent: str, now: Optional[float] = None) -> None: ...

    def agents_online(self, now: Optional[float] = None) -> List[str]: ...

    def estimate_minutes(self, sender_id: str, now: Optional[float] = None) -> Optional[int]: ...

    def enqueue(self, sender_id: str, escalation: Escalation, *, tier: str = "", boost: Optional[int] = None,
                channel: str = "", language: str = "en", now: Optional[float] = None) -> HandoffRecord: ...

    def claim(self, sender_id: str, agent: str, now: Optional[float] = None) -> bool: ...

    def transfer(self, sender_id: str, to_agent: str, from_agent: str = "", now: Optional[float] = None) -> bool: ...

    def requeue(self, sender_id: str, by: str = "") -> bool: ...

    def claim_signoff(self, sender_id: str) -> bool: ...

    def begin_resolve(self, sender_id: str, agent: str, seconds: int) -> None: ...

    def abort_resolve(self, sender_id: str) -> None: ...

    def resolve(self, sender_id: str, agent: str = "", now: Optional[float] = None) -> Optional[HandoffRecord]: ...

    def add_note(self, sender_id: str, agent: str, text: str) -> Entry: ...

    def notes(self, sender_id: str) -> List[Entry]: ...

    def due_for_timeout_notice(self, now: Optional[float] = None) -> List[HandoffRecord]: ...

    def record_rating(self, sender_id: str, rating: int, now: Optional[float] = None) -> Entry: ...

    def ratings(self) -> List[Entry]: ...


def _entries(raw: List[str]) -> List[Entry]:
    return [dict(json.loads(x)) for x in raw]


@maps_redis_errors
class RedisHandoffStore:
    """The handoff state machine and queue on one Redis (`redis.Redis` with decoded responses)."""

    def __init__(self, redis: "redis.Redis[str]", config: Optional[EscalationConfig] = None,
                 clock: Clock = time.time, fan_rules: Optional["TierRules"] = None) -> None:
        """`fan_rules`: the fan tiers (`bot.fans.load_rules(rules_path(settings))`) whose queue boost counts when
        a user is queued; None: fan tiers are not looked up (a store that does not queue)."""
        self.redis = redis
        self._config = config
        self._fan_rules = fan_rules
        self._clock = clock
        self._claim = redis.register_script(_CLAIM)
        self._transfer = redis.register_script(_TRANSFER)
        self._resolve = redis.register_script(_RESOLVE)

    @property
    def config(self) -> EscalationConfig:
        """The escalation config handed in (`load_config(config_path(ctx.settings))`): tiers, waits, timeouts."""
        if self._config is None:
            raise ConfigError("this handoff store was made without the escalation config; pass "
                              "HandoffStore(redis, load_config(config_path(settings)))")
        return self._config

    # --- keys --------------------------------------------------------------------------------------
    @staticmethod
    def key(sender_id: str) -> str:
        return keys.handoff(sender_id)

    WAITING = keys.HANDOFF_WAITING
    ACTIVE = keys.HANDOFF_ACTIVE
    AGENTS = keys.HANDOFF_AGENTS
    RESOLVED = keys.HANDOFF_RESOLVED

    def _log(self, sender_id: str, what: str, **data: Any) -> None:
        entry = {"what": what, "at": round(self._clock(), 3), **data}
        self.redis.rpush(keys.handoff_log(sender_id), json.dumps(entry, ensure_ascii=False))

    def log_event(self, sender_id: str, what: str, **data: Any) -> None:
        """Add an entry to the conversation's handoff history (perks, feedback filed, ...)."""
        self._log(sender_id, what, **data)

    # --- reading -----------------------------------------------------------------------------------
    def get(self, sender_id: str) -> Optional[HandoffRecord]:
        data = self.redis.hgetall(self.key(sender_id))
        return HandoffRecord.from_hash(sender_id, data) if data else None

    def waiting(self) -> List[HandoffRecord]:
        """Queued conversations, highest priority first, then longest wait."""
        return [r for r in (self.get(s) for s in self.redis.zrange(self.WAITING, 0, -1)) if r is not None]

    def active(self, agent: Optional[str] = None) -> List[HandoffRecord]:
        """Conversations with an agent (of `agent` only, if given), longest claimed first."""
        records = [r for r in (self.get(s) for s in self.redis.zrange(self.ACTIVE, 0, -1)) if r is not None]
        return [r for r in records if agent is None or r.agent == agent]

    def ahead_of(self, sender_id: str) -> int:
        rank = self.redis.zrank(self.WAITING, sender_id)
        return int(rank) if rank is not None else 0

    def history(self, sender_id: str) -> List[Entry]:
        return _entries(self.redis.lrange(keys.handoff_log(sender_id), 0, -1))

    def resolved(self, limit: int = RESOLVED_CAP) -> List[Entry]:
        """Summaries of finished handoffs, newest first (at most `limit`)."""
        return _entries(self.redis.lrange(self.RESOLVED, 0, max(limit, 1) - 1))

    def tier_of(self, sender_id: str, metadata: Optional[Mapping[str, Any]] = None) -> str:
        tier = self.redis.get(keys.tier(sender_id))
        if not tier and metadata and self.config.trust_metadata_tier:
            tier = str(metadata.get("tier") or "")
        return tier or ""

    def set_tier(self, sender_id: str, tier: str) -> None:
        """What a CRM sync or an admin writes (`canyu:tier:{sender_id}`)."""
        self.redis.set(keys.tier(sender_id), tier)

    def tier_and_boost(self, sender_id: str, metadata: Optional[Mapping[str, Any]] = None) -> Tuple[str, int]:
        """The user's tier and queue boost: the larger of the fan tier (`bot.fans`, fans.yml `queue_boost`)
        and the `canyu:tier:{sender_id}` tier boosted by escalation.yml `tiers.boost`."""
        fan: Optional[Tuple[str, int]] = None
        try:
            if self._fan_rules is not None:
                from bot.fans import priority_for

                fan_tier, fan_boost = priority_for(sender_id, self.redis, self._fan_rules)
                fan = (str(fan_tier), int(fan_boost))
        except Exception as exc:  # fans are optional: a broken fans.yml must not block a handoff
            logger.warning("handoff: no fan tier for %s: %s", sender_id, exc)
        return best_tier(self.tier_of(sender_id, metadata), self.config, fan)

    # --- agents ------------------------------------------------------------------------------------
    def heartbeat(self, agent: str, now: Optional[float] = None) -> None:
        self.redis.zadd(self.AGENTS, {agent: self._clock() if now is None else now})

    def agents_online(self, now: Optional[float] = None) -> List[str]:
        now = self._clock() if now is None else now
        return list(self.redis.zrangebyscore(self.AGENTS, now - self.config.agent_online_seconds, "+inf"))

    def estimate_minutes(self, sender_id: str, now: Optional[float] = None) -> Optional[int]:
        return estimate_wait_minutes(self.ahead_of(sender_id), len(self.agents_online(now)), self.config)

    # --- transitions -------------------------------------------------------------------------------
    def enqueue(self, sender_id: str, escalation: Escalation, *, tier: str = "", boost: Optional[int] = None,
                channel: str = "", language: str = "en", now: Optional[float] = None) -> HandoffRecord:
        """bot → queued, at the rule's priority plus `boost` (default: escalation.yml's boost for `tier`).
        If already queued or with an agent, keep it (raising the priority if higher)."""
        now = self._clock() if now is None else now
        priority = escalation.priority + boost if boost is not None else tier_priority(escalation.priority, tier,
                                                                                          self.config)
        current = self.get(sender_id)
        if current is not None:
            if current.state == QUEUED and priority > current.priority:
                self.redis.hset(self.key(sender_id), mapping={"priority": priority, "rule": escalation.rule,
                                                              "reason": escalation.reason, "cue": escalation.cue,
                                                              "urgent": "1" if escalation.urgent else "0"})
                self.redis.zadd(self.WAITING, {sender_id: queue_score(priority, current.queued_at)})
                self._log(sender_id, "raised", rule=escalation.rule, priority=priority)
            return self.get(sender_id) or current
        mapping: Dict[Union[str, bytes], Union[str, int]] = {
            "state": QUEUED, "rule": escalation.rule, "reason": escalation.reason, "cue": escalation.cue,
            "priority": priority, "urgent": "1" if escalation.urgent else "0", "tier": tier or "",
            "channel": channel or "", "language": language or "en", "queued_at": f"{now:.3f}",
        }
        pipe = self.redis.pipeline()
        pipe.hset(self.key(sender_id), mapping=mapping)
        pipe.zadd(self.WAITING, {sender_id: queue_score(priority, now)})
        pipe.execute()
        self._log(sender_id, "queued", rule=escalation.rule, reason=escalation.reason, cue=escalation.cue,
                  priority=priority, also=list(escalation.also))
        record = self.get(sender_id)
        if record is None:
            raise StorageError(f"handoff for {sender_id} vanished right after it was queued")
        return record

    def claim(self, sender_id: str, agent: str, now: Optional[float] = None) -> bool:
        """queued → agent; False if someone else was faster or it is not queued."""
        now = self._clock() if now is None else now
        ok = bool(self._claim(keys=[self.key(sender_id), self.WAITING, self.ACTIVE],
                              args=[agent, f"{now:.3f}", sender_id]))
        if ok:
            self._log(sender_id, "claimed", agent=agent)
        return ok

    def transfer(self, sender_id: str, to_agent: str, from_agent: str = "", now: Optional[float] = None) -> bool:
        """Give a claimed conversation to `to_agent` (only its current agent may, unless from_agent is '')."""
        now = self._clock() if now is None else now
        result = int(self._transfer(keys=[self.key(sender_id)], args=[from_agent, to_agent, f"{now:.3f}"]))
        if result == 1:
            self.redis.zadd(self.ACTIVE, {sender_id: now})
            self._log(sender_id, "transferred", by=from_agent, to=to_agent)
        return result == 1

    def requeue(self, sender_id: str, by: str = "") -> bool:
        """agent → queued again (an agent hands it back)."""
        record = self.get(sender_id)
        if record is None or record.state != WITH_AGENT:
            return False
        pipe = self.redis.pipeline()
        pipe.hset(self.key(sender_id), mapping={"state": QUEUED, "agent": "", "claimed_at": "0"})
        pipe.zrem(self.ACTIVE, sender_id)
        pipe.zadd(self.WAITING, {sender_id: queue_score(record.priority, record.queued_at)})
        pipe.execute()
        self._log(sender_id, "requeued", by=by)
        return True

    def claim_signoff(self, sender_id: str) -> bool:
        """True once per handoff: the caller sends the agent's sign-off."""
        return bool(self.redis.hsetnx(self.key(sender_id), "signoff_sent", "1"))

    @staticmethod
    def _resolving_key(sender_id: str) -> str:
        return keys.handoff_resolving(sender_id)

    def begin_resolve(self, sender_id: str, agent: str, seconds: int) -> None:
        """Mark a resolve of `sender_id` in progress for at most `seconds`; ResolveInProgress if one already is."""
        if not self.redis.set(self._resolving_key(sender_id), agent or "-", nx=True, ex=max(1, int(seconds))):
            raise ResolveInProgress(sender_id, str(self.redis.get(self._resolving_key(sender_id)) or ""))

    def abort_resolve(self, sender_id: str) -> None:
        """The resolve failed before `resolve`: drop the mark so it can be tried again."""
        self.redis.delete(self._resolving_key(sender_id))

    def resolve(self, sender_id: str, agent: str = "", now: Optional[float] = None) -> Optional[HandoffRecord]:
        """queued/agent → bot: the record is removed and summarised in `canyu:handoff_resolved` (atomically).

        Returns the removed record, or None (and changes nothing) when it was already gone."""
        now = self._clock() if now is None else now
        record = self.get(sender_id)
        if record is None:
            self.abort_resolve(sender_id)
            return None
        summary = dict(record.as_dict(now), resolved_by=agent, resolved_at=round(now, 3))
        csat = json.dumps({"agent": agent or record.agent, "resolved_at": round(now, 3)})
        removed = self._resolve(
            keys=[self.key(sender_id), self.WAITING, self.ACTIVE, self.RESOLVED,
                  keys.csat_pending(sender_id), self._resolving_key(sender_id)],
            args=[sender_id, json.dumps(summary, ensure_ascii=False), RESOLVED_CAP, csat, keys.CSAT_PENDING_TTL_S],
        )
        if not removed:
            return None
        self._log(sender_id, "resolved", by=agent)
        return record

    # --- notes -------------------------------------------------------------------------------------
    def add_note(self, sender_id: str, agent: str, text: str) -> Entry:
        note: Entry = {"agent": agent, "text": text, "at": round(self._clock(), 3)}
        self.redis.rpush(keys.handoff_notes(sender_id), json.dumps(note, ensure_ascii=False))
        return note

    def notes(self, sender_id: str) -> List[Entry]:
        return _entries(self.redis.lrange(keys.handoff_notes(sender_id), 0, -1))

    # --- no-agent timeout --------------------------------------------------------------------------
    def due_for_timeout_notice(self, now: Optional[float] = None) -> List[HandoffRecord]:
        """Queued longer than the configured timeout and not told yet; each is returned to one caller only."""
        now = self._clock() if now is None else now
        due = []
        for record in self.waiting():
            if record.timeout_notified or now - record.queued_at < self.config.no_agent_timeout_seconds:
                continue
            if self.redis.hsetnx(self.key(record.sender_id), "timeout_notified", f"{now:.3f}"):
                self._log(record.sender_id, "timeout_notice")
                due.append(record)
        return due

    # --- ratings -----------------------------------------------------------------------------------
    def record_rating(self, sender_id: str, rating: int, now: Optional[float] = None) -> Entry:
        """Log a 1-5 rating with the agent of the handoff it follows (when one was resolved in the last day)."""
        now = self._clock() if now is None else now
        raw = self.redis.get(keys.csat_pending(sender_id))
        pending = json.loads(raw) if raw else {}
        entry: Entry = {"sender_id": sender_id, "rating": rating, "agent": pending.get("agent", ""),
                        "at": round(now, 3)}
        self.redis.rpush(keys.CSAT_LOG, json.dumps(entry, ensure_ascii=False))
        self.redis.delete(keys.csat_pending(sender_id))
        return entry

    def ratings(self) -> List[Entry]:
        """Every logged rating, oldest first (`canyu:csat:log`)."""
        return _entries(self.redis.lrange(keys.CSAT_LOG, 0, -1))


HandoffStore = RedisHandoffStore
"""The name most callers build the Redis store by (`HandoffStore(redis)`)."""
