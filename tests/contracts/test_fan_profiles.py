"""The fan profile store contract: `RedisFanProfiles` (on a real embedded Redis) and `MemoryFanProfiles` agree on
linked identities, activity counters, active days and the manual grant, and on merging two profiles."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
import redis

from bot.errors import StorageError
from bot.fans._memory import MemoryFanProfiles
from bot.fans._profiles import FanProfileStore, RedisFanProfiles, merge_profiles


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[FanProfileStore]:
    if request.param == "memory":
        yield MemoryFanProfiles()
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield RedisFanProfiles(client)


def test_an_unknown_person_has_nothing(store: FanProfileStore) -> None:
    assert store.linked_profile("telegram:1") is None
    assert store.linked_identities("telegram:1") == set()
    assert store.activity("telegram:1") == {} and store.days("telegram:1") == set()
    assert store.manual("telegram:1") == {}
    store.clear_manual("telegram:1")
    store.drop("telegram:1")
    store.forget_identities("telegram:1")
    store.add_days("telegram:1", [])
    assert store.days("telegram:1") == set()


def test_links(store: FanProfileStore) -> None:
    store.link("telegram:1", "wechat:a")
    store.link("wechat:b", "wechat:a")
    store.link("telegram:1", "wechat:a")
    assert store.linked_profile("telegram:1") == "wechat:a"
    assert store.linked_identities("wechat:a") == {"telegram:1", "wechat:b"}
    store.forget_identities("wechat:a")
    assert store.linked_identities("wechat:a") == set()
    assert store.linked_profile("telegram:1") == "wechat:a", "forgetting the set leaves each identity's own link"


def test_activity_counters_and_days(store: FanProfileStore) -> None:
    assert store.add_activity("p", "messages", 1) == 1
    assert store.add_activity("p", "messages", 2) == 3
    assert store.add_activity("p", "points", 10) == 10
    assert store.activity("p") == {"messages": 3, "points": 10}
    store.add_days("p", ["2026-11-01", "2026-11-02"])
    store.add_days("p", ["2026-11-02"])
    assert store.days("p") == {"2026-11-01", "2026-11-02"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: store.add_activity("p", "fan_answers", 1), range(40)))
    assert store.activity("p")["fan_answers"] == 40


def test_the_manual_grant_keeps_only_its_fields(store: FanProfileStore) -> None:
    store.set_manual("p", {"manual_tier": "beta_tester", "granted_by": "tina", "granted_at": "1700000000",
                           "other": "x"})
    assert store.manual("p") == {"manual_tier": "beta_tester", "granted_by": "tina", "granted_at": "1700000000"}
    store.set_manual("p", {"granted_by": "li"})
    assert store.manual("p")["granted_by"] == "li" and store.manual("p")["manual_tier"] == "beta_tester"
    store.clear_manual("p")
    assert store.manual("p") == {}


def test_drop_keeps_the_identities(store: FanProfileStore) -> None:
    store.link("telegram:1", "p")
    store.add_activity("p", "messages", 2)
    store.add_days("p", ["2026-11-01"])
    store.set_manual("p", {"manual_tier": "core_fan"})
    store.drop("p")
    assert store.activity("p") == {} and store.days("p") == set() and store.manual("p") == {}
    assert store.linked_identities("p") == {"telegram:1"}


def test_merging_moves_everything_and_keeps_the_targets_grant(store: FanProfileStore) -> None:
    store.link("telegram:2", "telegram:1")
    store.add_activity("telegram:1", "messages", 3)
    store.add_activity("telegram:1", "points", 10)
    store.add_days("telegram:1", ["2026-11-01"])
    store.set_manual("telegram:1", {"manual_tier": "beta_tester", "granted_by": "tina", "granted_at": "1"})
    store.add_activity("wechat:a", "messages", 2)
    store.add_days("wechat:a", ["2026-11-02"])
    merge_profiles(store, "telegram:1", "wechat:a")
    assert store.linked_identities("wechat:a") == {"telegram:1", "telegram:2"}
    assert store.linked_profile("telegram:1") == store.linked_profile("telegram:2") == "wechat:a"
    assert store.linked_identities("telegram:1") == set()
    assert store.activity("wechat:a") == {"messages": 5}, "only messages move; points stay with the contribution"
    assert store.days("wechat:a") == {"2026-11-01", "2026-11-02"}
    assert store.manual("wechat:a")["manual_tier"] == "beta_tester"
    assert store.activity("telegram:1") == {} and store.manual("telegram:1") == {}
    store.set_manual("wechat:c", {"manual_tier": "core_fan"})
    store.set_manual("wechat:d", {"manual_tier": "newcomer"})
    merge_profiles(store, "wechat:d", "wechat:c")
    assert store.manual("wechat:c")["manual_tier"] == "core_fan"


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    store = RedisFanProfiles(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError, match=r"RedisFanProfiles\.linked_profile: Redis is unreachable") as caught:
        store.linked_profile("telegram:1")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
