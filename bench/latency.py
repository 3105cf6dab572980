"""REST latency and throughput of the whole assistant (Rasa + actions + Redis).

    ./canyu setup && ~/.cache/canyu/venv/bin/python bench/latency.py [-n 200] [--url http://127.0.0.1:5005]

Without --url it starts its own assistant (embedded Redis in a temp dir, free ports) and stops it after.
Sends N messages at concurrency 1 and 16 (one sender per worker at a time, so Rasa's per-conversation lock does
not serialise them; a fresh sender every `--turns` messages, 10 by default, as fans' conversations are short)
and prints p50/p95/p99 latency and messages per second.

    ~/.cache/canyu/venv/bin/python bench/latency.py --compare-speedups [-n 300] [--concurrency 1 16]

starts two assistants one after the other, the first with `CANYU_RASA_SPEEDUPS=0` (Rasa's own action-response
validation, event-class look-up, action-server calls, tracker and lock store code, a blocking broker), the second
with Canyu's speed-ups (bot/rasa_patches.py, bot/stores.py, bot/event_broker.py; the default), sends each the same
load and prints msg/s, p50 and p99 side by side with the ratio on/off. bench/throughput.py runs both at once, at
c=1, 16 and 64, with bench/load.py's conversations: the figures issue 17 asks for.
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
from typing import Dict, List, Mapping, Tuple

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


def run(url: str, n: int, concurrency: int, headers: Dict[str, str], turns: int = 10) -> Tuple[List[float], float, int]:
    """Send `n` messages, `concurrency` at a time; each worker starts a fresh conversation every `turns` messages
    (0: one conversation per worker, which grows with `n` and slows every turn: a longer tracker to load)."""
    session_per_worker = [requests.Session() for _ in range(concurrency)]
    for session in session_per_worker:
        session.headers.update(headers)
    errors = 0
    run_id = f"{time.time_ns() % 10**9:x}"

    def one(i: int) -> float:
        nonlocal errors
        worker = i % concurrency
        conversation = (i // concurrency) // turns if turns else 0
        body = {"sender": f"rest:bench-{run_id}-{concurrency}-{worker}-{conversation}",
                "message": MESSAGES[i % len(MESSAGES)]}
        started = time.perf_counter()
        response = session_per_worker[worker].post(f"{url}/webhooks/rest/webhook", json=body, timeout=120)
        if response.status_code != 200:
            errors += 1
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(pool.map(one, range(n)))
    return latencies, time.perf_counter() - started, errors


Row = Tuple[float, float, float, int]  # msg/s, p50 ms, p99 ms, errors


def measure(env: Mapping[str, str], n: int, levels: List[int], turns: int) -> Dict[int, Row]:
    """Start an assistant with `env`, warm it up, send `n` messages per concurrency level, stop it."""
    from tests.harness import start_assistant

    assistant = start_assistant(Path(tempfile.mkdtemp(prefix="canyu-bench-")), with_console=False, env=env)
    try:
        run(assistant.url, min(20, n), 1, assistant.rest_headers)
        rows: Dict[int, Row] = {}
        for c in levels:
            latencies, seconds, errors = run(assistant.url, n, c, assistant.rest_headers, turns)
            rows[c] = (n / seconds, percentile(latencies, 50), percentile(latencies, 99), errors)
        return rows
    finally:
        assistant.stop()


def compare_speedups(n: int, levels: List[int], turns: int) -> None:
    results = {}
    for label, env in (("off", {"CANYU_RASA_SPEEDUPS": "0"}), ("on", {"CANYU_RASA_SPEEDUPS": "1"})):
        print(f"assistant with CANYU_RASA_SPEEDUPS={env['CANYU_RASA_SPEEDUPS']}: {n} messages per level…", flush=True)
        results[label] = measure(env, n, levels, turns)
    print(f"\nCanyu's Rasa speed-ups off vs on, {n} messages per row, {turns or n} per conversation, "
          f"{os.cpu_count()} cores")
    print(f"{'c':>3} | {'msg/s off':>9} | {'msg/s on':>8} | {'ratio':>5} | {'p50 off':>7} | {'p50 on':>6} | "
          f"{'p99 off':>7} | {'p99 on':>6} | errors off/on")
    print("-" * 92)
    for c in levels:
        off, on = results["off"][c], results["on"][c]
        print(f"{c:>3} | {off[0]:9.1f} | {on[0]:8.1f} | {on[0] / off[0]:5.2f} | {off[1]:7.0f} | {on[1]:6.0f} | "
              f"{off[2]:7.0f} | {on[2]:6.0f} | {off[3]}/{on[3]}")
    print("(latencies in ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="messages per concurrency level")
    parser.add_argument("--url", default=None, help="a running assistant (default: start one)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--compare-speedups", action="store_true",
                        help="two assistants, CANYU_RASA_SPEEDUPS=0 then 1, side by side")
    parser.add_argument("--turns", type=int, default=10,
                        help="messages per conversation before a fresh sender (0: one sender per worker)")
    args = parser.parse_args()
    os.environ.update(QUIET_ENV)
    if args.compare_speedups:
        compare_speedups(args.n, args.concurrency, args.turns)
        return 0

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
            latencies, seconds, errors = run(url, args.n, c, headers, args.turns)
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
