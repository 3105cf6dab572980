"""Per-message NLU latency of a trained Rasa model, through a Rasa Agent, sentence caches off.

    python bench/nlu_latency.py MODEL.tar.gz [CSV with a `text` column] [--n 300]

Prints p50 / p90 / p99 in milliseconds and the load average (the machine is shared: read the
figures with it). `bot eval intents` keeps its models as `reports/eval-intents-*/model-*.tar.gz`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import time

import numpy as np

DEFAULT_TEXTS = [
    "where is my order",
    "我的订单到哪了",
    "how long does the Millet Band 9 battery last",
    "小米14 Pro 电池多大",
    "I want to return my earbuds",
    "can I talk to a human",
    "what's the weather tomorrow",
    "my card payment was declined, why?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("csv", nargs="?")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    from bot.settings import apply_quiet_env

    apply_quiet_env()  # before Rasa and torch load: no telemetry, offline, OMP_WAIT_POLICY=PASSIVE
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level otherwise

    from bot.embeddings import caches_disabled

    texts = DEFAULT_TEXTS
    if args.csv:
        with open(args.csv, encoding="utf-8", newline="") as handle:
            texts = [row["text"] for row in csv.DictReader(handle)]
    texts = [texts[i % len(texts)] for i in range(args.n)]
    agent = Agent.load(args.model)
    loop = asyncio.new_event_loop()
    for text in texts[:10]:
        loop.run_until_complete(agent.parse_message(text))
    timings = []
    with caches_disabled():
        for text in texts:
            start = time.perf_counter()
            loop.run_until_complete(agent.parse_message(text))
            timings.append((time.perf_counter() - start) * 1000)
    p50, p90, p99 = np.percentile(timings, [50, 90, 99])
    print(f"{len(timings)} messages: p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
