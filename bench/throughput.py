"""Throughput of one assistant against a stock Rasa stack, in one run (issue 17): msg/s and p50/p95/p99.

    ~/.cache/canyu/venv/bin/python bench/throughput.py [-n 400] [--concurrency 1 16 64] [--env NAME=VALUE] [--unique]

Starts two whole assistants (tests.harness.start_assistant: embedded Redis each, action server, Rasa; no
console), the same trained model in both:
- `stock`: `CANYU_RASA_SPEEDUPS=0`, i.e. Rasa's own `RedisTrackerStore` code (whole tracker read, merged and
  rewritten on every save), Rasa's per-call jsonschema validation of action responses, Rasa's event-class
  look-up, and a blocking XADD per event; only the action-retry wrapper of bot/rasa_patches.py stays (it
  costs nothing until a call fails); `CANYU_ENCODER_URL=off`: Rasa and the action server each load the torch
  sentence model themselves, as before the host's encoder (bot/encoder_service/);
- `canyu`: the defaults (appending tracker store, compiled validation, event-class cache, background broker,
  one encoder process holding the torch model for Rasa and the action server);
  `--env` adds variables to this one, e.g. `--env CANYU_ACTION_VALIDATION=off`.
`--stock-env NAME=VALUE` (repeatable) makes the first stack Canyu's defaults plus these instead of stock, for an
A/B of one switch in one run (e.g. `--stock-env CANYU_ACTIONS=http --env CANYU_ACTIONS=inprocess`); its rows are
still labelled `stock` and the targets then compare the two settings, not Canyu against Rasa.
Both run at once and take turns: each level is split in `--rounds` rounds (4), stock first in the 1st and 3rd,
canyu first in the 2nd and 4th, so a busy neighbour on a shared machine weighs on both alike; msg/s is the
messages over the time of that stack's own rounds. The ratio of the same run is the figure to read.

Load: bench/load.py's 10-message conversations over REST, Chinese and English in turn, a fresh sender per
conversation, `c` conversations at a time, each user sending the next message once the answer is in; sent by one
event loop on one thread (bench/rest_client.py; `--client threads` gives the `requests`-per-thread client used
before 1 Dec, whose own GIL queue at c=16 was part of the tail it measured).
At least `n / 10` conversations per level and two per worker, rounded up to a multiple of `c`. The scripts hold
80 distinct texts, so after the warm-up every sentence vector comes from a cache; `--unique` tags every message
(`… #a1b2c3-1042-3`, new per run) so that each is encoded, as real users' messages are.

CPU ms per message: the CPU time (user + system, psutil) each stack's Rasa, action server, encoder (with their
children) and Redis used during that stack's own rounds, per message, their sum ("stack"), and the load
generator's own (this process: requests, threads, the outbox polling), which shares the same cores. Without
`--unique` the encoder shows ~0: every text of the scripts is in its cache after the warm-up. Throughput on a
shared machine moves with the neighbours' load; this figure hardly does, so it is the one to compare between runs.

The floor: sentence encodings per second of the bundled NLU models (all-MiniLM-L6-v2 for English,
multilingual-e5-small for Chinese, as config.yml), one text per call, on one thread, caches off, measured in
this process before the stacks start; "floor" is the rate for the bench's half-and-half mix. msg/s divided
by it says how far a message is from costing one encoding. Then RSS per process (with its children) of each
stack after the load, and the issue's targets, met or not.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import EN, ZH, Inbox, Tally, Target, percentile, script  # noqa: E402
from bench.rest_client import run_conversations  # noqa: E402
from bot.settings import QUIET_ENV  # noqa: E402

TURNS = 10
TARGET_RATIO, TARGET_P50_C1, TARGET_P99_C16 = 3.0, 30.0, 150.0


@dataclass
class Row:
    conversations: int
    messages: int
    seconds: float
    p50: float
    p95: float
    p99: float
    failed: int
    cpu: Dict[str, float]  # CPU seconds of each process of the stack (with its children) during the load

    def cpu_ms_per_message(self, name: str) -> float:
        return 1000 * self.cpu.get(name, 0.0) / self.messages if self.messages else 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def conversations_for(concurrency: int, n: int) -> int:
    wanted = max(n // TURNS, 2 * concurrency)
    return -(-wanted // concurrency) * concurrency


RUN_TAG = secrets.token_hex(3)
"""Part of `--unique`'s tags: new per run, so no vector comes from the disk cache of an earlier run either."""


