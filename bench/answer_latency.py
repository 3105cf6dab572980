"""Per-message latency of the answer path (`Retriever.ask` as `action_answer_product` calls it), against a
baseline revision measured in the same run.

    ~/.cache/canyu/venv/bin/python bench/answer_latency.py [--baseline fc9a2d8] [--n 5]

The baseline is checked out into a temporary git worktree and measured in a child process with its own
knowledge base and code; then this checkout is measured in this process. Both ask the same questions (below:
written for this bench, in both languages, not taken from any evaluation set) with the sentence caches off,
`--n` repeats the list. Two modes, each side in each:
- `as deployed`: the NLU has already encoded the message with the same sentence models (it writes every
  vector to the shared on-disk embedding cache), so the action's encoding is a disk-cache read. The bench
  encodes each question first, empties the in-memory caches, then times `ask`.
- `cold`: sentence caches off, every question encoded again (the action server on its own).
Prints p50 / p90 / mean per side and mode, the difference of the p50s, and the load average (the machine
is shared: read the figures with it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parent.parent

QUESTIONS = [
    ("how long does the 14 pro battery last", "ask_product"), ("14pro 续航咋样", "ask_product"),
    ("can i take the band swimming", "ask_product"), ("手环洗澡能戴吗", "ask_product"),
    ("when will my parcel get here", "shipping"), ("下单以后几天到", "shipping"),
    ("i want to send the earbuds back", "return_refund"), ("耳机不想要了 怎么退", "return_refund"),
    ("screen cracked, what does a fix cost", "repair_warranty"), ("屏幕摔裂了 换一个多少钱", "repair_warranty"),
    ("the phone gets hot while gaming, normal?", "complain"), ("玩游戏手机发烫 正常吗", "complain"),
    ("which phones do you have", "ask_product"), ("你们卖哪些耳机", "ask_product"),
    ("does the power bank work on a plane", "ask_product"), ("充电宝能带上高铁吗", "ask_product"),
    ("how do i pair the buds with my laptop", "ask_product"), ("耳机怎么连电脑", "ask_product"),
    ("what's the weather like tomorrow", "out_of_scope"), ("今天股票怎么样", "out_of_scope"),
]

_MEASURE = r"""
import json, os, sys, time, inspect
import bot.embeddings as embeddings
from bot.knowledge.store import build_retriever
questions = json.loads(sys.argv[1]); n = int(sys.argv[2]); mode = sys.argv[3]
if "embedding" in inspect.signature(build_retriever).parameters:  # issue 19: the caller hands in paths and settings
    from bot.knowledge.config import cache_dir, knowledge_dir
    from bot.settings import load_settings
    env = load_settings().env
    retriever, _ = build_retriever(knowledge_dir(env), cache_dir(env),
                                   embedding=embeddings.EmbeddingSettings.from_env(env))
else:
    retriever, _ = build_retriever()
takes_intent = "intent" in inspect.signature(retriever.ask).parameters
ask = (lambda q, i: retriever.ask(q, None, i, 0.9)) if takes_intent else (lambda q, i: retriever.ask(q))
for q, intent in questions:  # models loaded, code paths warm, every vector in the disk cache (as the NLU leaves it)
    ask(q, intent)
times = []
for _ in range(n):
    for q, intent in questions:
        if mode == "cold":
            with embeddings.caches_disabled():
                start = time.perf_counter(); ask(q, intent)
        else:
            loaded = embeddings.loaded_encoders() if hasattr(embeddings, "loaded_encoders") else embeddings._encoders
            for encoder in loaded.values():  # another process encoded it: read it from the disk cache
                if hasattr(encoder, "clear_memory"):
                    encoder.clear_memory()
                else:
                    encoder._lru.clear()
            start = time.perf_counter(); ask(q, intent)
        times.append((time.perf_counter() - start) * 1000)
print(json.dumps(times))
"""


def _measure(code_dir: Path, data_dir: Path, n: int, mode: str) -> List[float]:
    env = dict(os.environ, PYTHONPATH=str(code_dir), CANYU_HOME=str(code_dir), CANYU_DATA_DIR=str(data_dir),
               CANYU_KNOWLEDGE_DIR=str(code_dir / "knowledge"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", CANYU_EMBEDDING_CACHE=str(data_dir / "embeddings"),
               OMP_WAIT_POLICY="PASSIVE")  # what bot.settings.apply_quiet_env sets in an entry point
    out = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(QUESTIONS), str(n), mode], cwd=code_dir, env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"measuring {code_dir} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _stats(times: List[float]) -> Dict[str, float]:
    ordered = sorted(times)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    return {"p50": pct(50), "p90": pct(90), "mean": sum(times) / len(times)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="fc9a2d8", help="git revision to compare with (default: before issue 14)")
    parser.add_argument("--n", type=int, default=5, help="times the question list is asked per side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(worktree), args.baseline],
                       check=True, capture_output=True)
        try:
            rows = {}
            for mode in ("as deployed", "cold"):
                for label, code in ((f"baseline {args.baseline}", worktree), ("this checkout", HERE)):
                    data = Path(tmp) / f"data-{len(rows)}"
                    data.mkdir()
                    rows[(mode, label)] = _stats(_measure(code, data, args.n, "cold" if mode == "cold" else "deployed"))
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(worktree)], check=False,
                           capture_output=True)
    print(f"answer path latency, {len(QUESTIONS)} questions x {args.n} (load average {os.getloadavg()[0]:.1f})\n")
    print(f"{'mode':12} {'code':24} {'p50 ms':>8} {'p90 ms':>8} {'mean ms':>8}")
    for (mode, label), s in rows.items():
        print(f"{mode:12} {label:24} {s['p50']:8.1f} {s['p90']:8.1f} {s['mean']:8.1f}")
    for mode in ("as deployed", "cold"):
        base, now = [s for (m, _), s in rows.items() if m == mode]
        print(f"{mode}: p50 difference {now['p50'] - base['p50']:+.1f} ms (ratio {now['p50'] / base['p50']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
