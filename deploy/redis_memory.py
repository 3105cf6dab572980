"""Redis memory per 10,000 active conversations, measured (docs/deploy.md quotes its output).

    ~/.cache/canyu/venv/bin/python deploy/redis_memory.py [--real 40] [--copies 10000]

1. Starts the real assistant (embedded Redis, action server, Rasa; tests/harness.py) and runs `--real`
   ten-message REST conversations, zh and en, a fresh sender each (bench/load.py's scripts and driver). Every
   key family those conversations left in that Redis (trackers, the event stream, outboxes, …) is summed with
   MEMORY USAGE and divided by the number of conversations.
2. Copies those real trackers `--copies` times, under new sender ids, into a fresh embedded Redis through the
   tracker store that endpoints.yml names (whatever class it is when this runs), and reads INFO memory before
   and after: the tracker store's own cost of 10k conversations, measured rather than extrapolated.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

from bot.settings import QUIET_ENV  # noqa: E402


def _load_bench(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"canyu_bench_{name}", HOME / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def family(key: str) -> str:
    """`canyu:tracker:rest:abc` -> `canyu:tracker`; a key without colons is its own family."""
    parts = key.split(":")
    return ":".join(parts[:2]) if len(parts) > 1 else key


def memory_by_family(red: Any) -> Dict[str, List[int]]:
    """{family: [keys, bytes]} over every key (MEMORY USAGE, all samples for aggregates)."""
    sizes: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for key in red.scan_iter(count=1000):
        used = red.memory_usage(key, samples=0) or 0
        sizes[family(key)][0] += 1
        sizes[family(key)][1] += used
    return dict(sizes)


def real_conversations(count: int, data_dir: Path) -> Dict[str, Any]:
    """Run `count` real conversations; return their trackers, the domain and the per-family memory growth."""
    load = _load_bench("load")
    from tests.harness import start_assistant

    assistant = start_assistant(data_dir, with_console=False)
    try:
        target = load.Target(assistant.url, assistant.rest_headers, load.Inbox(), 60.0, 1.0)
        load.Target.rest(target, load.Tally(), load.script("rest", 0, 2))  # warm-up
        red = assistant.redis
        before = memory_by_family(red)
        senders: List[str] = []

        def conversation(i: int) -> None:
            tally = load.Tally()
            texts = load.script("rest", i, 10)
            name = f"mem-{i}-{time.time_ns() % 10**9}"
            for text in texts:
                response = target.session.post(f"{assistant.url}/webhooks/rest/webhook", timeout=60,
                                               json={"sender": name, "message": text}, headers=target.rest_headers)
                tally.add(messages=1, answered=int(response.ok and bool(response.json())))
            senders.append(f"rest:{name}")

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(conversation, range(count)))
        after = memory_by_family(red)
        growth = {f: [after[f][0] - before.get(f, [0, 0])[0], after[f][1] - before.get(f, [0, 0])[1]]
                  for f in after}
        token = {"token": assistant.token}
        trackers = [requests.get(f"{assistant.url}/conversations/{s}/tracker", params=token, timeout=60).json()
                    for s in senders]
        domain = requests.get(f"{assistant.url}/domain", params=token, headers={"Accept": "application/json"},
                              timeout=60).json()
        return {"trackers": trackers, "domain": domain, "growth": growth}
    finally:
        assistant.stop()


def copies_through_tracker_store(trackers: List[Dict[str, Any]], domain_dict: Dict[str, Any], copies: int,
                                 folder: Path) -> Dict[str, Any]:
    """Save `copies` trackers (the real ones in turn, new ids) through endpoints.yml's tracker store into a fresh
    Redis; INFO memory before and after."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import read_endpoint_config

    from bot.storage import EmbeddedRedis

    server = EmbeddedRedis(folder / "redis").start()
    os.environ["REDIS_URL"] = server.url
    try:
        import redis

        red = redis.Redis.from_url(server.url, decode_responses=True)
        domain = Domain.from_dict(domain_dict)
        config = read_endpoint_config(str(HOME / "endpoints.yml"), "tracker_store")
        store = TrackerStore.create(config, domain=domain)
        red.execute_command("MEMORY", "PURGE")
        before = int(red.info("memory")["used_memory"])
        started = time.perf_counter()

        async def save_all() -> None:
            for i in range(copies):
                real = trackers[i % len(trackers)]
                tracker = DialogueStateTracker.from_dict(f"rest:copy-{i}", real["events"], domain.slots)
                await store.save(tracker)

        asyncio.run(save_all())
        seconds = time.perf_counter() - started
        red.execute_command("MEMORY", "PURGE")
        after = int(red.info("memory")["used_memory"])
        return {"store": type(store).__module__ + "." + type(store).__name__, "bytes": after - before,
                "keys": red.dbsize(), "seconds": seconds, "families": memory_by_family(red)}
    finally:
        server.stop()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=int, default=40, help="real conversations through the stack (default 40)")
    parser.add_argument("--copies", type=int, default=10000, help="trackers saved through the store (default 10000)")
    args = parser.parse_args(argv)
    os.environ.update(QUIET_ENV)
    folder = Path(tempfile.mkdtemp(prefix="canyu-redis-memory-"))
    print(f"# deploy/redis_memory.py --real {args.real} --copies {args.copies}, "
          f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC", flush=True)
    real = real_conversations(args.real, folder / "stack")
    events = [len(t["events"]) for t in real["trackers"]]
    print(f"\n1. {args.real} real 10-message conversations through the stack "
          f"({sum(events) / len(events):.0f} tracker events each on average); Redis growth by key family:")
    total = 0
    for name, (keys, used) in sorted(real["growth"].items(), key=lambda kv: -kv[1][1]):
        if keys <= 0 and used <= 0:
            continue
        total += used
        print(f"   {name:<28} {keys:>6} keys {used / 1024:>9.1f} KiB  = {used / args.real / 1024:>6.1f} KiB per "
              f"conversation, {used / args.real * 10000 / 2**20:>7.1f} MiB per 10k")
    print(f"   {'all':<28} {'':>6}      {total / 1024:>9.1f} KiB  = {total / args.real / 1024:>6.1f} KiB per "
          f"conversation, {total / args.real * 10000 / 2**20:>7.1f} MiB per 10k")
    copied = copies_through_tracker_store(real["trackers"], real["domain"], args.copies, folder / "copies")
    print(f"\n2. {args.copies:,} of those trackers saved through {copied['store']} (endpoints.yml) into a fresh "
          f"Redis in {copied['seconds']:.0f} s: used_memory +{copied['bytes'] / 2**20:.1f} MiB, "
          f"{copied['keys']:,} keys = {copied['bytes'] / args.copies / 1024:.1f} KiB per conversation, "
          f"{copied['bytes'] / args.copies * 10000 / 2**20:.1f} MiB per 10k")
    for name, (keys, used) in sorted(copied["families"].items(), key=lambda kv: -kv[1][1]):
        print(f"   {name:<28} {keys:>6} keys {used / 2**20:>9.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
