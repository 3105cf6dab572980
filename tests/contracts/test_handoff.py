"""The handoff store contract: `RedisHandoffStore` (on a real embedded Redis) and `MemoryHandoffStore` behave the
same for every operation of `HandoffStorage`: the states and their transitions, the queue's order, one winner of
a race, the resolve mark that expires, the pending rating."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, List, Tuple

import pytest
import redis

from bot.errors import StorageError
from bot.fans import load_rules, rules_path
from bot.handoff._memory import MemoryHandoffStore
from bot.handoff.records import QUEUED, WITH_AGENT, ResolveInProgress
from bot.handoff.rules import Escalation, EscalationConfig
from bot.handoff.store import HandoffStorage, HandoffStore, RedisHandoffStore
from bot.settings import load_settings
from tests.contracts import Clock

CONFIG = EscalationConfig(rules=(), tier_boost={"vip": 30, "fan": 5}, trust_metadata_tier=True,
                          minutes_per_conversation=4.0, no_agent_timeout_seconds=60.0, agent_online_seconds=90.0,
                          canned_replies={}, perks={})
T0 = 1_700_000_000.0
FAN_RULES = load_rules(rules_path(load_settings()))
"""The fan tiers the Redis store asks `bot.fans.priority_for` with (the memory store gets `_newcomer`)."""


def _escalation(priority: int = 50, rule: str = "asked_for_human", urgent: bool = False) -> Escalation:
    return Escalation(rule=rule, reason=f"{rule} reason", priority=priority, urgent=urgent, cue="人工",
                      also=("angry",))


def _newcomer(sender_id: str) -> Tuple[str, int]:
    """What `bot.fans.priority_for` says of a person it has no record of (the Redis store asks it)."""
    return ("newcomer", 0)




@pytest.fixture(params=["memory", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(kind: str, clock: Clock, request: pytest.FixtureRequest) -> Iterator[HandoffStorage]:
    if kind == "memory":
        yield MemoryHandoffStore(CONFIG, clock=clock, fan_priority=_newcomer)
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield RedisHandoffStore(client, CONFIG, clock=clock, fan_rules=FAN_RULES)


@pytest.fixture
def wait(kind: str, clock: Clock) -> Callable[[float], None]:
    """Let `seconds` pass for the store's expiries (the memory clock moves; Redis needs real time)."""
    def advance(seconds: float) -> None:
        if kind == "memory":
            clock.now += seconds
        else:
            time.sleep(seconds)
            clock.now += seconds

    return advance


def test_the_old_name_builds_the_redis_store(red: "redis.Redis[str]") -> None:
    assert HandoffStore is RedisHandoffStore and isinstance(HandoffStore(red, CONFIG), RedisHandoffStore)


def test_nothing_is_known_at_first(store: HandoffStorage) -> None:
    assert store.get("u1") is None and store.waiting() == [] and store.active() == []
    assert store.ahead_of("u1") == 0 and store.history("u1") == [] and store.notes("u1") == []
    assert store.resolved() == [] and store.ratings() == [] and store.agents_online(T0) == []
    assert store.tier_of("u1") == "" and store.tier_and_boost("u1") == ("newcomer", 0)
    assert not store.claim("u1", "lin") and not store.transfer("u1", "mei") and not store.requeue("u1")
    assert store.resolve("u1", "lin") is None and store.due_for_timeout_notice(T0) == []
    assert store.estimate_minutes("u1", T0) is None


def test_enqueue_keeps_every_field(store: HandoffStorage) -> None:
    record = store.enqueue("u1", _escalation(urgent=True), tier="vip", channel="telegram", language="zh",
                           now=T0 + 0.12345)
    assert (record.state, record.rule, record.reason, record.cue) == (QUEUED, "asked_for_human",
                                                                     "asked_for_human reason", "人工")
    assert (record.priority, record.urgent, record.tier, record.channel, record.language) == (80, True, "vip",
                                                                                             "telegram", "zh")
    assert record.queued_at == 1_700_000_000.123 and record.agent == "" and record.claimed_at == 0.0
    assert store.get("u1") == record and [r.sender_id for r in store.waiting()] == ["u1"]
    [entry] = store.history("u1")
    assert entry["what"] == "queued" and entry["priority"] == 80 and entry["also"] == ["angry"]
    assert store.enqueue("u2", _escalation(), boost=7, now=T0).priority == 57
    assert store.enqueue("u3", _escalation(), language="", now=T0).language == "en"


