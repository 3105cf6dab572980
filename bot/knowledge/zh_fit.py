"""Fit the Chinese pair model's weights on the KB's own Chinese phrasings: `python -m bot.knowledge.zh_fit`.

Every Chinese phrasing of the FAQ entries is a query; the other phrasings of its entry are the right
answers and every other entry's phrasings the wrong ones. The product fact documents are left out: their
phrasings are generated from one template per spec ("米粒手环 9 电池多大" / "米粒手机 14 电池多大"), and fitted
on them the model learnt the template (bigram overlap counted against a match) and ranked the human-written
FAQ phrasings of held-out entries no better than the plain cosine (top-1 0.845 vs 0.845; fitted on FAQ
phrasings only: 0.878). The weights maximise the softmax probability of the right ones (a conditional
logit, as ranking uses the score). Phrasings that differ only in spaces ("米粒手机14 Pro" / "米粒手机 14 Pro") are left out of
each other's lists: they are copies, not paraphrases. No evaluation set is read.

It prints the weights as the `zh_similarity: weights:` block for `knowledge/config.yml`, and how well
they rank on entries they were not fitted on (entries split in halves, both ways, several seeds):
top-1 of the pair model against the plain e5 cosine.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Optional, Sequence, Tuple

import numpy as np

from bot.knowledge._arrays import Bools, Floats, Ints
from bot.knowledge.index import Doc
from bot.knowledge.zh_pairs import PAIR_FEATURES, PairScorer, ZhSimilarityConfig, pair_matrix

if TYPE_CHECKING:  # pragma: no cover
    from bot.knowledge.retriever import Retriever

__all__ = ["kb_pair_features", "fit_weights", "faq_rows", "held_out", "main"]


def kb_pair_features(phrases: Sequence[str], phrase_doc: Ints, zh_vecs: Floats,
                     n_docs: int) -> Tuple[Floats, Ints, Bools]:
    """(features n x n x d, entry of each Chinese phrasing, candidate mask n x n) as the retriever sees them."""
    scorer = PairScorer(phrases, phrase_doc, zh_vecs, n_docs, ZhSimilarityConfig())
    texts = scorer.texts
    dense_c = scorer.vecs @ scorer.vecs.T
    overlap = scorer.mass.cross(texts, texts, right=scorer._mats)
    feats = pair_matrix(dense_c, overlap)
    F = np.stack([feats[name] for name in PAIR_FEATURES], axis=-1)
    squashed = np.asarray([t.replace(" ", "") for t in texts])
    candidates = squashed[:, None] != squashed[None, :]
    return F, scorer.docs, candidates


def fit_weights(F: Floats, gold: Ints, candidates: Bools, rows: Optional[Ints] = None,
                l2: float = 1e-2) -> Dict[str, float]:
    """Conditional-logit weights on the phrasings `rows` (all by default), asked among themselves."""
    from scipy.optimize import minimize

    rows = np.arange(len(gold)) if rows is None else np.asarray(rows)
    X = F[np.ix_(rows, rows)]
    g = gold[rows]
    valid = candidates[np.ix_(rows, rows)]
    pos = (g[:, None] == g[None, :]) & valid
    keep = pos.any(axis=1)
    X, pos, valid = X[keep], pos[keep], valid[keep]
    flat = X[valid]
    mu, sd = flat.mean(axis=0), flat.std(axis=0) + 1e-9
    Xs = (X - mu) / sd

    def loss(w: Floats) -> Tuple[float, Floats]:
        s = np.where(valid, Xs @ w, -1e9)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        p_all = e / e.sum(axis=1, keepdims=True)
        e_pos = e * pos
        p_pos = e_pos / e_pos.sum(axis=1, keepdims=True)
        nll = -(np.log(e_pos.sum(axis=1)) - np.log(e.sum(axis=1)))
        grad = np.einsum("ij,ijk->k", p_all - p_pos, Xs) / len(Xs)
        return float(nll.mean() + l2 * w @ w), grad + 2 * l2 * w

    w0 = np.zeros(F.shape[-1])
    w0[0] = 1.0
    w = minimize(loss, w0, jac=True, method="L-BFGS-B").x / sd
    return {name: round(float(x), 4) for name, x in zip(PAIR_FEATURES, w, strict=True)}


def _top1(F: Floats, gold: Ints, candidates: Bools, rows: Ints,
          weights: Dict[str, float]) -> float:
    w = np.asarray([weights.get(n, 0.0) for n in PAIR_FEATURES])
    s = F[np.ix_(rows, rows)] @ w
    valid = candidates[np.ix_(rows, rows)]
    s = np.where(valid, s, -np.inf)
    g = gold[rows]
    asked = ((g[:, None] == g[None, :]) & valid).any(axis=1)
    return float((g[np.argmax(s, axis=1)] == g)[asked].mean())


def held_out(F: Floats, gold: Ints, candidates: Bools, rows: Ints,
             seeds: int = 6) -> Dict[str, float]:
    """Top-1 on entries not fitted on (`rows` split by entry in halves, both ways, `seeds` splits):
    pair model vs centred cosine."""
    pair, cosine = [], []
    for seed in range(seeds):
        half = np.random.default_rng(seed).random(int(gold.max()) + 1) < 0.5
        a, b = rows[half[gold[rows]]], rows[~half[gold[rows]]]
        for fit, test in ((a, b), (b, a)):
            pair.append(_top1(F, gold, candidates, test, fit_weights(F, gold, candidates, fit)))
            cosine.append(_top1(F, gold, candidates, test, {"dense_c": 1.0}))
    return {"pair_model_top1": float(np.mean(pair)), "centred_cosine_top1": float(np.mean(cosine))}


def faq_rows(docs: Sequence[Doc], gold: Ints) -> Ints:
    """The Chinese phrasings (indexes into `gold`) that belong to FAQ entries, not generated fact documents."""
    return np.flatnonzero([docs[g].meta.get("kind", "faq") == "faq" for g in gold])


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
    args = ap.parse_args(argv)
    retriever, _ = _retriever(args)
    index = retriever.index
    zh = index.q_vecs[:, index.blocks.get("zh", next(iter(index.blocks.values())))]
    F, gold, candidates = kb_pair_features(index.phrases, index.phrase_doc, zh, len(index.docs))
    rows = faq_rows(index.docs, gold)
    weights = fit_weights(F, gold, candidates, rows)
    report = held_out(F, gold, candidates, rows)
    print(f"{len(rows)} Chinese FAQ phrasings of {len(set(gold[rows].tolist()))} entries")
    print(f"held-out entries, top-1: pair model {report['pair_model_top1']:.4f}, "
          f"centred e5 cosine {report['centred_cosine_top1']:.4f}")
    print("zh_similarity:\n  weights:")
    for name, value in weights.items():
        print(f"    {name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
