"""The link code store contract: `RedisLinkCodes` (its Lua script, on a real embedded Redis) and `MemoryLinkCodes`
agree: a code works once, a profile has one live code, and failures lock a sender, then everyone, out."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, List

import pytest
import redis

from bot.errors import StorageError
from bot.fans._links import (
    GLOBAL_MAX_FAILURES,
    GLOBAL_WINDOW,
    LINK_CODE_TTL,
    SENDER_MAX_FAILURES,
    SENDER_WINDOW,
    LinkCodeStore,
    RedisLinkCodes,
)
from bot.fans._memory import MemoryLinkCodes
from tests.contracts import Clock


@pytest.fixture(params=["memory", "redis"])
def codes(request: pytest.FixtureRequest) -> Iterator[LinkCodeStore]:
    if request.param == "memory":
        yield MemoryLinkCodes(Clock())
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield RedisLinkCodes(client)


def test_a_code_works_once(codes: LinkCodeStore) -> None:
    assert codes.put("wechat:a", "d1")
    assert not codes.put("wechat:b", "d1"), "a live digest is never handed out twice"
    taken = codes.take("d1", "telegram:1")
    assert (taken.outcome, taken.profile) == ("ok", "wechat:a")
    assert codes.take("d1", "telegram:1").outcome == "miss"


def test_a_new_code_replaces_the_profiles_old_one(codes: LinkCodeStore) -> None:
    assert codes.put("wechat:a", "d1")
    assert codes.put("wechat:a", "d2")
    assert codes.take("d1", "telegram:1").outcome == "miss"
    assert codes.take("d2", "telegram:1").profile == "wechat:a"
    assert codes.put("wechat:a", "d1"), "a used digest can be a code again"


def test_only_one_of_many_concurrent_redeemers_gets_the_code(codes: LinkCodeStore) -> None:
    codes.put("wechat:a", "d1")
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes: List[str] = list(pool.map(lambda n: codes.take("d1", f"telegram:{n}").outcome, range(8)))
    assert outcomes.count("ok") == 1 and outcomes.count("miss") == 7


def test_a_sender_is_locked_out_after_too_many_failures_even_with_the_right_code(codes: LinkCodeStore) -> None:
    codes.put("wechat:a", "right")
    for _ in range(SENDER_MAX_FAILURES):
        assert codes.take("wrong", "telegram:1").outcome == "miss"
    locked = codes.take("right", "telegram:1")
    assert (locked.outcome, locked.scope) == ("locked", "sender")
    assert SENDER_WINDOW - 5 <= locked.retry_after <= SENDER_WINDOW
    assert codes.take("right", "telegram:2").profile == "wechat:a", "another sender is not locked out"


def test_everyone_is_locked_out_after_too_many_failures_overall(codes: LinkCodeStore) -> None:
    for n in range(GLOBAL_MAX_FAILURES):
        assert codes.take("wrong", f"telegram:{n}").outcome == "miss"
    codes.put("wechat:a", "right")
    locked = codes.take("right", "telegram:new")
    assert (locked.outcome, locked.scope) == ("locked", "global")
    assert 0 < locked.retry_after <= GLOBAL_WINDOW


def test_memory_codes_expire_and_lockouts_end_with_the_clock() -> None:
    clock = Clock()
    codes = MemoryLinkCodes(clock)
    codes.put("wechat:a", "d1")
    clock.now += LINK_CODE_TTL + 1
    assert codes.take("d1", "telegram:1").outcome == "miss"
    for _ in range(SENDER_MAX_FAILURES - 1):  # the expired code was the first failure
        assert codes.take("wrong", "telegram:1").outcome == "miss"
    assert codes.take("wrong", "telegram:1").outcome == "locked"
    clock.now += SENDER_WINDOW + 1
    codes.put("wechat:a", "d2")
    assert codes.take("d2", "telegram:1").outcome == "ok"


def test_redis_codes_live_for_the_link_code_ttl(red: "redis.Redis[str]") -> None:
    red.flushdb()
    RedisLinkCodes(red).put("wechat:a", "d1")
    assert LINK_CODE_TTL - 5 <= red.ttl("canyu:fans:linkcode:d1") <= LINK_CODE_TTL


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    codes = RedisLinkCodes(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError, match=r"RedisLinkCodes\.take: Redis is unreachable") as caught:
        codes.take("d1", "telegram:1")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
