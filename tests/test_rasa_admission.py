"""The admission gate (bot/rasa_admission.py, `CANYU_MAX_INFLIGHT`): at most K messages in the processor, the rest
queued in arrival order; per-sender order kept and no message lost, inside Rasa's lock store."""

from __future__ import annotations

import asyncio
import random
from typing import Any, Dict, List, Tuple

import pytest

from bot import rasa_patches
from bot.errors import ConfigError
from bot.rasa_admission import Gate
from bot.speedups import DEFAULT_MAX_INFLIGHT, max_inflight


def test_the_switch() -> None:
    assert max_inflight({}) == DEFAULT_MAX_INFLIGHT
    assert max_inflight({"CANYU_MAX_INFLIGHT": "3"}) == 3
    assert max_inflight({"CANYU_MAX_INFLIGHT": " 1 "}) == 1
    assert max_inflight({"CANYU_MAX_INFLIGHT": "off"}) is None
    assert max_inflight({"CANYU_MAX_INFLIGHT": "0"}) is None
    for bad in ("-2", "two", "1.5"):
        with pytest.raises(ConfigError, match="CANYU_MAX_INFLIGHT"):
            max_inflight({"CANYU_MAX_INFLIGHT": bad})


def test_the_gate_admits_k_at_a_time_in_arrival_order() -> None:
    async def run() -> Tuple[List[int], int]:
        gate, order, peak = Gate(2), [], 0

        async def one(i: int) -> None:
            nonlocal peak
            await gate.enter()
            try:
                order.append(i)
                peak = max(peak, gate.busy)
                await asyncio.sleep(random.uniform(0, 0.01))
            finally:
                gate.leave()

        await asyncio.gather(*(one(i) for i in range(20)))
        assert gate.busy == 0 and gate.waiting == 0
        return order, peak

    order, peak = asyncio.run(run())
    assert order == list(range(20)) and peak == 2


def test_a_cancelled_waiter_leaves_the_queue_and_no_slot_is_lost() -> None:
    async def run() -> None:
        gate = Gate(1)
        await gate.enter()
        waiting = asyncio.ensure_future(gate.enter())
        after = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        assert gate.waiting == 2
        waiting.cancel()
        await asyncio.sleep(0)
        gate.leave()  # the slot goes to `after`, not to the cancelled one
        await asyncio.wait_for(after, 1)
        assert gate.busy == 1 and gate.waiting == 0
        gate.leave()
        assert gate.busy == 0

        # a slot handed over in the same step as the cancellation is passed on
        await gate.enter()
        first, second = asyncio.ensure_future(gate.enter()), asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        gate.leave()  # hands the slot to `first`…
        first.cancel()  # …which is cancelled before it runs
        await asyncio.wait_for(second, 1)
        assert first.cancelled() and gate.busy == 1 and gate.waiting == 0
        gate.leave()
        assert gate.busy == 0

    asyncio.run(run())


class FakeProcessor:
    """What the wrapped `handle_message` needs of a processor."""

    http_interpreter = None


@pytest.mark.parametrize("limit", ["1", "2"])
def test_interleaved_senders_keep_their_order_and_every_message_is_answered(monkeypatch: Any, limit: str) -> None:
    from rasa.core.channels.channel import UserMessage
    from rasa.core.lock_store import InMemoryLockStore
    from rasa.core.processor import MessageProcessor

    handled: List[Tuple[str, int]] = []
    inside, peak = 0, 0

    async def handle_message(self: Any, message: Any) -> List[Dict[str, Any]]:  # Rasa's, as far as order goes
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        try:
            await asyncio.sleep(random.uniform(0, 0.005))
            handled.append((message.sender_id, int(message.text)))
            await asyncio.sleep(random.uniform(0, 0.005))
            return [{"recipient_id": message.sender_id, "text": message.text}]
        finally:
            inside -= 1

    monkeypatch.setattr(MessageProcessor, "handle_message", handle_message)
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_MAX_INFLIGHT": limit})
    try:
        assert "admission" in rasa_patches.active()
        processor, locks = FakeProcessor(), InMemoryLockStore()

        async def send(sender: str, n: int) -> Any:  # Rasa's `Agent.handle_message`: the lock, then the processor
            async with locks.lock(sender, wait_time_in_seconds=0.001):
                return await MessageProcessor.handle_message(processor, UserMessage(str(n), sender_id=sender))

        async def burst() -> List[Any]:
            sends = []
            for n in range(8):  # a1 b1 c1 d1 a2 b2 …: each sender's next message while others are in flight
                for sender in "abcd":
                    sends.append(asyncio.ensure_future(send(sender, n)))
                    await asyncio.sleep(0)
            return list(await asyncio.gather(*sends))

        answers = asyncio.run(burst())
    finally:
        rasa_patches.uninstall()
    assert len(answers) == 32 and all(answer for answer in answers)
    assert sorted(handled) == sorted((s, n) for s in "abcd" for n in range(8))  # none lost, none twice
    for sender in "abcd":
        assert [n for s, n in handled if s == sender] == list(range(8))
    assert peak == int(limit)


def test_off_installs_no_gate() -> None:
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_MAX_INFLIGHT": "off"})
    try:
        assert "admission" not in rasa_patches.active()
    finally:
        rasa_patches.uninstall()