def lines(index: int, unique: bool) -> List[str]:
    """Conversation `index`'s messages; `unique`: each with its own tag (`… #a1b2c3-1042-3`), so no sentence
    vector comes from a cache, as with real users (the scripts have 80 distinct texts: after the warm-up, every
    encoding is a cache hit otherwise)."""
    texts = script("rest", index, TURNS)
    return [f"{text} #{RUN_TAG}-{index}-{turn}" for turn, text in enumerate(texts)] if unique else texts


CLIENTS = ("async", "threads")


def load(target: Target, concurrency: int, conversations: int, first: int, tally: Tally, unique: bool = False,
         client: str = "async") -> float:
    """`conversations` REST conversations, `concurrency` at a time, numbered from `first` (their scripts), into
    `tally`; the seconds it took. `client`: "async" (bench/rest_client.py: one event loop, one thread) or
    "threads" (bench/load.py's `requests` in a thread per conversation, the client before 1 Dec)."""
    indices = range(first, first + conversations)
    if client == "async":
        return run_conversations(target, concurrency, indices, lambda i: lines(i, unique), tally)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda i: target.rest(tally, lines(i, unique)), indices))
    return time.perf_counter() - started


def row(conversations: int, tally: Tally, seconds: float, cpu: Dict[str, float]) -> Row:
    lat = tally.latencies_ms
    return Row(conversations, tally.messages, seconds, percentile(lat, 50), percentile(lat, 95), percentile(lat, 99),
               tally.errors + tally.lost, cpu)


def process_trees(assistant: object) -> Iterator[Tuple[str, List[Any]]]:
    """(child name, its psutil process and all of its descendants) for each running child of a stack."""
    import psutil

    for name, child in assistant.stack.children.items():  # type: ignore[attr-defined]
        if child.process is None or child.process.poll() is not None:
            continue
        try:
            proc = psutil.Process(child.process.pid)
            yield name, [proc] + proc.children(recursive=True)
        except psutil.Error:
            continue


def cpu_seconds(assistant: object) -> Dict[str, float]:
    """CPU seconds (user + system) used so far by each process of a stack, its own children included, by the
    kind of process ("rasa", "actions", "encoder", "redis"), and by this process ("client": the load generator;
    only the stack under load is served in a round, so the difference over a round is that stack's): a shared
    machine slows a stack down, but does not change this."""
    import psutil

    out: Dict[str, float] = {}
    for name, procs in process_trees(assistant):
        try:
            seconds = sum(t.user + t.system for t in (p.cpu_times() for p in procs))
        except psutil.Error:
            continue
        kind = name.split("-")[0]
        out[kind] = out.get(kind, 0.0) + seconds
    redis = getattr(assistant.stack, "redis", None)  # type: ignore[attr-defined]
    pid = redis.pid if redis is not None else None
    if pid:
        try:
            times = psutil.Process(pid).cpu_times()
            out["redis"] = times.user + times.system
        except psutil.Error:
            pass
    own = psutil.Process().cpu_times()
    out["client"] = own.user + own.system
    return out


def encodings_per_second(model: str, texts: List[str], seconds: float = 4.0) -> float:
    """One text per call on one torch thread, caches off, for about `seconds` after a warm-up."""
    import torch

    from bot.embeddings import caches_disabled, get_encoder

    torch.set_num_threads(1)
    encoder = get_encoder(model)
    with caches_disabled():
        for text in texts[:5]:
            encoder.encode([text])
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            encoder.encode([texts[done % len(texts)]])
            done += 1
    return done / (time.perf_counter() - started)


def floor() -> Tuple[float, float, float]:
    """(English enc/s, Chinese enc/s, the half-and-half mix) of the NLU's sentence models."""
    from bot.embeddings import MULTILINGUAL_MODEL

    en = encodings_per_second(None, [t for conv in EN for t in conv])  # type: ignore[arg-type]
    zh = encodings_per_second(MULTILINGUAL_MODEL, [t for conv in ZH for t in conv])
    return en, zh, 1 / (0.5 / en + 0.5 / zh)


