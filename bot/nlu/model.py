"""The intent model on plain arrays: texts and sentence embeddings in, SVM scores, neighbour votes and
probabilities out. No Rasa here: `bot.nlu.classifier` adapts it to Rasa's graph, `bot.nlu.tuning` fits
and calibrates it.

Owns the fitted parts that are pickled into a trained Rasa model (`Model` and the `Neighbours` and
`Gate` it holds). Their attribute names are the persisted format: renaming one makes every trained model
unloadable, so `Model` reads newer attributes with `getattr` defaults and `as_gate` reads the older gate.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import AbstractSet, Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from bot.nlu.features import has_cjk, make_vectorizers

__all__ = ["Gate", "Model", "Neighbours", "as_gate", "chinese_rows", "softmax", "svm_input"]

Floats = npt.NDArray[np.floating[Any]]
Mask = npt.NDArray[np.bool_]


def chinese_rows(texts: Sequence[str]) -> Mask:
    """Which texts have Chinese characters (they get the zh centre and `embedding_weight_zh`)."""
    return np.fromiter((has_cjk(t) for t in texts), dtype=bool, count=len(texts))


def svm_input(x: sp.csr_matrix) -> sp.csr_matrix:
    """`x` as LinearSVC trains on it (float64, sorted indices, no duplicates), so that fits only read it.

    Given any other matrix, sklearn's input check converts it with scipy's `astype`, which first sums
    duplicates *in place* on the input: it sorts each row's indices and data, merges duplicate entries and
    shortens both arrays to match. The TF-IDF blocks are float32 with unsorted rows (as sklearn's vectorizers
    return them), and parallel fits sharing one such matrix did that at the same time: entries were lost or
    merged, or a fit crashed ("indices and data should have the same size"). Converted once here, before any
    thread, sklearn neither copies nor changes it."""
    x = x.astype(np.float64)  # sorts `x` itself first, while nothing else holds it
    x.sum_duplicates()  # nothing left to do; caches the canonical-format flags, so fits only read them
    return x


def softmax(scores: Floats) -> Floats:
    """Row-wise softmax."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp: Floats = np.exp(shifted)
    out: Floats = exp / exp.sum(axis=1, keepdims=True)
    return out


