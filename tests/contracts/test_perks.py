"""The perk store contract: `RedisPerkStore` (on a real embedded Redis) and `MemoryPerkStore` behave the same for
every operation of `PerkStorage`: codes added once (never one already handed out), each code granted once (also
to grants at the same time), an empty pool refused, the grants of a user in order."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, List, Optional

import pytest
import redis

from bot.errors import ConfigError, StorageError
from bot.handoff._memory import MemoryPerkStore
from bot.handoff.perks import NoCodesLeft, PerkStorage, PerkStore, RedisPerkStore

T0 = 1_700_000_000.0



@pytest.fixture(params=["memory", "redis"])
def perks(request: pytest.FixtureRequest) -> Iterator[PerkStorage]:
    if request.param == "memory":
        yield MemoryPerkStore()
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield RedisPerkStore(client)


def test_the_old_name_builds_the_redis_store(red: "redis.Redis[str]") -> None:
    assert PerkStore is RedisPerkStore and isinstance(PerkStore(red), RedisPerkStore)


def test_codes_are_added_once(perks: PerkStorage) -> None:
    assert perks.available("coupon") == 0
    assert perks.add_codes("coupon", ["A1", " A2 ", "", "  ", "A1"]) == 2
    assert perks.add_codes("coupon", ["A2", "A3"]) == 1
    assert perks.add_codes("coupon", []) == 0
    assert perks.available("coupon") == 3 and perks.available("other") == 0


def test_a_grant_takes_a_code_and_records_it(perks: PerkStorage) -> None:
    perks.add_codes("coupon", ["A1", "A2"])
    first = perks.grant("coupon", "u1", "lin", now=T0 + 0.00049)
    assert first["pool"] == "coupon" and first["code"] in ("A1", "A2")
    assert (first["agent"], first["at"]) == ("lin", T0)
    second = perks.grant("coupon", "u1", "mei", now=T0 + 1)
    assert {first["code"], second["code"]} == {"A1", "A2"} and perks.available("coupon") == 0
    assert perks.grants("u1") == [first, second] and perks.grants("u2") == []
    with pytest.raises(NoCodesLeft, match="perk pool 'coupon' has no codes left; add some with") as caught:
        perks.grant("coupon", "u2", "lin")
    assert caught.value.pool == "coupon" and isinstance(caught.value, ConfigError)
    assert perks.add_codes("coupon", [first["code"], "A3"]) == 1  # a code handed out is not added again


def test_each_code_goes_to_one_grant_at_the_same_time(perks: PerkStorage) -> None:
    perks.add_codes("coupon", [f"C{n}" for n in range(5)])
    start = threading.Barrier(8)

    def grant(n: int) -> Optional[str]:
        start.wait(timeout=30)
        try:
            return str(perks.grant("coupon", f"u{n}", "lin", now=T0)["code"])
        except NoCodesLeft:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes: List[Optional[str]] = list(pool.map(grant, range(8)))
    given = [c for c in codes if c is not None]
    assert sorted(given) == [f"C{n}" for n in range(5)] and codes.count(None) == 3


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    store = RedisPerkStore(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError, match=r"RedisPerkStore\.grant: Redis is unreachable") as caught:
        store.grant("coupon", "u1", "lin")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
