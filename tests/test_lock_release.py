"""The lock of a message ends in its last save's script (bot/locks.py `HeldLock`, bot/stores.py, the
`lock-release` patch of bot/rasa_lock_release.py): the events are appended and the lock cleaned up as the lock's
own clean-up would, in one round trip; a save that is not a message's last (not armed), on another Redis server,
or that does not append leaves the clean-up to the lock, as before. On a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest

from bot import rasa_patches
from bot.locks import arm_release, held_lock
from bot.stores import TrackerStore
from tests.test_tracker_store import (  # noqa: F401 - fixtures
    DOMAIN,
    lock_stores,
    loop,
    red,
    run,
    session_start,
    tickets,
    turn,
)


def _counting_cleanups(monkeypatch: pytest.MonkeyPatch, lock_store: Any) -> List[int]:
    calls: List[int] = []
    real = lock_store._cleanup

    def cleanup(**kwargs: Any) -> Any:
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(lock_store, "_cleanup", cleanup)
    return calls


async def _message(lock_store: Any, store: TrackerStore, sender: str, n: int, armed: bool,
                   seen: List[Any]) -> None:
    """A message as Rasa's agent and processor handle it: lock, read, add the events, save (armed: the wrapper
    of `handle_message`); `seen` gets the lock's tickets right after the save."""
    async with lock_store.lock(sender, wait_time_in_seconds=0.01):
        tracker = await store.get_or_create_tracker(sender)  # a new conversation's tracker is saved here: not armed
        for event in (session_start(1_699_999_000.0 + n) if n == 0 else []) + turn(n, f"问题 {n}"):
            tracker.update(event)
        await asyncio.sleep(0.01)
        if armed:
            arm_release(sender)  # the processor's `save_tracker` inside `handle_message`
        await store.save(tracker)
        seen.append(tickets(lock_store, sender))
        seen.append(held_lock(sender))


@pytest.mark.parametrize("armed", [True, False])
def test_the_last_save_ends_the_lock_in_its_script(red: Any, monkeypatch: Any, armed: bool) -> None:  # noqa: F811
    lock_store, _ = lock_stores(monkeypatch)
    store = TrackerStore(DOMAIN)
    calls = _counting_cleanups(monkeypatch, lock_store)
    sender = f"rest:release-{armed}"
    seen: List[Any] = []
    for n in range(3):
        run(_message(lock_store, store, sender, n, armed, seen))
    assert seen[0::2] == ([[], [], []] if armed else [[0], [0], [0]])  # the lock right after each save
    assert seen[1::2] == [None, None, None]  # released (armed), or never armed
    assert calls == ([] if armed else [1, 1, 1])  # the lock's own clean-up: not needed when the save did it
    assert not red.exists(f"canyu:lock:{sender}")
    stored = run(store.retrieve(sender))
    assert [e.as_dict().get("text") for e in stored.events if e.type_name == "user"] == ["问题 0", "问题 1", "问题 2"]


def test_a_waiting_message_keeps_its_ticket_and_order_holds(red: Any, monkeypatch: Any) -> None:  # noqa: F811
    lock_store, _ = lock_stores(monkeypatch)
    store = TrackerStore(DOMAIN)
    seen: List[Any] = []

    async def both() -> None:
        first = asyncio.ensure_future(_message(lock_store, store, "rest:release-two", 0, True, seen))
        await asyncio.sleep(0.002)
        await asyncio.gather(first, _message(lock_store, store, "rest:release-two", 1, True, seen))

    run(both())
    assert seen[0] == [1] and seen[2] == []  # the first's save left the second's ticket, the second's ended it
    stored = run(store.retrieve("rest:release-two"))
    assert [e.as_dict().get("text") for e in stored.events if e.type_name == "user"] == ["问题 0", "问题 1"]
    assert not red.exists("canyu:lock:rest:release-two")


def test_a_lock_on_another_server_is_left_to_the_lock(red: Any, monkeypatch: Any) -> None:  # noqa: F811
    lock_store, _ = lock_stores(monkeypatch)
    store = TrackerStore(DOMAIN)
    store._server = ("elsewhere", 6379, None, 0)
    calls = _counting_cleanups(monkeypatch, lock_store)
    seen: List[Any] = []
    run(_message(lock_store, store, "rest:release-elsewhere", 0, True, seen))
    assert seen[0] == [0] and calls == [1] and not red.exists("canyu:lock:rest:release-elsewhere")


def test_only_the_save_of_a_message_arms_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.processor import MessageProcessor

    from bot.locks import _HELD, HeldLock

    armed: List[Any] = []

    async def save(self: Any, tracker: Any) -> None:
        armed.append(held_lock(tracker.sender_id) is not None)

    async def handle(self: Any, message: Any) -> None:
        armed.append(held_lock(message.sender_id) is not None)  # the store's own saves come before: not armed
        await MessageProcessor.save_tracker(self, message)

    rasa_patches.uninstall()
    monkeypatch.setattr(MessageProcessor, "handle_message", handle)
    monkeypatch.setattr(MessageProcessor, "save_tracker", save)
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        assert "lock-release" in rasa_patches.active()
        processor, message = type("P", (), {})(), type("M", (), {"sender_id": "rest:armed"})()

        async def holding(call: Any) -> None:
            _HELD.set(HeldLock("rest:armed", 0, "canyu:lock:rest:armed", ()))
            await call

        asyncio.run(holding(MessageProcessor.handle_message(processor, message)))  # a message: its last save
        asyncio.run(holding(MessageProcessor.save_tracker(processor, message)))  # the HTTP API, a reminder
        other = type("M", (), {"sender_id": "rest:someone-else"})()
        asyncio.run(holding(MessageProcessor.handle_message(processor, other)))
    finally:
        rasa_patches.uninstall()
    assert MessageProcessor.handle_message is handle and MessageProcessor.save_tracker is save
    assert armed == [False, True, False, False, False]
