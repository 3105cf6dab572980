"""Durable outbound delivery (bot.outbound, bot.delivery) against a real Redis and the fake platforms."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import redis as redislib

from bot import outbound


@pytest.fixture(scope="module")
def red(redis_server):
    r = redislib.Redis.from_url(redis_server.url, decode_responses=True)
    yield r
    r.close()


def _sid(prefix: str = "rest") -> str:
    return f"{prefix}:{uuid.uuid4().hex[:10]}"


def test_same_idempotency_key_twice_delivers_once(red):
    sid = _sid()
    first = asyncio.run(outbound.send_to_user(sid, ["your refund arrived"], redis=red, idempotency_key="k-" + sid))
    again = asyncio.run(outbound.send_to_user(sid, ["your refund arrived"], redis=red, idempotency_key="k-" + sid))
    assert again == first == outbound.Delivery("rest", 0, 1)
    assert [json.loads(x)["text"] for x in red.lrange(f"canyu:outbox:{sid}", 0, -1)] == ["your refund arrived"]
