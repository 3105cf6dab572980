"""At most K messages in Rasa's processor at once, the others queued in arrival order (the `admission` patch).

Why: Rasa's event loop, the NLU thread and the in-process actions' thread interleave every message in flight
(processor sharing): at c=16 a heavy message (retrieval, a form and two action calls) waits for the other 15
messages' slices at every await, so its latency is many times its own work, and the tail (p99) is far above the
mean. With at most K messages admitted and the rest waiting in a FIFO queue, the CPU stays busy (K of 2–4 still
overlap a message's waits: Redis, the encoder, the action server) while a message's latency becomes its wait in
the queue plus its own work, shared with K-1 others instead of 15. The mean, at the same throughput, is the same
(Little's law); the spread should shrink. Measured on the shared 2-core host it did not, beyond the run-to-run
noise (the tail there comes from stalls outside the processor's order), so it is off by default
(docs/throughput.md, "Fifth pass").

How: `MessageProcessor.handle_message` (wrapped, outermost of our wrappers) takes a slot of its processor's
`Gate` before Rasa's code and gives it back after, also on an error or a cancellation. The gate only queues: a
message accepted is never dropped or reordered by it; a slot given back goes straight to the oldest waiter.

The gate is taken **inside the sender's lock** (Rasa's `Agent.handle_message` holds `lock_store.lock(sender)`
around `processor.handle_message`), on purpose:
- per-sender order stays the lock store's: tickets are issued in arrival order before the gate, so the gate
  never sees two messages of one sender at once (the second waits for the lock, not for a slot);
- no deadlock: a message holding a slot already holds its own sender's lock and waits for nothing a queued
  message holds (queued messages hold only their own senders' locks);
- no slot wasted: outside the lock, an admitted message could hold a slot while waiting for its sender's lock.
The cost: a queued message's lock ages while it waits (Rasa's lock lifetime, 60 s by default, is far above any
queue here: 64 messages in flight wait ~0.5 s).

`CANYU_MAX_INFLIGHT` (bot/speedups.py `max_inflight`): K, or `off` for no gate (Rasa's way). One gate per
processor and event loop; each Rasa server of `bot run --workers N` has its own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

__all__ = ["Gate", "gate_of", "install_admission"]

_GATE = "_canyu_gate"


class Gate:
    """A FIFO counting gate for one event loop: `enter` waits for a slot in arrival order, `leave` hands the slot
    to the oldest waiter (no barging: a newcomer never overtakes a waiter)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a gate needs at least one slot, not {limit}")
        self.limit = limit
        self.busy = 0
        self._waiters: Deque["asyncio.Future[None]"] = deque()

    @property
    def waiting(self) -> int:
        """Messages queued for a slot."""
        return len(self._waiters)

    async def enter(self) -> None:
        """Take a slot, waiting in arrival order if all are busy. Cancelled while waiting: leaves the queue (a
        slot handed over meanwhile goes to the next one)."""
        if self.busy < self.limit and not self._waiters:
            self.busy += 1
            return
        waiter: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # `leave` hands its slot over: `busy` stays as it is
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.leave()  # the slot came with the cancellation: pass it on
            elif waiter in self._waiters:  # `leave` skips (and drops) a cancelled waiter it meets first
                self._waiters.remove(waiter)
            raise

    def leave(self) -> None:
        """Give a slot back: to the oldest waiter still waiting, else free."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.busy -= 1


def gate_of(processor: Any, limit: int) -> Gate:
    """The processor's gate on the running event loop (a new loop, e.g. a test's, gets a new gate)."""
    loop = asyncio.get_running_loop()
    kept: Optional[Tuple[Any, Gate]] = processor.__dict__.get(_GATE)
    if kept is None or kept[0] is not loop:
        kept = processor.__dict__[_GATE] = (loop, Gate(limit))
    return kept[1]


def install_admission(originals: Dict[str, Callable[..., Any]], limit: Optional[int]) -> bool:
    """Wrap `MessageProcessor.handle_message` with a gate of `limit` slots (the method found first kept in
    `originals`); None: no gate. Whether it was installed."""
    if limit is None:
        return False
    from rasa.core.processor import MessageProcessor

    handle = MessageProcessor.handle_message
    originals.setdefault("MessageProcessor.handle_message", handle)

    async def handle_message(self: Any, message: Any) -> Optional[List[Dict[str, Any]]]:
        gate = gate_of(self, limit)
        await gate.enter()
        try:
            answer: Optional[List[Dict[str, Any]]] = await handle(self, message)
            return answer
        finally:
            gate.leave()

    handle_message.__doc__ = handle.__doc__
    MessageProcessor.handle_message = handle_message
    return True
