"""What every store contract shares: a client of the test module's own embedded Redis."""

from __future__ import annotations

import pytest
import redis

from bot.storage import EmbeddedRedis


@pytest.fixture(scope="module")
def red(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    """The Redis implementation's client (enough connections for the contracts' threaded races)."""
    return redis.Redis.from_url(redis_server.url, decode_responses=True, max_connections=64)
