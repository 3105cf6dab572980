"""The follow-up store contract: `RedisFollowupStore` (on a real embedded Redis) and `MemoryFollowupStore` behave
the same for every operation of `FollowupStorage`: ids in order, a dedupe key, the due list in order, one claim
and one answer per follow-up (also under races), and the figures log."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
import redis

from bot import keys
from bot.errors import DataError, StorageError
from bot.followups._config import FollowupConfig
from bot.followups._memory import MemoryFollowupStore
from bot.followups._store import FollowupStorage, FollowupStore, RedisFollowupStore

CONFIG = FollowupConfig(delays_days={"handoff": 2, "repair": 7, "return": 0.5})
DAY = 86400.0
T0 = 1_700_000_000.0
SUBJECT = {"zh": "左耳", "en": "the left earbud"}



@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[FollowupStorage]:
    if request.param == "memory":
        yield MemoryFollowupStore(CONFIG)
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield RedisFollowupStore(client, CONFIG)


def test_the_old_name_builds_the_redis_store(red: "redis.Redis[str]") -> None:
    assert FollowupStore is RedisFollowupStore and isinstance(FollowupStore(red, CONFIG), RedisFollowupStore)


def test_nothing_at_first(store: FollowupStorage) -> None:
    assert store.get("u1", "F1") is None and store.of_user("u1") == [] and store.latest_unanswered("u1") is None
    assert store.due(T0 + 365 * DAY) == [] and store.logged(0, T0 * 2) == []


def test_a_scheduled_follow_up_reads_back(store: FollowupStorage) -> None:
    record = store.schedule("u1", "repair", subject=SUBJECT, language="zh", ref="R7", history={"fault": "左耳"},
                            now=T0 + 0.0004)
    assert record == {"id": "F1", "sender_id": "u1", "kind": "repair", "ref": "R7", "subject": SUBJECT,
                      "language": "zh", "created_at": T0, "due_at": T0 + 7 * DAY, "history": {"fault": "左耳"}}
    assert store.get("u1", "F1") == {**record, "sent": None, "outcome": None, "answer": None, "answered_at": None}
    assert store.schedule("u1", "handoff", subject=SUBJECT, language="fr", now=T0 + 1)["language"] == "en"
    assert store.schedule("u2", "return", subject=SUBJECT, language="en", now=T0 + 2)["id"] == "F3"
    assert [r["id"] for r in store.of_user("u1")] == ["F2", "F1"]
    assert store.get("u2", "F1") is None
    with pytest.raises(DataError, match="unknown follow-up kind 'visit'"):
        store.schedule("u1", "visit", subject=SUBJECT, language="en")


def test_dedupe_returns_the_first_record(store: FollowupStorage) -> None:
    first = store.schedule("u1", "repair", subject=SUBJECT, language="zh", now=T0, dedupe="R7")
    again = store.schedule("u1", "repair", subject={"en": "x"}, language="en", now=T0 + 5, dedupe="R7")
    assert again == store.get("u1", first["id"]) and again["subject"] == SUBJECT
    other = store.schedule("u1", "repair", subject=SUBJECT, language="zh", now=T0, dedupe="R8")
    assert other["id"] != first["id"] and len(store.of_user("u1")) == 2
    assert store.due(T0 + 8 * DAY) == [("u1", first["id"]), ("u1", other["id"])]


def test_due_in_time_order_up_to_the_limit(store: FollowupStorage) -> None:
    store.schedule("u1", "repair", subject=SUBJECT, language="en", now=T0)       # F1, due T0 + 7 d
    store.schedule("u2", "handoff", subject=SUBJECT, language="en", now=T0)      # F2, due T0 + 2 d
    store.schedule("u3", "return", subject=SUBJECT, language="en", now=T0)       # F3, due T0 + 0.5 d
    assert store.due(T0) == []
    assert store.due(T0 + 2 * DAY) == [("u3", "F3"), ("u2", "F2")]
    assert store.due(T0 + 7 * DAY) == [("u3", "F3"), ("u2", "F2"), ("u1", "F1")]
    assert store.due(T0 + 7 * DAY, limit=1) == [("u3", "F3")]


def test_one_claim_an_outcome_and_one_answer(store: FollowupStorage) -> None:
    record = store.schedule("u1", "repair", subject=SUBJECT, language="en", now=T0)
    assert store.claim("u1", "F1", T0 + 10) and not store.claim("u1", "F1", T0 + 11)
    store.unclaim("u1", "F1")
    assert store.claim("u1", "F1", T0 + 12)
    store.mark_outcome(record, "sent", T0 + 12)
    assert store.due(T0 + 30 * DAY) == []
    got = store.get("u1", "F1")
    assert got is not None and (got["sent"], got["outcome"], got["answer"]) == (f"{T0 + 12:.3f}", "sent", None)
    assert store.latest_unanswered("u1") == got
    assert store.answer("u1", "F1", "no", now=T0 + 20) and not store.answer("u1", "F1", "yes", now=T0 + 21)
    got = store.get("u1", "F1")
    assert got is not None and (got["answer"], got["answered_at"]) == ("no", f"{T0 + 20:.3f}")
    assert store.latest_unanswered("u1") is None
    with pytest.raises(DataError, match="yes or no, not 'maybe'"):
        store.answer("u1", "F1", "maybe")


def test_the_newest_sent_and_unanswered(store: FollowupStorage) -> None:
    for now in (T0, T0 + 100, T0 + 200):
        store.schedule("u1", "repair", subject=SUBJECT, language="en", now=now)
    store.claim("u1", "F1", T0)
    store.claim("u1", "F2", T0)
    assert (store.latest_unanswered("u1") or {})["id"] == "F2"
    store.answer("u1", "F2", "yes")
    assert (store.latest_unanswered("u1") or {})["id"] == "F1"


def test_races_have_one_winner(store: FollowupStorage) -> None:
    store.schedule("u1", "repair", subject=SUBJECT, language="en", now=T0)
    start = threading.Barrier(8)

    def claim_and_answer(n: int) -> tuple:  # type: ignore[type-arg]
        start.wait(timeout=30)
        return store.claim("u1", "F1", T0 + n), store.answer("u1", "F1", "yes" if n % 2 else "no")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim_and_answer, range(8)))
    assert [c for c, _ in results].count(True) == 1 and [a for _, a in results].count(True) == 1
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda n: store.schedule(f"s{n}", "handoff", subject=SUBJECT, language="en",
                                                      now=T0)["id"], range(8)))
    assert sorted(ids, key=lambda i: int(i[1:])) == [f"F{n}" for n in range(2, 10)]


def test_the_figures_log(store: FollowupStorage) -> None:
    record = store.schedule("u1", "repair", subject=SUBJECT, language="en", now=T0)
    store.mark_outcome(record, "queued", T0 + 10)
    store.answer("u1", "F1", "yes", now=T0 + 20)
    assert store.logged(T0, T0 + 21) == [{"what": "scheduled", "kind": "repair", "at": T0},
                                         {"what": "queued", "kind": "repair", "at": T0 + 10},
                                         {"what": "yes", "kind": "repair", "at": T0 + 20}]
    assert [e["what"] for e in store.logged(T0 + 10, T0 + 20)] == ["queued"]


def test_records_expire_after_their_last_change(red: "redis.Redis[str]") -> None:
    red.flushdb()
    RedisFollowupStore(red, CONFIG).schedule("u1", "repair", subject=SUBJECT, language="en", now=T0)
    assert 0 < red.ttl(keys.followup("u1")) <= keys.FOLLOWUP_KEEP_S
    now = [T0]
    memory = MemoryFollowupStore(CONFIG, clock=lambda: now[0])
    record = memory.schedule("u1", "repair", subject=SUBJECT, language="en", now=T0)
    now[0] += keys.FOLLOWUP_KEEP_S - 1
    memory.mark_outcome(record, "sent", now[0])
    now[0] += keys.FOLLOWUP_KEEP_S - 1
    assert memory.get("u1", "F1") is not None
    now[0] += 2
    assert memory.get("u1", "F1") is None and memory.of_user("u1") == []


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    store = RedisFollowupStore(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True), CONFIG)
    with pytest.raises(StorageError, match=r"RedisFollowupStore\.due: Redis is unreachable") as caught:
        store.due(T0)
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
