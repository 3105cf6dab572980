"""Rasa's Redis tracker store and lock store, connected through `bot.storage`.

Used from `endpoints.yml` (`type: bot.stores.TrackerStore` / `bot.stores.LockStore`), so plain `rasa run`,
`rasa shell` and `bot run` all share the same Redis: `REDIS_URL` or the embedded server.
Keys: trackers `canyu:tracker:{sender_id}`, locks `canyu:lock:{conversation_id}`. Both families belong to
Rasa alone: no other key starts with `canyu:tracker:` or `canyu:lock:`, so no sender id, whatever a user
chooses, can name one of our own keys (tests/security/test_keys.py checks this). Both clients time out and
reconnect like every other (`bot.storage.redis_client_options`).
"""

from __future__ import annotations

from typing import Any, Optional

import redis
from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import RedisLockStore
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from bot.storage import redis_client_options, resolve_redis_url

KEY_PREFIX = "canyu"


class TrackerStore(RedisTrackerStore):
    def __init__(
        self,
        domain: Domain,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        record_exp: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        for unused in ("url", "port", "db", "password", "username", "key_prefix"):
            kwargs.pop(unused, None)
        super().__init__(domain, event_broker=event_broker, record_exp=record_exp, key_prefix=KEY_PREFIX, **kwargs)
        self.red = redis.Redis.from_url(resolve_redis_url(), **redis_client_options())


class LockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        super().__init__(key_prefix=KEY_PREFIX)
        self.red = redis.Redis.from_url(resolve_redis_url(), **{**redis_client_options(), "decode_responses": False})
