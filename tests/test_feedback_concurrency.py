"""Filing feedback from many users at once, on a real (embedded) Redis: no global lock, no lost voices."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, TypeVar

import pytest
import redis

from bot.feedback import FeedbackStore, Filing
from bot.storage import EmbeddedRedis

T = TypeVar("T")
N = 16


@pytest.fixture(scope="module")
def red(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    return redis.Redis.from_url(redis_server.url, decode_responses=True, max_connections=4 * N)


@pytest.fixture
def store(red: "redis.Redis[str]") -> FeedbackStore:
    red.flushdb()
    return FeedbackStore(red, use_vectors=False)


def _all_at_once(count: int, work: Callable[[int], T]) -> List[T]:
    """Run work(0..count-1) in `count` threads released together."""
    start = threading.Barrier(count)

    def run(n: int) -> T:
        start.wait(timeout=30)
        return work(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count), timeout=60))


def test_a_filing_in_progress_does_not_hold_up_another_users_filing(store: FeedbackStore,
                                                                      red: "redis.Redis[str]") -> None:
    # A slow filing elsewhere (encoding, a stalled process) held the old global lock for up to 30 s.
    slow = red.lock("canyu:feedback:lock", timeout=60)
    assert slow.acquire(blocking=False)
    done: List[Filing] = []
    try:
        worker = threading.Thread(target=lambda: done.append(
            store.file("telegram:7", "Buds 5 disconnect from bluetooth", language="en")), daemon=True)
        started = time.monotonic()
        worker.start()
        worker.join(timeout=5)
        assert done, "filing waited for another filing in progress"
        assert time.monotonic() - started < 5
    finally:
        slow.release()
    assert done[0].outcome == "new" and done[0].item is not None and done[0].item.count == 1


def test_the_same_idea_from_many_users_at_once_is_one_item_with_every_voice(store: FeedbackStore) -> None:
    filings = _all_at_once(N, lambda n: store.file(f"rest:fan{n}", "Band 9 needs dark mode", kind="suggestion",
                                                   language="en"))
    items = store.all()
    assert len(items) == 1, [(i.id, i.count) for i in items]
    assert items[0].count == N
    assert sorted(v.sender_id for v in store.voices(items[0].id)) == sorted(f"rest:fan{n}" for n in range(N))
    assert sorted(f.outcome for f in filings) == ["joined"] * (N - 1) + ["new"]
    assert {f.item.id for f in filings if f.item} == {items[0].id}


def test_different_ideas_at_once_each_get_their_own_item(store: FeedbackStore) -> None:
    ideas = ["Band 9 needs dark mode", "14 Pro camera photos are blurry at night", "Buds 5 fall out of my ears",
             "Power bank 20000 is too heavy", "14 Pro gets hot while charging", "Band 9 strap breaks",
             "Buds 5 disconnect from bluetooth", "14 Pro wifi signal drops"]
    filings = _all_at_once(len(ideas), lambda n: store.file(f"rest:idea{n}", ideas[n], language="en",
                                                            ask_when_unsure=False))
    assert [f.outcome for f in filings] == ["new"] * len(ideas)
    items = store.all()
    assert len(items) == len(ideas) and all(i.count == 1 for i in items)
    assert len({f.item.id for f in filings if f.item}) == len(ideas)


def test_one_person_filing_the_same_thing_twice_at_once_counts_once(store: FeedbackStore) -> None:
    filings = _all_at_once(4, lambda n: store.file("telegram:42", "14 Pro battery drains fast", language="en"))
    items = store.all()
    assert len(items) == 1 and items[0].count == 1
    assert sorted(f.outcome for f in filings) == ["already"] * 3 + ["new"]
