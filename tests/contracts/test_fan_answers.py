"""The fan answer records contract: `RedisFanAnswerRecords` (on a real embedded Redis) and `MemoryFanAnswerRecords`
agree on opt-ins, daily limits and figures, what a fan was offered, proposals and one decider at a time."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Optional

import pytest
import redis

from bot import keys
from bot.errors import StorageError
from bot.fan_answers import FanAnswerRecords, MemoryFanAnswerRecords, RedisFanAnswerRecords

DAY = "2026-11-30"


def _proposal(number: int, ts: float, **extra: Any) -> Dict[str, Any]:
    return {"id": f"FA{number}", "item": f"R{number}", "question": "能防水吗？", "question_language": "zh",
            "text": "能，IP68", "language": "zh", "profile": "wechat:a", "sender": "telegram:1",
            "status": "proposed", "ts": ts, **extra}



@pytest.fixture(params=["memory", "redis"])
def records(request: pytest.FixtureRequest) -> Iterator[FanAnswerRecords]:
    if request.param == "memory":
        yield MemoryFanAnswerRecords()
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield RedisFanAnswerRecords(client)


def test_nothing_at_first(records: FanAnswerRecords) -> None:
    assert not records.opted_in("p") and not records.opt_out("p")
    assert records.stats(DAY) == {} and records.seen("p") == set()
    assert records.get("FA1") is None
    assert records.pending() == [] and records.ids() == [] and records.recent(5) == []


def test_opt_in_and_out(records: FanAnswerRecords) -> None:
    records.opt_in("p", {"sender": "telegram:1", "language": "zh", "at": 1.0})
    records.opt_in("p", {"sender": "telegram:1", "language": "en", "at": 2.0})
    assert records.opted_in("p") and not records.opted_in("q")
    assert records.opt_out("p") and not records.opt_out("p") and not records.opted_in("p")


def test_counts_are_per_kind_fan_and_day(records: FanAnswerRecords) -> None:
    assert [records.count("offers", "p", DAY) for _ in range(3)] == [1, 2, 3]
    assert records.count("proposals", "p", DAY) == 1
    assert records.count("offers", "q", DAY) == 1
    assert records.count("offers", "p", "2026-12-01") == 1
    with ThreadPoolExecutor(max_workers=8) as pool:
        used = list(pool.map(lambda _: records.count("offers", "r", DAY), range(20)))
    assert sorted(used) == list(range(1, 21))


def test_figures_per_day(records: FanAnswerRecords) -> None:
    records.bump_stat(DAY, "proposed")
    records.bump_stat(DAY, "proposed")
    records.bump_stat(DAY, "published")
    assert records.stats(DAY) == {"proposed": 2, "published": 1}
    assert records.stats("2026-12-01") == {}


def test_what_was_offered(records: FanAnswerRecords) -> None:
    records.mark_seen("p", "R1")
    records.mark_seen("p", "R2")
    records.mark_seen("p", "R1")
    assert records.seen("p") == {"R1", "R2"} and records.seen("q") == set()


def test_proposals_read_back_as_written(records: FanAnswerRecords) -> None:
    assert [records.next_number(), records.next_number()] == [1, 2]
    records.add(_proposal(1, 100.5))
    got = records.get("FA1")
    assert got == _proposal(1, 100.5)
    records.update("FA1", {"status": "published", "by": "tina", "decided": 200.25, "edited": True,
                           "name": {"en": "xiaobei", "zh": "小北"}, "entry": "fan-FA1"}, decided=True)
    got = records.get("FA1")
    assert got is not None
    assert (got["status"], got["decided"], got["edited"], got["name"]) == ("published", 200.25, True,
                                                                           {"en": "xiaobei", "zh": "小北"})
    assert got["text"] == "能，IP68" and got["ts"] == 100.5


def test_orderings_and_the_pending_list(records: FanAnswerRecords) -> None:
    for number, ts in ((1, 30.0), (2, 10.0), (3, 20.0)):
        records.add(_proposal(number, ts))
    assert records.ids() == ["FA2", "FA3", "FA1"]
    assert records.pending() == ["FA2", "FA3", "FA1"]
    assert records.recent(2) == ["FA1", "FA3"] and records.recent(10) == ["FA1", "FA3", "FA2"]
    assert records.recent(0) == ["FA1", "FA3", "FA2"], "Redis range semantics: 0 means every one"
    records.update("FA3", {"status": "rejected"}, decided=True)
    records.update("FA2", {"status": "credit_removed"})
    assert records.pending() == ["FA2", "FA1"] and records.ids() == ["FA2", "FA3", "FA1"]
    records.update("FA1", {}, decided=True)
    assert records.pending() == ["FA2"]


def test_one_decider_at_a_time(records: FanAnswerRecords) -> None:
    records.add(_proposal(1, 1.0))
    assert records.claim("FA1", "tina") is None
    assert records.claim("FA1", "li") == "tina"
    records.unclaim("FA1")
    records.add(_proposal(2, 2.0))
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims: List[Optional[str]] = list(pool.map(lambda n: records.claim("FA2", f"t{n}"), range(8)))
    assert claims.count(None) == 1
    assert {c for c in claims if c is not None} == {(records.get("FA2") or {}).get("deciding")}, \
        "every loser is told who the one decider is"
    assert records.claim("FA1", "li") is None


def test_memory_records_expire_with_their_ttls() -> None:
    class Clock:
        now = 1_000_000.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    records = MemoryFanAnswerRecords(clock)
    records.count("offers", "p", DAY)
    records.mark_seen("p", "R1")
    records.bump_stat(DAY, "proposed")
    clock.now += keys.FAN_ANSWERS_LIMIT_TTL_S + 1
    assert records.count("offers", "p", DAY) == 1 and records.seen("p") == {"R1"}
    clock.now += keys.FAN_ANSWERS_SEEN_TTL_S + 1
    assert records.seen("p") == set()
    clock.now += keys.FAN_ANSWERS_STATS_TTL_S
    assert records.stats(DAY) == {}


def test_redis_records_carry_their_ttls(red: "redis.Redis[str]") -> None:
    red.flushdb()
    records = RedisFanAnswerRecords(red)
    records.count("offers", "p", DAY)
    records.mark_seen("p", "R1")
    records.bump_stat(DAY, "proposed")
    for pattern, ttl in (("canyu:fan_answers:limit:*", keys.FAN_ANSWERS_LIMIT_TTL_S),
                         ("canyu:fan_answers:seen:*", keys.FAN_ANSWERS_SEEN_TTL_S),
                         ("canyu:fan_answers:stats:*", keys.FAN_ANSWERS_STATS_TTL_S)):
        [key] = list(red.scan_iter(pattern))
        assert ttl - 5 <= red.ttl(key) <= ttl, key


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    records = RedisFanAnswerRecords(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError, match=r"RedisFanAnswerRecords\.opted_in: Redis is unreachable") as caught:
        records.opted_in("p")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
