"""A message waiting for its sender's lock gets it soon after its turn comes (bot/locks.py), not up to a second
later as with Rasa's 1 s polling; the order stays the sender's, with one Rasa server or several."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List

import pytest

from tests.test_tracker_store import lock_stores, loop, red, run  # noqa: F401 - fixtures

HOLD_S = 0.3


async def _two(store: Any, conversation: str) -> Dict[str, float]:
    """`a` holds the conversation for HOLD_S; `b` arrives meanwhile: how long after `a` left `b` got in."""
    times: Dict[str, float] = {}
    order: List[str] = []

    async def handle(name: str, pause: float) -> None:
        async with store.lock(conversation):  # Rasa's agent: the default wait of 1 s
            order.append(name)
            times[name + " in"] = time.monotonic()
            await asyncio.sleep(pause)
            times[name + " out"] = time.monotonic()

    first = asyncio.ensure_future(handle("a", HOLD_S))
    await asyncio.sleep(0.02)
    await asyncio.gather(first, handle("b", 0))
    assert order == ["a", "b"]
    return {"late": times["b in"] - times["a out"]}


@pytest.mark.parametrize("kind", ["LockStore", "AtomicLockStore"])
def test_the_next_message_gets_the_lock_soon_after_its_turn(red: Any, monkeypatch: Any, kind: str) -> None:  # noqa: F811
    import bot.locks

    ours, rasa_way = lock_stores(monkeypatch)
    if kind == "AtomicLockStore":
        ours = bot.locks.AtomicLockStore()
    late = run(_two(ours, f"rest:wait-{kind}"))["late"]
    rasas = run(_two(rasa_way, f"rest:wait-rasa-{kind}"))["late"]
    assert late < 0.15, late  # looked again after 10, 20, 40 … ms
    assert rasas > 0.4, rasas  # Rasa's: the next look a second after the first
    assert not red.exists(f"canyu:lock:rest:wait-{kind}")
