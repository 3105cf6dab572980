"""Does the first message after ready cost what the hundredth does? (issue 17, "Start warm")

    ~/.cache/canyu/venv/bin/python bench/first_message.py [--next 100] [--languages zh en]

For each first-message language, starts a whole assistant as `./canyu run` does (bot.runner.Stack through
tests.harness.start_assistant: embedded Redis, action server, Rasa server, console), waits until the stack's
readiness (`Stack.ready()`, what `/ready` serves) says ready, then sends over REST, one at a time:
- ONE first message, a product question in that language, from a fresh sender;
- `--next` more (100), each from a fresh sender, Chinese and English in turn, the questions of bench/load.py's
  conversations (their greetings and thanks left out).
It prints, per language, the first message's latency, p50/p95/p99 of the next ones and "first <= p99: met" or
"NOT met". Each figure and its p99 come from the same stack, in the same minute: a ratio in one run, because
the shared machine's noise moves absolute numbers between runs.

Two stack starts (one per language), because only one message per stack can be the first one: a zh first
message would warm the Chinese-only paths (jieba, the multilingual encoder) for an en message after it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import EN, ZH, Inbox, Tally, Target, percentile  # noqa: E402
from bot.settings import QUIET_ENV  # noqa: E402

FIRST = {"zh": "小米14 Pro支持无线充电吗", "en": "does the 14 pro have wireless charging"}
READY_TIMEOUT_S = 300.0


def questions() -> List[str]:
    """bench/load.py's questions, Chinese and English in turn (each conversation's first, last two dropped)."""
    zh = [text for conversation in ZH for text in conversation[1:-2]]
    en = [text for conversation in EN for text in conversation[1:-2]]
    return [text for pair in zip(zh, en, strict=False) for text in pair]


def one(target: Target, text: str) -> float:
    """The latency in ms of `text` from a fresh sender (it must be answered)."""
    tally = Tally()
    target.rest(tally, [text])
    if tally.answered != 1:
        raise SystemExit(f"{text!r} was not answered: {tally.samples}")
    return tally.latencies_ms[0]


def measure(language: str, following: int) -> Tuple[float, List[float], float, Dict[str, str]]:
    """(first ms, the following messages' ms, seconds from start to ready, the warm-up report) of a fresh stack."""
    from tests.harness import start_assistant

    started = time.monotonic()
    assistant = start_assistant(Path(tempfile.mkdtemp(prefix=f"canyu-first-{language}-")))
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        report = assistant.stack.ready()
        while not report["ready"]:
            if time.monotonic() > deadline:
                raise SystemExit(f"the stack is not ready after {READY_TIMEOUT_S:.0f} s: {report}")
            time.sleep(0.25)
            report = assistant.stack.ready()
        to_ready = time.monotonic() - started
        warm = {name: str(check.get("warm", "")) for name, check in report["checks"].items() if check.get("warm")}
        target = Target(assistant.url, assistant.rest_headers, Inbox(), 120.0, 0.0)
        target.session.get(f"{assistant.url}/webhooks/rest/", timeout=10)  # the client's connection, not measured
        first = one(target, FIRST[language])
        pool = questions()
        rest = [one(target, pool[i % len(pool)]) for i in range(following)]
        return first, rest, to_ready, warm
    finally:
        assistant.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--next", type=int, default=100, help="messages after the first one (default 100)")
    parser.add_argument("--languages", nargs="+", default=["zh", "en"], choices=sorted(FIRST))
    args = parser.parse_args()
    os.environ.update(QUIET_ENV)
    print(f"# bench/first_message.py, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"# command: {' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}")
    print(f"# machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
          flush=True)
    rows = {}
    for language in args.languages:
        print(f"starting a stack for a {language} first message…", flush=True)
        rows[language] = measure(language, args.next)
    head = (f"{'first':<5} | {'to ready s':>10} | {'first ms':>8} | {'next':>4} | {'p50 ms':>6} | {'p95 ms':>6} | "
            f"{'p99 ms':>6} | first <= p99")
    print("\n" + head + "\n" + "-" * len(head))
    for language, (first, rest, to_ready, _warm) in rows.items():
        p99 = percentile(rest, 99)
        print(f"{language:<5} | {to_ready:>10.1f} | {first:>8.0f} | {len(rest):>4} | {percentile(rest, 50):>6.0f} | "
              f"{percentile(rest, 95):>6.0f} | {p99:>6.0f} | {'met' if first <= p99 else 'NOT met'}"
              f" ({first / p99:.2f}x p99)")
    for language, (*_, warm) in rows.items():
        for name, what in warm.items():
            print(f"{language}: {name} warmed {what}")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
