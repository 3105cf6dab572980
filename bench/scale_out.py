"""Throughput and latency through HAProxy for 1 and 2 Rasa servers, in one run (issue 17, "scale out").

    ~/.cache/canyu/venv/bin/python bench/scale_out.py [-n 64] [--concurrency 16] [--workers 1 2]

For each worker count it starts a stack (embedded Redis, action servers as `bot run --workers N` chooses them,
the Rasa servers, and HAProxy in front, even of one server, so every row pays the same hop; no console),
warms every server up, then sends N ten-message conversations over REST, zh and en, a fresh sender each,
C at a time, with bench/load.py's REST driver and scripts. Per row: msg/s, p50/p95/p99, lost and errors; the
CPU seconds each kind of process used per second of the run (1.00 = one core) and how busy the machine was;
RSS per process at the end.

With 2 cores the gain from a second Rasa server is bounded: the CPU columns say where the cores went.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import shlex
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import psutil

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

from bot.settings import QUIET_ENV, load_settings  # noqa: E402


def _load_bench(name: str) -> Any:
    """A bench script as a module, by path (bench/ must not go on sys.path: its names shadow the stdlib)."""
    spec = importlib.util.spec_from_file_location(f"canyu_bench_{name}", HOME / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


load = _load_bench("load")


def _kind(name: str) -> str:
    return name.split("-", 1)[0]  # rasa-40211 -> rasa, actions-5055 -> actions, balancer, redis


def _processes(stack: Any) -> Dict[str, List[psutil.Process]]:
    """The stack's processes by child name (each with its descendants), and Redis."""
    found: Dict[str, List[psutil.Process]] = {}
    for name, child in stack.children.items():
        if child.process is not None:
            try:
                root = psutil.Process(child.process.pid)
                found[name] = [root] + root.children(recursive=True)
            except psutil.NoSuchProcess:
                pass
    if stack.redis is not None and stack.redis.pid:
        found["redis"] = [psutil.Process(stack.redis.pid)]
    return found


def _cpu_seconds(procs: Dict[str, List[psutil.Process]]) -> Dict[str, float]:
    totals: Dict[str, float] = {}
    for name, group in procs.items():
        for proc in group:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            totals[_kind(name)] = totals.get(_kind(name), 0.0) + times.user + times.system
    own = psutil.Process().cpu_times()
    totals["bench"] = own.user + own.system
    return totals


def _rss_mb(procs: Dict[str, List[psutil.Process]]) -> Dict[str, float]:
    rss: Dict[str, float] = {}
    for name, group in procs.items():
        total = 0
        for proc in group:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        rss[name] = total / 2**20
    return rss


def start(workers: int, data_dir: Path, rest_token: str) -> Any:
    from bot.runner import Stack, free_port
    from tests.harness import ensure_model

    base = load_settings()
    settings = replace(base, data_dir=data_dir, redis_url=None, rasa_port=free_port(), actions_port=free_port(),
                       console_port=free_port())
    stack = Stack(settings=settings, model=ensure_model(), extra_env={"CANYU_REST_TOKEN": rest_token},
                  with_console=False, workers=workers, force_balancer=True)
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    return stack


