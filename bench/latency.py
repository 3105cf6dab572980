"""REST latency and throughput of the whole assistant (Rasa + actions + Redis).

    ./canyu setup && ~/.cache/canyu/venv/bin/python bench/latency.py [-n 200] [--url http://127.0.0.1:5005]

Without --url it starts its own assistant (embedded Redis in a temp dir, free ports) and stops it after.
Sends N messages at concurrency 1 and 16 (one sender per worker, so Rasa's per-conversation lock does not
serialise them) and prints p50/p95/p99 latency and messages per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import QUIET_ENV  # noqa: E402
from connectors._rest_auth import auth_headers  # noqa: E402

MESSAGES = [
    "hi", "你好", "where is my order", "我的订单到哪了", "M2026110501", "how long does shipping take",
    "可以退货吗", "does the 14 pro have wireless charging", "手环能游泳戴吗", "thanks", "谢谢", "bye",
]


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run(url: str, n: int, concurrency: int, headers: Dict[str, str]) -> Tuple[List[float], float, int]:
    session_per_worker = [requests.Session() for _ in range(concurrency)]
    for session in session_per_worker:
        session.headers.update(headers)
    errors = 0

    def one(i: int) -> float:
        nonlocal errors
        worker = i % concurrency
        body = {"sender": f"rest:bench-{concurrency}-{worker}", "message": MESSAGES[i % len(MESSAGES)]}
        started = time.perf_counter()
        response = session_per_worker[worker].post(f"{url}/webhooks/rest/webhook", json=body, timeout=120)
        if response.status_code != 200:
            errors += 1
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(pool.map(one, range(n)))
    return latencies, time.perf_counter() - started, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="messages per concurrency level")
    parser.add_argument("--url", default=None, help="a running assistant (default: start one)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    os.environ.update(QUIET_ENV)

    assistant = None
    url = args.url
    if url is None:
        from tests.harness import start_assistant

        print("starting the assistant…", flush=True)
        assistant = start_assistant(Path(tempfile.mkdtemp(prefix="canyu-bench-")), with_console=False)
        url = assistant.url
    headers = assistant.rest_headers if assistant else auth_headers(token=os.environ.get("CANYU_REST_TOKEN", ""))
    try:
        run(url, min(20, args.n), 1, headers)  # warm-up: model caches, connections
        print(f"\nREST latency, {args.n} messages per row, {os.cpu_count()} cores")
        print(f"{'concurrency':>11} | {'p50 ms':>8} | {'p95 ms':>8} | {'p99 ms':>8} | {'msg/s':>7} | errors")
        print("-" * 64)
        for c in args.concurrency:
            latencies, seconds, errors = run(url, args.n, c, headers)
            print(
                f"{c:>11} | {percentile(latencies, 50):8.1f} | {percentile(latencies, 95):8.1f} | "
                f"{percentile(latencies, 99):8.1f} | {args.n / seconds:7.1f} | {errors}"
            )
        print(f"(mean at concurrency {args.concurrency[-1]}: {statistics.mean(latencies):.1f} ms)")
    finally:
        if assistant is not None:
            assistant.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