class Neighbours:
    """The centred training embeddings, grouped by intent: a vote per intent and the nearest in-scope example.

    The vote for an intent is the mean cosine similarity of a message to its `k` most similar training
    examples of that intent. Added to the SVM scores (weighted), it corrects the linear model where an
    intent has several distinct phrasings; the nearest in-scope similarity feeds the out-of-scope gate."""

    def __init__(self, vectors: Floats, labels: Sequence[str], classes: Sequence[str], inscope: Mask, k: int) -> None:
        index = {c: i for i, c in enumerate(classes)}
        class_of = np.array([index[label] for label in labels], dtype=np.int64)
        order = np.argsort(class_of, kind="stable")
        vectors = np.asarray(vectors, dtype=np.float32)[order]
        # Columns that are zero for every example (the zh block of an English-only bot) cost time, add nothing.
        self.columns = np.flatnonzero(np.any(vectors != 0, axis=0))
        self.vectors = np.ascontiguousarray(vectors[:, self.columns])
        self.inscope = np.asarray(inscope, dtype=bool)[order]
        self.counts = np.bincount(class_of, minlength=len(classes))
        self.k = max(1, int(k))
        # slots[c, j]: row of the j-th example of intent c, or len(vectors) (a -inf column) past its end
        starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        width = max(1, int(self.counts.max(initial=0)))
        offsets = np.arange(width)
        self.slots = np.where(offsets < self.counts[:, None], starts[:, None] + offsets, len(vectors))

    def __call__(self, queries: Floats) -> Tuple[Floats, Floats]:
        """(per-intent vote [n, classes], nearest in-scope similarity [n]) for unit-length query rows."""
        n_classes, width = self.slots.shape
        votes = np.zeros((len(queries), n_classes), dtype=np.float32)
        nearest = np.zeros(len(queries), dtype=np.float32)
        if len(self.vectors) == 0 or len(queries) == 0:
            return votes, nearest
        queries = np.ascontiguousarray(queries[:, self.columns], dtype=np.float32)
        k = min(self.k, width)
        taken = np.maximum(np.minimum(self.counts, k), 1)
        step = max(1, (1 << 22) // self.slots.size)  # bounded memory for large evaluation batches
        for start in range(0, len(queries), step):
            sims = queries[start : start + step] @ self.vectors.T
            rows = slice(start, start + len(sims))
            if self.inscope.any():
                nearest[rows] = sims[:, self.inscope].max(axis=1)
            padded = np.concatenate([sims, np.full((len(sims), 1), -np.inf, dtype=np.float32)], axis=1)
            top = np.partition(padded[:, self.slots], width - k, axis=2)[:, :, width - k :]
            votes[rows] = np.where(np.isfinite(top), top, 0).sum(axis=2) / taken
        return votes, nearest


class Gate:
    """The out-of-scope decision: a logistic "in scope" score over a message's signals, fitted on held-out data.

    Signals, those the model has: `confidence`, the probability of the best in-scope intent;
    `out_of_scope`, the probability of the out-of-scope classes (when trainers wrote examples of them);
    `nearest`, the cosine similarity to the nearest in-scope training example. One fitted score, thresholded,
    decides; an out-of-scope class winning the softmax is one signal among three, not a rule of its own."""

    def __init__(self, names: Sequence[str], weights: Sequence[float], bias: float) -> None:
        self.names = tuple(names)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = float(bias)

    @classmethod
    def fit(cls, signals: Dict[str, Floats], is_oos: Mask) -> "Gate":
        """Logistic regression (in scope = 1), classes balanced."""
        from sklearn.linear_model import LogisticRegression

        names = sorted(signals)
        fitted = LogisticRegression(class_weight="balanced", max_iter=1000)
        fitted.fit(np.column_stack([signals[n] for n in names]), (~is_oos).astype(int))
        return cls(names, fitted.coef_[0], fitted.intercept_[0])

    def __call__(self, signals: Dict[str, Floats]) -> Floats:
        """The in-scope score in [0, 1] of each row of `signals`."""
        weighted = zip(self.names, self.weights, strict=True)
        z = sum(w * np.asarray(signals[n], dtype=np.float64) for n, w in weighted) + self.bias
        score: Floats = 1.0 / (1.0 + np.exp(-z))
        return score

    def describe(self) -> Dict[str, float]:
        """The weights by signal name, and the bias, rounded for the training report."""
        weights = {n: round(float(w), 3) for n, w in zip(self.names, self.weights, strict=True)}
        return {**weights, "bias": round(self.bias, 3)}


def as_gate(gate: object) -> Optional[Gate]:
    """The model's gate; a model trained before `Gate` stored (w_confidence, w_nearest, bias)."""
    if isinstance(gate, tuple):
        return Gate(("confidence", "nearest"), gate[:2], gate[2])
    return gate if isinstance(gate, Gate) else None


class Model:
    """The fitted parts: vectorizers, linear SVM, neighbours, temperature and threshold."""

    def __init__(
        self, embedding_weight: float, embedding_weight_zh: float, c: float, random_state: int, knn_k: int = 3
    ) -> None:
        self.embedding_weight = embedding_weight
        self.embedding_weight_zh = embedding_weight_zh
        self.c = c
        self.random_state = random_state
        self.knn_k = knn_k
        self.knn_weight = 0.0  # weight of the neighbour vote beside the SVM scores, chosen on tuning data
        self.vectorizers = make_vectorizers()
        self.svm: Any = None
        self.classes: List[str] = []
        self.embedding_dim = 0
        self.scale = 10.0
        self.threshold: Optional[float] = None
        self.report: Dict[str, Any] = {}
        self.neighbours: Optional[Neighbours] = None  # centred training embeddings, for the vote and the gate
        self.gate: Optional[Gate] = None  # the out-of-scope decision, when tuned with out-of-scope examples
        self.centres: Dict[bool, Floats] = {}  # training mean embedding per language (zh: True)

    def center(self, zh: Mask, embeddings: Floats) -> Floats:
        """Embeddings minus the training mean of their language (`zh` rows / others), back to unit length.

        Sentence models are anisotropic: every multilingual-e5-small vector of a short Chinese text
        lies within cosine 0.9 of every other. Centring spreads them out, for the SVM and for the
        nearest-example similarity alike."""
        centres = getattr(self, "centres", None)
        if not centres:
            return embeddings
        out = embeddings - np.where(zh[:, None], centres[True], centres[False])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: Floats = (out / np.maximum(norms, 1e-6)).astype(np.float32)
        return unit

    def matrix(self, texts: Sequence[str], zh: Mask, centred: Optional[Floats], fit: bool = False) -> sp.csr_matrix:
        """The SVM's input: weighted centred embeddings beside the n-gram TF-IDF blocks."""
        blocks = []
        if centred is not None:
            weights = np.where(zh, self.embedding_weight_zh, self.embedding_weight).astype(np.float32)
            blocks.append(sp.csr_matrix(centred * weights[:, None]))
        for vectorizer in self.vectorizers:
            blocks.append(vectorizer.fit_transform(texts) if fit else vectorizer.transform(texts))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def fit(
        self,
        texts: Sequence[str],
        embeddings: Optional[Floats],
        labels: Sequence[str],
        oos_labels: AbstractSet[str],
        c_grid: Sequence[float] = (),
    ) -> Dict[float, Any]:
        """Fits vectorizers, neighbours and one SVM per `C` in `c_grid` (default: `self.c`) on the same
        features, in parallel threads (liblinear releases the GIL) that only read them (`svm_input`).
        Keeps the first; returns them all."""
        self.embedding_dim = 0 if embeddings is None else int(embeddings.shape[1])
        self.centres = {}
        zh = chinese_rows(texts)
        if embeddings is not None and len(texts):
            for language in (False, True):
                rows = embeddings[zh == language]
                self.centres[language] = rows.mean(axis=0) if len(rows) else np.zeros(embeddings.shape[1], np.float32)
        centred = None if embeddings is None else self.center(zh, embeddings)
        x = self.matrix(texts, zh, centred, fit=True)
        self.classes = sorted(set(labels))
        if len(self.classes) < 2:
            self.svm = None
            return {}
        grid = [float(c) for c in c_grid] or [self.c]
        x = svm_input(x)  # before the threads: the fits share it and must not change it

        def fit_one(c: float) -> Any:
            return self._new_svm(c).fit(x, list(labels))

        if len(grid) == 1:
            svms = {grid[0]: fit_one(grid[0])}
        else:
            with ThreadPoolExecutor(max_workers=min(len(grid), os.cpu_count() or 1)) as pool:
                svms = dict(zip(grid, pool.map(fit_one, grid), strict=True))
        self.use(grid[0], svms[grid[0]])
        if centred is not None:
            inscope = np.array([label not in oos_labels for label in labels], dtype=bool)
            self.neighbours = Neighbours(centred, labels, self.classes, inscope, self.knn_k)
        return svms

    def _new_svm(self, c: float) -> Any:
        from sklearn.svm import LinearSVC

        return LinearSVC(C=c, random_state=self.random_state, max_iter=2000)

    def use(self, c: float, svm: Any) -> None:
        """Keep the SVM fitted with `C` = `c` (one of those `fit` returned)."""
        self.c, self.svm = float(c), svm
        self.classes = [str(label) for label in svm.classes_]

    def inputs(self, texts: Sequence[str], embeddings: Optional[Floats]) -> Tuple[sp.csr_matrix, Optional[Floats]]:
        """(the SVM's input matrix, the centred embeddings or None) for `texts`."""
        zh = chinese_rows(texts)
        centred = None if embeddings is None or not self.embedding_dim else self.center(zh, embeddings)
        return self.matrix(texts, zh, centred), centred

    def scores(self, x: sp.csr_matrix, svm: Any = None) -> Floats:
        """SVM scores per class for the rows of `x`, by `svm` (default: the kept one)."""
        svm = self.svm if svm is None else svm
        if svm is None:
            return np.zeros((x.shape[0], len(self.classes)), dtype=np.float32)
        decision = svm.decision_function(x)
        if decision.ndim == 1:  # two classes: sklearn returns the score of the second one only
            decision = np.column_stack([-decision, decision])
        scores: Floats = decision.astype(np.float32)
        return scores

    def neighbour_signals(self, centred: Optional[Floats]) -> Tuple[Optional[Floats], Optional[Floats]]:
        """(per-intent neighbour vote, nearest in-scope similarity), or (None, None) without neighbours."""
        neighbours = getattr(self, "neighbours", None)
        if not isinstance(neighbours, Neighbours) or centred is None:
            return None, None
        return neighbours(centred)

    def signals(
        self, texts: Sequence[str], embeddings: Optional[Floats]
    ) -> Tuple[Floats, Optional[Floats], Optional[Floats]]:
        """(SVM scores, per-intent neighbour vote, nearest in-scope similarity); the last two are None
        without neighbours. The embeddings are centred once for both."""
        x, centred = self.inputs(texts, embeddings)
        votes, nearest = self.neighbour_signals(centred)
        return self.scores(x), votes, nearest

    def combine(self, scores: Floats, votes: Optional[Floats]) -> Floats:
        """SVM scores plus the weighted neighbour vote."""
        weight = float(getattr(self, "knn_weight", 0.0))
        return scores if votes is None or weight == 0 else scores + weight * votes

    def probabilities(self, scores: Floats) -> Floats:
        """Calibrated probabilities: the softmax of the scores at the fitted temperature."""
        return softmax(scores * self.scale)

    def inscope_columns(self, oos_labels: AbstractSet[str]) -> npt.NDArray[np.int64]:
        """Columns of `classes` (and of probabilities) that are in-scope intents."""
        return np.array([i for i, c in enumerate(self.classes) if c not in oos_labels], dtype=np.int64)

    def oos_signals(self, probs: Floats, nearest: Optional[Floats], oos_labels: AbstractSet[str]) -> Dict[str, Floats]:
        """What the out-of-scope gate reads (see `Gate`), for each row of `probs`."""
        inscope = self.inscope_columns(oos_labels)
        oos = np.setdiff1d(np.arange(len(self.classes)), inscope)
        signals = {"confidence": probs[:, inscope].max(axis=1) if len(inscope) else np.zeros(len(probs))}
        if len(oos):
            signals["out_of_scope"] = probs[:, oos].sum(axis=1)
        if nearest is not None:
            signals["nearest"] = nearest
        return signals
