"""The appending tracker store (bot/stores.py) keeps what Rasa's RedisTrackerStore keeps, on a real Redis.

Each scenario runs through our store and, side by side, through Rasa's own `RedisTrackerStore` on the same
Redis (another key prefix): the trackers read back must be the same, event for event. On top: a continued
tracker is appended, not rewritten (an element we re-encode in Redis stays as we left it); a tracker that does
not continue the stored events is merged as Rasa merges; old string trackers are read and migrated; the
expiry follows `record_exp` and the retention sweep; the event broker gets what Rasa's would, and drains on
close; and the real Rasa server's HTTP API shows the stored conversation.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import redis as redis_lib
import requests
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.event_broker import RedisEventBroker
from bot.storage import EmbeddedRedis
from bot.stores import FORMAT, TrackerStore
from tests.harness import Assistant, new_sender

NOW_ISH = 1_750_000_000.0  # the scripts' events are older; a new tracker's first event is newer
DOMAIN = Domain.from_dict({"intents": ["greet", "ask"], "slots": {
    "language": {"type": "text", "mappings": [{"type": "custom"}]}}})


def run(coro: Any) -> Any:
    return asyncio.get_event_loop().run_until_complete(coro)


@pytest.fixture(scope="module")
def loop() -> Iterator[None]:
    asyncio.set_event_loop(asyncio.new_event_loop())
    yield


@pytest.fixture
def red(redis_server: EmbeddedRedis, monkeypatch: Any, loop: None) -> Iterator["redis_lib.Redis[str]"]:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.delenv("CANYU_RASA_SPEEDUPS", raising=False)
    client = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()


def stores(url: str, **kwargs: Any) -> Tuple[TrackerStore, RedisTrackerStore]:
    ours = TrackerStore(DOMAIN, **kwargs)
    stock = RedisTrackerStore(DOMAIN, key_prefix="stock", **kwargs)
    stock.red = redis_lib.Redis.from_url(url, decode_responses=True)
    return ours, stock


def turn(n: int, text: str) -> List[Any]:
    t = 1_700_000_000.0 + n
    return [UserUttered(text, {"name": "ask", "confidence": 0.9}, timestamp=t),
            ActionExecuted("utter_answer", timestamp=t + 0.1), BotUttered(f"answer {n}", timestamp=t + 0.2),
            SlotSet("language", "zh" if n % 2 else "en", timestamp=t + 0.3),
            ActionExecuted("action_listen", timestamp=t + 0.4)]


def session_start(t: float) -> List[Any]:
    return [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t + 0.01),
            ActionExecuted("action_listen", timestamp=t + 0.02)]


def dicts(tracker: DialogueStateTracker) -> List[Dict[str, Any]]:
    """The events as dicts; "now" for the time of the `action_listen` a new tracker starts with (made now)."""
    out = [e.as_dict() for e in tracker.events]
    return [{**d, "timestamp": "now"} if d["timestamp"] > NOW_ISH else d for d in out]


def converse(store: Any, sender: str, turns: List[List[Any]]) -> None:
    """What Rasa's processor does per message: read the latest session, add the events, save."""
    for events in turns:
        tracker = run(store.get_or_create_tracker(sender))
        for event in events:
            tracker.update(event)
        run(store.save(tracker))


def same_both_ways(ours: TrackerStore, stock: RedisTrackerStore, sender: str) -> DialogueStateTracker:
    mine, theirs = run(ours.retrieve(sender)), run(stock.retrieve(sender))
    assert dicts(mine) == dicts(theirs)
    assert mine.current_slot_values() == theirs.current_slot_values()
    full, full_stock = run(ours.retrieve_full_tracker(sender)), run(stock.retrieve_full_tracker(sender))
    assert dicts(full) == dicts(full_stock)
    return full


SCRIPT = [session_start(1_699_999_999.0)] + [turn(i, t) for i, t in enumerate(["hi", "你好", "price?", "多少钱"])]


