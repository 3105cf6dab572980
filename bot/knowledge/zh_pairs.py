"""Chinese question-to-question similarity: centred e5 cosine plus what the two share and what differs.

The e5 cosine of two Chinese questions is high for almost any pair from one domain (0.8-0.95), and a
question that differs from another in one key word ("借款" / "还款") keeps most of its characters.
So a Chinese query is also compared with every Chinese phrasing of the KB by a small linear model:

- the cosine of the two e5 vectors after removing the corpus's mean vector (the direction every
  question shares; without it the cosine mostly measures "both are customer questions");
- per token kind (jieba words, character bigrams, characters; `bot.knowledge.overlap`), how much of
  each side's IDF mass the other covers (min and max) and the larger unmatched mass.

The weights (`zh_similarity:` in `knowledge/config.yml`) are fitted on the KB's own Chinese
phrasings only (`python -m bot.knowledge.zh_fit`): each phrasing must rank its own entry's other
phrasings above every other entry's (a softmax over all of them). No evaluation set is used.
The retriever adds the best phrasing's score per entry, standardised across entries, with weight
`retriever_weight`; `bot eval pairs` reports the same function on question pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Mapping, Optional, Sequence

import numpy as np
import yaml

from bot.errors import ConfigError
from bot.knowledge._arrays import Floats, Ints
from bot.knowledge.overlap import OVERLAP_FEATURES, TokenMass
from bot.knowledge.text import has_cjk

if TYPE_CHECKING:  # pragma: no cover
    from bot.knowledge.index import HybridIndex

__all__ = ["PAIR_FEATURES", "ZhSimilarityConfig", "load_zh_similarity", "centred", "pair_matrix",
           "PairScorer", "pair_similarity", "linear"]

PAIR_FEATURES = ("dense_c", *OVERLAP_FEATURES)


@dataclass(frozen=True)
class ZhSimilarityConfig:
    """`zh_similarity:` of `knowledge/config.yml`: the pair model's weights and its weight in the ranking."""

    weights: Dict[str, float] = field(default_factory=dict)  # empty: the pair model is off
    retriever_weight: float = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.weights) and self.retriever_weight > 0


