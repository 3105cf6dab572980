"""The tracker store notes whether the conversation has a handoff record, read in the same script as the tracker
(bot/stores.py, bot/tracker_notes.py), and EscalationPolicy takes the note instead of asking Redis itself."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest
import redis as redis_lib
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered

from bot import keys, stores
from bot.storage import EmbeddedRedis
from bot.stores import TrackerStore
from bot.tracker_notes import note_handoff, noted_handoff
from tests.harness import new_sender

DOMAIN = Domain.from_dict({"intents": ["greet"], "slots": {
    "language": {"type": "text", "mappings": [{"type": "custom"}]}}})


@pytest.fixture
def red(redis_server: EmbeddedRedis, monkeypatch: Any) -> Iterator["redis_lib.Redis[str]"]:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.delenv("CANYU_RASA_SPEEDUPS", raising=False)
    client = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()


def _said(store: TrackerStore, sender: str) -> None:
    async def go() -> None:
        tracker = await store.get_or_create_tracker(sender)
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered("hi", {"name": "greet", "confidence": 1.0}))
        await store.save(tracker)
    asyncio.run(go())


def test_a_new_conversation_gets_the_note_of_the_read_that_found_no_tracker(red: Any) -> None:
    store = TrackerStore(DOMAIN)
    fresh, queued = new_sender("note"), new_sender("note")
    red.hset(keys.handoff(queued), mapping={"state": "queued"})
    assert noted_handoff(asyncio.run(store.get_or_create_tracker(fresh))) is False
    assert noted_handoff(asyncio.run(store.get_or_create_tracker(queued))) is True


def test_a_stored_conversation_is_noted_on_every_read(red: Any) -> None:
    store, other = TrackerStore(DOMAIN), TrackerStore(DOMAIN)
    sender = new_sender("note")
    _said(store, sender)
    assert noted_handoff(asyncio.run(store.retrieve(sender))) is False  # the events held in memory ("same")
    assert noted_handoff(asyncio.run(other.retrieve(sender))) is False  # read from the list
    red.hset(keys.handoff(sender), mapping={"state": "with_agent"})
    for tracker in (asyncio.run(store.retrieve(sender)), asyncio.run(other.retrieve(sender)),
                    asyncio.run(store.retrieve_full_tracker(sender))):
        assert tracker is not None and noted_handoff(tracker) is True
    red.delete(keys.handoff(sender))
    assert noted_handoff(asyncio.run(store.retrieve(sender))) is False


def test_a_late_new_tracker_is_not_noted(red: Any, monkeypatch: Any) -> None:
    store = TrackerStore(DOMAIN)
    sender = new_sender("note")
    assert asyncio.run(store.retrieve(sender)) is None
    monkeypatch.setattr(stores, "ABSENT_NOTE_S", 0.0)
    assert noted_handoff(store.init_tracker(sender)) is None  # the read is too old: the policy asks Redis


def test_rasas_own_store_notes_nothing(red: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("CANYU_RASA_SPEEDUPS", "0")
    store = TrackerStore(DOMAIN)
    sender = new_sender("note")
    _said(store, sender)
    assert noted_handoff(asyncio.run(store.retrieve(sender))) is None


def test_the_policy_takes_the_note_and_asks_redis_without_one(red: Any, tmp_path: Any) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.handoff.policy import EscalationPolicy

    policy = EscalationPolicy.create(EscalationPolicy.get_default_config(), LocalModelStorage(tmp_path),
                                     Resource("escalation"), ExecutionContext(GraphSchema({}), "test"))
    sender = new_sender("note")
    events = [ActionExecuted("action_listen"), UserUttered("still there?", {"name": "greet", "confidence": 0.9})]

    def tracker() -> DialogueStateTracker:
        return DialogueStateTracker.from_events(sender, events)

    assert policy._in_handoff(tracker()) is False
    red.hset(keys.handoff(sender), mapping={"state": "queued"})
    assert policy._in_handoff(tracker()) is True  # no note: Redis asked
    noted = tracker()
    note_handoff(noted, False)
    assert policy._in_handoff(noted) is False  # the note wins: no second look
    red.delete(keys.handoff(sender))
    note_handoff(noted, True)
    assert policy._in_handoff(noted) is True


def test_rasas_fail_safe_wrapper_makes_new_trackers_through_our_store(red: Any) -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore

    from bot import rasa_patches

    wrapped = FailSafeTrackerStore(TrackerStore(DOMAIN))  # what Rasa makes of endpoints.yml's tracker_store
    queued = new_sender("note")
    red.hset(keys.handoff(queued), mapping={"state": "queued"})
    rasa_patches.uninstall()
    try:
        assert noted_handoff(asyncio.run(wrapped.get_or_create_tracker(new_sender("note")))) is None  # Rasa's
        rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
        assert "store-init" in rasa_patches.active()
        tracker = asyncio.run(wrapped.get_or_create_tracker(queued, append_action_listen=False))
        assert noted_handoff(tracker) is True and set(tracker.slots) == {s.name for s in DOMAIN.slots}
        assert noted_handoff(asyncio.run(wrapped.get_or_create_tracker(new_sender("note")))) is False
    finally:
        rasa_patches.uninstall()
