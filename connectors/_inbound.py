"""At-least-once in, exactly-once out: the life of one platform message, in Redis.

Every message a platform pushes (a WeChat `MsgId`, a Telegram `update_id`) gets a record keyed by the
channel and the platform's id, moved only by atomic Lua scripts:

    received ──claim──▶ processing (owner + lease) ──finish──▶ answered (reply kept ~1 day)
       ▲                    │  lease expired: the owner crashed; the next claim takes it over
       └──────fail──────────┘  (released: processed again by a redelivery or by the recovery sweep)

`claim(msg_id, payload)` answers what the caller should do (`Claim.state`):
- `mine`: new, released, or its lease expired: process it (`Claim.reply` is set when a crashed owner had
  already recorded the reply: send that instead of asking Rasa again);
- `busy`: another processor holds a live lease (a redelivery while processing): wait (`wait`) or leave it;
- `answered`: done; `Claim.reply` is the recorded reply (and `Claim.late` whether it went out late);
- `failed`: given up after `MAX_ATTEMPTS` tries (kept for a day, counted).

The processor renews its lease while it works (`renew`, or `keep_alive`), records the reply before it sends
it (`save_reply`, then `sent` after each message that went out) and closes with `finish`, or with `fail`
which releases the message for a retry. Leases are short (`DEFAULT_LEASE_S`) and renewed, so a crashed
processor's messages are taken over within seconds, before WeChat's last retry.

Redis keys (owned here, named in bot/keys.py; the record holds the user's words and sender id, kept `KEEP_S`):
- `canyu:inbound:{channel}:{msg_id}` hash: `state`, `owner`, `lease_until`, `attempts`, `received_at`,
  `payload` (JSON), `reply` (JSON list of messages), `sent` (how many of them went out), `late` ("1" when
  the answer goes through the platform's send API instead of the HTTP response), `error`;
- `canyu:inbound:{channel}:due` sorted set: unfinished message ids, scored by when the recovery sweep should
  look at them again (lease expiry, retry time).
Times are Redis's own clock (`TIME`), so processes on different hosts agree on lease expiry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from bot import keys

__all__ = ["Claim", "InboundStore", "DEFAULT_LEASE_S", "KEEP_S", "MAX_ATTEMPTS"]

logger = logging.getLogger(__name__)

DEFAULT_LEASE_S = 8.0
"""A processor's lease; renewed every third of it while it works, so only a dead one lets it expire."""
KEEP_S = keys.INBOUND_KEEP_S
"""How long a record lives (answered messages answer redeliveries from it for this long)."""
MAX_ATTEMPTS = 3
"""Processing attempts (first try, crash take-overs, retries after `fail`) before a message is given up."""
RETRY_AFTER_S = 5.0
"""How long a released message waits before the recovery sweep takes it again."""
POLL_S = 0.1

# KEYS[1] record, KEYS[2] due set; ARGV: msg_id, owner, lease, keep, payload, max_attempts
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HGET', KEYS[1], 'state')
local lease = tonumber(ARGV[3])
if state == 'answered' or state == 'failed' then
  return {state, redis.call('HGET', KEYS[1], 'reply') or '', redis.call('HGET', KEYS[1], 'late') or '',
          redis.call('HGET', KEYS[1], 'payload') or '', redis.call('HGET', KEYS[1], 'sent') or '0', '0'}
end
if state == 'processing' and tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0') > now then
  return {'busy', '', redis.call('HGET', KEYS[1], 'late') or '', '', '0', '0'}
end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if state and attempts >= tonumber(ARGV[6]) then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'owner', '')
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'failed', '', '', redis.call('HGET', KEYS[1], 'payload') or '', '0', '0'}
end
if not state then
  redis.call('HSET', KEYS[1], 'received_at', tostring(now), 'payload', ARGV[5])
elseif ARGV[5] ~= '' and not redis.call('HGET', KEYS[1], 'payload') then
  redis.call('HSET', KEYS[1], 'payload', ARGV[5])
end
redis.call('HSET', KEYS[1], 'state', 'processing', 'owner', ARGV[2], 'lease_until', tostring(now + lease),
           'attempts', tostring(attempts + 1))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
return {'mine', redis.call('HGET', KEYS[1], 'reply') or '', redis.call('HGET', KEYS[1], 'late') or '',
        redis.call('HGET', KEYS[1], 'payload') or '', redis.call('HGET', KEYS[1], 'sent') or '0',
        tostring(attempts + 1)}
"""

# KEYS[1] record, KEYS[2] due set; ARGV: msg_id, payload, keep, grace
_RECORD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'state', 'received', 'received_at', tostring(now), 'payload', ARGV[2],
           'attempts', '0')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
return 1
"""