def test_a_continued_tracker_is_appended_and_reads_back_as_rasa_reads_it(red: Any, redis_server: Any) -> None:
    ours, stock = stores(redis_server.url)
    converse(ours, "rest:a", SCRIPT[:2])
    converse(stock, "rest:a", SCRIPT[:2])
    key = "canyu:tracker:rest:a"
    assert red.type(key) == "list"
    header = json.loads(red.lindex(key, 0))
    assert header["format"] == FORMAT and header["n"] == red.llen(key) - 1 == 1 + 3 + 5
    # re-encode a stored event (same content, other key order): a rewrite would put Rasa's encoding back
    resorted = json.dumps(json.loads(red.lindex(key, 2)), sort_keys=True, indent=1)
    red.lset(key, 2, resorted)

    def no_full_read(key: str) -> None:
        raise AssertionError(f"the message path read all of {key}")

    ours._stored = no_full_read  # type: ignore[method-assign,assignment]  # appending needs the header only
    converse(ours, "rest:a", SCRIPT[2:])
    converse(stock, "rest:a", SCRIPT[2:])
    assert red.lindex(key, 2) == resorted
    assert json.loads(red.lindex(key, 0))["n"] == red.llen(key) - 1 == 1 + 3 + 5 * 4
    full = same_both_ways(ours, stock, "rest:a")
    assert full.get_slot("language") == "zh" and len(full.events) == 24


def test_the_latest_session_only_is_read_and_a_new_session_appends(red: Any, redis_server: Any) -> None:
    ours, stock = stores(redis_server.url)
    script = SCRIPT[:3] + [session_start(1_700_000_100.0), turn(100, "again")]
    for store in (ours, stock):
        converse(store, "rest:b", script)
    assert json.loads(red.lindex("canyu:tracker:rest:b", 0))["start"] == 1 + 3 + 10  # the 2nd session's start
    same_both_ways(ours, stock, "rest:b")
    assert len(run(ours.retrieve("rest:b")).events) == 3 + 5


def test_a_tracker_from_outside_continuing_the_stored_events_is_appended(red: Any, redis_server: Any) -> None:
    ours, stock = stores(redis_server.url)
    converse(ours, "rest:c", SCRIPT[:3])
    key = "canyu:tracker:rest:c"
    resorted = json.dumps(json.loads(red.lindex(key, 3)), sort_keys=True)
    red.lset(key, 3, resorted)
    stored = [json.loads(item) for item in red.lrange(key, 1, -1)]
    outside = DialogueStateTracker.from_dict("rest:c", stored + [e.as_dict() for e in turn(50, "more")],
                                             DOMAIN.slots)  # what the HTTP API or a tool builds: no mark
    run(ours.save(outside))
    assert red.lindex(key, 3) == resorted and red.llen(key) == 1 + len(stored) + 5


def test_a_tracker_that_does_not_continue_the_stored_one_is_merged_as_rasa_merges(red: Any, redis_server: Any) -> None:
    ours, stock = stores(redis_server.url)
    for store in (ours, stock):
        converse(store, "rest:d", SCRIPT[:3])
        other = DialogueStateTracker.from_events("rest:d", session_start(1_600_000_000.0) + turn(7, "other"),
                                                 DOMAIN.slots)
        run(store.save(other))
    full = same_both_ways(ours, stock, "rest:d")
    texts = [e.text for e in full.events if isinstance(e, UserUttered)]
    assert texts == ["hi", "你好", "other"]  # nothing stored was dropped, the new turn is there once
    assert json.loads(red.lindex("canyu:tracker:rest:d", 0))["n"] == len(full.events)


def test_a_write_between_read_and_save_is_not_lost(red: Any, redis_server: Any) -> None:
    ours, _ = stores(redis_server.url)
    converse(ours, "rest:e", SCRIPT[:2])
    first, second = run(ours.retrieve("rest:e")), run(ours.retrieve("rest:e"))
    for event in turn(10, "first"):
        first.update(event)
    run(ours.save(first))
    for event in turn(11, "second"):
        second.update(event)
    run(ours.save(second))  # its mark is stale: the careful path merges
    texts = [e.text for e in run(ours.retrieve_full_tracker("rest:e")).events if isinstance(e, UserUttered)]
    assert texts == ["hi", "first", "second"]


