"""Dense retrieval at scale: exact search vs the approximate index the retriever switches to.

Synthetic 384-dim unit vectors (the bundled model's size): entries are drawn around random
topic centres (clusters of ~100, like FAQ entries about one product), and each query is a stored
entry plus noise (cosine ~0.8 to it, like a user's paraphrase). For each size: build time, index
memory, single-query latency p50/p99 (one query at a time, one thread) and recall@1 against exact
search on the same vectors, in the same run.

    PYTHONPATH=. python bench/retrieval_scale.py                      # 1k, 100k, 1M
    PYTHONPATH=. python bench/retrieval_scale.py --sizes 1000,100000 --kinds ivf,hnsw
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from typing import List, Tuple

import numpy as np

from bot.knowledge.dense import DenseIndex

DIM = 384


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_data(n: int, n_queries: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_centres = max(1, n // 100)
    centres = rng.standard_normal((n_centres, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, DIM), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = centres[rng.integers(0, n_centres, m)] + rng.standard_normal((m, DIM), dtype=np.float32) * (1.0 / np.sqrt(DIM))
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    src = rng.integers(0, n, n_queries)
    q = out[src] + rng.standard_normal((n_queries, DIM), dtype=np.float32) * (0.75 / np.sqrt(DIM))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return out, q.astype(np.float32)


def exact_top1(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    best = np.empty(len(queries), np.int64)
    for start in range(0, len(queries), 256):
        best[start : start + 256] = np.argmax(queries[start : start + 256] @ data.T, axis=1)
    return best


def time_queries(index: DenseIndex, queries: np.ndarray) -> Tuple[List[float], np.ndarray]:
    times, top = [], np.empty(len(queries), np.int64)
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _, ids = index.search(q[None, :], 1)
        times.append((time.perf_counter() - t) * 1000)
        top[i] = ids[0, 0]
    return times, top


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--kinds", default="ivf", help="approximate indexes to compare with exact: ivf, hnsw")
    ap.add_argument("--hnsw-max", type=int, default=100_000, help="skip HNSW above this size (slow to build)")
    ap.add_argument("--exact-latency-queries", type=int, default=100)
    ap.add_argument("--widths", default="", help="also sweep the search width (IVF nprobe / HNSW efSearch), e.g. 8,16,32")
    args = ap.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        data, queries = make_data(n, args.queries)
        truth = exact_top1(data, queries)
        exact = DenseIndex(data, force_kind="exact")
        t_exact, top = time_queries(exact, queries[: args.exact_latency_queries])
        rows.append((n, "exact", 0.0, data.nbytes / 2**20, np.percentile(t_exact, 50), np.percentile(t_exact, 99),
                     float((top == truth[: len(top)]).mean())))
        print(_fmt(rows[-1]), flush=True)
        for kind in args.kinds.split(","):
            if kind == "hnsw" and n > args.hnsw_max:
                continue
            if n < 10_000:
                continue  # the retriever stays exact below its ANN threshold
            gc.collect()
            before = _rss_mb()
            faiss.omp_set_num_threads(2)
            t = time.perf_counter()
            index = DenseIndex(data, force_kind=kind)
            build = time.perf_counter() - t
            faiss.omp_set_num_threads(1)
            mem = _rss_mb() - before
            times, top = time_queries(index, queries)
            rows.append((n, kind, build, mem, np.percentile(times, 50), np.percentile(times, 99),
                         float((top == truth).mean())))
            print(_fmt(rows[-1]), flush=True)
            for width in [int(w) for w in args.widths.split(",") if w]:
                index.set_search_width(width)
                times, top = time_queries(index, queries)
                rows.append((n, f"{kind}/{width}", build, mem, np.percentile(times, 50), np.percentile(times, 99),
                             float((top == truth).mean())))
                print(_fmt(rows[-1]), flush=True)
            del index
        del data, exact
        gc.collect()
    print(f"\n{'entries':>9} {'search':>8} {'build s':>8} {'index MB':>9} {'p50 ms':>7} {'p99 ms':>7} {'recall@1':>9}")
    for r in rows:
        print(_fmt(r))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak process memory: {peak:.0f} MB; dim {DIM}; {args.queries} queries; one query at a time, 1 thread")


def _fmt(r: tuple) -> str:
    n, kind, build, mem, p50, p99, rec = r
    return f"{n:>9,} {kind:>8} {build:>8.1f} {mem:>9.0f} {p50:>7.3f} {p99:>7.3f} {rec:>9.4f}"


if __name__ == "__main__":
    main()