# KEYS[1] record, KEYS[2] due set; ARGV: msg_id, owner, lease
_RENEW = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] or redis.call('HGET', KEYS[1], 'state') ~= 'processing' then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'lease_until', tostring(now + tonumber(ARGV[3])))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1
"""

# KEYS[1] record; ARGV: owner, field, value
_SET_FIELD = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'processing' then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
"""

# KEYS[1] record, KEYS[2] due set; ARGV: msg_id, owner, reply, keep, mode
# mode 'try': answered as the HTTP reply unless `late` was set meanwhile (then {'late'} and nothing changes);
# mode 'late': answered, the reply went out through the send API. -> {'passive' | 'late' | 'lost', received_at}
_FINISH = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] or redis.call('HGET', KEYS[1], 'state') ~= 'processing' then
  return {'lost', '0'}
end
local late = redis.call('HGET', KEYS[1], 'late') or ''
if ARGV[5] == 'try' and late == '1' then
  redis.call('HSET', KEYS[1], 'reply', ARGV[3])
  return {'late', '0'}
end
if ARGV[5] == 'late' then late = '1' end
redis.call('HSET', KEYS[1], 'state', 'answered', 'owner', '', 'reply', ARGV[3], 'late', late)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('ZREM', KEYS[2], ARGV[1])
local how = 'passive'
if late == '1' then how = 'late' end
return {how, redis.call('HGET', KEYS[1], 'received_at') or '0'}
"""

# KEYS[1] record, KEYS[2] due set; ARGV: msg_id, owner, retry_after, error
_FAIL = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] or redis.call('HGET', KEYS[1], 'state') ~= 'processing' then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'state', 'received', 'owner', '', 'lease_until', '0', 'error', ARGV[4])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1
"""

# KEYS[1] record -> {'answered', reply} if already answered, else sets late and returns {'late', ''}
_MARK_LATE = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'answered' then
  return {'answered', redis.call('HGET', KEYS[1], 'reply') or '', redis.call('HGET', KEYS[1], 'late') or ''}
end
if not state then return {'gone', '', ''} end
redis.call('HSET', KEYS[1], 'late', '1')
return {'late', '', '1'}
"""

# KEYS[1] due set; ARGV: limit
_DUE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
"""


@dataclass(frozen=True)
class Claim:
    """What `InboundStore.claim` found (see the module docstring for the states)."""

    state: str
    reply: Optional[List[Dict[str, Any]]] = None
    late: bool = False
    payload: Optional[Dict[str, Any]] = None
    sent: int = 0
    attempt: int = 0

    @property
    def mine(self) -> bool:
        return self.state == "mine"


def _loads(raw: Any) -> Any:
    return json.loads(raw) if raw else None


