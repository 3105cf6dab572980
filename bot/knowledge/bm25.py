"""Okapi BM25 over pre-tokenised documents, as one sparse matrix product per query batch.

Scores are also returned normalised by the query's own best possible score (every query
token matched once in an average-length document), so they sit roughly in [0, 1] and can
be fused with cosine similarities.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np
from scipy import sparse

from bot.knowledge._arrays import Floats

__all__ = ["BM25", "TOKEN_WEIGHTS"]

# Weight of each token kind in a query: char unigrams are weak evidence, bigrams and words strong.
TOKEN_WEIGHTS: Mapping[str, float] = {"w": 1.0, "b": 1.0, "c": 0.3}


class BM25:
    """A fitted BM25 index; `weights` is the (docs x vocabulary) matrix of term weights."""

    def __init__(self, vocab: Dict[str, int], idf: Floats, weights: sparse.csr_matrix) -> None:
        self.vocab = vocab
        self.idf = idf
        self.weights = weights

    @classmethod
    def fit(cls, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> "BM25":
        vocab: Dict[str, int] = {}
        rows: List[int] = []
        cols: List[int] = []
        for i, doc in enumerate(docs):
            for tok in doc:
                rows.append(i)
                cols.append(vocab.setdefault(tok, len(vocab)))
        n = len(docs)
        tf = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, max(len(vocab), 1)))
        tf.sum_duplicates()
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float32)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        dl = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = float(dl.mean()) if n else 1.0
        tf = tf.tocoo()
        denom = tf.data + k1 * (1 - b + b * dl[tf.row] / max(avgdl, 1e-9))
        data = idf[tf.col] * tf.data * (k1 + 1) / denom
        weights = sparse.csr_matrix((data.astype(np.float32), (tf.row, tf.col)), shape=tf.shape)
        return cls(vocab, idf, weights)

    def query_matrix(self, queries: Iterable[Sequence[str]]) -> "tuple[sparse.csr_matrix, Floats]":
        """Sparse (queries x vocabulary) matrix of token weights and each query's best possible score."""
        rows: List[int] = []
        cols: List[int] = []
        vals: List[float] = []
        best: List[float] = []
        for i, q in enumerate(queries):
            seen: Dict[int, float] = {}
            total = 0.0
            for tok in q:
                w = TOKEN_WEIGHTS.get(tok[:1], 1.0)
                j = self.vocab.get(tok)
                if j is not None and j in seen:
                    continue
                # unknown tokens still count in the best score: a query full of words the
                # corpus never saw must not look like a perfect match on its one known word.
                total += w * (float(self.idf[j]) if j is not None else float(self.idf.max(initial=1.0)))
                if j is not None:
                    seen[j] = w
            for j, w in seen.items():
                rows.append(i)
                cols.append(j)
                vals.append(w)
            best.append(total)
        shape = (len(best), self.weights.shape[1])
        m = sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=shape)
        return m, np.asarray(best, np.float32)

    def scores(self, queries: Sequence[Sequence[str]], normalised: bool = True,
               rows: Optional[Floats] = None) -> Floats:
        """(queries x docs) dense array of scores (normalised to about [0, 1] unless told not to)."""
        q, best = self.query_matrix(queries)
        w = self.weights if rows is None else self.weights[rows]
        s = np.asarray((q @ w.T).todense(), dtype=np.float32)
        if normalised:
            s /= np.maximum(best, 1e-6)[:, None]
        return s
