"""bot/jobs.py on a real Redis: one leader runs the job bodies; another runner takes over when it stops or dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
import redis

from bot.jobs import Job, JobRunner, LeaderLock
from bot.storage import EmbeddedRedis

HOME = Path(__file__).resolve().parent.parent


@pytest.fixture
def red(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    return redis.Redis.from_url(redis_server.url, decode_responses=True)


@pytest.fixture
def key() -> str:
    return f"canyu:jobs:test-leader:{uuid.uuid4().hex[:8]}"


def _runner(red: "redis.Redis[str]", key: str, owner: str, log: List[Tuple[str, float]], ttl: float = 2.0,
            tick: float = 0.1) -> JobRunner:
    async def body() -> None:
        log.append((owner, time.monotonic()))

    return JobRunner(red, [Job("count", tick, body)], ttl=ttl, tick=tick, owner=owner, key=key)


def test_the_lease_is_taken_once_renewed_by_its_holder_and_released_only_by_it(red: "redis.Redis[str]",
                                                                               key: str) -> None:
    a = LeaderLock(red, owner="a", key=key, ttl=5)
    b = LeaderLock(red, owner="b", key=key, ttl=5)
    assert a.hold() and not b.hold()
    assert a.hold(), "the holder renews"
    assert 0 < red.pttl(key) <= 5000
    assert not b.release() and a.holder() == "a", "a runner without the lease cannot give it away"
    assert a.release() and red.get(key) is None
    assert b.hold() and a.holder() == "b"


def test_two_runners_one_body_per_tick(red: "redis.Redis[str]", key: str) -> None:
    log: List[Tuple[str, float]] = []
    a, b = _runner(red, key, "a", log), _runner(red, key, "b", log)

    async def both() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.ensure_future(a.run(stop)), asyncio.ensure_future(b.run(stop))]
        await asyncio.sleep(2.0)
        stop.set()
        await asyncio.gather(*tasks)

    asyncio.run(both())
    owners = {owner for owner, _ in log}
    assert len(owners) == 1, f"both runners ran the body: {log}"
    assert 10 <= len(log) <= 22, f"expected one run per 0.1 s tick over 2 s, got {len(log)}"
    assert red.get(key) is None, "a runner that stops gives the lease back"


def test_the_follower_takes_over_when_the_leader_stops(red: "redis.Redis[str]", key: str) -> None:
    log: List[Tuple[str, float]] = []
    a, b = _runner(red, key, "a", log, ttl=10.0), _runner(red, key, "b", log, ttl=10.0)

    async def scenario() -> float:
        stop_a, stop_b = asyncio.Event(), asyncio.Event()
        task_a = asyncio.ensure_future(a.run(stop_a))
        await asyncio.sleep(0.3)  # a leads
        task_b = asyncio.ensure_future(b.run(stop_b))
        await asyncio.sleep(1.0)
        assert not any(owner == "b" for owner, _ in log), "b ran while a led"
        stopped = time.monotonic()
        stop_a.set()
        await task_a
        await asyncio.sleep(1.0)
        stop_b.set()
        await task_b
        return stopped

    stopped = asyncio.run(scenario())
    b_runs = [at for owner, at in log if owner == "b"]
    assert b_runs, f"b never took over: {log}"
    assert b_runs[0] - stopped < 0.6, "a clean stop hands the lease over at the next tick, not after the lease"
    assert all(at <= stopped + 0.05 for owner, at in log if owner == "a")


LEADER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, time
    import redis
    from bot.jobs import Job, JobRunner

    url, key, runs = sys.argv[1:4]
    red = redis.Redis.from_url(url, decode_responses=True)

    async def body():
        red.rpush(runs, "child")

    asyncio.run(JobRunner(red, [Job("count", 0.1, body)], ttl=2.0, tick=0.1, owner="child", key=key).run())
    """
)


@pytest.fixture
def child_leader(redis_server: EmbeddedRedis, red: "redis.Redis[str]", key: str) -> Iterator[Tuple[subprocess.Popen, str]]:  # type: ignore[type-arg]
    runs = f"{key}:runs"
    env = dict(os.environ, PYTHONPATH=str(HOME))
    process = subprocess.Popen([sys.executable, "-c", LEADER_SCRIPT, redis_server.url, key, runs], env=env)
    try:
        deadline = time.monotonic() + 30
        while red.llen(runs) < 3:
            assert process.poll() is None, "the leader process died on its own"
            assert time.monotonic() < deadline, "the leader process never ran its job"
            time.sleep(0.05)
        yield process, runs
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_a_killed_leader_is_replaced_once_its_lease_runs_out(red: "redis.Redis[str]", key: str,
                                                            child_leader: Tuple[subprocess.Popen, str]) -> None:  # type: ignore[type-arg]
    process, runs = child_leader
    log: List[Tuple[str, float]] = []
    me = _runner(red, key, "me", log, ttl=2.0)

    async def scenario() -> float:
        stop = asyncio.Event()
        task = asyncio.ensure_future(me.run(stop))
        await asyncio.sleep(1.0)
        assert not log, "this runner ran while the other process led"
        os.kill(process.pid, signal.SIGKILL)
        killed = time.monotonic()
        await asyncio.sleep(3.5)
        stop.set()
        await task
        return killed

    killed = asyncio.run(scenario())
    assert process.wait(timeout=5) == -signal.SIGKILL
    mine = [at for _, at in log]
    assert mine, "nobody took over from the killed leader"
    assert mine[0] - killed <= 2.0 + 0.5, "the takeover waited longer than the lease"
    assert red.lrange(runs, 0, -1) == ["child"] * red.llen(runs)
