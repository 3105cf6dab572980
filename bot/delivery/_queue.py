"""One delivery queue per channel in Redis: queue → processing (leased) → done, or → retry (by due time) → queue,
or → dead letters after `max_tries` attempts (or at once when a retry cannot help).

Keys (`{ch}` = `wechat` / `telegram`; every move between them is one Lua script, so an item is always in exactly
one place):
- `canyu:delivery:{ch}:items` hash id → item JSON (id, channel, sender, messages, key, tries, next_at, sent,
  part, created, reason): the item while it is queued, being sent or waiting for a retry
- `canyu:delivery:{ch}:queue` list of ids ready to send
- `canyu:delivery:{ch}:processing` list of ids being sent, with `canyu:delivery:{ch}:leases` zset id → lease
  deadline: a worker that dies leaves its items there, and they go back to the queue when the lease runs out
- `canyu:delivery:{ch}:retry` zset id → due time (epoch seconds)
- `canyu:delivery:{ch}:dead` list of item JSON with `reason`, `tries` and `dead_at`; re-sent from the console
- `canyu:delivery:key:{h}` the item id of an idempotency key, `canyu:delivery:done:{h}` its `Delivery`
  (7 days); `{h}` is a SHA-256 prefix of the key, so no user id appears in a key name

Items and dead letters hold a user's id and words: `of_user` and `forget` are there for export and erasure.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from bot.delivery._settings import DeliverySettings
from bot.keys import IDEMPOTENCY_TTL_S, delivery, delivery_done, delivery_idempotency

__all__ = ["CHANNELS", "Item", "DeliveryQueue", "IDEMPOTENCY_TTL_S"]

CHANNELS = ("wechat", "telegram")


@dataclass
class Item:
    """One message set for one user, and how far its delivery got."""

    id: str
    channel: str
    sender: str
    messages: List[Dict[str, Any]]
    key: Optional[str] = None
    tries: int = 0
    next_at: float = 0.0
    sent: int = 0
    part: int = 0
    created: float = field(default_factory=time.time)
    reason: str = ""
    dead_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: Any) -> "Item":
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        item = cls(**known)
        item.messages = [{k: v for k, v in dict(m).items() if k != "recipient_id"} for m in item.messages]
        return item

    @property
    def remaining(self) -> int:
        return max(0, len(self.messages) - self.sent)


_CREATE = """
if KEYS[4] then
  local existing = redis.call('GET', KEYS[4])
  if existing then return existing end
  redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[4])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
if ARGV[5] == '1' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1]) end
return ARGV[1]
"""

_FROM_LIST = """
local msgs = redis.call('LRANGE', KEYS[1], 0, -1)
if #msgs == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. '[' .. table.concat(msgs, ',') .. ']}')
redis.call('RPUSH', KEYS[3], ARGV[1])
if ARGV[4] == '1' then redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1]) end
return #msgs
"""

_CLAIM = """
local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
if not id then return false end
local item = redis.call('HGET', KEYS[4], id)
if not item then
  redis.call('LREM', KEYS[2], 0, id)
  return ''
end
redis.call('ZADD', KEYS[3], ARGV[1], id)
return item
"""

_SAVE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[1])
return 1
"""

_FINISH = """
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[3], ARGV[1])
"""

_PARK = """
for i = #ARGV, 2, -1 do redis.call('LPUSH', KEYS[4], ARGV[i]) end
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[3], ARGV[1])
"""

_RETRY = """
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return 1
"""

_DEAD = """
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('RPUSH', KEYS[4], ARGV[2])
return 1
"""

_PROMOTE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('RPUSH', KEYS[2], id)
end
return #ids
"""

_REQUEUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  if redis.call('LREM', KEYS[2], 0, id) > 0 then
    redis.call('RPUSH', KEYS[3], id)
    moved = moved + 1
  end
end
return moved
"""

_FORGET = """
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return redis.call('HDEL', KEYS[5], ARGV[1])
"""

