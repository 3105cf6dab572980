"""A Redis store's errors reach callers as `StorageError`, the Redis error kept as the cause."""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis
import redis.asyncio as aioredis

from bot.errors import StorageError
from bot.redis_errors import maps_redis_errors


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@maps_redis_errors
class Counter:
    def __init__(self, client: "redis.Redis[str]") -> None:
        self.client = client

    def bump(self) -> int:
        return int(self.client.incr("t:counter"))

    def fail_plainly(self) -> None:
        raise ValueError("not a Redis error")


@maps_redis_errors
class AsyncCounter:
    def __init__(self, client: "aioredis.Redis[str]") -> None:
        self.client = client

    async def bump(self) -> int:
        return int(await self.client.incr("t:counter"))


def test_a_redis_error_becomes_a_storage_error_with_its_cause() -> None:
    store = Counter(redis.Redis(port=_closed_port(), socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError, match=r"Counter\.bump: Redis is unreachable") as caught:
        store.bump()
    assert isinstance(caught.value.__cause__, redis.ConnectionError)


def test_async_methods_are_mapped_too() -> None:
    store = AsyncCounter(aioredis.Redis(port=_closed_port(), socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError) as caught:
        asyncio.run(store.bump())
    assert isinstance(caught.value.__cause__, redis.ConnectionError)


def test_other_errors_pass_through_and_working_calls_are_untouched(redis_server) -> None:
    store = Counter(redis.Redis.from_url(redis_server.url, decode_responses=True))
    assert store.bump() == 1
    with pytest.raises(ValueError):
        store.fail_plainly()
