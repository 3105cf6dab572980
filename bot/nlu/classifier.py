"""`CanyuIntentClassifier`: a fast linear intent classifier with calibrated confidences and out-of-scope detection.

Features per message: the dense sentence embedding added by `CanyuSentenceFeaturizer` (scaled by
`embedding_weight`, or `embedding_weight_zh` for text with Chinese characters, which the English
sentence model represents poorly), concatenated with character and word TF-IDF n-grams (`bot.nlu.features`,
which make Chinese work with the English-only sentence model). A one-vs-rest linear SVM
(liblinear) is trained on them; its scores go through a softmax whose temperature is fitted on
held-out data, so confidences are calibrated, and every message gets the full intent ranking.

Out of scope. Trainers may write examples of an `out_of_scope` intent (an ordinary class), and a
threshold sends the message to `fallback_intent` (`nlu_fallback` by default) with the full ranking kept.
`threshold: auto` (the default) is chosen on tuning data: training examples marked
`metadata: {canyu_split: valid}` if any (never trained on; `bot eval intents` puts `valid.csv` there),
else out-of-fold predictions on the training data (5-fold cross-validation below 3,000 examples or when
there are out-of-scope examples, one stratified 10% hold-out otherwise).
- With out-of-scope examples in the tuning data a logistic gate (`_Gate`) is fitted there over the
  best in-scope confidence, the probability of the out-of-scope classes and the similarity to the
  nearest in-scope training example, and its score is thresholded: the gate alone decides, so a
  message unlike anything the trainers wrote is out of scope even when one intent wins the softmax,
  and a clear in-scope message stays in scope even when the out-of-scope class edges ahead. The
  threshold maximises (in-scope accuracy + out-of-scope recall) / 2 while losing at most
  `max_inscope_rejection` of the in-scope examples the top in-scope intent gets right.
- Without them the threshold is on the best in-scope confidence and loses at most `inscope_rejection`
  of those examples; an out-of-scope class that wins the softmax is predicted as such.
`threshold: 0.4` fixes a confidence threshold (no gate), `threshold: null` disables it.

Neighbour vote. With sentence embeddings, each intent also gets a vote: the mean cosine similarity of
the message to its `knn_k` (3) most similar training examples of that intent. The vote, times
`knn_weight`, is added to the SVM scores before the softmax. `knn_weight: auto` picks the weight from
0-4 with the best accuracy on the same tuning data as the threshold (0 turns it off). It helps where an
intent has several distinct phrasings that one linear boundary fits badly: on the tuning data of
banking77 +0.6 points, of smp2017-zh +0.3.

Regularisation. `C: auto` (the default) fits the SVM with each `C` in 0.25 / 0.5 / 1 / 2 on the same
tuning data and keeps the most accurate (ties to the smaller); the fits run in parallel threads. A number
fixes it.

config.yml:
    - name: bot.nlu.CanyuIntentClassifier
      C: auto                    # or a number > 0
      threshold: auto            # or a number in [0, 1], or null to never fall back
      fallback_intent: nlu_fallback
      knn_weight: auto           # or a number ≥ 0; 0 = SVM alone
      knn_k: 3
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Set, Text, Tuple

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu._fingerprint import code_fingerprint
from bot.nlu.features import has_cjk, make_vectorizers

__all__ = ["CanyuIntentClassifier", "is_validation_example", "VALIDATION_SPLIT"]

logger = logging.getLogger(__name__)

VALIDATION_SPLIT = "valid"
_MODEL_FILE = "classifier.joblib"
_SCALES = np.logspace(-0.5, 2.2, 55)
_KNN_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
_C_GRID = (0.25, 0.5, 1.0, 2.0)  # `C: auto` picks from these on the tuning data
_DEFAULT_C = 0.5  # `C: auto` with nothing to tune on
_CROSS_VALIDATE_BELOW = 3000  # examples; above (without out-of-scope examples), one 10% hold-out


def is_validation_example(message: Message) -> bool:
    """True for a training example marked `metadata: {canyu_split: valid}` (tuning only)."""
    metadata = message.get("metadata") or {}
    example = metadata.get("example") if isinstance(metadata, dict) else None
    return isinstance(example, dict) and example.get("canyu_split") == VALIDATION_SPLIT


def _chinese(texts: Sequence[str]) -> np.ndarray:
    """Which texts have Chinese characters (they get the zh centre and `embedding_weight_zh`)."""
    return np.fromiter((has_cjk(t) for t in texts), dtype=bool, count=len(texts))


def _svm_input(x: sp.csr_matrix) -> sp.csr_matrix:
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


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class _Neighbours:
    """The centred training embeddings, grouped by intent: a vote per intent and the nearest in-scope example.

    The vote for an intent is the mean cosine similarity of a message to its `k` most similar training
    examples of that intent. Added to the SVM scores (weighted), it corrects the linear model where an
    intent has several distinct phrasings; the nearest in-scope similarity feeds the out-of-scope gate."""

    def __init__(self, vectors: np.ndarray, labels: Sequence[str], classes: Sequence[str], inscope: np.ndarray, k: int) -> None:
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

    def __call__(self, queries: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
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


class _Gate:
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
    def fit(cls, signals: Dict[str, np.ndarray], is_oos: np.ndarray) -> "_Gate":
        """Logistic regression (in scope = 1), classes balanced."""
        from sklearn.linear_model import LogisticRegression

        names = sorted(signals)
        fitted = LogisticRegression(class_weight="balanced", max_iter=1000)
        fitted.fit(np.column_stack([signals[n] for n in names]), (~is_oos).astype(int))
        return cls(names, fitted.coef_[0], fitted.intercept_[0])

    def __call__(self, signals: Dict[str, np.ndarray]) -> np.ndarray:
        z = sum(w * np.asarray(signals[n], dtype=np.float64) for n, w in zip(self.names, self.weights)) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def describe(self) -> Dict[str, float]:
        return {**{n: round(float(w), 3) for n, w in zip(self.names, self.weights)}, "bias": round(self.bias, 3)}


def _as_gate(gate: Any) -> Optional[_Gate]:
    """The model's gate; a model trained before `_Gate` stored (w_confidence, w_nearest, bias)."""
    if isinstance(gate, tuple):
        return _Gate(("confidence", "nearest"), gate[:2], gate[2])
    return gate


