"""The feedback repository contract: `RedisFeedbackRepository` (on a real embedded Redis) and
`MemoryFeedbackRepository` behave the same for every operation of `FeedbackRepository`, and so does the feedback
service on top of either."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterator, List, Optional

import numpy as np
import numpy.typing as npt
import pytest
import redis

from bot.errors import StorageError
from bot.feedback import FeedbackStore, UnknownItem, Voice
from bot.feedback._memory import MemoryFeedbackRepository
from bot.feedback._redis_repository import RedisFeedbackRepository
from bot.feedback._repository import MAX_EXEMPLARS, Exemplar, FeedbackRepository, Field, NewItem


@pytest.fixture(params=["memory", "redis"])
def repo(request: pytest.FixtureRequest) -> Iterator[FeedbackRepository]:
    if request.param == "memory":
        yield MemoryFeedbackRepository()
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield RedisFeedbackRepository(client)


def _voice(profile: str, ts: float, text: str = "hi") -> Voice:
    return Voice(profile=profile, sender_id=f"telegram:{profile}", channel="telegram", language="en", text=text,
                 how="vote", ts=ts)


def _new(number: int, ts: float, *, text: str = "battery drains", voice: Optional[Voice] = None,
         vector: Optional["npt.NDArray[np.float32]"] = None) -> NewItem:
    item_id = f"FB{number}"
    fields: Dict[str, Field] = {"id": item_id, "kind": "complaint", "status": "new", "title_en": text, "title_zh": "",
              "products": '["phone-14-pro"]', "created": ts, "updated": ts}
    return NewItem(item_id, fields, {"status": "new", "by": "console", "ts": ts}, Exemplar(text, "en", vector),
                   voice)


def test_an_empty_repository(repo: FeedbackRepository) -> None:
    with pytest.raises(UnknownItem):
        repo.get("FB1")
    assert not repo.exists("FB1")
    assert repo.ids() == [] and repo.seq() == 0 and repo.exemplars() == []
    assert repo.voices("FB1") == [] and repo.history("FB1") == [] and repo.told("FB1", "shipped") == {}
    assert repo.items_of("p1") == [] and repo.exemplar_count("FB1") == 0


def test_numbers_are_taken_in_order(repo: FeedbackRepository) -> None:
    assert [repo.next_number(), repo.next_number()] == [1, 2]
    assert repo.seq() == 2


def test_a_new_item_reads_back_with_its_history_exemplar_and_voice(repo: FeedbackRepository) -> None:
    vector = np.arange(4, dtype=np.float32)
    assert repo.put_new(_new(repo.next_number(), 100.5, voice=_voice("p1", 100.5), vector=vector))
    item = repo.get("FB1")
    assert (item.id, item.kind, item.status, item.title_en, item.title_zh) == ("FB1", "complaint", "new",
                                                                                 "battery drains", "")
    assert item.products == ["phone-14-pro"] and item.created == 100.5 and item.updated == 100.5
    assert item.count == 1 and item.shipped_at == 0.0 and item.reason == "" and item.instead_zh == ""
    assert repo.exists("FB1") and repo.ids() == ["FB1"]
    assert repo.history("FB1") == [{"status": "new", "by": "console", "ts": 100.5}]
    [(item_id, status, exemplars)] = repo.exemplars()
    assert (item_id, status, [e.text for e in exemplars]) == ("FB1", "new", ["battery drains"])
    assert exemplars[0].vector is not None and np.array_equal(exemplars[0].vector, vector)
    assert repo.voices("FB1") == [_voice("p1", 100.5)]
    assert [i.id for i in repo.items_of("p1")] == ["FB1"]


def test_ids_are_in_creation_order(repo: FeedbackRepository) -> None:
    for number, ts in ((1, 30.0), (2, 10.0), (3, 20.0)):
        repo.put_new(_new(number, ts))
    assert repo.ids() == ["FB2", "FB3", "FB1"]
    assert [i for i, _, _ in repo.exemplars()] == ["FB2", "FB3", "FB1"]


def test_put_new_if_seq_is_refused_when_another_item_came_first(repo: FeedbackRepository) -> None:
    assert repo.put_new(_new(1, 1.0), if_seq=0)
    assert repo.seq() == 1
    assert not repo.put_new(_new(1, 2.0, text="other"), if_seq=0)
    assert repo.get("FB1").title_en == "battery drains" and repo.seq() == 1
    repo.next_number()
    assert not repo.put_new(_new(2, 3.0), if_seq=1)
    assert not repo.exists("FB2") and repo.seq() == 2


def test_only_one_of_many_concurrent_creators_wins(repo: FeedbackRepository) -> None:
    start = threading.Barrier(8)

    def create(n: int) -> bool:
        start.wait(timeout=30)
        return repo.put_new(_new(1, float(n), text=f"idea {n}", voice=_voice(f"p{n}", float(n))), if_seq=0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(8)))
    assert results.count(True) == 1
    assert repo.seq() == 1 and repo.ids() == ["FB1"] and repo.get("FB1").count == 1


def test_update_sets_text_and_numbers(repo: FeedbackRepository) -> None:
    repo.put_new(_new(1, 1.0))
    repo.update("FB1", {"status": "shipped", "shipped_at": 12.25, "release": "MilletOS 2.3", "instead_zh": "换"})
    repo.update("FB1", {})
    item = repo.get("FB1")
    assert (item.status, item.shipped_at, item.release, item.instead_zh) == ("shipped", 12.25, "MilletOS 2.3", "换")
    assert item.title_en == "battery drains"


def test_one_voice_per_profile_oldest_first(repo: FeedbackRepository) -> None:
    repo.put_new(_new(1, 1.0))
    repo.put_new(_new(2, 2.0))
    assert repo.add_voice("FB1", _voice("p2", 20.0))
    assert repo.add_voice("FB1", _voice("p1", 10.0))
    assert not repo.add_voice("FB1", _voice("p1", 30.0, text="again"))
    assert [(v.profile, v.text) for v in repo.voices("FB1")] == [("p1", "hi"), ("p2", "hi")]
    assert repo.get("FB1").count == 2
    assert repo.add_voice("FB2", _voice("p1", 40.0))
    assert [i.id for i in repo.items_of("p1")] == ["FB2", "FB1"]


def test_concurrent_voices_of_one_person_count_once(repo: FeedbackRepository) -> None:
    repo.put_new(_new(1, 1.0))
    with ThreadPoolExecutor(max_workers=8) as pool:
        added = list(pool.map(lambda n: repo.add_voice("FB1", _voice("p1", float(n))), range(8)))
    assert added.count(True) == 1 and repo.get("FB1").count == 1


def test_exemplars_are_capped(repo: FeedbackRepository) -> None:
    repo.put_new(_new(1, 1.0))
    for n in range(MAX_EXEMPLARS + 3):
        repo.add_exemplar("FB1", Exemplar(f"text {n}", "zh"))
    assert repo.exemplar_count("FB1") == MAX_EXEMPLARS
    texts = [e.text for e in repo.exemplars()[0][2]]
    assert texts == ["battery drains"] + [f"text {n}" for n in range(MAX_EXEMPLARS - 1)]
    assert all(e.vector is None for e in repo.exemplars()[0][2][1:])


def test_history_in_order(repo: FeedbackRepository) -> None:
    repo.put_new(_new(1, 1.0))
    repo.append_history("FB1", {"status": "planned", "reason": "", "release": "", "by": "tina", "ts": 2.0})
    repo.append_history("FB1", {"status": "declined", "reason": "不做", "release": "", "by": "tina", "ts": 3.0})
    assert [h["status"] for h in repo.history("FB1")] == ["new", "planned", "declined"]
    assert repo.history("FB1")[2]["reason"] == "不做"


def test_a_claim_is_granted_once_per_item_status_and_sender(repo: FeedbackRepository) -> None:
    assert repo.claim_notification("FB1", "telegram:1", "shipped", 5.0)
    assert not repo.claim_notification("FB1", "telegram:1", "shipped", 6.0)
    assert repo.claim_notification("FB1", "telegram:1", "planned", 7.0)
    assert repo.claim_notification("FB2", "telegram:1", "shipped", 8.0)
    assert repo.told("FB1", "shipped") == {"telegram:1": 5.0}
    repo.release_notification("FB1", "telegram:1", "shipped")
    repo.release_notification("FB1", "nobody", "shipped")
    assert repo.told("FB1", "shipped") == {}
    assert repo.claim_notification("FB1", "telegram:1", "shipped", 9.0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda n: repo.claim_notification("FB3", "u", "declined", float(n)), range(8)))
    assert claims.count(True) == 1


def test_the_service_files_and_matches_on_either(repo: FeedbackRepository) -> None:
    store = FeedbackStore(repo, use_vectors=False)
    first = store.file("rest:alice", "battery drains fast on 14 Pro", language="en", channel="rest")
    second = store.file("telegram:42", "14 Pro 掉电快", language="zh", channel="telegram")
    again = store.file("telegram:42", "14 Pro 掉电太快了", language="zh")
    assert (first.outcome, second.outcome, again.outcome) == ("new", "joined", "already")
    assert first.item is not None and second.item is not None
    assert second.item.id == first.item.id and second.item.count == 2
    assert second.item.title("zh") == "14 Pro 掉电快"
    other = store.create("Band 9 strap breaks", sender_id="u9", language="en")
    assert other.id == "FB2" and other.count == 1
    done = store.set_status(first.item.id, "shipped", release="MilletOS 2.3")
    assert done.status == "shipped" and done.shipped_at > 0
    assert [h["status"] for h in store.history("fb 1")] == ["new", "shipped"]
    assert [i.id for i in store.items_of("telegram:42")] == ["FB1"]
    assert store.claim_notification("FB1", "telegram:42") and not store.claim_notification("FB1", "telegram:42")
    assert list(store.notified("FB1")) == ["telegram:42"]


def test_many_people_filing_one_idea_at_once_make_one_item(repo: FeedbackRepository) -> None:
    store = FeedbackStore(repo, use_vectors=False)
    start = threading.Barrier(8)

    def file(n: int) -> str:
        start.wait(timeout=30)
        return store.file(f"rest:fan{n}", "Band 9 needs dark mode", kind="suggestion", language="en").outcome

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes: List[str] = list(pool.map(file, range(8)))
    assert sorted(outcomes) == ["joined"] * 7 + ["new"]
    assert len(store.all()) == 1 and store.all()[0].count == 8


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    repo = RedisFeedbackRepository(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError, match=r"RedisFeedbackRepository\.get: Redis is unreachable") as caught:
        repo.get("FB1")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
