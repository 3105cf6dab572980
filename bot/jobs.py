"""Background jobs that run once per deployment, whatever the number of processes that could run them.

Every process that may run jobs (the `bot run` supervisor, each agent console) runs a `JobRunner`; the
runners compete for one Redis lease, and only the holder (the leader) runs the job bodies:

    runner = JobRunner(redis, [Job("handoff-timeouts", 5.0, service.sweep_timeouts)])
    await runner.run(stop_event)                 # in an event loop (the console)
    thread = runner.start_thread()               # or in a thread with its own loop (`bot run`)
    thread.stop()

The lease is `SET canyu:jobs:leader <owner> NX PX <ttl>`: taken when free, renewed by its holder every
tick and while a body runs (so a long body keeps it), given back when a runner stops cleanly. A leader
that dies (kill -9, a frozen process, a lost network) stops renewing; its lease runs out after `ttl`
seconds and the next runner to tick takes over. Renewal and release only touch a lease that still holds
this runner's owner id (a Lua compare-and-set), so a runner that lost the lease never cuts another's.

A body that fails is logged and tried again at its next turn; a Redis outage makes every runner a
follower until Redis answers again. Bodies must tolerate being run again after a takeover (the handoff
sweep marks each record with HSETNX before it sends, so a notice goes out once).

The jobs themselves are built by the feature packages (`bot.feedback`, `bot.followups`, …) and listed in
`bot/deployment_jobs.py`; this module knows none of them.

Redis keys (owned here; names in bot/keys.py): `canyu:jobs:leader` (string: the leader's owner id, with a PX expiry).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

from bot import keys

__all__ = ["Job", "LeaderLock", "JobRunner", "JobThread", "LEADER_KEY", "DEFAULT_TTL_S", "DEFAULT_TICK_S",
           "HANDOFF_SWEEP_S"]

logger = logging.getLogger(__name__)

LEADER_KEY = keys.JOBS_LEADER
DEFAULT_TTL_S = 15.0
"""How long a lease lasts without renewal: the longest a dead leader's jobs pause."""
DEFAULT_TICK_S = 1.0
HANDOFF_SWEEP_S = 5.0
"""How often the leader looks for queued users who waited past escalation.yml's no-agent timeout."""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaderLock:
    """The lease one runner holds (`hold()` takes or renews it, `release()` gives it back)."""

    def __init__(self, redis: Any, owner: Optional[str] = None, key: str = LEADER_KEY,
                 ttl: float = DEFAULT_TTL_S) -> None:
        self.redis = redis
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.key = key
        self.ttl_ms = max(1, int(ttl * 1000))

    def __repr__(self) -> str:
        return f"LeaderLock(key={self.key}, owner={self.owner}, ttl_ms={self.ttl_ms})"

    def hold(self) -> bool:
        """Take the lease if it is free, renew it if it is ours; True when this runner leads now."""
        return bool(self.redis.eval(_RENEW, 1, self.key, self.owner, self.ttl_ms))

    def release(self) -> bool:
        """Give the lease back if it is still ours (the next runner to tick takes it at once)."""
        return bool(self.redis.eval(_RELEASE, 1, self.key, self.owner))

    def holder(self) -> Optional[str]:
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


@dataclass
class Job:
    """A body run every `every` seconds by the leader only."""

    name: str
    every: float
    body: Callable[[], Awaitable[Any]]
    last_run: float = field(default=0.0, repr=False)


class JobRunner:
    """Competes for the lease every `tick` seconds; while leading, runs each job when it is due."""

    def __init__(self, redis: Any, jobs: Sequence[Job], *, ttl: float = DEFAULT_TTL_S,
                 tick: float = DEFAULT_TICK_S, owner: Optional[str] = None, key: str = LEADER_KEY) -> None:
        if tick >= ttl:
            from bot.errors import ConfigError

            raise ConfigError(f"job runner tick {tick} s must be shorter than the lease ({ttl} s)")
        self.lock = LeaderLock(redis, owner=owner, key=key, ttl=ttl)
        self.jobs = list(jobs)
        self.ttl = ttl
        self.tick_seconds = tick
        self.leading = False
        self.runs: Dict[str, int] = {job.name: 0 for job in self.jobs}

    @property
    def owner(self) -> str:
        return self.lock.owner

    async def _hold(self) -> bool:
        try:
            leading = await asyncio.to_thread(self.lock.hold)
        except Exception as exc:  # Redis down or slow: nobody can be sure to lead, so nobody runs
            if self.leading:
                logger.warning("jobs: %s cannot renew the lease (%s); pausing its jobs", self.owner, exc)
            leading = False
        if leading != self.leading:
            logger.info("jobs: %s %s", self.owner, "leads; running the jobs" if leading else "follows")
        self.leading = leading
        return leading

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            await self._hold()

    async def tick(self, now: Optional[float] = None) -> List[str]:
        """One turn: hold the lease, then run the due jobs if leading; returns the names run."""
        if not await self._hold():
            return []
        ran: List[str] = []
        for job in self.jobs:
            now = time.monotonic() if now is None else now
            if now - job.last_run < job.every:
                continue
            job.last_run = now
            keeper = asyncio.ensure_future(self._keep_lease())
            try:
                await job.body()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.error("jobs: %s failed: %s", job.name, exc)
            finally:
                keeper.cancel()
            self.runs[job.name] += 1
            ran.append(job.name)
            if not self.leading:
                break
        return ran

    async def run(self, stop: Optional[asyncio.Event] = None) -> None:
        """Tick until `stop` is set (or the task is cancelled), then give the lease back."""
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                await self.tick()
                try:
                    await asyncio.wait_for(stop.wait(), self.tick_seconds)
                except asyncio.TimeoutError:
                    pass
        finally:
            self.leading = False
            try:
                await asyncio.to_thread(self.lock.release)
            except Exception as exc:  # the lease runs out by itself
                logger.warning("jobs: %s could not give the lease back: %s", self.owner, exc)

    def start_thread(self, name: str = "canyu-jobs") -> "JobThread":
        thread = JobThread(self, name)
        thread.start()
        return thread


class JobThread(threading.Thread):
    """A `JobRunner` in a daemon thread with its own event loop; `stop()` ends it and releases the lease."""

    def __init__(self, runner: JobRunner, name: str = "canyu-jobs") -> None:
        super().__init__(name=name, daemon=True)
        self.runner = runner
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop_event: Optional[asyncio.Event] = None
        self._ready = threading.Event()

    def run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._stop_event = asyncio.Event()
        self._ready.set()
        try:
            loop.run_until_complete(self.runner.run(self._stop_event))
        finally:
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        self._ready.wait(timeout)
        if self._loop is not None and self._stop_event is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop_event.set)
            except RuntimeError:
                pass  # the loop ended meanwhile
        self.join(timeout)

