"""The benches' REST load generator on one thread: asyncio and aiohttp instead of `requests` in a thread per conversation.

bench/throughput.py, bench/admission.py and bench/profile_tail.py drive the assistant with `c` conversations at
a time, each user sending the next message once the answer is in (closed loop). With `requests` that took one
thread per conversation in the bench's own process: ~1 ms of CPU per message, and at c=16 the 16 threads queue
for the GIL, so a reply that has arrived waits for a thread switch (5 ms slices) before its latency is taken
(docs/throughput.md, sixth pass: the load generator stalled in 25–42% of the messages over p95). Here one event
loop runs all conversations: a reply is timed when the loop reads it, with no other thread to wait for, on the
same 2 cores as the stack. The conversations, messages, senders, timeout and what counts as an error, a loss or a
hand-off are those of `Target.rest` (bench/load.py).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Callable, Iterable, List

from bench.load import Tally, Target, _duplicated


async def _conversation(session: Any, target: Target, tally: Tally, texts: List[str]) -> None:
    import aiohttp

    name = f"load-{uuid.uuid4().hex[:12]}"
    url = f"{target.url}/webhooks/rest/webhook"
    for text in texts:
        started = time.perf_counter()
        try:
            async with session.post(url, json={"sender": name, "message": text}, headers=target.rest_headers) as resp:
                status, body = resp.status, await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            tally.add(messages=1, errors=1, sample=f"rest {type(exc).__name__}")
            continue
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            tally.add(messages=1, errors=1, sample=f"rest {status} {body[:80]!r}")
            continue
        answer = [m.get("text") or str(m) for m in json.loads(body)]
        if not answer:
            # rare (a conversation handed to a person): the blocking Redis look-up is fine here
            if target.handed_off(tally, f"rest:{name}"):
                return
            tally.add(messages=1, lost=1, sample=f"rest: empty answer to {text!r}")
            continue
        tally.add(messages=1, answered=1, latency_ms=elapsed, duplicated=int(_duplicated(answer)))


async def _run(target: Target, concurrency: int, scripts: List[List[str]], tally: Tally) -> None:
    import aiohttp

    queue = iter(scripts)
    timeout = aiohttp.ClientTimeout(total=target.timeout)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for texts in queue:  # one iterator shared by the workers: each takes the next conversation
                await _conversation(session, target, tally, texts)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def run_conversations(target: Target, concurrency: int, indices: Iterable[int],
                      lines: Callable[[int], List[str]], tally: Tally) -> float:
    """The conversations `indices` (their texts by `lines(index)`), `concurrency` at a time, into `tally`; the
    seconds it took."""
    scripts = [lines(i) for i in indices]
    started = time.perf_counter()
    asyncio.run(_run(target, concurrency, scripts, tally))
    return time.perf_counter() - started
