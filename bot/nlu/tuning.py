"""Training and tuning of the intent model (`bot.nlu.model.Model`) on plain arrays: what `C: auto`,
`knn_weight: auto` and `threshold: auto` choose, and the softmax temperature.

Everything is chosen on tuning data: the validation examples when there are any (never trained on), else
out-of-fold predictions on the training data (5-fold cross-validation below 3,000 examples or when there
are out-of-scope examples, one stratified 10% hold-out otherwise). The options are documented in
`bot.nlu.classifier`, which hands its configuration to `Tuner`; no Rasa here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from bot.nlu.model import Floats, Gate, Mask, Model, softmax

__all__ = ["C_GRID", "DEFAULT_C", "KNN_WEIGHTS", "Tuner"]

logger = logging.getLogger(__name__)

SCALES = tuple(float(s) for s in np.logspace(-0.5, 2.2, 55))  # softmax temperatures tried by the calibration
KNN_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)  # `knn_weight: auto` picks from these
C_GRID = (0.25, 0.5, 1.0, 2.0)  # `C: auto` picks from these on the tuning data
DEFAULT_C = 0.5  # `C: auto` with nothing to tune on
CROSS_VALIDATE_BELOW = 3000  # examples; above (without out-of-scope examples), one 10% hold-out

Indices = npt.NDArray[np.int64]
HeldOut = Tuple[Dict[float, Floats], Optional[Floats], Optional[Floats], List[str], str]


@dataclass(frozen=True)
class Tuner:
    """Fits and tunes a `Model` as the classifier's configuration (`config`, defaults filled in) asks."""

    config: Mapping[str, Any]
    oos_labels: FrozenSet[str]

    def new_model(self, c: float = DEFAULT_C) -> Model:
        """An unfitted model with the configured weights, seed and `knn_k`."""
        return Model(
            float(self.config["embedding_weight"]),
            float(self.config["embedding_weight_zh"]),
            c,
            int(self.config["random_state"]),
            int(self.config["knn_k"]),
        )

    def c_grid(self) -> List[float]:
        """The SVM `C` values to try: the configured one, or (auto) `C_GRID`."""
        configured = self.config.get("C", "auto")
        return list(C_GRID) if configured == "auto" else [float(configured)]

    def train(
        self,
        texts: List[str],
        emb: Optional[Floats],
        labels: List[str],
        valid: Optional[Tuple[List[str], Optional[Floats], List[str]]],
    ) -> Model:
        """Fits the model on (texts, emb, labels), tuned on `valid` (texts, embeddings, labels) if given,
        else on held-out folds of the training data; then calibrates it and picks the threshold."""
        grid = self.c_grid()
        if valid is not None:  # one model per C, scored on the validation examples
            v_texts, v_emb, tune_labels = valid
            model = self.new_model()
            svms = model.fit(texts, emb, labels, self.oos_labels, grid)
            x, centred = model.inputs(v_texts, v_emb)
            scores_by_c = {c: model.scores(x, svms.get(c)) for c in grid}  # zeros without an SVM (one intent)
            votes, similarity = model.neighbour_signals(centred)
            source = f"validation examples ({len(v_texts)})"
            c, c_report = self.choose_c(model.classes, scores_by_c, votes, tune_labels)
            if svms:
                model.use(c, svms[c])
        else:  # held-out scores per C first, then one model with the chosen C
            classes = sorted(set(labels))
            scores_by_c, votes, similarity, tune_labels, source = self.out_of_fold(texts, emb, labels, classes, grid)
            c, c_report = self.choose_c(classes, scores_by_c, votes, tune_labels)
            model = self.new_model(c)
            model.fit(texts, emb, labels, self.oos_labels)
        model.report.update(c_report)
        self.calibrate(model, scores_by_c[c], votes, tune_labels, source, similarity)
        if model.knn_weight == 0 and model.gate is None:  # neither the vote nor the gate needs them
            model.neighbours = None
        return model

    def out_of_fold(
        self, texts: List[str], emb: Optional[Floats], labels: List[str], classes: List[str], grid: List[float]
    ) -> HeldOut:
        """Held-out SVM scores (per `C` in `grid`), neighbour votes and nearest in-scope similarities for the
        training data, by cross-validation or one hold-out; with their labels and a description."""
        from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

        y = np.asarray(labels)
        _, counts = np.unique(y, return_counts=True)
        if len(classes) < 2 or counts.min() < 2:
            empty: Dict[float, Floats] = {c: np.zeros((0, len(classes)), dtype=np.float32) for c in grid}
            return empty, None, None, [], "none (too few examples per intent)"
        seed = int(self.config["random_state"])
        # The out-of-scope gate is fitted on the held-out out-of-scope examples: they all need held-out scores.
        has_oos = not self.oos_labels.isdisjoint(labels)
        if len(texts) < CROSS_VALIDATE_BELOW or has_oos:
            folds = int(min(5, counts.min()))
            splitter: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
            source = f"{folds}-fold cross-validation on training data"
        else:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=0.1, random_state=seed)
            source = "10% stratified hold-out of training data"
        out_scores: Dict[float, List[Floats]] = {c: [] for c in grid}
        out_votes: List[Floats] = []
        out_similarity: List[Floats] = []
        out_labels: List[str] = []
        index = {c: i for i, c in enumerate(classes)}
        for fit_idx, held_idx in splitter.split(np.zeros(len(y)), y):
            part = self.new_model()
            svms = part.fit([texts[i] for i in fit_idx], None if emb is None else emb[fit_idx], list(y[fit_idx]),
                            self.oos_labels, grid)
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
    def known_rows(classes: Sequence[str], labels: Sequence[str]) -> Tuple[Indices, Indices]:
        """(rows of `labels` that are in `classes`, their class indices)."""
        index = {c: i for i, c in enumerate(classes)}
        rows = np.array([i for i, label in enumerate(labels) if label in index], dtype=np.int64)
        return rows, np.array([index[labels[i]] for i in rows], dtype=np.int64)

    def choose_knn_weight(
        self, scores: Floats, votes: Optional[Floats], rows: Indices, target: Indices
    ) -> Tuple[float, float]:
        """(`knn_weight` from config or, auto, the grid value with the best held-out accuracy, ties to the
        smaller; that accuracy)."""

        def accuracy(weight: float) -> float:
            combined = scores[rows] if votes is None or not weight else scores[rows] + weight * votes[rows]
            return float(np.mean(combined.argmax(axis=1) == target)) if len(rows) else 0.0

        configured = self.config.get("knn_weight", "auto")
        if configured != "auto":
            return float(configured), accuracy(float(configured))
        if votes is None or len(rows) == 0:
            return 0.0, accuracy(0.0)
        by_weight = {w: accuracy(w) for w in KNN_WEIGHTS}
        best = max(KNN_WEIGHTS, key=lambda w: (by_weight[w], -w))
        return best, by_weight[best]

    def choose_c(
        self, classes: List[str], scores_by_c: Dict[float, Floats], votes: Optional[Floats], labels: List[str]
    ) -> Tuple[float, Dict[str, Any]]:
        """(the `C` whose held-out scores, with their best neighbour vote, are most accurate, ties to the
        smaller, i.e. more regularised; what to report). One candidate: that one; nothing to tune on:
        `DEFAULT_C`."""
        grid = sorted(scores_by_c)
        rows, target = self.known_rows(classes, labels)
        if len(grid) == 1 or len(rows) == 0:
            chosen = grid[0] if len(grid) == 1 else DEFAULT_C
            return chosen, {"C": chosen}
        accuracy = {c: self.choose_knn_weight(scores_by_c[c], votes, rows, target)[1] for c in grid}
        chosen = max(grid, key=lambda c: (accuracy[c], -c))
        return chosen, {"C": chosen, "C_tuning_accuracy": {str(c): round(a, 4) for c, a in accuracy.items()}}

    def calibrate(
        self,
        model: Model,
        scores: Floats,
        votes: Optional[Floats],
        labels: List[str],
        source: str,
        similarity: Optional[Floats],
    ) -> None:
        """Chooses the neighbour-vote weight, fits the softmax temperature, then the out-of-scope gate and
        threshold, all on held-out scores."""
        oos_labels = self.oos_labels
        model.report.update({"tuned_on": source, "classes": len(model.classes)})
        rows, target = self.known_rows(model.classes, labels)
        known = np.zeros(len(labels), dtype=bool)
        known[rows] = True
        is_oos = np.array([label in oos_labels for label in labels], dtype=bool)
        model.knn_weight = self.choose_knn_weight(scores, votes, rows, target)[0]
        model.report["knn_weight"] = model.knn_weight
        if scores.shape[0] == 0:
            model.threshold = self.fixed_threshold(default=None)
            return
        scores = model.combine(scores, votes)
        if known.any():
            model.scale, nll = self._temperature(scores[rows], target, model.scale)
            model.report["calibration_nll"] = round(nll, 4)
        probs = softmax(scores * model.scale)
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
        fixed = self.fixed_threshold(default="auto")
        if fixed != "auto":
            model.threshold = fixed
        elif is_oos.any() and inscope.any():
            model.gate = Gate.fit(signals, is_oos)
            model.report["gate"] = model.gate.describe()
            confidence = model.gate(signals)
            class_says_oos = np.zeros(len(labels), dtype=bool)
            model.threshold, best_value = self._gate_threshold(confidence, understood, inscope, is_oos)
            model.report["tuning_objective"] = round(best_value, 4)
        elif (understood & ~class_says_oos).any():
            rejection = float(self.config["inscope_rejection"])
            kept = confidence[understood & ~class_says_oos]
            model.threshold = float(min(np.quantile(kept, rejection), self.config["max_threshold"]))
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

    @staticmethod
    def _temperature(scores: Floats, target: Indices, start: float) -> Tuple[float, float]:
        """(the softmax scale in `SCALES` with the lowest negative log-likelihood of `target`, that NLL)."""
        best = (np.inf, start)
        for scale in SCALES:
            probs = softmax(scores * scale)
            nll = -np.mean(np.log(probs[np.arange(len(target)), target] + 1e-12))
            best = min(best, (nll, scale))
        return float(best[1]), float(best[0])

    def _gate_threshold(self, confidence: Floats, understood: Mask, inscope: Mask, is_oos: Mask) -> Tuple[float, float]:
        """(the gate threshold that maximises (in-scope accuracy + out-of-scope recall) / 2 while losing at most
        `max_inscope_rejection` of the understood in-scope examples, that objective)."""
        best_t, best_value = 0.0, -1.0
        max_lost = self.config.get("max_inscope_rejection")
        for t in np.unique(np.round(confidence, 4)):
            if t > float(self.config["max_threshold"]):
                break
            said_oos = confidence < t
            if max_lost is not None and understood.any() and np.mean(said_oos[understood]) > float(max_lost):
                break
            value = (np.mean((understood & ~said_oos)[inscope]) + np.mean(said_oos[is_oos])) / 2
            if value > best_value + 1e-9:
                best_t, best_value = float(t), float(value)
        return best_t, best_value

    def fixed_threshold(self, default: Any) -> Any:
        """The configured threshold (a float, or None for never), or `default` when it is `auto`."""
        threshold = self.config.get("threshold", "auto")
        if threshold == "auto":
            return default
        return None if threshold is None else float(threshold)