def load_zh_similarity(root: Path) -> ZhSimilarityConfig:
    """Read `<root>/config.yml` `zh_similarity:` (missing: off); unknown features are a precise error."""
    path = Path(root) / "config.yml"
    if not path.exists():
        return ZhSimilarityConfig()
    try:
        raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("zh_similarity") or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML: "
                          f"{getattr(exc, 'problem', exc)}") from exc
    unknown = sorted(set(raw) - {"weights", "retriever_weight"})
    if unknown:
        raise ConfigError(f"{path}: unknown zh_similarity setting(s) {', '.join(unknown)}; "
                          f"known: retriever_weight, weights")
    weights = raw.get("weights") or {}
    if not isinstance(weights, Mapping):
        raise ConfigError(f"{path}: zh_similarity.weights must be a mapping of feature: number")
    bad = sorted(set(weights) - set(PAIR_FEATURES))
    if bad:
        raise ConfigError(f"{path}: zh_similarity.weights has unknown feature(s) {', '.join(bad)}; "
                          f"use {', '.join(PAIR_FEATURES)}")
    try:
        parsed = {str(k): float(v) for k, v in weights.items()}
        rw = float(raw.get("retriever_weight", 0.0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: zh_similarity weights and retriever_weight must be numbers") from exc
    if rw < 0:
        raise ConfigError(f"{path}: zh_similarity.retriever_weight must be >= 0 (0: off), not {rw}")
    return ZhSimilarityConfig(weights=parsed, retriever_weight=rw)


def centred(vecs: Floats, mean: Floats) -> Floats:
    """Unit vectors minus the corpus mean, normalised again (their dot product is the centred cosine)."""
    c = np.asarray(vecs, np.float32) - mean[None, :]
    unit: Floats = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-9)
    return unit


def pair_matrix(dense_c: Floats, overlap: Mapping[str, Floats]) -> Dict[str, Floats]:
    """All pair features by name (`PAIR_FEATURES`), any shape (pairs, or queries x texts)."""
    return {"dense_c": np.asarray(dense_c, np.float32), **{k: overlap[k] for k in OVERLAP_FEATURES}}


def linear(features: Mapping[str, Floats], weights: Mapping[str, float]) -> Floats:
    """The pair model's score: the weighted sum of its features."""
    out = np.zeros_like(next(iter(features.values())), np.float32)
    for name, w in weights.items():
        out += np.float32(w) * features[name]
    return out


class PairScorer:
    """The pair model over one index's Chinese phrasings: `entry_scores` gives the best phrasing per entry."""

    def __init__(self, phrases: Sequence[str], phrase_doc: Ints, zh_vecs: Floats, n_docs: int,
                 config: ZhSimilarityConfig) -> None:
        self.config = config
        rows = np.flatnonzero([has_cjk(p) for p in phrases])
        self.rows = rows[np.argsort(np.asarray(phrase_doc)[rows], kind="stable")]  # grouped by entry
        self.docs = np.asarray(phrase_doc)[self.rows]
        self._starts = np.flatnonzero(np.r_[True, np.diff(self.docs) != 0])
        self.n_docs = n_docs
        texts = [phrases[i] for i in self.rows]
        vecs = np.asarray(zh_vecs, np.float32)[self.rows]
        self.mean = vecs.mean(axis=0) if len(vecs) else np.zeros(np.asarray(zh_vecs).shape[1], np.float32)
        self.vecs = centred(vecs, self.mean) if len(vecs) else vecs
        self.mass = TokenMass.fit(texts)
        self.texts = texts
        self._mats = self.mass.matrices(texts)
        self._right = self.mass.transposed(texts)
        self.block = slice(None)  # the columns of a full index vector that hold the e5 vector

    @classmethod
    def for_index(cls, index: "HybridIndex", config: ZhSimilarityConfig) -> Optional["PairScorer"]:
        """The scorer over an index's Chinese phrasings (their stored e5 block), or None when it is off."""
        if not config.enabled or "zh" not in index.blocks:
            return None
        block = index.blocks["zh"]
        scorer = cls(index.phrases, index.phrase_doc, index.q_vecs[:, block], len(index.docs), config)
        scorer.block = block
        return scorer

    def boost(self, queries: Sequence[str], q_vecs: Floats, exclude: Optional[Ints] = None) -> Floats:
        """`entry_scores` from full index-width query vectors (the retriever adds this to its fused scores)."""
        return self.entry_scores(queries, np.atleast_2d(q_vecs)[:, self.block], exclude)

    def phrase_scores(self, queries: Sequence[str], q_zh: Floats) -> Floats:
        """(queries x Chinese phrasings) pair-model scores; `q_zh` are the queries' e5 vectors."""
        q = centred(np.atleast_2d(q_zh), self.mean)
        # one message: einsum, not a BLAS product, which wakes BLAS's threads and on a busy machine can wait
        # milliseconds for a core (einsum: ~0.04 ms); batches (the calibration at build time): BLAS
        dense_c = np.einsum("qd,pd->qp", q, self.vecs) if len(q) <= 4 else q @ self.vecs.T
        if len(queries) == 1:  # a message: read only its tokens' rows
            overlap = self.mass.cross_one(queries[0], self._right)
        else:
            overlap = self.mass.cross(queries, self.texts, right=self._mats)
        return linear(pair_matrix(dense_c, overlap), self.config.weights)

    def entry_scores(self, queries: Sequence[str], q_zh: Floats, exclude: Optional[Ints] = None,
                     ) -> Floats:
        """(queries x entries): each entry's best Chinese phrasing, standardised across entries, times
        `retriever_weight`; rows of non-Chinese queries are 0. `exclude[i]` is a phrasing index (into the
        index's phrasings) query i must not see (itself, when the KB asks its own phrasings), or -1."""
        n = len(queries)
        out = np.zeros((n, self.n_docs), np.float32)
        zh = np.flatnonzero([has_cjk(q) for q in queries])
        if not len(zh) or not len(self.rows) or not self.config.enabled:
            return out
        s = self.phrase_scores([queries[i] for i in zh], np.atleast_2d(q_zh)[zh])
        if exclude is not None:
            col = {int(r): j for j, r in enumerate(self.rows)}
            for k, i in enumerate(zh):
                j = col.get(int(exclude[i]), -1)
                if j >= 0:
                    s[k, j] = -np.inf
        best = np.full((len(zh), self.n_docs), -np.inf, np.float32)
        best[:, self.docs[self._starts]] = np.maximum.reduceat(s, self._starts, axis=1)
        floor = np.where(np.isfinite(best), best, np.inf).min(axis=1, keepdims=True)
        best = np.where(np.isfinite(best), best, floor)  # an entry with no Chinese phrasing: the row's worst
        z = (best - best.mean(axis=1, keepdims=True)) / (best.std(axis=1, keepdims=True) + 1e-6)
        out[zh] = self.config.retriever_weight * z
        return out


def pair_similarity(a: Sequence[str], b: Sequence[str], va: Floats, vb: Floats,
                    weights: Mapping[str, float], corpus: Optional[Sequence[str]] = None,
                    mean: Optional[Floats] = None) -> Floats:
    """The pair model's score of each pair (a[i], b[i]) with e5 vectors va, vb. IDF comes from `corpus`
    and the centre from `mean` (default: all texts of the pairs, no labels used)."""
    mean = np.vstack([va, vb]).mean(axis=0) if mean is None else mean
    dense_c = (centred(va, mean) * centred(vb, mean)).sum(axis=1)
    overlap = TokenMass.fit(list(corpus) if corpus is not None else [*a, *b]).pairwise(a, b)
    return linear(pair_matrix(dense_c, overlap), weights)
