"""Feedback items, their voices and their status history, in Redis (`FeedbackRepository`).

Key layout (all under `canyu:feedback:`; names and TTLs in bot/keys.py):

| key | type | what |
|---|---|---|
| `canyu:feedback:seq` | string | counter behind the short ids `FB1`, `FB2`, … |
| `canyu:feedback:item:{id}` | hash | the item: kind, status, titles, reason, release, times |
| `canyu:feedback:items` | zset | every item id, scored by creation time |
| `canyu:feedback:voices:{id}` | hash | profile id -> JSON voice (sender_id, channel, language, text, how, ts) |
| `canyu:feedback:exemplars:{id}` | list | JSON {text, language, vector} used for matching (at most 8) |
| `canyu:feedback:by_user:{profile}` | zset | item ids a person voiced, scored by time |
| `canyu:feedback:notified:{id}` | hash | sender_id -> time the "shipped" message went out (exactly once) |
| `canyu:feedback:told:{status}:{id}` | hash | the same for planned, in_beta and declined (`told_key`) |
| `canyu:feedback:history:{id}` | list | JSON status changes {status, reason, release, by, ts} |

A voice is one `HSETNX` per person (two people at once both count, one person twice counts once). A new item is
written in one `MULTI`; `put_new(if_seq=n)` `WATCH`es `canyu:feedback:seq` and drops the transaction when the
counter moved, which is how a filing learns that another item was created while it was matching.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Tuple, Union, cast

from redis.exceptions import WatchError

from bot import keys
from bot.feedback._model import FeedbackItem, UnknownItem, Voice
from bot.feedback._repository import MAX_EXEMPLARS, Exemplar, Field, HistoryEntry, NewItem, item_from_fields
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["RedisFeedbackRepository", "told_key"]

PREFIX = keys.FEEDBACK_PREFIX
SEQ_KEY = f"{PREFIX}seq"
ITEMS_KEY = f"{PREFIX}items"


def told_key(item_id: str, status: str) -> str:
    """`notified:{id}` for shipped (its first key, kept), `told:{status}:{id}` for the other statuses."""
    return f"{PREFIX}notified:{item_id}" if status == "shipped" else f"{PREFIX}told:{status}:{item_id}"


def _hash(fields: Mapping[str, Field]) -> Dict[Union[str, bytes], Union[bytes, float, int, str]]:
    return {key: value for key, value in fields.items()}


def _voice_json(voice: Voice) -> str:
    return json.dumps(asdict(voice), ensure_ascii=False)


@maps_redis_errors
class RedisFeedbackRepository:
    """Feedback items on one Redis client (`decode_responses=True`); see the module docstring for the keys."""

    def __init__(self, redis: "redis.Redis[str]") -> None:
        self.redis = redis

    def get(self, item_id: str) -> FeedbackItem:
        raw = self.redis.hgetall(keys.feedback_item(item_id))
        if not raw:
            raise UnknownItem(item_id)
        return item_from_fields(raw, int(self.redis.hlen(keys.feedback_voices(item_id))))

    def exists(self, item_id: str) -> bool:
        return bool(self.redis.exists(keys.feedback_item(item_id)))

    def ids(self) -> List[str]:
        return list(self.redis.zrange(ITEMS_KEY, 0, -1))

    def seq(self) -> int:
        return int(self.redis.get(SEQ_KEY) or 0)

    def next_number(self) -> int:
        return int(self.redis.incr(SEQ_KEY))

    def put_new(self, item: NewItem, *, if_seq: Optional[int] = None) -> bool:
        with self.redis.pipeline() as pipe:
            if if_seq is not None:
                pipe.watch(SEQ_KEY)
                if int(cast(Optional[str], pipe.get(SEQ_KEY)) or 0) != if_seq:
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.incr(SEQ_KEY)
            now = float(item.history["ts"])
            pipe.hset(keys.feedback_item(item.id), mapping=_hash(item.fields))
            pipe.zadd(ITEMS_KEY, {item.id: now})
            pipe.rpush(f"{PREFIX}history:{item.id}", json.dumps(item.history, ensure_ascii=False))
            pipe.rpush(f"{PREFIX}exemplars:{item.id}", item.exemplar.to_json())
            if item.voice is not None:
                pipe.hset(keys.feedback_voices(item.id), item.voice.profile, _voice_json(item.voice))
                pipe.zadd(keys.feedback_by_user(item.voice.profile), {item.id: item.voice.ts})
            try:
                pipe.execute()
            except WatchError:
                return False
        return True

    def update(self, item_id: str, fields: Mapping[str, Field]) -> None:
        if fields:
            self.redis.hset(keys.feedback_item(item_id), mapping=_hash(fields))

    def voices(self, item_id: str) -> List[Voice]:
        out = [Voice(**json.loads(v)) for v in self.redis.hvals(keys.feedback_voices(item_id))]
        return sorted(out, key=lambda v: v.ts)

    def add_voice(self, item_id: str, voice: Voice) -> bool:
        if not self.redis.hsetnx(keys.feedback_voices(item_id), voice.profile, _voice_json(voice)):
            return False
        self.redis.zadd(keys.feedback_by_user(voice.profile), {item_id: voice.ts})
        return True

    def items_of(self, profile: str) -> List[FeedbackItem]:
        ids = self.redis.zrevrange(keys.feedback_by_user(profile), 0, -1)
        return [self.get(i) for i in ids if self.redis.exists(keys.feedback_item(i))]

    def exemplars(self) -> List[Tuple[str, str, List[Exemplar]]]:
        ids = self.ids()
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for item_id in ids:
            pipe.hget(keys.feedback_item(item_id), "status")
            pipe.lrange(f"{PREFIX}exemplars:{item_id}", 0, -1)
        fetched = pipe.execute()
        return [(item_id, str(fetched[2 * n] or ""), [Exemplar.from_json(raw) for raw in fetched[2 * n + 1]])
                for n, item_id in enumerate(ids)]

    def exemplar_count(self, item_id: str) -> int:
        return int(self.redis.llen(f"{PREFIX}exemplars:{item_id}"))

    def add_exemplar(self, item_id: str, exemplar: Exemplar) -> None:
        key = f"{PREFIX}exemplars:{item_id}"
        pipe = self.redis.pipeline()
        pipe.rpush(key, exemplar.to_json())
        pipe.ltrim(key, 0, MAX_EXEMPLARS - 1)  # voices joining at once may all have found room
        pipe.execute()

    def history(self, item_id: str) -> List[HistoryEntry]:
        return [json.loads(h) for h in self.redis.lrange(f"{PREFIX}history:{item_id}", 0, -1)]

    def append_history(self, item_id: str, entry: HistoryEntry) -> None:
        self.redis.rpush(f"{PREFIX}history:{item_id}", json.dumps(entry, ensure_ascii=False))

    def claim_notification(self, item_id: str, sender_id: str, status: str, now: float) -> bool:
        return bool(self.redis.hsetnx(told_key(item_id, status), sender_id, now))

    def release_notification(self, item_id: str, sender_id: str, status: str) -> None:
        self.redis.hdel(told_key(item_id, status), sender_id)

    def told(self, item_id: str, status: str) -> Dict[str, float]:
        return {k: float(v) for k, v in self.redis.hgetall(told_key(item_id, status)).items()}