def measure(workers: int, conversations: int, concurrency: int, messages: int) -> Tuple[Dict[str, Any], str]:
    """One row: start a stack with `workers` Rasa servers, warm it, run the load, read CPU and RSS, stop it."""
    rest_token = secrets.token_urlsafe(24)
    stack = start(workers, Path(tempfile.mkdtemp(prefix=f"canyu-scale-{workers}-")) / "data", rest_token)
    headers = {"Authorization": f"Bearer {rest_token}"}
    try:
        warm = load.Tally()
        for url in stack.rasa_urls:  # every server's first messages load lazy parts; not counted
            load.Target(url, headers, load.Inbox(), 60.0, 1.0).rest(warm, load.script("rest", 0, 3))
        target = load.Target(stack.rasa_url, headers, load.Inbox(), 60.0, 1.0)
        tally = load.Tally()

        def conversation(i: int) -> None:
            tally.add(conversations=1)
            target.rest(tally, load.script("rest", i, messages))

        procs = _processes(stack)
        cpu_before, machine_before = _cpu_seconds(procs), psutil.cpu_times()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(conversation, range(conversations)))
        seconds = time.perf_counter() - started
        cpu_after, machine_after = _cpu_seconds(procs), psutil.cpu_times()
        busy = sum(machine_after) - sum(machine_before)
        idle = (machine_after.idle + machine_after.iowait) - (machine_before.idle + machine_before.iowait)
        row = {
            "workers": workers, "actions": len(stack.layout.action_ports), "seconds": seconds, "tally": tally,
            "cpu": {k: (cpu_after.get(k, 0.0) - v) / seconds for k, v in cpu_before.items()},
            "machine_busy": 1 - idle / busy if busy else 0.0,
            "rss": _rss_mb(procs),
        }
        return row, stack.ready()["checks"].get("balancer", {}).get("detail", "")
    finally:
        stack.stop()


def report(rows: List[Dict[str, Any]]) -> List[str]:
    head = (f"{'Rasa':>4} | {'actions':>7} | {'msg/s':>6} | {'p50 ms':>6} | {'p95 ms':>6} | {'p99 ms':>6} | "
            f"{'lost':>4} | {'errors':>6} | {'machine busy':>12} | CPU cores used by")
    out = [head, "-" * (len(head) + 40)]
    for r in rows:
        t, lat = r["tally"], r["tally"].latencies_ms
        cpu = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["cpu"].items(), key=lambda kv: -kv[1]))
        out.append(f"{r['workers']:>4} | {r['actions']:>7} | {t.messages / r['seconds']:>6.1f} | "
                   f"{load.percentile(lat, 50):>6.0f} | {load.percentile(lat, 95):>6.0f} | "
                   f"{load.percentile(lat, 99):>6.0f} | {t.lost:>4} | {t.errors:>6} | "
                   f"{r['machine_busy']:>11.0%} | {cpu}")
    base = rows[0]["tally"].messages / rows[0]["seconds"] if rows else 0
    for r in rows[1:]:
        out.append(f"{r['workers']} Rasa servers / {rows[0]['workers']}: "
                   f"{r['tally'].messages / r['seconds'] / base:.2f}x the msg/s" if base else "")
    out.append("")
    out.append("RSS per process at the end of each row (MB):")
    for r in rows:
        out.append(f"  {r['workers']} Rasa: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(r["rss"].items()))
                   + f"; total {sum(r['rss'].values()):.0f}")
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--conversations", type=int, default=64, help="conversations per row (default 64)")
    parser.add_argument("--messages", type=int, default=10, help="messages per conversation (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="conversations at a time (default 16)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Rasa servers per row (default 1 2)")
    args = parser.parse_args(argv)
    if min(args.workers) < 1 or args.conversations < 1 or args.concurrency < 1:
        parser.error("--workers, -n and --concurrency must be 1 or more")
    os.environ.update(QUIET_ENV)
    print(f"# bench/scale_out.py, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"# command: {' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}")
    print(f"# machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    print(f"# {args.conversations} conversations x {args.messages} messages (REST, zh/en, fresh senders), "
          f"{args.concurrency} at a time, through HAProxy", flush=True)
    rows = []
    for workers in args.workers:
        print(f"# {workers} Rasa server(s): starting…", flush=True)
        row, balancer = measure(workers, args.conversations, args.concurrency, args.messages)
        print(f"#   done in {row['seconds']:.0f} s; HAProxy at the end: {balancer}", flush=True)
        rows.append(row)
    print()
    for line in report(rows):
        print(line)
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    for r in rows:
        for sample in r["tally"].samples:
            print(f"  {r['workers']} Rasa: {sample}")
    return 1 if any(r["tally"].lost or r["tally"].errors for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
