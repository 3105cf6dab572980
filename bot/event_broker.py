"""A Rasa event broker that appends every tracker event to the Redis stream `canyu:events`.

Each stream entry has one field, `event`: the event's JSON as Rasa publishes it (with `sender_id`,
`timestamp`, and for user events `parse_data` with intent, confidence and ranking). The agent console
reads it for live transcripts, the review inbox and analytics read it for what happened. The stream is
capped (approximately) at `max_len` entries.
"""

from __future__ import annotations

import json
import logging
from asyncio import AbstractEventLoop
from typing import Any, Dict, Optional, Text

import redis
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.storage import redis_client_options, resolve_redis_url

logger = logging.getLogger(__name__)

EVENTS_STREAM = "canyu:events"
DEFAULT_MAX_LEN = 1_000_000


class RedisEventBroker(EventBroker):
    def __init__(self, url: Optional[str] = None, stream: str = EVENTS_STREAM, max_len: int = DEFAULT_MAX_LEN) -> None:
        self.red = redis.Redis.from_url(url or resolve_redis_url(), **redis_client_options())
        self.stream = stream
        self.max_len = max_len

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Optional[AbstractEventLoop] = None
    ) -> "RedisEventBroker":
        kwargs = broker_config.kwargs if broker_config else {}
        return cls(stream=kwargs.get("stream", EVENTS_STREAM), max_len=int(kwargs.get("max_len", DEFAULT_MAX_LEN)))

    def publish(self, event: Dict[Text, Any]) -> None:
        try:
            self.red.xadd(self.stream, {"event": json.dumps(event, ensure_ascii=False)}, maxlen=self.max_len, approximate=True)
        except redis.RedisError as exc:  # the conversation goes on; analytics miss one event
            logger.error("could not publish event to %s: %s", self.stream, exc)

    def is_ready(self) -> bool:
        try:
            return bool(self.red.ping())
        except redis.RedisError:
            return False
