"""The call-back store contract: `RedisCallbackStore` (on a real embedded Redis) and `MemoryCallbackStore` behave
the same for every operation of `CallbackStorage`: one open call-back per user (a second low rating adds to it),
the summary of the user's last resolved handoff, done once, the open list by due time, overdue counts, and the
figures they add to the follow-ups' log."""

from __future__ import annotations

import socket
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import redis

from bot.errors import DataError, StorageError
from bot.followups._callbacks import CallbackStorage, CallbackStore, RedisCallbackStore
from bot.followups._config import FollowupConfig
from bot.followups._memory import MemoryCallbackStore, MemoryFollowupLog
from bot.followups._store import read_log
from bot.handoff._memory import MemoryHandoffStore
from bot.handoff.rules import Escalation, EscalationConfig
from bot.handoff.store import HandoffStorage, RedisHandoffStore

CONFIG = FollowupConfig()
ESCALATION = EscalationConfig(rules=(), tier_boost={}, trust_metadata_tier=False, minutes_per_conversation=4.0,
                              no_agent_timeout_seconds=60.0, agent_online_seconds=90.0, canned_replies={}, perks={})
T0 = 1_700_000_000.0


class Stores:
    """A call-back store with the handoff store it reads summaries from, and its figures log."""

    def __init__(self, callbacks: CallbackStorage, handoffs: HandoffStorage, log: Any) -> None:
        self.callbacks, self.handoffs, self._log = callbacks, handoffs, log

    def logged(self) -> List[Tuple[str, float]]:
        entries: List[Dict[str, Any]] = (list(read_log(self._log, 0, T0 * 2)) if isinstance(self._log, redis.Redis)
                                         else self._log.read(0, T0 * 2))
        return [(e["what"], e["at"]) for e in entries]



@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        handoffs = MemoryHandoffStore(ESCALATION)
        log = MemoryFollowupLog()
        yield Stores(MemoryCallbackStore(CONFIG, log, resolved=handoffs.resolved), handoffs, log)
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield Stores(RedisCallbackStore(client, CONFIG), RedisHandoffStore(client, ESCALATION), client)


def _resolve(handoffs: HandoffStorage, sender_id: str, agent: str, now: float) -> None:
    handoffs.enqueue(sender_id, Escalation("angry", "angry user", 60, False, "气死"), channel="wechat",
                     language="zh", now=now)
    handoffs.claim(sender_id, agent, now=now + 1)
    handoffs.resolve(sender_id, agent, now=now + 2)


def test_the_old_name_builds_the_redis_store(red: "redis.Redis[str]") -> None:
    assert CallbackStore is RedisCallbackStore and isinstance(CallbackStore(red, CONFIG), RedisCallbackStore)


def test_nothing_at_first(stores: Stores) -> None:
    cb = stores.callbacks
    assert cb.get("u1") is None and cb.open_list(T0) == [] and cb.overdue(T0) == 0
    with pytest.raises(DataError, match="no open call-back for u1"):
        cb.done("u1", "tina")


def test_a_low_rating_opens_one_with_the_last_handoff(stores: Stores) -> None:
    _resolve(stores.handoffs, "u1", "lin", T0 - 100)
    _resolve(stores.handoffs, "u2", "mei", T0 - 50)
    opened = stores.callbacks.open("u1", 2, language="zh", now=T0)
    due = CONFIG.callback_due(T0)
    assert opened == {"sender_id": "u1", "state": "open", "rating": 2,
                      "ratings": [{"rating": 2, "agent": "", "at": T0}], "agent": "lin",
                      "summary": {"rule": "angry", "reason": "angry user", "cue": "气死", "agent": "lin",
                                  "resolved_by": "lin", "resolved_at": T0 - 98, "channel": "wechat",
                                  "language": "zh"},
                      "language": "zh", "opened_at": T0, "due_at": round(due, 3), "done_at": 0.0, "done_by": "",
                      "note": ""}
    assert stores.callbacks.get("u1") == opened
    other = stores.callbacks.open("u3", 1, agent="tao", language="fr", now=T0)
    assert (other["agent"], other["summary"], other["language"]) == ("tao", {}, "en")


def test_a_second_low_rating_adds_to_the_open_one(stores: Stores) -> None:
    stores.callbacks.open("u1", 2, agent="lin", now=T0)
    added = stores.callbacks.open("u1", 1, agent="mei", now=T0 + 60)
    assert added["rating"] == 1 and added["agent"] == "lin" and added["opened_at"] == T0
    assert added["ratings"] == [{"rating": 2, "agent": "lin", "at": T0}, {"rating": 1, "agent": "mei", "at": T0 + 60}]
    assert stores.callbacks.open("u1", 2, now=T0 + 70)["rating"] == 1
    assert [c["sender_id"] for c in stores.callbacks.open_list(T0)] == ["u1"]
    assert stores.logged() == [("callback_opened", T0)]


def test_done_once_then_a_new_one(stores: Stores) -> None:
    opened = stores.callbacks.open("u1", 2, agent="lin", now=T0)
    done = stores.callbacks.done("u1", "tina", "called, all good " + "x" * 600, now=T0 + 10)
    assert (done["state"], done["done_by"], done["done_at"]) == ("done", "tina", T0 + 10)
    assert len(done["note"]) == 500 and done["ratings"] == opened["ratings"]
    assert stores.callbacks.open_list(T0) == [] and stores.callbacks.overdue(T0 + 10 * 86400) == 0
    with pytest.raises(DataError):
        stores.callbacks.done("u1", "tina")
    fresh = stores.callbacks.open("u1", 1, agent="mei", now=T0 + 20)
    assert (fresh["state"], fresh["rating"], fresh["done_by"], fresh["note"]) == ("open", 1, "", "")
    assert [r["agent"] for r in fresh["ratings"]] == ["mei"]


def test_the_open_list_by_due_time_and_overdue(stores: Stores) -> None:
    stores.callbacks.open("late", 2, now=T0 + 86400)
    stores.callbacks.open("early", 1, now=T0)
    stores.callbacks.open("also_early", 1, now=T0)
    due_early = round(CONFIG.callback_due(T0), 3)
    listed = stores.callbacks.open_list(due_early + 1)
    assert [c["sender_id"] for c in listed] == ["also_early", "early", "late"]
    assert [c["overdue"] for c in listed] == [True, True, False]
    assert stores.callbacks.overdue(due_early) == 0 and stores.callbacks.overdue(due_early + 0.5) == 2


def test_done_late_is_counted(stores: Stores) -> None:
    stores.callbacks.open("u1", 2, now=T0)
    late = round(CONFIG.callback_due(T0), 3) + 5
    stores.callbacks.done("u1", "tina", now=late)
    assert stores.logged() == [("callback_opened", T0), ("callback_done", late), ("callback_done_late", late)]


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    store = RedisCallbackStore(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True), CONFIG)
    with pytest.raises(StorageError, match=r"RedisCallbackStore\.open_list: Redis is unreachable") as caught:
        store.open_list(T0)
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