def rss_mb(assistant: object) -> Dict[str, float]:
    """RSS in MB of each child of a stack, its own children included."""
    import psutil

    out: Dict[str, float] = {}
    for name, procs in process_trees(assistant):
        try:
            out[name] = sum(p.memory_info().rss for p in procs) / 2**20
        except psutil.Error:
            continue
    return out


def start(label: str, env: Mapping[str, str]) -> object:
    from tests.harness import start_assistant

    print(f"starting the {label} assistant ({dict(env) or 'defaults'})…", flush=True)
    return start_assistant(Path(tempfile.mkdtemp(prefix=f"canyu-throughput-{label}-")), with_console=False, env=env)


def report(levels: List[int], rows: Dict[str, Dict[int, Row]], enc: Tuple[float, float, float],
           rss: Dict[str, Dict[str, float]]) -> None:
    head = (f"{'stack':<6}| {'c':>3} | {'convs':>5} | {'msgs':>5} | {'msg/s':>6} | {'p50 ms':>7} | {'p95 ms':>7} | "
            f"{'p99 ms':>7} | failed")
    print("\n" + head + "\n" + "-" * len(head))
    for c in levels:
        for label in ("stock", "canyu"):
            r = rows[label][c]
            print(f"{label:<6}| {c:>3} | {r.conversations:>5} | {r.messages:>5} | {r.rate:>6.1f} | {r.p50:>7.0f} | "
                  f"{r.p95:>7.0f} | {r.p99:>7.0f} | {r.failed}")
    print("\nratio canyu / stock, msg/s: " + ", ".join(
        f"c={c} {rows['canyu'][c].rate / rows['stock'][c].rate:.2f}x" for c in levels))
    print("\nCPU ms per message (user + system, during that stack's own rounds; other load does not change it):")
    for c in levels:
        parts, totals = [], {}
        for label in ("stock", "canyu"):
            r = rows[label][c]
            stack = [kind for kind in sorted(r.cpu) if kind != "client"]
            totals[label] = sum(r.cpu_ms_per_message(kind) for kind in stack)
            parts.append(f"{label} " + ", ".join(f"{kind} {r.cpu_ms_per_message(kind):.1f}" for kind in stack)
                         + f" (stack {totals[label]:.1f}; the load generator {r.cpu_ms_per_message('client'):.1f})")
        ratio = rows["stock"][c].cpu_ms_per_message("rasa") / (rows["canyu"][c].cpu_ms_per_message("rasa") or 1)
        print(f"  c={c}: " + "; ".join(parts) + f"; Rasa's CPU per message stock / canyu {ratio:.2f}x, "
              f"the whole stack's {totals['stock'] / (totals['canyu'] or 1):.2f}x")
    en, zh, mix = enc
    print(f"floor (one thread, one text per call): all-MiniLM-L6-v2 {en:.0f} enc/s, multilingual-e5-small "
          f"{zh:.0f} enc/s, zh/en mix {mix:.0f} enc/s; canyu msg/s / floor: "
          + ", ".join(f"c={c} {rows['canyu'][c].rate / mix:.2f}" for c in levels))
    print("\nRSS MB per process (with its children), after the load:")
    for label, procs in rss.items():
        print(f"  {label}: " + ", ".join(f"{n} {mb:.0f}" for n, mb in sorted(procs.items()))
              + f"; total {sum(procs.values()):.0f}")
    checks = []
    if 16 in levels:
        ratio = rows["canyu"][16].rate / rows["stock"][16].rate
        checks.append((f"msg/s at c=16 >= {TARGET_RATIO:.0f}x stock", f"{ratio:.2f}x", ratio >= TARGET_RATIO))
        p99 = rows["canyu"][16].p99
        checks.append((f"p99 at c=16 <= {TARGET_P99_C16:.0f} ms", f"{p99:.0f} ms", p99 <= TARGET_P99_C16))
    if 1 in levels:
        p50 = rows["canyu"][1].p50
        checks.append((f"p50 at c=1 <= {TARGET_P50_C1:.0f} ms", f"{p50:.0f} ms", p50 <= TARGET_P50_C1))
    print("\nissue 17's targets (canyu):")
    for what, got, ok in checks:
        print(f"  {'met    ' if ok else 'NOT met'} {what}: {got}")