def test_a_new_tracker_has_the_slots_rasa_gives_it(red: Any, redis_server: Any) -> None:
    from pathlib import Path

    from rasa.core.tracker_store import TrackerStore as RasaBase

    domain = Domain.load(str(Path(__file__).resolve().parents[1] / "domain.yml"))  # every slot type we use
    ours, _ = stores(redis_server.url)
    ours.domain = domain
    mine, rasas = ours.init_tracker("rest:n"), RasaBase.init_tracker(ours, "rest:n")
    assert list(mine.slots) == list(rasas.slots) and len(mine.slots) > 10
    for name, slot in rasas.slots.items():
        assert type(mine.slots[name]) is type(slot) and vars(mine.slots[name]) == vars(slot), name
    assert all(mine.slots[s.name] is not s for s in domain.slots)  # copies: the domain's own stay untouched
    language = next(s for s in domain.slots if s.name == "language")
    before = language.value
    mine.update(SlotSet("language", "zh" if before != "zh" else "en"))
    assert language.value == before and mine.get_slot("language") != before


def test_two_instances_see_each_others_writes(red: Any, redis_server: Any) -> None:
    """Each store keeps the events it saved last in memory; a write by another instance must show anyway."""
    one, _ = stores(redis_server.url)
    two, _ = stores(redis_server.url)
    converse(one, "rest:m", SCRIPT[:2])
    assert "rest:m" in one._recent
    converse(two, "rest:m", [turn(40, "from two")])
    converse(one, "rest:m", [turn(41, "from one")])
    converse(two, "rest:m", [turn(42, "two again")])
    for store in (one, two):
        texts = [e.text for e in run(store.retrieve("rest:m")).events if isinstance(e, UserUttered)]
        assert texts == ["hi", "from two", "from one", "two again"]
    held = run(one.retrieve("rest:m"))
    assert [e.as_dict() for e in held.events] == [json.loads(x) for x in red.lrange("canyu:tracker:rest:m", 1, -1)][1:]


def test_an_old_string_tracker_is_read_and_becomes_a_list_on_save(red: Any, redis_server: Any) -> None:
    _, stock = stores(redis_server.url)
    converse(stock, "rest:f", SCRIPT[:3])
    red.rename("stock:tracker:rest:f", "canyu:tracker:rest:f")  # what Canyu wrote before bot/stores.py appended
    ours, _ = stores(redis_server.url)
    old = run(ours.retrieve_full_tracker("rest:f"))
    assert [e.text for e in old.events if isinstance(e, UserUttered)] == ["hi", "你好"]
    converse(ours, "rest:f", [turn(20, "now a list")])
    assert red.type("canyu:tracker:rest:f") == "list"
    texts = [e.text for e in run(ours.retrieve_full_tracker("rest:f")).events if isinstance(e, UserUttered)]
    assert texts == ["hi", "你好", "now a list"]


def test_speedups_off_uses_rasas_store_and_reads_our_lists_back(red: Any, redis_server: Any, monkeypatch: Any) -> None:
    ours, _ = stores(redis_server.url)
    converse(ours, "rest:g", SCRIPT[:3])
    monkeypatch.setenv("CANYU_RASA_SPEEDUPS", "0")
    rasa_way, _ = stores(redis_server.url)
    assert not rasa_way.appending
    converse(rasa_way, "rest:g", [turn(30, "stock")])
    assert red.type("canyu:tracker:rest:g") == "string"
    texts = [e.text for e in run(rasa_way.retrieve_full_tracker("rest:g")).events if isinstance(e, UserUttered)]
    assert texts == ["hi", "你好", "stock"]


