"""What the slowest messages at c=16 were doing (issue 17, sixth pass): the tail of bench/throughput.py's load.

    ~/.cache/canyu/venv/bin/python bench/profile_tail.py [-n 1600] [--concurrency 16] [--env NAME=VALUE]

Starts one Canyu stack (tests.harness.start_assistant, as bench/throughput.py's `canyu`) with a probe on its
`PYTHONPATH` (a `sitecustomize.py` written to a temporary directory; nothing of it is in the package) that
records, in every Python child of the stack:
- every garbage-collector pass of 2 ms or more and every full (generation 2) pass: wall-clock start and end
  (`gc.callbacks`);
- on SIGUSR1 (sent once the load is over): everything frozen unfrozen and collected, i.e. how many objects the
  freezes (the warm-up's, and `CANYU_GC_REFREEZE`'s) kept from the collector that were garbage;
- stalls of the whole process: a thread that sleeps 5 ms at a time and notes when it woke 20 ms or more late
  (it needs the GIL to run, so it sees the collector, a C call that keeps the GIL, and the host not giving the
  process a core), and for those of 40 ms or more where every other thread was when it woke.
The load generator records every message (wall-clock start and end, its conversation's turn and text) and runs
the same stall probe on itself. Then, for the messages over p95 and over p99: what share overlapped a full
collection, a collector pass of any kind, a stall of the Rasa process or of the load generator; which texts and
turns they were, against their share of all messages; and how they cluster in time (a stall holds every message in
flight; a heavy message is slow alone).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import Target, percentile  # noqa: E402
from bench.throughput import TURNS, begin, lines, start  # noqa: E402

PROBE = '''
import gc, json, os, sys, threading, time
_out = os.path.join(%(dir)r, "probe-%%d.jsonl" %% os.getpid())
_lock = threading.Lock()
def _write(rec):
    with _lock:
        with open(_out, "a") as f:
            f.write(json.dumps(rec) + "\\n")
_t = [0.0]
def _cb(phase, info):
    if phase == "start":
        _t[0] = time.time()
        return
    end = time.time()
    if info["generation"] == 2 or end - _t[0] >= 0.002:
        _write({"kind": "gc", "gen": info["generation"], "start": _t[0], "end": end,
                "collected": info["collected"], "tracked": len(gc.get_objects(2)) if info["generation"] == 2 else -1})
gc.callbacks.append(_cb)
def _stalls():
    while True:
        before = time.time()
        time.sleep(0.005)
        late = time.time() - before - 0.005
        if late >= 0.020:
            rec = {"kind": "stall", "start": before + 0.005, "end": before + 0.005 + late}
            if late >= 0.040:
                rec["threads"] = _where()
            _write(rec)
def _where():
    names = {t.ident: t.name for t in threading.enumerate()}
    out = {}
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue
        stack = []
        while frame is not None and len(stack) < 4:
            code = frame.f_code
            stack.append("%%s:%%d %%s" %% (os.path.basename(code.co_filename), frame.f_lineno, code.co_name))
            frame = frame.f_back
        out[names.get(ident, str(ident))] = stack
    return out
threading.Thread(target=_stalls, name="canyu-probe", daemon=True).start()
def _leak(sig, frame):
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    began = time.time()
    collected = gc.collect()
    _write({"kind": "leak", "frozen": frozen, "collected": collected, "start": began, "end": time.time()})
    gc.freeze()
import signal
signal.signal(signal.SIGUSR1, _leak)
_write({"kind": "argv", "argv": sys.argv[:4], "start": time.time(), "end": time.time()})
'''


@dataclass
class Sent:
    start: float
    end: float
    turn: int
    text: str

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


def converse(target: Target, index: int, out: List[Sent], lock: threading.Lock) -> None:
    """One REST conversation of bench/throughput.py's scripts, every message recorded."""
    name = f"tail-{index}-{os.urandom(4).hex()}"
    for turn, text in enumerate(lines(index, False)):
        started = time.time()
        response = target.session.post(f"{target.url}/webhooks/rest/webhook", json={"sender": name, "message": text},
                                       headers=target.rest_headers, timeout=target.timeout)
        ended = time.time()
        if response.status_code != 200 or not response.json():
            continue
        with lock:
            out.append(Sent(started, ended, turn, text))