def warm_targets(stacks: Dict[str, Any]) -> Dict[str, Target]:
    """A load target per stack, each warmed up first (model caches, connections; not counted)."""
    targets = {label: Target(a.url, a.rest_headers, Inbox(), 120.0, 0.0, redis=a.redis) for label, a in stacks.items()}
    for target in targets.values():
        load(target, 4, 8, 0, Tally())
    return targets


def rounds_for(c: int, n: int, rounds: int) -> List[int]:
    """Conversations per round at concurrency `c` for about `n` messages, the stacks taking turns each round."""
    count = conversations_for(c, n)
    rounds = max(1, min(rounds, count // c))
    per_round = [(count // c) // rounds * c + (c if r < (count // c) % rounds else 0) for r in range(rounds)]
    print(f"c={c}: {count} conversations per stack in {rounds} rounds, taking turns…", flush=True)
    return per_round

def begin(parser: argparse.ArgumentParser, name: str, env: List[str], *more: List[str]) -> Dict[str, str]:
    """Quiet logs, check every `NAME=VALUE` of `env` and `more`, print the run's header (time, command, load);
    `env` as a dict."""
    os.environ.update(QUIET_ENV)
    bad = [item for item in [*env, *(i for m in more for i in m)] if "=" not in item]
    if bad:
        parser.error(f"--env {bad[0]!r}: write NAME=VALUE, e.g. CANYU_ACTIONS=inprocess")
    print(f"# {name}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"# command: {' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}")
    print(f"# machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
          flush=True)
    return dict(item.split("=", 1) for item in env)

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=400, help="messages per level at least (default 400)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="for the canyu stack")
    parser.add_argument("--stock-env", action="append", default=[], metavar="NAME=VALUE",
                        help="the first stack is Canyu's defaults plus these, instead of stock (an A/B of a switch)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="each level in this many rounds, stacks taking turns (stock first, then canyu first…)")
    parser.add_argument("--no-floor", action="store_true", help="skip the encoder floor")
    parser.add_argument("--unique", action="store_true",
                        help="a tag on every message, so every sentence vector is encoded (no cache hits)")
    parser.add_argument("--client", choices=CLIENTS, default="async",
                        help="the load generator: async (one thread, the default) or threads (requests, one per "
                             "conversation: the client before 1 Dec, for comparing runs)")
    args = parser.parse_args()
    ours_env = begin(parser, "bench/throughput.py", args.env, args.stock_env)
    enc = floor() if not args.no_floor else (float("nan"),) * 3
    stacks = {}
    try:
        base_env = dict(item.split("=", 1) for item in args.stock_env)
        stacks["stock"] = start("stock", {"CANYU_RASA_SPEEDUPS": "1", **base_env} if base_env else
                                {"CANYU_RASA_SPEEDUPS": "0", "CANYU_ENCODER_URL": "off"})
        stacks["canyu"] = start("canyu", {"CANYU_RASA_SPEEDUPS": "1", **ours_env})
        # with its Redis, a silent bot on a conversation handed to a person (two misses in a row, say) is counted as
        # handed off, not lost (bench/load.py `handed_off`)
        targets = warm_targets(stacks)
        rows: Dict[str, Dict[int, Row]] = {"stock": {}, "canyu": {}}
        first = 1000
        for c in args.concurrency:
            per_round = rounds_for(c, args.n, args.rounds)
            tallies = {"stock": Tally(), "canyu": Tally()}
            seconds = {"stock": 0.0, "canyu": 0.0}
            cpu: Dict[str, Dict[str, float]] = {"stock": {}, "canyu": {}}
            for r, size in enumerate(per_round):
                for label in (("stock", "canyu") if r % 2 == 0 else ("canyu", "stock")):
                    before = cpu_seconds(stacks[label])
                    seconds[label] += load(targets[label], c, size, first, tallies[label], args.unique, args.client)
                    for kind, used in cpu_seconds(stacks[label]).items():
                        cpu[label][kind] = cpu[label].get(kind, 0.0) + used - before.get(kind, 0.0)
                first += size
            for label in rows:
                rows[label][c] = row(sum(per_round), tallies[label], seconds[label], cpu[label])
        rss = {label: rss_mb(a) for label, a in stacks.items()}
    finally:
        for a in stacks.values():
            a.stop()  # type: ignore[attr-defined]
    report(args.concurrency, rows, enc, rss)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
