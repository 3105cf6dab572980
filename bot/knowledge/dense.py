"""Dense vector search: exact (one matrix product) for small indexes, approximate above a size.

Vectors are L2-normalised float32, so the inner product is the cosine similarity. Above
`ann_threshold` vectors the index uses faiss: an inverted file (IVF, the default: quick to
build, ~1 ms per query at a million vectors) or HNSW (slower to build, lower latency).
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from bot.knowledge._arrays import Floats, Ints

__all__ = ["DenseIndex", "ANN_THRESHOLD"]

ANN_THRESHOLD = 50_000


class DenseIndex:
    """Search L2-normalised vectors by cosine; `kind` is "exact", "ivf" or "hnsw"."""

    def __init__(self, vectors: Floats, ann_threshold: int = ANN_THRESHOLD, ann_kind: str = "ivf",
                 force_kind: Optional[str] = None, nprobe: Optional[int] = None, ef_search: int = 64) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, self.dim = self.vectors.shape if self.vectors.ndim == 2 else (0, 0)
        self.kind = force_kind or ("exact" if n < ann_threshold else ann_kind)
        self._faiss = None
        if self.kind == "ivf":
            self._faiss = self._build_ivf(nprobe)
        elif self.kind == "hnsw":
            self._faiss = self._build_hnsw(ef_search)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def _build_ivf(self, nprobe: Optional[int]):  # type: ignore[no-untyped-def]
        import faiss

        n = len(self)
        nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        rng = np.random.default_rng(0)
        sample = self.vectors[np.sort(rng.choice(n, size=min(n, nlist * 40), replace=False))]
        index.train(sample)
        index.add(self.vectors)
        index.nprobe = nprobe or max(16, nlist // 128)
        return index

    def _build_hnsw(self, ef_search: int):  # type: ignore[no-untyped-def]
        import faiss

        index = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(self.vectors)
        index.hnsw.efSearch = ef_search
        return index

    def set_search_width(self, width: int) -> None:
        """nprobe for IVF, efSearch for HNSW (no effect on exact search)."""
        if self.kind == "ivf":
            self._faiss.nprobe = width  # type: ignore[union-attr]
        elif self.kind == "hnsw":
            self._faiss.hnsw.efSearch = width  # type: ignore[union-attr]

    def search(self, queries: Floats, k: int) -> Tuple[Floats, Ints]:
        """Top-k (scores, ids) per query, best first; ids are -1 where fewer than k exist."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self)))
        if self._faiss is not None:
            scores, ids = self._faiss.search(queries, k)
            return scores, ids
        sims = queries @ self.vectors.T
        if k < sims.shape[1]:
            part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(sims.shape[1]), (sims.shape[0], 1))
        top = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1), np.take_along_axis(part, order, axis=1)

    def all_scores(self, queries: Floats, k: int = 100) -> Floats:
        """(queries x n) cosines: exact for exact search; from the top-k with a floor elsewhere."""
        queries = np.atleast_2d(queries).astype(np.float32)
        if self._faiss is None:
            return queries @ self.vectors.T
        scores, ids = self.search(queries, k)
        out = np.empty((queries.shape[0], len(self)), np.float32)
        for i in range(queries.shape[0]):
            valid = ids[i] >= 0
            out[i].fill(float(scores[i][valid].min()) if valid.any() else 0.0)
            out[i, ids[i][valid]] = scores[i][valid]
        return out
