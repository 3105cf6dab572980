"""The KB's own Chinese table: `python -m bot.knowledge.kb_eval [--weights 0,0.25,0.5]`.

Every Chinese phrasing of the FAQ entries and product fact documents is asked against the index with
only itself removed (its entry's other phrasings are the right answers); top-1 = its own entry ranks
first. The Chinese questions of `knowledge/out_of_scope.yml` are the negatives of "ROC AUC, top score
in scope vs off-topic". Scores are the retriever's fused scores plus the Chinese pair model
(`zh_similarity:`), before the product filter. `--weights` lists `retriever_weight`s to compare on the
KB (how the committed one was chosen); by default the configured one and 0 (the pair model off).
`--latency` times `Retriever.ask` on Chinese questions with the pair model and without it (one retriever,
the two alternating question by question, the query vectors already in the embedding cache as the NLU
leaves them).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np

from bot.knowledge.text import has_cjk
from bot.knowledge.zh_pairs import PairScorer, ZhSimilarityConfig, load_zh_similarity

if TYPE_CHECKING:  # pragma: no cover
    from bot.knowledge.retriever import Retriever

__all__ = ["kb_zh_table", "pair_latency", "main"]

# Written for this timing (not from any evaluation set): what fans ask, some of it chatty.
LATENCY_QUESTIONS = ["14pro 续航咋样", "手环洗澡能戴吗", "下单以后几天到", "耳机不想要了 怎么退", "屏幕摔裂了 换一个多少钱",
                     "玩游戏手机发烫 正常吗", "充电宝能带上高铁吗", "耳机怎么连电脑", "发票怎么开", "今天股票怎么样"]


def kb_zh_table(retriever: "Retriever", retriever_weights: Sequence[float]) -> List[Dict[str, float]]:
    """One row per pair-model weight: zh top-1 (self removed) and in-scope vs off-topic ROC AUC."""
    from sklearn.metrics import roc_auc_score

    index = retriever.index
    encoder = retriever.encoder
    kb = retriever.kb
    n = len(index.phrases)
    zh = np.asarray([has_cjk(p) for p in index.phrases])
    feats = index.aggregate(index.phrase_features(index.phrases, index.q_vecs), ~np.eye(n, dtype=bool))
    base = index.fuse(feats, ["zh" if z else "en" for z in zh])
    negatives = [q for q in kb.out_of_scope.get("zh", []) if q.strip()]
    n_vecs = encoder.encode(negatives)
    n_base = index.fuse(index.features(negatives, n_vecs), ["zh"] * len(negatives))
    configured = load_zh_similarity(kb.root)
    rows = []
    for weight in retriever_weights:
        cfg = ZhSimilarityConfig(weights=configured.weights, retriever_weight=float(weight))
        scorer = PairScorer.for_index(index, cfg)
        scores, n_scores = base, n_base
        if scorer is not None:
            scores = base + scorer.boost(index.phrases, index.q_vecs, np.arange(n))
            n_scores = n_base + scorer.boost(negatives, n_vecs)
        top1 = float((np.argmax(scores, axis=1) == index.phrase_doc)[zh].mean())
        pos, neg = scores[zh].max(axis=1), n_scores.max(axis=1)
        auc = float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))
        rows.append({"retriever_weight": float(weight), "zh_top1": top1, "offtopic_auc": auc,
                     "phrasings": int(zh.sum()), "offtopic": len(negatives)})
    return rows


def pair_latency(retriever: "Retriever", rounds: int = 30) -> Dict[str, List[float]]:
    """Milliseconds per `ask` with the pair model ("on") and without ("off"), alternating per question."""
    scorer = retriever.pairs
    times: Dict[str, List[float]] = {"off": [], "on": []}
    try:
        for q in LATENCY_QUESTIONS:  # warm: the vectors in the cache, as after the NLU
            retriever.ask(q)
        for r in range(rounds):
            for q in LATENCY_QUESTIONS:
                for side in (("off", "on") if r % 2 == 0 else ("on", "off")):
                    retriever.pairs = scorer if side == "on" else None
                    start = time.perf_counter()
                    retriever.ask(q)
                    times[side].append((time.perf_counter() - start) * 1000)
    finally:
        retriever.pairs = scorer
    return times


def _retriever(args: argparse.Namespace) -> Tuple["Retriever", bool]:
    """The retriever of `--root` (default: the configured knowledge folder), cached in `--data`: this command is
    a composition root, so it reads the settings."""
    from bot.embeddings import EmbeddingSettings
    from bot.knowledge.config import cache_dir, knowledge_dir
    from bot.knowledge.store import build_retriever
    from bot.settings import load_settings

    env = load_settings().env
    root = Path(args.root) if args.root else knowledge_dir(env)
    data = Path(args.data) if args.data else cache_dir(env)
    return build_retriever(root, data, embedding=EmbeddingSettings.from_env(env))


def main(argv: Optional[Sequence[str]] = None) -> int:

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None, help="knowledge folder (default: the configured one)")
    ap.add_argument("--data", default=None, help="index cache folder (default: the configured one)")
    ap.add_argument("--weights", default=None, help="comma-separated retriever_weight values to compare")
    ap.add_argument("--latency", action="store_true", help="time ask() with and without the pair model instead")
    args = ap.parse_args(argv)
    retriever, _ = _retriever(args)
    if args.latency:
        if retriever.pairs is None:
            print("the pair model is off (zh_similarity: retriever_weight 0 or no weights): nothing to compare")
            return 1
        for side, ms in pair_latency(retriever).items():
            print(f"pair model {side:>3}: p50 {np.percentile(ms, 50):.2f} ms, p90 {np.percentile(ms, 90):.2f} ms "
                  f"({len(ms)} asks)")
        print(f"load average {os.getloadavg()[0]:.1f}")
        return 0
    configured = load_zh_similarity(retriever.kb.root).retriever_weight
    weights = [float(w) for w in args.weights.split(",")] if args.weights else [0.0, configured]
    print(f"{'retriever_weight':>16} {'zh top-1':>9} {'off-topic AUC':>14}")
    for row in kb_zh_table(retriever, weights):
        mark = "  (configured)" if row["retriever_weight"] == configured else ""
        print(f"{row['retriever_weight']:>16.2f} {row['zh_top1']:>9.4f} {row['offtopic_auc']:>14.4f}{mark}")
    print(f"({row['phrasings']} Chinese phrasings, {row['offtopic']} off-topic questions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