def own_stalls(stop: threading.Event, out: List[Tuple[float, float]]) -> None:
    while not stop.is_set():
        before = time.time()
        time.sleep(0.005)
        late = time.time() - before - 0.005
        if late >= 0.020:
            out.append((before + 0.005, before + 0.005 + late))


def read_probe(directory: Path) -> Dict[str, List[Dict[str, Any]]]:
    """Probe records per process kind ("rasa", "other"), by its argv."""
    out: Dict[str, List[Dict[str, Any]]] = {"rasa": [], "other": []}
    for path in directory.glob("probe-*.jsonl"):
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        argv: List[Any] = next((r["argv"] for r in records if r["kind"] == "argv"), [])
        kind = "rasa" if any("rasa" in str(a) for a in argv) else "other"
        out[kind].extend(records)
    return out


def overlaps(msg: Sent, spans: Sequence[Tuple[float, float]], starts: Sequence[float]) -> float:
    """Seconds of `spans` (sorted by start) inside the message's time."""
    total = 0.0
    for i in range(max(0, bisect.bisect_left(starts, msg.start) - 50), bisect.bisect_right(starts, msg.end)):
        a, b = spans[i]
        total += max(0.0, min(b, msg.end) - max(a, msg.start))
    return total


def describe(label: str, slow: List[Sent], every: List[Sent], spans: Dict[str, List[Tuple[float, float]]]) -> None:
    print(f"\n## {label}: {len(slow)} messages")
    index = {name: [a for a, _ in s] for name, s in spans.items()}
    for name, s in spans.items():
        hit = [overlaps(m, s, index[name]) for m in slow]
        base = [overlaps(m, s, index[name]) for m in every]
        share = sum(1 for h in hit if h > 0) / max(1, len(hit))
        share_all = sum(1 for h in base if h > 0) / max(1, len(base))
        mean = statistics.mean(hit) * 1000 if hit else 0.0
        print(f"  overlapped {name:<22}: {share:6.1%} of them (all messages {share_all:6.1%}); "
              f"mean time inside it {mean:5.0f} ms, their mean latency {statistics.mean(m.ms for m in slow):5.0f} ms")
    texts, all_texts = Counter(m.text for m in slow), Counter(m.text for m in every)
    print("  texts (slow / all, median of that text over the run):")
    for text, n in texts.most_common(8):
        med = statistics.median(m.ms for m in every if m.text == text)
        print(f"    {n:3d} / {all_texts[text]:4d}  median {med:5.0f} ms  {text}")
    turns = Counter(m.turn for m in slow)
    print("  turns:", ", ".join(f"{t}: {turns[t]}" for t in range(TURNS)))
    # clustering: the slow messages' end times, and how many other slow ones ended within 100 ms
    ends = sorted(m.end for m in slow)
    near = [sum(1 for e in ends if abs(e - x) <= 0.1) - 1 for x in ends]
    print(f"  clustering: a slow message has {statistics.mean(near) if near else 0:.1f} other slow ones ending "
          f"within 100 ms of it (median {statistics.median(near) if near else 0:.0f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1600, help="messages at least (default 1600)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="for the stack")
    args = parser.parse_args()
    env = begin(parser, "bench/profile_tail.py", args.env)
    probe_dir = Path(tempfile.mkdtemp(prefix="canyu-tail-probe-"))
    (probe_dir / "sitecustomize.py").write_text(PROBE % {"dir": str(probe_dir)})
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, str(probe_dir), env.get("PYTHONPATH", "")]))
    assistant: Any = start("canyu", {"CANYU_RASA_SPEEDUPS": "1", **env})
    sent: List[Sent] = []
    own: List[Tuple[float, float]] = []
    try:
        target = Target(assistant.url, assistant.rest_headers, None, 120.0, 0.0)  # type: ignore[arg-type]
        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=4) as pool:  # warm-up, not counted
            list(pool.map(lambda i: converse(target, i, [], lock), range(8)))
        convs = max(args.n // TURNS, 2 * args.concurrency)
        stop = threading.Event()
        watcher = threading.Thread(target=own_stalls, args=(stop, own), daemon=True)
        watcher.start()
        began = time.time()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(lambda i: converse(target, i, sent, lock), range(1000, 1000 + convs)))
        seconds = time.time() - began
        stop.set()
        for path in probe_dir.glob("probe-*.jsonl"):  # the Rasa process: what its freezes kept from the collector
            if '"rasa"' in path.read_text().splitlines()[0]:
                os.kill(int(path.stem.split("-")[1]), signal.SIGUSR1)
        time.sleep(3)
    finally:
        assistant.stop()
    records = read_probe(probe_dir)
    rasa = [r for r in records["rasa"] if began <= r["start"] <= began + seconds]
    full = sorted((r["start"], r["end"]) for r in rasa if r["kind"] == "gc" and r["gen"] == 2)
    anygc = sorted((r["start"], r["end"]) for r in rasa if r["kind"] == "gc")
    stalls = sorted((r["start"], r["end"]) for r in rasa if r["kind"] == "stall")
    for r in records["rasa"]:
        if r["kind"] == "leak":
            print(f"after the load: {r['frozen']} objects frozen; unfrozen, a full collection freed {r['collected']} "
                  f"of them in {(r['end'] - r['start']) * 1000:.0f} ms (cyclic garbage the freezes had kept)")
    lat = [m.ms for m in sent]
    p95, p99 = percentile(lat, 95), percentile(lat, 99)
    print(f"\n{len(sent)} messages in {seconds:.1f} s ({len(sent) / seconds:.1f} msg/s) at c={args.concurrency}; "
          f"p50 / p95 / p99 {percentile(lat, 50):.0f} / {p95:.0f} / {p99:.0f} ms, mean {statistics.mean(lat):.0f}")
    tracked = [r["tracked"] for r in rasa if r["kind"] == "gc" and r["gen"] == 2]
    print(f"Rasa: {len(full)} full collections ({sum(b - a for a, b in full) * 1000:.0f} ms, longest "
          f"{max((b - a for a, b in full), default=0) * 1000:.0f} ms; tracked after: {tracked[:1]}…{tracked[-1:]}), "
          f"{len(anygc)} passes >= 2 ms in all ({sum(b - a for a, b in anygc) * 1000:.0f} ms); "
          f"{len(stalls)} stalls >= 20 ms ({sum(b - a for a, b in stalls) * 1000:.0f} ms, longest "
          f"{max((b - a for a, b in stalls), default=0) * 1000:.0f}); load generator: {len(own)} stalls "
          f"({sum(b - a for a, b in own) * 1000:.0f} ms)")
    where: Counter[str] = Counter()
    for r in rasa:
        for thread, stack in (r.get("threads") or {}).items():
            if stack and not thread.startswith(("canyu-probe", "Thread-")) or stack and "wait" not in stack[0]:
                where[f"{thread}: {stack[0]}"] += 1
    print("where the Rasa process's threads were when a stall of 40 ms or more ended (thread: innermost frame):")
    for line, n in where.most_common(12):
        print(f"  {n:3d}  {line}")
    spans = {"a full collection": full, "any collector pass>=2ms": anygc, "a Rasa stall>=20ms": stalls,
             "a load-generator stall": sorted(own)}
    describe(f"over p99 ({p99:.0f} ms)", [m for m in sent if m.ms > p99], sent, spans)
    describe(f"over p95 ({p95:.0f} ms)", [m for m in sent if m.ms > p95], sent, spans)
    describe("at or under p50", [m for m in sent if m.ms <= percentile(lat, 50)], sent, spans)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; probe: {probe_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