class _Model:
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
        self.neighbours: Optional[_Neighbours] = None  # centred training embeddings, for the vote and the gate
        self.gate: Optional[_Gate] = None  # the out-of-scope decision, when tuned with out-of-scope examples
        self.centres: Dict[bool, np.ndarray] = {}  # training mean embedding per language (zh: True)

    def center(self, zh: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        """Embeddings minus the training mean of their language (`zh` rows / others), back to unit length.

        Sentence models are anisotropic: every multilingual-e5-small vector of a short Chinese text
        lies within cosine 0.9 of every other. Centring spreads them out, for the SVM and for the
        nearest-example similarity alike."""
        centres = getattr(self, "centres", None)
        if not centres:
            return embeddings
        out = embeddings - np.where(zh[:, None], centres[True], centres[False])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-6)).astype(np.float32)

    def matrix(
        self, texts: Sequence[str], zh: np.ndarray, centred: Optional[np.ndarray], fit: bool = False
    ) -> sp.csr_matrix:
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
        embeddings: Optional[np.ndarray],
        labels: Sequence[str],
        oos_labels: Set[str],
        c_grid: Sequence[float] = (),
    ) -> Dict[float, Any]:
        """Fits vectorizers, neighbours and one SVM per `C` in `c_grid` (default: `self.c`) on the same
        features, in parallel threads (liblinear releases the GIL) that only read them (`_svm_input`).
        Keeps the first; returns them all."""
        self.embedding_dim = 0 if embeddings is None else int(embeddings.shape[1])
        self.centres = {}
        zh = _chinese(texts)
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
        x = _svm_input(x)  # before the threads: the fits share it and must not change it
        fit_one = lambda c: self._new_svm(c).fit(x, list(labels))  # noqa: E731
        if len(grid) == 1:
            svms = {grid[0]: fit_one(grid[0])}
        else:
            with ThreadPoolExecutor(max_workers=min(len(grid), os.cpu_count() or 1)) as pool:
                svms = dict(zip(grid, pool.map(fit_one, grid)))
        self.use(grid[0], svms[grid[0]])
        if centred is not None:
            inscope = np.array([label not in oos_labels for label in labels], dtype=bool)
            self.neighbours = _Neighbours(centred, labels, self.classes, inscope, self.knn_k)
        return svms

    def _new_svm(self, c: float) -> Any:
        from sklearn.svm import LinearSVC

        return LinearSVC(C=c, random_state=self.random_state, max_iter=2000)

    def use(self, c: float, svm: Any) -> None:
        """Keep the SVM fitted with `C` = `c` (one of those `fit` returned)."""
        self.c, self.svm = float(c), svm
        self.classes = [str(label) for label in svm.classes_]

    def inputs(self, texts: Sequence[str], embeddings: Optional[np.ndarray]) -> Tuple[sp.csr_matrix, Optional[np.ndarray]]:
        """(the SVM's input matrix, the centred embeddings or None) for `texts`."""
        zh = _chinese(texts)
        centred = None if embeddings is None or not self.embedding_dim else self.center(zh, embeddings)
        return self.matrix(texts, zh, centred), centred

    def scores(self, x: sp.csr_matrix, svm: Any = None) -> np.ndarray:
        """SVM scores per class for the rows of `x`, by `svm` (default: the kept one)."""
        svm = self.svm if svm is None else svm
        if svm is None:
            return np.zeros((x.shape[0], len(self.classes)), dtype=np.float32)
        decision = svm.decision_function(x)
        if decision.ndim == 1:  # two classes: sklearn returns the score of the second one only
            decision = np.column_stack([-decision, decision])
        return decision.astype(np.float32)

    def neighbour_signals(self, centred: Optional[np.ndarray]) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """(per-intent neighbour vote, nearest in-scope similarity), or (None, None) without neighbours."""
        neighbours = getattr(self, "neighbours", None)
        if not isinstance(neighbours, _Neighbours) or centred is None:
            return None, None
        return neighbours(centred)

    def signals(
        self, texts: Sequence[str], embeddings: Optional[np.ndarray]
    ) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
        """(SVM scores, per-intent neighbour vote, nearest in-scope similarity); the last two are None
        without neighbours. The embeddings are centred once for both."""
        x, centred = self.inputs(texts, embeddings)
        votes, nearest = self.neighbour_signals(centred)
        return self.scores(x), votes, nearest

    def combine(self, scores: np.ndarray, votes: Optional[np.ndarray]) -> np.ndarray:
        """SVM scores plus the weighted neighbour vote."""
        weight = float(getattr(self, "knn_weight", 0.0))
        return scores if votes is None or weight == 0 else scores + weight * votes

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        return _softmax(scores * self.scale)

    def inscope_columns(self, oos_labels: Set[str]) -> np.ndarray:
        """Columns of `classes` (and of probabilities) that are in-scope intents."""
        return np.array([i for i, c in enumerate(self.classes) if c not in oos_labels], dtype=np.int64)

    def oos_signals(self, probs: np.ndarray, nearest: Optional[np.ndarray], oos_labels: Set[str]) -> Dict[str, np.ndarray]:
        """What the out-of-scope gate reads (see `_Gate`), for each row of `probs`."""
        inscope = self.inscope_columns(oos_labels)
        oos = np.setdiff1d(np.arange(len(self.classes)), inscope)
        signals = {"confidence": probs[:, inscope].max(axis=1) if len(inscope) else np.zeros(len(probs))}
        if len(oos):
            signals["out_of_scope"] = probs[:, oos].sum(axis=1)
        if nearest is not None:
            signals["nearest"] = nearest
        return signals


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CanyuIntentClassifier(GraphComponent, IntentClassifier):
    """Linear SVM over sentence embeddings + char/word n-grams, plus a nearest-neighbour vote; calibrated, with out-of-scope fallback."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Defaults; see the module docstring for the out-of-scope options."""
        return {
            "C": "auto",
            "embedding_weight": 2.0,
            "embedding_weight_zh": 1.0,
            "threshold": "auto",
            "fallback_intent": "nlu_fallback",
            "out_of_scope_intent": "out_of_scope",
            "inscope_rejection": 0.001,
            "max_inscope_rejection": None,
            "max_threshold": 0.9,
            "ranking_length": 0,
            "random_state": 42,
            "knn_k": 3,
            "knn_weight": "auto",
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[_Model] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """Rejects a threshold that is not `auto`, null or a number in [0, 1], a `knn_weight` that is not
        `auto` or a number ≥ 0, a `C` that is not `auto` or a number > 0, and a `knn_k` that is not a whole
        number ≥ 1."""
        def number(value: Any) -> bool:
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        threshold = config.get("threshold", "auto")
        if threshold not in (None, "auto") and not (number(threshold) and 0 <= threshold <= 1):
            raise InvalidConfigException(
                f"config.yml: CanyuIntentClassifier threshold must be 'auto', null or a number "
                f"between 0 and 1, got {threshold!r}"
            )
        weight = config.get("knn_weight", "auto")
        if weight != "auto" and not (number(weight) and weight >= 0):
            raise InvalidConfigException(
                f"config.yml: CanyuIntentClassifier knn_weight must be 'auto' or a number ≥ 0 (0 = no neighbour vote), got {weight!r}"
            )
        c = config.get("C", "auto")
        if c != "auto" and not (number(c) and c > 0):
            raise InvalidConfigException(
                f"config.yml: CanyuIntentClassifier C must be 'auto' or a number > 0 (the SVM's regularisation), got {c!r}"
            )
        k = config.get("knn_k", 3)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidConfigException(f"config.yml: CanyuIntentClassifier knn_k must be a whole number ≥ 1, got {k!r}")

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        """Our code version: a change invalidates Rasa's training cache."""
        return code_fingerprint()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CanyuIntentClassifier":
        """Creates an untrained classifier."""
        full = {**cls.get_default_config(), **config}
        cls.validate_config(full)
        return cls(full, model_storage, resource)

    @staticmethod
    def required_packages() -> List[Text]:
        """Python packages this component needs."""
        return ["sklearn", "jieba"]

    # ---- training ---------------------------------------------------------------------------

    @staticmethod
    def _texts_and_embeddings(messages: Sequence[Message]) -> Tuple[List[str], Optional[np.ndarray]]:
        texts = [m.get(TEXT) or "" for m in messages]
        rows = []
        for message in messages:
            _, sentence = message.get_dense_features(TEXT)
            rows.append(None if sentence is None else np.asarray(sentence.features, dtype=np.float32).reshape(-1))
        if not rows or any(r is None for r in rows):
            return texts, None
        return texts, np.vstack(rows)

    def _new_model(self, c: float = _DEFAULT_C) -> _Model:
        return _Model(
            float(self._config["embedding_weight"]),
            float(self._config["embedding_weight_zh"]),
            c,
            int(self._config["random_state"]),
            int(self._config["knn_k"]),
        )

    def _c_grid(self) -> List[float]:
        """The SVM `C` values to try: the configured one, or (auto) `_C_GRID`."""
        configured = self._config.get("C", "auto")
        return list(_C_GRID) if configured == "auto" else [float(configured)]

    def _oos_names(self) -> Set[str]:
        return {self._config["out_of_scope_intent"], "oos", self._config["fallback_intent"]}

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the classifier, then calibrates it and picks the out-of-scope threshold."""
        start = time.perf_counter()
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT) is not None]
        train = [e for e in examples if not is_validation_example(e)]
        valid = [e for e in examples if is_validation_example(e)]
        if not train:
            logger.warning("CanyuIntentClassifier: no intent examples to train on; it will predict nothing.")
            return self._resource
        texts, emb = self._texts_and_embeddings(train)
        labels = [str(e.get(INTENT)) for e in train]
        grid = self._c_grid()

        if valid:  # one model per C, scored on the validation examples
            model = self._new_model()
            svms = model.fit(texts, emb, labels, self._oos_names(), grid)
            v_texts, v_emb = self._texts_and_embeddings(valid)
            x, centred = model.inputs(v_texts, v_emb)
            scores_by_c = {c: model.scores(x, svms.get(c)) for c in grid}  # zeros without an SVM (one intent)
            votes, similarity = model.neighbour_signals(centred)
            tune_labels = [str(e.get(INTENT)) for e in valid]
            source = f"validation examples ({len(valid)})"
            c, c_report = self._choose_c(model.classes, scores_by_c, votes, tune_labels)
            if svms:
                model.use(c, svms[c])
        else:  # held-out scores per C first, then one model with the chosen C
            classes = sorted(set(labels))
            scores_by_c, votes, similarity, tune_labels, source = self._out_of_fold(texts, emb, labels, classes, grid)
            c, c_report = self._choose_c(classes, scores_by_c, votes, tune_labels)
            model = self._new_model(c)
            model.fit(texts, emb, labels, self._oos_names())
        model.report.update(c_report)
        self._calibrate(model, scores_by_c[c], votes, tune_labels, source, similarity)
        if model.knn_weight == 0 and model.gate is None:  # neither the vote nor the gate needs them
            model.neighbours = None
        model.report["train_seconds"] = round(time.perf_counter() - start, 2)
        model.report["train_examples"] = len(train)
        self._model = model
        self.persist()
        return self._resource

    def _out_of_fold(
        self, texts: List[str], emb: Optional[np.ndarray], labels: List[str], classes: List[str], grid: List[float]
    ) -> Tuple[Dict[float, np.ndarray], Optional[np.ndarray], Optional[np.ndarray], List[str], str]:
        """Held-out SVM scores (per `C` in `grid`), neighbour votes and nearest in-scope similarities for the
        training data, by cross-validation or one hold-out."""
        from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

        y = np.asarray(labels)
        _, counts = np.unique(y, return_counts=True)
        if len(classes) < 2 or counts.min() < 2:
            empty = {c: np.zeros((0, len(classes)), dtype=np.float32) for c in grid}
            return empty, None, None, [], "none (too few examples per intent)"
        seed = int(self._config["random_state"])
        # The out-of-scope gate is fitted on the held-out out-of-scope examples: they all need held-out scores.
        has_oos = not self._oos_names().isdisjoint(labels)
        if len(texts) < _CROSS_VALIDATE_BELOW or has_oos:
            folds = int(min(5, counts.min()))
            splitter: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
            source = f"{folds}-fold cross-validation on training data"
        else:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=0.1, random_state=seed)
            source = "10% stratified hold-out of training data"
        out_scores: Dict[float, List[np.ndarray]] = {c: [] for c in grid}
        out_votes: List[np.ndarray] = []
        out_similarity: List[np.ndarray] = []
        out_labels: List[str] = []
        index = {c: i for i, c in enumerate(classes)}
        for fit_idx, held_idx in splitter.split(np.zeros(len(y)), y):
            part = self._new_model()
            svms = part.fit([texts[i] for i in fit_idx], None if emb is None else emb[fit_idx], list(y[fit_idx]),
                            self._oos_names(), grid)
            x, centred = part.inputs([texts[i] for i in held_idx], None if emb is None else emb[held_idx])
            columns = [index[c] for c in part.classes]
            for c, svm in svms.items():
                full = np.full((len(held_idx), len(classes)), -10.0, dtype=np.float32)
                full[:, columns] = part.scores(x, svm)
                out_scores[c].append(full)
            votes, similarity = part.neighbour_signals(centred)
            if votes is not None and similarity is not None:
                full_votes = np.zeros((len(held_idx), len(classes)), dtype=np.float32)
                full_votes[:, columns] = votes
                out_votes.append(full_votes)
                out_similarity.append(similarity)
            out_labels.extend(y[held_idx])
        votes_all = np.vstack(out_votes) if out_votes else None
        similarity_all = np.concatenate(out_similarity) if out_similarity else None
        return {c: np.vstack(rows) for c, rows in out_scores.items()}, votes_all, similarity_all, out_labels, source

    @staticmethod
    def _known_rows(classes: List[str], labels: List[str]) -> Tuple[np.ndarray, np.ndarray]:
        """(rows of `labels` that are in `classes`, their class indices)."""
        index = {c: i for i, c in enumerate(classes)}
        rows = np.array([i for i, label in enumerate(labels) if label in index], dtype=np.int64)
        return rows, np.array([index[labels[i]] for i in rows], dtype=int)

    def _choose_knn_weight(
        self, scores: np.ndarray, votes: Optional[np.ndarray], rows: np.ndarray, target: np.ndarray
    ) -> Tuple[float, float]:
        """(`knn_weight` from config or, auto, the grid value with the best held-out accuracy, ties to the
        smaller; that accuracy)."""
        def accuracy(weight: float) -> float:
            combined = scores[rows] if votes is None or not weight else scores[rows] + weight * votes[rows]
            return float(np.mean(combined.argmax(axis=1) == target)) if len(rows) else 0.0

        configured = self._config.get("knn_weight", "auto")
        if configured != "auto":
            return float(configured), accuracy(float(configured))
        if votes is None or len(rows) == 0:
            return 0.0, accuracy(0.0)
        by_weight = {w: accuracy(w) for w in _KNN_WEIGHTS}
        best = max(_KNN_WEIGHTS, key=lambda w: (by_weight[w], -w))
        return best, by_weight[best]

    def _choose_c(
        self, classes: List[str], scores_by_c: Dict[float, np.ndarray], votes: Optional[np.ndarray], labels: List[str]
    ) -> Tuple[float, Dict[str, Any]]:
        """(the `C` whose held-out scores, with their best neighbour vote, are most accurate, ties to the
        smaller, i.e. more regularised; what to report). One candidate: that one; nothing to tune on:
        `_DEFAULT_C`."""
        grid = sorted(scores_by_c)
        rows, target = self._known_rows(classes, labels)
        if len(grid) == 1 or len(rows) == 0:
            chosen = grid[0] if len(grid) == 1 else _DEFAULT_C
            return chosen, {"C": chosen}
        accuracy = {c: self._choose_knn_weight(scores_by_c[c], votes, rows, target)[1] for c in grid}
        chosen = max(grid, key=lambda c: (accuracy[c], -c))
        return chosen, {"C": chosen, "C_tuning_accuracy": {str(c): round(a, 4) for c, a in accuracy.items()}}

    def _calibrate(
        self,
        model: _Model,
        scores: np.ndarray,
        votes: Optional[np.ndarray],
        labels: List[str],
        source: str,
        similarity: Optional[np.ndarray],
    ) -> None:
        """Chooses the neighbour-vote weight, fits the softmax temperature, then the out-of-scope gate and
        threshold, all on held-out scores."""
        oos_labels = self._oos_names()
        model.report.update({"tuned_on": source, "classes": len(model.classes)})
        rows, target = self._known_rows(model.classes, labels)
        known = np.zeros(len(labels), dtype=bool)
        known[rows] = True
        is_oos = np.array([label in oos_labels for label in labels], dtype=bool)
        model.knn_weight = self._choose_knn_weight(scores, votes, rows, target)[0]
        model.report["knn_weight"] = model.knn_weight
        if scores.shape[0] == 0:
            model.threshold = self._fixed_threshold(default=None)
            return
        scores = model.combine(scores, votes)
        if known.any():
            best = (np.inf, model.scale)
            for scale in _SCALES:
                probs = _softmax(scores[rows] * scale)
                nll = -np.mean(np.log(probs[np.arange(len(rows)), target] + 1e-12))
                best = min(best, (nll, scale))
            model.scale = float(best[1])
            model.report["calibration_nll"] = round(float(best[0]), 4)
        probs = _softmax(scores * model.scale)
        inscope = ~is_oos
        signals = model.oos_signals(probs, similarity, oos_labels)
        confidence = signals["confidence"]
        inscope_cols = model.inscope_columns(oos_labels)
        # what the top in-scope intent alone gets right: the reference for the in-scope cost of OOS handling
        understood = np.zeros(len(labels), dtype=bool)
        if len(inscope_cols):
            best_inscope = inscope_cols[probs[:, inscope_cols].argmax(axis=1)]
            understood = inscope & known & np.array([model.classes[p] == labels[i] for i, p in enumerate(best_inscope)])
        # without a gate an out-of-scope class that wins the softmax decides by itself
        class_says_oos = np.array([model.classes[p] in oos_labels for p in probs.argmax(axis=1)], dtype=bool)
        fixed = self._fixed_threshold(default="auto")
        if fixed != "auto":
            model.threshold = fixed
        elif is_oos.any() and inscope.any():
            model.gate = _Gate.fit(signals, is_oos)
            model.report["gate"] = model.gate.describe()
            confidence = model.gate(signals)
            class_says_oos = np.zeros(len(labels), dtype=bool)
            best_t, best_value = 0.0, -1.0
            max_lost = self._config.get("max_inscope_rejection")
            for t in np.unique(np.round(confidence, 4)):
                if t > float(self._config["max_threshold"]):
                    break
                said_oos = confidence < t
                if max_lost is not None and understood.any() and np.mean(said_oos[understood]) > float(max_lost):
                    break
                value = (np.mean((understood & ~said_oos)[inscope]) + np.mean(said_oos[is_oos])) / 2
                if value > best_value + 1e-9:
                    best_t, best_value = float(t), float(value)
            model.threshold = best_t
            model.report["tuning_objective"] = round(best_value, 4)
        elif (understood & ~class_says_oos).any():
            rejection = float(self._config["inscope_rejection"])
            kept = confidence[understood & ~class_says_oos]
            model.threshold = float(min(np.quantile(kept, rejection), self._config["max_threshold"]))
        else:
            model.threshold = None
        if model.threshold is not None:
            said_oos = class_says_oos | (confidence < model.threshold)
            if inscope.any():
                model.report["tuning_inscope_accuracy"] = round(float(np.mean((understood & ~said_oos)[inscope])), 4)
            if is_oos.any():
                model.report["tuning_oos_recall"] = round(float(np.mean(said_oos[is_oos])), 4)
        model.report["threshold"] = model.threshold
        model.report["scale"] = round(model.scale, 3)
        logger.info("CanyuIntentClassifier: %s", model.report)

    def _fixed_threshold(self, default: Any) -> Any:
        threshold = self._config.get("threshold", "auto")
        if threshold == "auto":
            return default
        return None if threshold is None else float(threshold)

    # ---- prediction -------------------------------------------------------------------------

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets `intent` (possibly the fallback intent) and the full `intent_ranking` on each message."""
        model = self._model
        if model is None or not model.classes or not messages:
            return messages
        texts, emb = self._texts_and_embeddings(messages)
        if model.embedding_dim and (emb is None or emb.shape[1] != model.embedding_dim):
            raise InvalidConfigException(
                "config.yml: CanyuIntentClassifier was trained with sentence embeddings of size "
                f"{model.embedding_dim} but the message has {None if emb is None else emb.shape[1]}; "
                "keep CanyuSentenceFeaturizer (same model) before it in the pipeline and retrain"
            )
        scores, votes, similarity = model.signals(texts, emb)
        if model.svm is None:
            probs = np.ones((len(messages), 1), dtype=np.float32)
        else:
            probs = model.probabilities(model.combine(scores, votes))
        oos_labels = self._oos_names()
        length = int(self._config["ranking_length"] or 0)
        gate = _as_gate(getattr(model, "gate", None))
        signals = model.oos_signals(probs, similarity, oos_labels)
        in_scope_score = signals["confidence"] if gate is None else gate(signals)
        fallback = {"name": self._config["fallback_intent"], "confidence": float(model.threshold or 1.0)}
        for row_index, (message, row) in enumerate(zip(messages, probs)):
            ranking = [{"name": model.classes[i], "confidence": float(row[i])} for i in np.argsort(-row)]
            accepted = model.threshold is None or in_scope_score[row_index] >= model.threshold
            top = ranking[0]
            if not (message.get(TEXT) or "").strip():  # nothing to understand: never guess an intent
                top = dict(fallback)
            elif gate is not None and accepted:  # the gate decides, even against an out-of-scope class
                top = next((r for r in ranking if r["name"] not in oos_labels), top)
            elif not accepted and top["name"] not in oos_labels:
                top = dict(fallback)
            ranking = [top] + [r for r in ranking if r is not top]
            if length > 0:
                ranking = ranking[:length]
            message.set(INTENT, dict(top), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to training data."""
        return training_data

    # ---- persistence ------------------------------------------------------------------------

    def persist(self) -> None:
        """Writes the fitted model into the Rasa model storage."""
        import joblib

        if self._model is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self._model, directory / _MODEL_FILE)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "CanyuIntentClassifier":
        """Loads the fitted model; an untrained classifier if there is none (it then predicts nothing)."""
        import joblib

        full = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                model = joblib.load(directory / _MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("CanyuIntentClassifier: no trained model in '%s'; it will predict nothing.", resource.name)
            model = None
        return cls(full, model_storage, resource, model)

    @property
    def report(self) -> Dict[str, Any]:
        """What training chose (threshold, temperature, tuning figures)."""
        return dict(self._model.report) if self._model else {}
