"""The admission gate's K against latency, in one run: msg/s and p50/p95/p99 per `CANYU_MAX_INFLIGHT` (issue 17).

    ~/.cache/canyu/venv/bin/python bench/admission.py [-n 640] [--concurrency 1 16 64] [--limits 2 3 4 6 off]
                                                       [--env NAME=VALUE] [--rounds 4]

Starts one whole Canyu assistant per limit (tests.harness.start_assistant, no console; `CANYU_MAX_INFLIGHT=<K>`
plus `--env`), the same model; the first one's encoder serves them all (the bench's texts come from its cache
after the warm-up, as in bench/throughput.py). The load is bench/throughput.py's: 10-message REST conversations,
zh and en in turn, a fresh sender each, `c` at a time, each user sending the next message once the answer is in.
Each level in `--rounds` rounds, the stacks taking turns (the order rotates every round), so a busy neighbour
weighs on all alike; CPU ms per message as bench/throughput.py counts it. Compare the rows of one run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import Tally  # noqa: E402
from bench.throughput import Row, begin, cpu_seconds, load, rounds_for, row, start, warm_targets  # noqa: E402


def report(levels: List[int], labels: List[str], rows: Dict[str, Dict[int, Row]]) -> None:
    head = (f"{'K':<5}| {'c':>3} | {'msgs':>5} | {'msg/s':>6} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} | "
            f"{'rasa':>5} | {'actions':>7} | {'stack':>5} | failed")
    print("\n" + head + "    (CPU ms per message: rasa, actions, stack)\n" + "-" * len(head))
    for c in levels:
        for label in labels:
            r = rows[label][c]
            stack = sum(r.cpu_ms_per_message(kind) for kind in r.cpu if kind != "client")
            print(f"{label:<5}| {c:>3} | {r.messages:>5} | {r.rate:>6.1f} | {r.p50:>7.0f} | {r.p95:>7.0f} | "
                  f"{r.p99:>7.0f} | {r.cpu_ms_per_message('rasa'):>5.1f} | {r.cpu_ms_per_message('actions'):>7.1f} | "
                  f"{stack:>5.1f} | {r.failed}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=640, help="messages per level and stack at least (default 640)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--limits", nargs="+", default=["2", "3", "4", "6", "off"],
                        help="CANYU_MAX_INFLIGHT values, one stack each")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="for every stack")
    parser.add_argument("--rounds", type=int, default=4, help="each level in this many rounds, stacks taking turns")
    args = parser.parse_args()
    common = begin(parser, "bench/admission.py", args.env)
    labels: List[str] = list(args.limits)
    stacks: Dict[str, object] = {}
    try:
        for label in labels:
            env = {"CANYU_RASA_SPEEDUPS": "1", **common, "CANYU_MAX_INFLIGHT": label}
            if stacks:  # the first stack's encoder serves them all
                first = next(iter(stacks.values()))
                env["CANYU_ENCODER_URL"] = first.stack.env()["CANYU_ENCODER_URL"]  # type: ignore[attr-defined]
            stacks[label] = start(f"k{label}", env)
        targets = warm_targets(stacks)
        rows: Dict[str, Dict[int, Row]] = {label: {} for label in labels}
        first_conv = 1000
        for c in args.concurrency:
            per_round = rounds_for(c, args.n, args.rounds)
            tallies = {label: Tally() for label in labels}
            seconds = {label: 0.0 for label in labels}
            cpu: Dict[str, Dict[str, float]] = {label: {} for label in labels}
            for r, size in enumerate(per_round):
                for label in labels[r % len(labels):] + labels[:r % len(labels)]:
                    before = cpu_seconds(stacks[label])
                    seconds[label] += load(targets[label], c, size, first_conv, tallies[label])
                    for kind, used in cpu_seconds(stacks[label]).items():
                        cpu[label][kind] = cpu[label].get(kind, 0.0) + used - before.get(kind, 0.0)
                first_conv += size
            for label in labels:
                rows[label][c] = row(sum(per_round), tallies[label], seconds[label], cpu[label])
    finally:
        for a in reversed(list(stacks.values())):  # the encoder's owner last
            a.stop()  # type: ignore[attr-defined]
    report(args.concurrency, labels, rows)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
