"""The hybrid index: dense cosine (questions and answers) plus BM25 (questions and whole entries).

One `Doc` is one answerable entry with several question phrasings. Every phrasing is indexed
on its own and entry scores take the best phrasing (max), so one close paraphrase is enough.
Four features per (query, entry) are fused linearly with per-language weights: the bundled
sentence model is English-only, so Chinese leans on the lexical side.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from bot.knowledge.bm25 import BM25
from bot.knowledge.dense import ANN_THRESHOLD, DenseIndex
from bot.knowledge.text import has_cjk, tokens

__all__ = ["Doc", "HybridIndex", "DEFAULT_WEIGHTS", "get_encoder", "FEATURES", "text_progress"]

FEATURES = ("dense_q", "dense_p", "lex_q", "lex_d")
DEFAULT_WEIGHTS: Dict[str, Dict[str, float]] = {
    "en": {"dense_q": 1.0, "dense_p": 0.0, "lex_q": 0.0, "lex_d": 0.05},
    "zh": {"dense_q": 0.3, "dense_p": 0.1, "lex_q": 1.0, "lex_d": 0.4},
}


def get_encoder(model: Optional[str] = None) -> Any:
    """The shared sentence encoder (`bot.embeddings.get_encoder`)."""
    from bot.embeddings import get_encoder as shared

    return shared(model) if model else shared()


def text_progress(label: str) -> Callable[[int, int], None]:
    """A `progress(done, total)` callback for `HybridIndex.build` that draws a bar on stderr."""

    def progress(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return progress


@dataclass
class Doc:
    """One retrievable entry: question phrasings (any language), answer passages, lexical-only extras.

    `passages` are the texts a query is also compared with densely (answers, or answer chunks);
    `extra` (tags, product names) and the passages feed the entry-level BM25.
    """

    id: str
    questions: List[str]
    passages: List[str] = field(default_factory=list)
    extra: str = ""
    meta: Dict[str, Any] = field(default_factory=dict)


class HybridIndex:
    """Dense + BM25 index over `docs`; `scores(queries)` gives fused (queries x docs) scores.

    Fusion is on per-query standardised scores (z-scores across entries), so features with
    different spreads (cosines near 0.5, BM25 near 0) mix by their weights, not their scales.
    """

    def __init__(self, docs: Sequence[Doc], q_vecs: np.ndarray, p_vecs: np.ndarray,
                 ann_threshold: int = ANN_THRESHOLD, ann_kind: Optional[str] = None, answer_mix: float = 0.0,
                 weights: Optional[Mapping[str, Mapping[str, float]]] = None) -> None:
        self.docs = list(docs)
        self.ids = [d.id for d in self.docs]
        self.weights = {k: dict(v) for k, v in (weights or DEFAULT_WEIGHTS).items()}
        self.phrase_doc = np.asarray([i for i, d in enumerate(self.docs) for _ in d.questions], np.int64)
        self.phrases = [q for d in self.docs for q in d.questions]
        starts = np.flatnonzero(np.r_[True, np.diff(self.phrase_doc) != 0])
        self._starts = starts
        self.q_vecs = np.ascontiguousarray(q_vecs, np.float32)
        self.p_vecs = np.ascontiguousarray(p_vecs, np.float32)
        self.passage_doc = np.asarray([i for i, d in enumerate(self.docs) for _ in (d.passages or [""])], np.int64)
        self._p_starts = np.flatnonzero(np.r_[True, np.diff(self.passage_doc) != 0])
        searched = self.q_vecs
        if answer_mix > 0 and len(self.p_vecs) and len(self.q_vecs):
            # Each phrasing is searched as "phrasing + a little of its entry's first passage", so a
            # query also meets what the answer talks about (document expansion in vector space).
            first = self.p_vecs[self._p_starts][self.phrase_doc]
            has = np.asarray([bool(d.passages) for d in self.docs])[self.phrase_doc][:, None]
            searched = self.q_vecs + answer_mix * first * has
            searched /= np.maximum(np.linalg.norm(searched, axis=1, keepdims=True), 1e-9)
        self.q_index = DenseIndex(searched, ann_threshold=ann_threshold, ann_kind=ann_kind or "ivf")
        self.bm25_q = BM25.fit([tokens(q) for q in self.phrases])
        self.bm25_d = BM25.fit([tokens(" ".join([*d.passages, d.extra])) for d in self.docs])

    @classmethod
    def build(cls, docs: Sequence[Doc], encoder: Any, batch_size: int = 64, progress: Any = None,
              **kwargs: Any) -> "HybridIndex":
        """Embed every phrasing and answer with `encoder` (progress(done, total) is called per batch)."""
        phrases = [q for d in docs for q in d.questions]
        passages = [p[:1000] for d in docs for p in (d.passages or [""])]
        texts = phrases + passages
        vecs: List[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            vecs.append(np.asarray(encoder.encode(texts[start : start + batch_size]), np.float32))
            if progress:
                progress(min(start + batch_size, len(texts)), len(texts))
        allv = np.vstack(vecs) if vecs else np.zeros((0, getattr(encoder, "dim", 384)), np.float32)
        return cls(docs, allv[: len(phrases)], allv[len(phrases) :], **kwargs)

    def phrase_features(self, queries: Sequence[str], q_vecs: np.ndarray) -> Dict[str, np.ndarray]:
        """Per-phrasing dense and BM25 scores, and per-entry passage scores (before aggregation)."""
        q_vecs = np.atleast_2d(q_vecs).astype(np.float32)
        p = q_vecs @ self.p_vecs.T if len(self.p_vecs) else np.zeros((len(queries), 0), np.float32)
        return {
            "dense_q": self.q_index.all_scores(q_vecs),
            "lex_q": self.bm25_q.scores([tokens(q) for q in queries]),
            "dense_p": np.maximum.reduceat(p, self._p_starts, axis=1),
            "lex_d": np.minimum(self.bm25_d.scores([tokens(q) for q in queries]), 1.0),
        }

    def aggregate(self, phr: Mapping[str, np.ndarray], mask: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        """Entry-level features: best phrasing per entry (phrasings where `mask` is False are skipped)."""
        dq, lq = phr["dense_q"], phr["lex_q"]
        if mask is not None:
            dq = np.where(mask, dq, -1.0)
            lq = np.where(mask, lq, 0.0)
        return {
            "dense_q": np.maximum.reduceat(dq, self._starts, axis=1),
            "dense_p": phr["dense_p"],
            "lex_q": np.minimum(np.maximum.reduceat(lq, self._starts, axis=1), 1.0),
            "lex_d": phr["lex_d"],
        }

    def features(self, queries: Sequence[str], q_vecs: np.ndarray) -> Dict[str, np.ndarray]:
        """Per-feature (queries x docs) arrays (see FEATURES)."""
        return self.aggregate(self.phrase_features(queries, q_vecs))

    def fuse(self, feats: Mapping[str, np.ndarray], languages: Sequence[str]) -> np.ndarray:
        """Weighted sum of the per-query standardised features, each query with its language's weights."""
        out = np.zeros_like(feats["dense_q"], dtype=np.float32)
        z = {name: _zscore(feats[name]) for name in FEATURES}
        for i, lang in enumerate(languages):
            w = self.weights.get(lang) or self.weights["en"]
            total = sum(abs(w.get(name, 0.0)) for name in FEATURES) or 1.0
            for name in FEATURES:
                out[i] += w.get(name, 0.0) / total * z[name][i]
        return out

    def scores(self, queries: Sequence[str], q_vecs: np.ndarray) -> np.ndarray:
        langs = ["zh" if has_cjk(q) else "en" for q in queries]
        return self.fuse(self.features(queries, q_vecs), langs)


def _zscore(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-6)
