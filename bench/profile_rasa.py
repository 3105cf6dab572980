"""Where the Rasa server's CPU goes under REST load: a py-spy profile and its top inclusive shares.

    ~/.cache/canyu/venv/bin/pip install py-spy
    ~/.cache/canyu/venv/bin/python bench/profile_rasa.py [-n 300] [-c 16] [--rate 100] [--out var/profile]
        [--env CANYU_RASA_SPEEDUPS=0] [--child rasa|actions]

Starts its own assistant (tests.harness.start_assistant: embedded Redis in a temp dir, free ports, no console),
warms it up, then runs `py-spy record` on the Rasa process while N messages go in at concurrency C (one sender
per worker, bench/latency.py's messages). Prints two tables of inclusive shares of the samples taken while Rasa
was on CPU (a function's share counts every sample with it anywhere on the stack, so shares overlap):
the hot spots issue 17 names (jsonschema, event classes, tracker store, NLU graph), then the top functions.
The raw collapsed stacks (`<out>/rasa.collapsed`) open in speedscope or flamegraph.pl. `--child actions`
profiles the action server instead (`<out>/actions.collapsed`; the hot-spot rows are Rasa's). The NLU runs in
the `canyu-nlu` thread (bot/rasa_nlu_thread.py): its samples count like the event loop's. `--env` passes
variables to the assistant, e.g. `CANYU_RASA_SPEEDUPS=0` for the profile without Canyu's Rasa speed-ups.

(Not `bench/profile.py`: Python puts `bench/` first on `sys.path` for every script in it, and a `profile.py`
there hides the standard library's `profile`, which `cProfile` and torch import.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.latency import run  # noqa: E402
from bot.settings import QUIET_ENV  # noqa: E402

# (label, substrings of py-spy frames "function (file)"): the rows of issue 17's table. A row counts a sample
# whose stack holds any of its substrings; "A >> B" needs a frame with A and, deeper in the stack, one with B;
# "A >> !B" a frame with A and none with B deeper.
HOT_SPOTS: List[Tuple[str, Tuple[str, ...]]] = [
    ("jsonschema (any)", ("jsonschema/",)),
    ("  check_schema", ("check_schema (",)),
    ("  RemoteAction._validate_action_result", ("_validate_action_result (",)),
    ("all_subclasses", ("all_subclasses (",)),
    ("Event.resolve_by_type", ("resolve_by_type (",)),
    ("tracker store save", ("save (",)),
    ("  TrackerStore.serialise_tracker (Rasa's: the whole tracker)", ("serialise_tracker (",)),
    ("  bot.stores append (the new events only)", ("_try_append (",)),
    ("  bot.stores careful path (compare, merge, rewrite)", ("_save_carefully (",)),
    ("  stream_events (Rasa's: one more retrieve)", ("stream_events (",)),
    ("tracker store retrieve", ("retrieve (",)),
    ("  deserialise_tracker / from_dict", ("deserialise_tracker (",)),
    ("  replay of events (tracker rebuilt)", ("replay_events (",)),
    ("event broker publish (on the message path)", ("publish (bot/event_broker.py",)),
    ("event broker writer thread (off the path)", ("_run (bot/event_broker.py",)),
    ("lock store (issue, wait, clean up)", ("lock (rasa/core/lock_store.py", "lock (bot/locks.py")),
    ("  waiting for the sender's turn (another message of it in progress)", ("_acquire_lock (",)),
    ("graph runs: NLU and policies (dask runner, or its replayed plan)",
     ("rasa/engine/runner/dask.py", "run (bot/rasa_graph_runner.py")),
    ("  graph runner's own work (dask scheduling, or the plan; not in a node)",
     ("run (rasa/engine/runner/dask.py >> !__call__ (rasa/engine/graph.py",
      "run (bot/rasa_graph_runner.py >> !__call__ (rasa/engine/graph.py")),
    ("  NLU: parse_message (on the loop, or in the canyu-nlu thread)",
     ("parse_message (rasa/core/processor.py", "_parse_message_with_graph (rasa/core/processor.py")),
    ("  policies: one prediction (all policies)", ("_predict_next_with_tracker (rasa/core/processor.py",)),
    ("  RulePolicy: rule look-up", ("_get_possible_keys (",)),
    ("  policies: past_states (the conversation replayed)", ("past_states (",)),
    ("    the replay itself (Rasa's, or only the new events: bot/rasa_past_states.py)",
     ("generate_all_prior_trackers (", "_replayed (bot/rasa_past_states.py")),
    ("  EscalationPolicy: Redis read of the handoff state", ("_in_handoff ( >> redis/",)),
    ("tracker copies (init_copy: slots copied)", ("init_copy (",)),
    ("RemoteAction.run (whole custom action call)", ("run (rasa/core/actions/action.py",)),
    ("  request body (tracker state, JSON)", ("_action_call_format (",)),
    ("  the request sent, the answer read (aiohttp)", ("request (rasa/utils/endpoints.py",)),
    ("  validation of the answer", ("_validate_action_result (",)),
    ("forms: validate_slots (custom validation)", ("validate_slots (rasa/core/actions/forms.py",)),
    ("redis client", ("redis/",)),
    ("  waiting for Redis's answer, or for a core after it (_read_from_socket)", ("_read_from_socket (redis/",)),
]


def _holds(stack: str, needle: str) -> bool:
    """Whether `stack` has `needle` ("A >> B": a frame with A, and a deeper one with B; "A >> !B": with A and
    no deeper frame with B)."""
    if " >> " not in needle:
        return needle in stack
    outer, inner = needle.split(" >> ", 1)
    at = stack.find(outer)
    if at < 0:
        return False
    deeper = stack[at + len(outer):]
    return inner[1:] not in deeper if inner.startswith("!") else inner in deeper


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit(f"py-spy not found next to {sys.executable}; "
                         f"install it: {sys.executable} -m pip install py-spy")
    return found


# leaf frames of a thread that waits (py-spy's idle detection misses pool workers blocked on their queue)
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py", "wait (threading.py", "select (selectors.py")


def _samples(path: Path) -> Iterator[Tuple[str, int]]:
    """(stack, samples) of every line of a collapsed profile, without the stacks of waiting threads."""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit() or stack.rpartition(";")[2].startswith(IDLE_LEAVES):
            continue
        yield stack, int(count)


def load_collapsed(path: Path) -> "Tuple[Counter[str], int]":
    """Inclusive samples per frame (each frame once per stack) and the total of samples."""
    inclusive: "Counter[str]" = Counter()
    total = 0
    for stack, samples in _samples(path):
        total += samples
        for frame in set(stack.split(";")[1:]):  # the first frame is the thread
            inclusive[frame] += samples
    return inclusive, total


def hot_spot_shares(path: Path) -> Dict[str, float]:
    """Share of samples whose stack contains each HOT_SPOTS substring."""
    hits: "Counter[str]" = Counter()
    total = 0
    for stack, samples in _samples(path):
        total += samples
        for label, needles in HOT_SPOTS:
            if any(_holds(stack, needle) for needle in needles):
                hits[label] += samples
    return {label: hits[label] / total if total else 0.0 for label, _ in HOT_SPOTS}


def short(frame: str, width: int = 88) -> str:
    frame = frame.replace(str(Path(sys.prefix)), "").replace("lib/python3.10/site-packages/", "")
    return frame if len(frame) <= width else "…" + frame[-(width - 1):]


def report(path: Path, top: int) -> None:
    inclusive, total = load_collapsed(path)
    print(f"\n{total} samples of Rasa busy (waiting threads left out); inclusive shares (they overlap)")
    print(f"{'share':>6} | issue 17's hot spots")
    print("-" * 50)
    for label, share in hot_spot_shares(path).items():
        print(f"{share:6.1%} | {label}")
    print(f"\n{'share':>6} | top functions (under 90% of the samples, so not the event loop itself)")
    print("-" * 100)
    shown = 0
    for frame, samples in inclusive.most_common():
        if samples / total > 0.9:
            continue
        print(f"{samples / total:6.1%} | {short(frame)}")
        shown += 1
        if shown >= top:
            break


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=300, help="messages sent while recording")
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25, help="rows of the top-functions table")
    parser.add_argument("--out", type=Path, default=None, help="folder for <child>.collapsed (default: a temp dir)")
    parser.add_argument("--child", default="rasa", help="the child to profile: rasa (default) or actions")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="for the assistant")
    parser.add_argument("--report", type=Path, default=None, help="only print the tables of a saved .collapsed")
    args = parser.parse_args()
    if args.report:
        report(args.report, args.top)
        return 0
    os.environ.update(QUIET_ENV)
    env = dict(item.split("=", 1) for item in args.env)
    out = args.out or Path(tempfile.mkdtemp(prefix="canyu-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    collapsed = out / f"{args.child}.collapsed"
    spy = py_spy()

    from tests.harness import start_assistant

    print(f"starting the assistant ({env or 'default environment'})…", flush=True)
    assistant = start_assistant(Path(tempfile.mkdtemp(prefix="canyu-profile-data-")), with_console=False, env=env)
    try:
        rasa = next(c.process for name, c in assistant.stack.children.items() if name.startswith(args.child))
        assert rasa is not None, f"the {args.child} child did not start"
        run(assistant.url, 40, args.concurrency, assistant.rest_headers)  # warm-up
        recorder = subprocess.Popen(
            [spy, "record", "--pid", str(rasa.pid), "--rate", str(args.rate), "--format", "raw", "--function",
             "--output", str(collapsed)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        time.sleep(1.0)
        latencies, seconds, errors = run(assistant.url, args.n, args.concurrency, assistant.rest_headers)
        recorder.send_signal(signal.SIGINT)
        _, err = recorder.communicate(timeout=60)
        if not collapsed.exists():
            raise SystemExit(f"py-spy wrote no profile (exit {recorder.returncode}): {err.decode(errors='replace')}")
        print(f"{args.n} messages at concurrency {args.concurrency}: {args.n / seconds:.1f} msg/s, {errors} errors; "
              f"profile in {collapsed}")
    finally:
        assistant.stop()
    report(collapsed, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