class InboundStore:
    """The inbound records of one channel (`wechat:{appid}`, `telegram:{bot_id}`) on a sync Redis client.

    One instance per process and channel: its `owner` id names this process's leases."""

    def __init__(self, redis: Any, channel: str, lease: float = DEFAULT_LEASE_S, keep: int = KEEP_S,
                 max_attempts: int = MAX_ATTEMPTS, retry_after: float = RETRY_AFTER_S) -> None:
        self.redis = redis
        self.channel = channel
        self.lease = float(lease)
        self.keep = int(keep)
        self.max_attempts = max_attempts
        self.retry_after = retry_after
        self.owner = uuid.uuid4().hex
        self._scripts: Dict[str, Any] = {}

    def _run(self, name: str, source: str, keys: List[str], args: List[Any]) -> Any:
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self.redis.register_script(source)
        return script(keys=keys, args=args)

    def key(self, msg_id: str) -> str:
        return keys.inbound(self.channel, msg_id)

    @property
    def due_key(self) -> str:
        return keys.inbound_due(self.channel)

    def record(self, msg_id: str, payload: Dict[str, Any]) -> bool:
        """Write a new message as `received` (before acknowledging it). False if it was already known."""
        grace = self.lease  # the acknowledging process claims it at once; the sweep waits this long first
        return bool(self._run("record", _RECORD, [self.key(msg_id), self.due_key],
                              [msg_id, json.dumps(payload, ensure_ascii=False), self.keep, grace]))

    def claim(self, msg_id: str, payload: Optional[Dict[str, Any]] = None) -> Claim:
        """Take the message for processing if nobody live holds it (see the module docstring)."""
        raw = self._run("claim", _CLAIM, [self.key(msg_id), self.due_key],
                        [msg_id, self.owner, self.lease, self.keep,
                         json.dumps(payload, ensure_ascii=False) if payload is not None else "", self.max_attempts])
        state, reply, late, stored, sent, attempt = raw
        return Claim(state, _loads(reply), late == "1", _loads(stored), int(sent or 0), int(attempt or 0))

    def renew(self, msg_id: str) -> bool:
        """Extend our lease; False when the message is no longer ours."""
        return bool(self._run("renew", _RENEW, [self.key(msg_id), self.due_key], [msg_id, self.owner, self.lease]))

    def save_reply(self, msg_id: str, reply: List[Dict[str, Any]]) -> bool:
        """Record the reply before sending it (a take-over then sends it instead of asking Rasa again)."""
        return bool(self._run("set", _SET_FIELD, [self.key(msg_id)],
                              [self.owner, "reply", json.dumps(reply, ensure_ascii=False)]))

    def sent(self, msg_id: str, count: int) -> bool:
        """Record that the first `count` messages of the reply went out."""
        return bool(self._run("set", _SET_FIELD, [self.key(msg_id)], [self.owner, "sent", str(count)]))

    def finish(self, msg_id: str, reply: List[Dict[str, Any]], late: bool = False) -> Optional[str]:
        """Close the message with `reply`.

        `late=False` ("try"): answered, the reply is the HTTP answer (`"passive"`), unless somebody answered
        the platform's request without it meanwhile (`mark_late`): then nothing changes and the result is
        `"late"`: send the reply through the platform's API, then call `finish(..., late=True)`.
        `late=True`: answered, the reply went out through the API (`"late"`). None: the message is not ours
        any more (our lease expired and another processor took it): send nothing. Counted in `bot.metrics`."""
        how, received_at = self._run("finish", _FINISH, [self.key(msg_id), self.due_key],
                                     [msg_id, self.owner, json.dumps(reply, ensure_ascii=False), self.keep,
                                      "late" if late else "try"])
        if how == "lost":
            return None
        if how == "late" and not late:
            return "late"
        from bot import metrics

        metrics.MESSAGES_ANSWERED.labels(self._label).inc()
        try:
            metrics.MESSAGE_SECONDS.labels(self._label).observe(max(0.0, time.time() - float(received_at)))
        except ValueError:
            pass
        return str(how)

    def save_payload(self, msg_id: str, payload: Dict[str, Any]) -> bool:
        """Record what to process (a take-over after a crash processes the same thing)."""
        return bool(self._run("set", _SET_FIELD, [self.key(msg_id)],
                              [self.owner, "payload", json.dumps(payload, ensure_ascii=False)]))

    def fail(self, msg_id: str, reason: str = "error", detail: str = "", retry_after: Optional[float] = None) -> bool:
        """Release the message so that a redelivery or the recovery sweep processes it again. `reason` is a
        short word (`rasa`, `send`, `error`, `shutdown`: the metric's label), `detail` goes in the record."""
        from bot import metrics

        metrics.MESSAGES_FAILED.labels(self._label, reason).inc()
        return bool(self._run("fail", _FAIL, [self.key(msg_id), self.due_key],
                              [msg_id, self.owner, self.retry_after if retry_after is None else retry_after,
                               f"{reason}: {detail}"[:200]]))

    def mark_late(self, msg_id: str) -> Claim:
        """The platform's request is being answered without the reply: the reply must go out late.
        Returns `answered` (with the reply) when it was ready after all, else `late`."""
        state, reply, late = self._run("late", _MARK_LATE, [self.key(msg_id)], [])
        return Claim(state, _loads(reply), late == "1")

    def due(self, limit: int = 50) -> List[str]:
        """Message ids the recovery sweep should try to claim (lease expired, released, never claimed)."""
        return [str(x) for x in self._run("due", _DUE, [self.due_key], [limit])]

    def forget_due(self, msg_id: str) -> None:
        """Drop an id from the due set (its record expired or it is answered)."""
        self.redis.zrem(self.due_key, msg_id)

    def get(self, msg_id: str) -> Dict[str, str]:
        return dict(self.redis.hgetall(self.key(msg_id)))

    @property
    def _label(self) -> str:
        return self.channel.split(":", 1)[0]

    async def wait(self, msg_id: str, deadline: float, payload: Optional[Dict[str, Any]] = None) -> Claim:
        """A redelivery while another processor works: poll until it is answered, the lease expires (then
        the claim is ours) or `deadline` (monotonic) passes (then `busy`)."""
        while True:
            claim = await asyncio.to_thread(self.claim, msg_id, payload)
            if claim.state != "busy" or time.monotonic() >= deadline:
                return claim
            await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))

    async def keep_alive(self, msg_id: str) -> None:
        """Renew our lease every third of it until cancelled (run beside the processing)."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if not await asyncio.to_thread(self.renew, msg_id):
                    logger.warning("inbound: %s %s is no longer ours (lease lost)", self.channel, msg_id)
                    return
            except Exception as exc:  # Redis hiccup: try again at the next beat
                logger.warning("inbound: cannot renew the lease of %s %s: %s", self.channel, msg_id, exc)