def test_record_exp_sets_the_expiry_and_retention_reads_the_header(red: Any, redis_server: Any) -> None:
    from bot.privacy import RetentionPolicy, apply_retention

    def save(store: TrackerStore, sender: str, events: List[Any]) -> None:
        run(store.save(DialogueStateTracker.from_events(sender, events, DOMAIN.slots)))

    ours, _ = stores(redis_server.url, record_exp=3600)
    save(ours, "rest:h", SCRIPT[1])
    assert 3590 <= red.ttl("canyu:tracker:rest:h") <= 3600
    plain, _ = stores(redis_server.url)
    now = float(int(time.time()))
    save(plain, "rest:i", SCRIPT[1])  # its newest event is long past 90 days
    fresh = [UserUttered("fresh", timestamp=now - 86400)]
    save(plain, "rest:j", fresh)
    assert red.ttl("canyu:tracker:rest:j") == -1
    policy = RetentionPolicy(retention={"trackers": 90, "events": 180, "handoff": 180, "outbox": 30,
                                        "feedback_text": 365})
    report = apply_retention(red, policy, now=now)
    assert not red.exists("canyu:tracker:rest:i")
    assert abs(red.ttl("canyu:tracker:rest:j") - (89 * 86400 + (now - time.time()))) <= 5
    assert report["trackers"]["deleted"] >= 1
    save(plain, "rest:j", fresh + [UserUttered("again", timestamp=now)])  # continues: appended
    assert red.llen("canyu:tracker:rest:j") == 3
    assert red.ttl("canyu:tracker:rest:j") == -1  # a save of a live conversation clears it, as Rasa's SET does


def test_the_broker_gets_what_rasas_store_sends_and_drains_on_close(red: Any, redis_server: Any) -> None:
    ours, stock = stores(redis_server.url)
    ours.event_broker = RedisEventBroker(redis_server.url, stream="canyu:events")
    stock.event_broker = RedisEventBroker(redis_server.url, stream="stock:events", background=False)
    script = SCRIPT[:3] + [session_start(1_700_000_100.0), turn(100, "again")]
    for store in (ours, stock):
        converse(store, "rest:k", script)
    assert ours.event_broker.background
    run(ours.event_broker.close())
    assert ours.event_broker.pending() == 0
    mine = [json.loads(f["event"]) for _, f in red.xrange("canyu:events")]
    theirs = [json.loads(f["event"]) for _, f in red.xrange("stock:events")]
    assert mine[1:] == theirs[1:] and len(mine) == len(theirs) == 1 + 3 + 10 + 3 + 5
    assert mine[0]["name"] == theirs[0]["name"] == "action_listen"  # made now, so at two different times


def test_the_broker_keeps_order_across_threads_and_loses_nothing(red: Any, redis_server: Any) -> None:
    import threading

    broker = RedisEventBroker(redis_server.url, stream="canyu:events")

    def send(worker: int) -> None:
        for i in range(400):
            broker.publish({"event": "user", "sender_id": f"rest:{worker}", "i": i})

    threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert broker.flush(10)
    got: Dict[str, List[int]] = {}
    for _, fields in red.xrange("canyu:events"):
        event = json.loads(fields["event"])
        got.setdefault(event["sender_id"], []).append(event["i"])
    assert got == {f"rest:{w}": list(range(400)) for w in range(4)}


def test_rasas_http_api_shows_the_stored_conversation(assistant: Assistant) -> None:
    sender = new_sender("store")
    for text in ("hi", "我的订单到哪了", "how long does shipping take", "谢谢"):
        assert assistant.say(sender, text)
    red = assistant.redis
    key = f"canyu:tracker:{sender}"
    assert red.type(key) == "list"
    stored = [json.loads(item) for item in red.lrange(key, 1, -1)]
    api = assistant.tracker(sender)
    assert api["events"] == stored
    assert [e["text"] for e in api["events"] if e["event"] == "user"] == [
        "hi", "我的订单到哪了", "how long does shipping take", "谢谢"]
    # an event added through the API lands in the list, and the next message still appends after it
    posted = requests.post(f"{assistant.url}/conversations/{sender}/tracker/events",
                           params={"token": assistant.token}, timeout=60,
                           json={"event": "slot", "name": "language", "value": "zh", "timestamp": time.time()})
    assert posted.status_code == 200, posted.text
    assert assistant.say(sender, "bye")
    again = assistant.tracker(sender)
    assert again["events"][:len(stored)] == stored
    assert again["events"] == [json.loads(item) for item in red.lrange(key, 1, -1)]
    assert json.loads(red.lindex(key, 0) or "{}")["n"] == len(again["events"])