def test_the_queue_is_highest_priority_then_longest_wait(store: HandoffStorage) -> None:
    store.enqueue("late", _escalation(50), now=T0 + 20)
    store.enqueue("early", _escalation(50), now=T0 + 10)
    store.enqueue("urgent", _escalation(90), now=T0 + 30)
    store.enqueue("same", _escalation(50), now=T0 + 10)
    assert [r.sender_id for r in store.waiting()] == ["urgent", "early", "same", "late"]
    assert [store.ahead_of(s) for s in ("urgent", "early", "same", "late", "nobody")] == [0, 1, 2, 3, 0]


def test_enqueue_again_only_raises_the_priority(store: HandoffStorage) -> None:
    store.enqueue("a", _escalation(50), now=T0)
    store.enqueue("b", _escalation(60), now=T0 + 5)
    lower = store.enqueue("a", _escalation(10, rule="low"), now=T0 + 9)
    assert (lower.priority, lower.rule, lower.queued_at) == (50, "asked_for_human", T0)
    raised = store.enqueue("a", _escalation(70, rule="angry", urgent=True), now=T0 + 9)
    assert (raised.priority, raised.rule, raised.urgent, raised.queued_at) == (70, "angry", True, T0)
    assert [r.sender_id for r in store.waiting()] == ["a", "b"]
    assert [e["what"] for e in store.history("a")] == ["queued", "raised"]
    store.claim("a", "lin", now=T0 + 20)
    assert store.enqueue("a", _escalation(99), now=T0 + 30).state == WITH_AGENT


def test_claim_transfer_requeue(store: HandoffStorage) -> None:
    store.enqueue("u1", _escalation(), now=T0)
    store.enqueue("u2", _escalation(), now=T0 + 1)
    assert store.claim("u1", "lin", now=T0 + 10.5)
    assert not store.claim("u1", "mei", now=T0 + 11)
    record = store.get("u1")
    assert record is not None and (record.state, record.agent, record.claimed_at) == (WITH_AGENT, "lin", T0 + 10.5)
    assert [r.sender_id for r in store.waiting()] == ["u2"] and [r.sender_id for r in store.active()] == ["u1"]
    store.claim("u2", "mei", now=T0 + 5)
    assert [r.sender_id for r in store.active()] == ["u2", "u1"]
    assert [r.sender_id for r in store.active("lin")] == ["u1"] and store.active("tao") == []
    assert not store.transfer("u1", "tao", from_agent="mei")
    assert store.transfer("u1", "tao", from_agent="lin", now=T0 + 20)
    assert store.transfer("u1", "lin", now=T0 + 21)
    assert [r.sender_id for r in store.active()] == ["u2", "u1"] and store.get("u1").agent == "lin"  # type: ignore[union-attr]
    assert store.requeue("u1", by="lin") and not store.requeue("u1")
    again = store.get("u1")
    assert again is not None and (again.state, again.agent, again.claimed_at) == (QUEUED, "", 0.0)
    assert [r.sender_id for r in store.waiting()] == ["u1"] and [r.sender_id for r in store.active()] == ["u2"]
    assert [e["what"] for e in store.history("u1")] == ["queued", "claimed", "transferred", "transferred",
                                                         "requeued"]
    assert store.history("u1")[2]["by"] == "lin" and store.history("u1")[2]["to"] == "tao"


def test_one_of_many_agents_claiming_at_once_wins(store: HandoffStorage) -> None:
    store.enqueue("u1", _escalation(), now=T0)
    start = threading.Barrier(8)

    def claim(n: int) -> bool:
        start.wait(timeout=30)
        return store.claim("u1", f"agent{n}", now=T0 + n)

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(claim, range(8)))
    assert won.count(True) == 1
    assert store.get("u1").agent == f"agent{won.index(True)}"  # type: ignore[union-attr]


def test_resolve_removes_and_summarises(store: HandoffStorage) -> None:
    store.enqueue("u1", _escalation(), channel="wechat", now=T0)
    store.claim("u1", "lin", now=T0 + 10)
    store.begin_resolve("u1", "lin", 30)
    record = store.resolve("u1", "lin", now=T0 + 100)
    assert record is not None and record.agent == "lin"
    assert store.get("u1") is None and store.waiting() == [] and store.active() == []
    [summary] = store.resolved()
    assert (summary["sender_id"], summary["resolved_by"], summary["resolved_at"]) == ("u1", "lin", T0 + 100)
    assert summary["waited_seconds"] == 100 and summary["channel"] == "wechat"
    assert store.resolve("u1", "lin") is None
    store.begin_resolve("u1", "mei", 30)  # the mark went with the record
    assert store.history("u1")[-1] == {"what": "resolved", "at": store.history("u1")[-1]["at"], "by": "lin"}
    store.enqueue("u2", _escalation(), now=T0)
    store.resolve("u2", "mei", now=T0 + 200)
    assert [s["sender_id"] for s in store.resolved()] == ["u2", "u1"] and len(store.resolved(1)) == 1


