"""`CanyuIntentClassifier`: a fast linear intent classifier with calibrated confidences and out-of-scope detection.

This module is the Rasa adapter (the graph component config.yml names, its options, persistence and the
message fields it sets); the model on plain arrays is `bot.nlu.model`, the fitting and tuning `bot.nlu.tuning`.

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
import time
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Text, Tuple

import numpy as np
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
from bot.nlu.model import Floats, Gate, Model, Neighbours, as_gate
from bot.nlu.tuning import Tuner

__all__ = ["CanyuIntentClassifier", "is_validation_example", "VALIDATION_SPLIT"]

logger = logging.getLogger(__name__)

VALIDATION_SPLIT = "valid"
_MODEL_FILE = "classifier.joblib"
# Trained models pickle these classes under their path before the split (bot.nlu.classifier._Model …):
# these aliases keep those models loadable. New models name bot.nlu.model.
_Model, _Neighbours, _Gate = Model, Neighbours, Gate


def is_validation_example(message: Message) -> bool:
    """True for a training example marked `metadata: {canyu_split: valid}` (tuning only)."""
    metadata = message.get("metadata") or {}
    example = metadata.get("example") if isinstance(metadata, dict) else None
    return isinstance(example, dict) and example.get("canyu_split") == VALIDATION_SPLIT


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
        model: Optional[Model] = None,
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

    def _tuner(self) -> Tuner:
        return Tuner(self._config, self._oos_names())

    def _oos_names(self) -> FrozenSet[str]:
        return frozenset({self._config["out_of_scope_intent"], "oos", self._config["fallback_intent"]})

    @staticmethod
    def _texts_and_embeddings(messages: Sequence[Message]) -> Tuple[List[str], Optional[Floats]]:
        texts = [m.get(TEXT) or "" for m in messages]
        rows = []
        for message in messages:
            _, sentence = message.get_dense_features(TEXT)
            rows.append(None if sentence is None else np.asarray(sentence.features, dtype=np.float32).reshape(-1))
        if not rows or any(r is None for r in rows):
            return texts, None
        return texts, np.vstack([r for r in rows if r is not None])

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the classifier, then calibrates it and picks the out-of-scope threshold (`bot.nlu.tuning`)."""
        start = time.perf_counter()
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT) is not None]
        train = [e for e in examples if not is_validation_example(e)]
        valid = [e for e in examples if is_validation_example(e)]
        if not train:
            logger.warning("CanyuIntentClassifier: no intent examples to train on; it will predict nothing.")
            return self._resource
        texts, emb = self._texts_and_embeddings(train)
        labels = [str(e.get(INTENT)) for e in train]
        tuning = None
        if valid:
            v_texts, v_emb = self._texts_and_embeddings(valid)
            tuning = (v_texts, v_emb, [str(e.get(INTENT)) for e in valid])
        model = self._tuner().train(texts, emb, labels, tuning)
        model.report["train_seconds"] = round(time.perf_counter() - start, 2)
        model.report["train_examples"] = len(train)
        self._model = model
        self.persist()
        return self._resource


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
        gate = as_gate(getattr(model, "gate", None))
        signals = model.oos_signals(probs, similarity, oos_labels)
        in_scope_score = signals["confidence"] if gate is None else gate(signals)
        fallback = {"name": self._config["fallback_intent"], "confidence": float(model.threshold or 1.0)}
        for row_index, (message, row) in enumerate(zip(messages, probs, strict=True)):
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
