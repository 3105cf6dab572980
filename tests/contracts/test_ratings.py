"""The ratings log contract: `RedisRatings` (a stream on a real embedded Redis) and `MemoryRatings` agree on ids,
order and the [start, end) periods the report reads."""

from __future__ import annotations

import socket
import time
from typing import Iterator

import pytest
import redis

from bot.analytics._memory import MemoryRatings
from bot.analytics._records import RatingsLog, RedisRatings, rating_fields
from bot.errors import StorageError

T0 = 1_760_000_000.0



@pytest.fixture(params=["memory", "redis"])
def log(request: pytest.FixtureRequest) -> Iterator[RatingsLog]:
    if request.param == "memory":
        yield MemoryRatings()
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield RedisRatings(client)


def test_an_empty_log(log: RatingsLog) -> None:
    assert log.between(0, time.time() + 60) == []


def test_entries_at_a_time_read_back_in_their_period(log: RatingsLog) -> None:
    up = rating_fields("u1", "👍")
    assert log.add(up, T0) == f"{int(T0 * 1000)}-0"
    assert log.add(rating_fields("u2", "4"), T0) == f"{int(T0 * 1000)}-1"
    assert log.add(rating_fields("u3", "down", comment="slow"), T0 + 10) == f"{int((T0 + 10) * 1000)}-0"
    got = log.between(T0, T0 + 9)
    assert [(r["sender_id"], r["kind"], r["value"], r["ts"]) for r in got] == [("u1", "answer", "up", T0),
                                                                                ("u2", "handoff", "4", T0)]
    assert [r["comment"] for r in log.between(T0 + 5, T0 + 11)] == ["slow"]
    assert log.between(T0 + 11, T0 + 20) == [] and log.between(T0 - 10, T0 - 0.001) == []
    assert [r["sender_id"] for r in log.between(T0 + 5, T0 + 10)] == ["u3"], "the end's millisecond is in (XRANGE)"


def test_a_time_before_the_newest_entry_goes_after_it(log: RatingsLog) -> None:
    log.add(rating_fields("u1", "up"), T0 + 10)
    late = log.add(rating_fields("u2", "up"), T0)
    ms, seq = (int(part) for part in late.split("-"))
    assert (ms, seq) > (int((T0 + 10) * 1000), 0)
    assert [r["sender_id"] for r in log.between(T0, time.time() + 60)] == ["u1", "u2"]


def test_now_by_default(log: RatingsLog) -> None:
    before = time.time()
    log.add(rating_fields("u1", "5"))
    log.add(rating_fields("u2", "1"))
    got = log.between(before - 1, time.time() + 1)
    assert [r["value"] for r in got] == ["5", "1"] and all(before - 1 <= r["ts"] <= time.time() for r in got)


def test_not_a_rating() -> None:
    with pytest.raises(ValueError, match="not a rating: 'meh'"):
        rating_fields("u1", "meh")


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = RedisRatings(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError, match=r"RedisRatings\.between: Redis is unreachable") as caught:
        log.between(0, 1)
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