_RESEND = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[2])
return 1
"""


class DeliveryQueue:
    """The queue of one channel (see the module docstring for the keys). `settings` matter to whoever sends
    (leases, retries); reading, erasing and counting need none (the defaults)."""

    def __init__(self, redis: Any, channel: str, settings: Optional[DeliverySettings] = None) -> None:
        self.redis = redis
        self.channel = channel
        self.settings = settings or DeliverySettings()
        self.items_key = delivery(channel, "items")
        self.queue_key = delivery(channel, "queue")
        self.processing_key = delivery(channel, "processing")
        self.leases_key = delivery(channel, "leases")
        self.retry_key = delivery(channel, "retry")
        self.dead_key = delivery(channel, "dead")

    def _run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return self.redis.eval(script, len(keys), *keys, *args)

    def _lease(self) -> float:
        return time.time() + self.settings.visibility_s

    # --- in ----------------------------------------------------------------------------------------------
    def create(self, sender_id: str, messages: List[Dict[str, Any]], key: Optional[str] = None,
               processing: bool = True, reserve: bool = False) -> Item:
        """A new item, straight into the processing list (the caller sends it now) or into the queue.
        With `reserve`, the idempotency `key` is taken in the same step, and an item already made for that key
        is returned instead (its `.id` differs from a new one's)."""
        item = Item(id=uuid.uuid4().hex, channel=self.channel, sender=sender_id, messages=list(messages), key=key)
        keys = [self.items_key, self.processing_key if processing else self.queue_key, self.leases_key]
        if key and reserve:
            keys.append(key_of(key))
        got = self._run(_CREATE, keys, [item.id, item.to_json(), f"{self._lease():.3f}", IDEMPOTENCY_TTL_S,
                                        "1" if processing else "0"])
        got = got.decode() if isinstance(got, bytes) else got
        if got != item.id:
            existing = self.get(got)
            return existing if existing is not None else Item(id=got, channel=self.channel, sender=sender_id,
                                                              messages=[], key=key)
        return item

    def create_from_list(self, list_key: str, sender_id: str, processing: bool = True) -> Optional[Item]:
        """Move every JSON message of the list `list_key` into one new item, in one step (nothing is lost if
        the process dies: the messages are either still in the list or in the item)."""
        item = Item(id=uuid.uuid4().hex, channel=self.channel, sender=sender_id, messages=[])
        fields = {k: v for k, v in asdict(item).items() if k != "messages"}
        prefix = json.dumps(fields, ensure_ascii=False)[:-1] + ', "messages": '
        moved = self._run(_FROM_LIST, [list_key, self.items_key,
                                       self.processing_key if processing else self.queue_key, self.leases_key],
                          [item.id, prefix, f"{self._lease():.3f}", "1" if processing else "0"])
        if not moved:
            return None
        return self.get(item.id)

    # --- work --------------------------------------------------------------------------------------------
    def get(self, item_id: str) -> Optional[Item]:
        raw = self.redis.hget(self.items_key, item_id)
        return Item.from_json(raw) if raw else None

    def claim(self) -> Optional[Item]:
        """The next ready item, moved to the processing list with a lease (None when the queue is empty)."""
        while True:
            raw = self._run(_CLAIM, [self.queue_key, self.processing_key, self.leases_key, self.items_key],
                            [f"{self._lease():.3f}"])
            if raw is None:
                return None
            if raw in ("", b""):
                continue  # an id whose item is gone (finished elsewhere): dropped
            return Item.from_json(raw)

    def save(self, item: Item) -> bool:
        """Record the item's progress and renew its lease."""
        return bool(self._run(_SAVE, [self.items_key, self.leases_key], [item.id, item.to_json(),
                                                                         f"{self._lease():.3f}"]))

    def finish(self, item: Item) -> None:
        self._run(_FINISH, [self.processing_key, self.leases_key, self.items_key], [item.id])

    def park(self, item: Item, list_key: str) -> int:
        """The item's unsent messages go to the head of `list_key` (they are older than what waits there) and the
        item is done, in one step. Returns how many were parked."""
        left = [json.dumps({"recipient_id": item.sender, **m}, ensure_ascii=False) for m in item.messages[item.sent:]]
        self._run(_PARK, [self.processing_key, self.leases_key, self.items_key, list_key], [item.id, *left])
        return len(left)

    def retry(self, item: Item, reason: str, now: Optional[float] = None) -> bool:
        """Count a failed attempt: back to the retry zset, or to the dead letters after `max_tries` (False)."""
        item.tries += 1
        item.reason = reason[:500]
        if item.tries >= self.settings.max_tries:
            self.bury(item, reason)
            return False
        item.next_at = (time.time() if now is None else now) + self.settings.backoff(item.tries)
        self._run(_RETRY, [self.processing_key, self.leases_key, self.items_key, self.retry_key],
                  [item.id, item.to_json(), f"{item.next_at:.3f}"])
        return True

    def bury(self, item: Item, reason: str) -> None:
        """Into the dead letters with `reason`."""
        item.reason = reason[:500]
        item.dead_at = time.time()
        self._run(_DEAD, [self.processing_key, self.leases_key, self.items_key, self.dead_key],
                  [item.id, item.to_json()])

    def promote_due(self, now: Optional[float] = None, limit: int = 100) -> int:
        """Retries whose time has come go back to the queue."""
        return int(self._run(_PROMOTE, [self.retry_key, self.queue_key],
                             [f"{time.time() if now is None else now:.3f}", limit]))

    def requeue_stranded(self, now: Optional[float] = None, limit: int = 100) -> int:
        """Items whose lease ran out (their worker died) go back to the queue, with their progress."""
        return int(self._run(_REQUEUE, [self.leases_key, self.processing_key, self.queue_key],
                             [f"{time.time() if now is None else now:.3f}", limit]))

    # --- dead letters ------------------------------------------------------------------------------------
    def dead_letters(self, limit: int = 500) -> List[Item]:
        """Oldest first; `limit` 0 = all."""
        return [Item.from_json(raw) for raw in self.redis.lrange(self.dead_key, 0, limit - 1 if limit else -1)]

    def resend(self, item_id: str) -> Optional[Item]:
        """Put a dead letter back in the queue with fresh tries (what was sent before stays sent)."""
        for raw in self.redis.lrange(self.dead_key, 0, -1):
            item = Item.from_json(raw)
            if item.id != item_id:
                continue
            item.tries, item.next_at, item.dead_at = 0, 0.0, 0.0
            if self._run(_RESEND, [self.dead_key, self.items_key, self.queue_key], [raw, item.id, item.to_json()]):
                return item
        return None

    # --- personal data (bot/privacy) ------------------------------------------------------------------
    def of_user(self, sender_id: str) -> List[Item]:
        """Every item and dead letter for `sender_id` (they hold the user's id and the messages' words)."""
        live = [Item.from_json(raw) for raw in self.redis.hvals(self.items_key)]
        return [i for i in live + self.dead_letters(limit=0) if i.sender == sender_id]

    def forget(self, sender_id: str) -> int:
        """Remove every item and dead letter for `sender_id`; returns how many."""
        gone = 0
        for raw in self.redis.hvals(self.items_key):
            item = Item.from_json(raw)
            if item.sender == sender_id:
                gone += int(self._run(_FORGET, [self.queue_key, self.processing_key, self.leases_key, self.retry_key,
                                                self.items_key], [item.id]))
        for raw in self.redis.lrange(self.dead_key, 0, -1):
            if Item.from_json(raw).sender == sender_id:
                gone += int(self.redis.lrem(self.dead_key, 1, raw))
        return gone

    def depths(self) -> Dict[str, int]:
        r = self.redis
        return {"queued": int(r.llen(self.queue_key)), "processing": int(r.llen(self.processing_key)),
                "retry": int(r.zcard(self.retry_key)), "dead": int(r.llen(self.dead_key))}


def _digest(idempotency_key: str) -> str:
    """Keys may hold user ids (`wechat:{appid}:{openid}…`); key names carry only their hash."""
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]


def key_of(idempotency_key: str) -> str:
    return delivery_idempotency(_digest(idempotency_key))


def done_of(idempotency_key: str) -> str:
    return delivery_done(_digest(idempotency_key))