def test_one_resolve_at_a_time_and_the_mark_expires(store: HandoffStorage, wait: Callable[[float], None]) -> None:
    store.enqueue("u1", _escalation(), now=T0)
    store.begin_resolve("u1", "lin", 1)
    with pytest.raises(ResolveInProgress) as caught:
        store.begin_resolve("u1", "mei", 30)
    assert caught.value.agent == "lin" and isinstance(caught.value, StorageError)
    store.abort_resolve("u1")
    store.begin_resolve("u1", "", 1)
    with pytest.raises(ResolveInProgress, match="- is resolving u1"):
        store.begin_resolve("u1", "mei", 30)
    wait(1.2)
    store.begin_resolve("u1", "mei", 30)
    assert store.get("u1") is not None


def test_a_rating_names_the_agent_of_the_last_handoff(store: HandoffStorage) -> None:
    assert store.record_rating("u1", 4, now=T0) == {"sender_id": "u1", "rating": 4, "agent": "", "at": T0}
    store.enqueue("u1", _escalation(), now=T0)
    store.claim("u1", "lin", now=T0 + 1)
    store.resolve("u1", "", now=T0 + 2)
    assert store.record_rating("u1", 2, now=T0 + 3)["agent"] == "lin"
    assert store.record_rating("u1", 5, now=T0 + 4)["agent"] == ""
    assert [(r["rating"], r["agent"]) for r in store.ratings()] == [(4, ""), (2, "lin"), (5, "")]


def test_the_timeout_notice_goes_once(store: HandoffStorage) -> None:
    store.enqueue("old", _escalation(), now=T0)
    store.enqueue("new", _escalation(), now=T0 + 50)
    assert [r.sender_id for r in store.due_for_timeout_notice(T0 + 61)] == ["old"]
    assert store.due_for_timeout_notice(T0 + 61) == []
    assert store.get("old").timeout_notified  # type: ignore[union-attr]
    with ThreadPoolExecutor(max_workers=4) as pool:
        lists: List[List[str]] = list(pool.map(
            lambda _: [r.sender_id for r in store.due_for_timeout_notice(T0 + 200)], range(4)))
    assert sorted(s for due in lists for s in due) == ["new"]


def test_agents_online_and_the_wait(store: HandoffStorage) -> None:
    store.heartbeat("lin", now=T0)
    store.heartbeat("mei", now=T0 - 100)
    store.heartbeat("tao", now=T0 - 10)
    assert store.agents_online(T0) == ["tao", "lin"]
    store.heartbeat("mei", now=T0 + 1)
    assert store.agents_online(T0 + 1) == ["tao", "lin", "mei"]
    for n in range(4):
        store.enqueue(f"u{n}", _escalation(), now=T0 + n)
    assert store.estimate_minutes("u3", T0 + 1) == 6  # ceil(4 * 4 / 3)
    assert store.estimate_minutes("u0", T0 + 1000) is None


def test_tiers(store: HandoffStorage) -> None:
    assert store.tier_of("u1", {"tier": "vip"}) == "vip"
    store.set_tier("u1", "fan")
    assert store.tier_of("u1", {"tier": "vip"}) == "fan"
    assert store.tier_and_boost("u1") == ("fan", 5)
    assert store.tier_and_boost("u2", {"tier": "vip"}) == ("vip", 30)


def test_notes_and_events_in_order(store: HandoffStorage) -> None:
    first = store.add_note("u1", "lin", "说过两次了")
    store.add_note("u1", "mei", "second")
    assert store.notes("u1") == [first, store.notes("u1")[1]] and store.notes("u1")[1]["text"] == "second"
    store.log_event("u1", "perk", kind="credit", amount=20, gift=("a", "b"))
    assert store.history("u1")[0]["amount"] == 20 and store.history("u1")[0]["gift"] == ["a", "b"]


def test_the_signoff_is_claimed_once(store: HandoffStorage) -> None:
    store.enqueue("u1", _escalation(), now=T0)
    assert store.claim_signoff("u1") and not store.claim_signoff("u1")


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    client = redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True)
    store = RedisHandoffStore(client, CONFIG)
    with pytest.raises(StorageError, match=r"RedisHandoffStore\.get: Redis is unreachable") as caught:
        store.get("u1")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