# ---------------------------------------------------------------- the lock store
def lock_stores(monkeypatch: Any) -> Tuple[Any, Any]:
    from bot.stores import LockStore

    ours = LockStore()
    monkeypatch.setenv("CANYU_RASA_SPEEDUPS", "0")
    rasa_way = LockStore()
    monkeypatch.delenv("CANYU_RASA_SPEEDUPS")
    assert ours.scripted and not rasa_way.scripted
    return ours, rasa_way


def tickets(store: Any, conversation: str) -> List[int]:
    from rasa.core.lock_store import RedisLockStore

    lock = RedisLockStore.get_lock(store, conversation)  # Rasa's own reading of what is stored
    return [t.number for t in lock.tickets] if lock else []


def test_the_lock_store_issues_and_cleans_up_as_rasas_does(red: Any, monkeypatch: Any) -> None:
    ours, rasa_way = lock_stores(monkeypatch)
    for store, cid in ((ours, "rest:lock-ours"), (rasa_way, "rest:lock-rasa")):
        assert [store.issue_ticket(cid, 30) for _ in range(3)] == [0, 1, 2]
        assert tickets(store, cid) == [0, 1, 2]
        lock = store.get_lock(cid)
        assert lock.conversation_id == cid and not lock.is_locked(0) and lock.is_locked(1)
        assert all(abs(t.expires - (time.time() + 30)) < 5 for t in lock.tickets)
        store.cleanup(cid, 0)
        assert tickets(store, cid) == [1, 2] and not store.get_lock(cid).is_locked(1)
        store.cleanup(cid, 2)
        store.cleanup(cid, 1)
        assert not red.exists(f"canyu:lock:{cid}")
        store.issue_ticket(cid, 0.05)  # expires at once: the next ticket starts again at 0, as in Rasa
        time.sleep(0.1)
        assert store.issue_ticket(cid, 30) == 0 and tickets(store, cid) == [0]


def test_tickets_from_two_instances_at_once_are_all_different(red: Any) -> None:
    import threading

    from bot.stores import LockStore

    stores_ = [LockStore(), LockStore()]  # two Rasa instances
    assert all(store.scripted for store in stores_)
    got: List[int] = []

    def take(store: Any) -> None:
        for _ in range(25):
            got.append(store.issue_ticket("rest:crowd", 60))

    threads = [threading.Thread(target=take, args=(stores_[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(200))


def test_the_lock_serialises_a_conversation(red: Any, monkeypatch: Any) -> None:
    ours, _ = lock_stores(monkeypatch)
    order: List[str] = []

    async def handle(name: str, pause: float) -> None:
        async with ours.lock("rest:serial", wait_time_in_seconds=0.01):
            order.append(f"{name} in")
            await asyncio.sleep(pause)
            order.append(f"{name} out")

    async def both() -> None:
        first = asyncio.ensure_future(handle("a", 0.2))
        await asyncio.sleep(0.02)
        await asyncio.gather(first, handle("b", 0))

    run(both())
    assert order == ["a in", "a out", "b in", "b out"]
    assert not red.exists("canyu:lock:rest:serial")


def test_a_free_conversation_is_locked_without_reading_the_lock_back(red: Any, monkeypatch: Any) -> None:
    ours, _ = lock_stores(monkeypatch)
    reads: List[str] = []
    real_get_lock = ours.get_lock
    def get_lock(cid: str) -> Any:
        reads.append(cid)
        return real_get_lock(cid)

    monkeypatch.setattr(ours, "get_lock", get_lock)

    async def take(cid: str) -> List[int]:
        async with ours.lock(cid, wait_time_in_seconds=0.01) as lock:
            assert not lock.is_locked(lock.tickets[0].number)
            # the live tickets: on a slow machine the other ticket can expire before the first look at the lock,
            # which then serves this one at once and leaves the expired ticket stored until the next update
            return [t for t in tickets(ours, cid) if t >= lock.tickets[-1].number]

    assert run(take("rest:free")) == [0] and reads == []  # issued alone: served at once
    assert not red.exists("canyu:lock:rest:free")
    ours.issue_ticket("rest:busy", 0.2)  # someone else holds it for 0.2 s
    assert run(take("rest:busy")) == [1] and reads  # waited its turn, reading the lock as Rasa does
    assert not red.exists("canyu:lock:rest:busy")
