"""`CanyuSentenceFeaturizer`: dense sentence features from sentence models.

Encodes the text of each message with `bot.embeddings.get_encoder(model)` (the bundled
all-MiniLM-L6-v2 by default; any local folder or cached model name via the `model` option or
`CANYU_EMBEDDING_MODEL`) and adds the vector as a dense *sentence* feature of the `text`
attribute. Training data is encoded in batches; vectors are cached in memory and on disk, so a
retrain after a small edit only encodes the new examples.

`model_zh` (optional) names a second model for messages that contain Chinese characters, which
the English model cannot read (config.yml uses the bundled `multilingual-e5-small`). The feature
is then two blocks side by side, `[model vector, 0]` for other messages and `[0, model_zh vector]`
for Chinese ones, so each message is encoded once and the two vector spaces never share columns.

config.yml:
    - name: bot.nlu.CanyuSentenceFeaturizer
      model: null          # null = bundled all-MiniLM-L6-v2
      model_zh: multilingual-e5-small   # or null: one model for every message
      batch_size: 32
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional, Text

import numpy as np
import numpy.typing as npt
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.embeddings import EmbeddingSettings, Encoder, get_encoder, model_fingerprint
from bot.nlu._fingerprint import code_fingerprint
from bot.nlu.features import has_cjk

__all__ = ["CanyuSentenceFeaturizer"]

logger = logging.getLogger(__name__)


def _embedding_settings() -> EmbeddingSettings:
    """The embedding settings of this process: Rasa builds the component, so it reads them itself (a root)."""
    from bot.settings import load_settings

    return EmbeddingSettings.from_env(load_settings().env)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class CanyuSentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a sentence-transformers embedding of the message text as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """`model`: None (bundled), a local path or a cached model name; `model_zh`: None or a model
        for Chinese messages; `batch_size` for training."""
        return {
            **DenseFeaturizer.get_default_config(),
            "model": None,
            "model_zh": None,
            "batch_size": 32,
            "show_progress": False,
        }

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self._encoder: Optional[Encoder] = None
        self._encoder_zh: Optional[Encoder] = None
        self._embedding = _embedding_settings()

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        """Our code version and the sentence model: a change to either invalidates Rasa's training cache."""
        embedding = _embedding_settings()
        models = [model_fingerprint(config.get("model"), embedding)]
        if config.get("model_zh"):
            models.append(model_fingerprint(config["model_zh"], embedding))
        return ":".join([code_fingerprint(), *models])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CanyuSentenceFeaturizer":
        """Creates the featurizer; the model is loaded once per process on first use."""
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """Checks the batch size."""
        if int(config.get("batch_size") or 0) < 1:
            from rasa.shared.exceptions import InvalidConfigException

            raise InvalidConfigException(
                f"config.yml: CanyuSentenceFeaturizer batch_size must be a positive integer, "
                f"got {config.get('batch_size')!r}"
            )

    @staticmethod
    def required_packages() -> List[Text]:
        """Python packages this component needs."""
        return ["sentence_transformers"]

    @property
    def encoder(self) -> Encoder:
        """The shared encoder (loaded lazily)."""
        if self._encoder is None:
            self._encoder = get_encoder(self._config.get("model"), self._embedding)
        return self._encoder

    @property
    def encoder_zh(self) -> Optional[Encoder]:
        """The encoder for Chinese messages, if `model_zh` is set (loaded lazily)."""
        if self._encoder_zh is None and self._config.get("model_zh"):
            self._encoder_zh = get_encoder(self._config["model_zh"], self._embedding)
        return self._encoder_zh

    def _vectors(self, texts: List[str], show_progress: bool) -> npt.NDArray[np.float32]:
        batch_size = int(self._config["batch_size"])
        zh_encoder = self.encoder_zh
        if zh_encoder is None:
            return self.encoder.encode(texts, batch_size=batch_size, show_progress=show_progress)
        is_zh = np.array([has_cjk(t) for t in texts], dtype=bool)
        out = np.zeros((len(texts), self.encoder.dim + zh_encoder.dim), dtype=np.float32)
        for rows, encoder, columns in (
            (np.where(~is_zh)[0], self.encoder, slice(0, self.encoder.dim)),
            (np.where(is_zh)[0], zh_encoder, slice(self.encoder.dim, None)),
        ):
            if len(rows):
                out[rows, columns] = encoder.encode(
                    [texts[i] for i in rows], batch_size=batch_size, show_progress=show_progress
                )
        return out

    def _featurize(self, messages: List[Message], show_progress: bool = False) -> None:
        todo = [m for m in messages if m.get(TEXT) is not None]
        if not todo:
            return
        vectors = self._vectors([m.get(TEXT) for m in todo], show_progress)
        for message, vector in zip(todo, vectors, strict=True):
            self.add_features_to_message(None, vector.reshape(1, -1).astype(np.float32), TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Encodes every training example's text in batches."""
        start = time.perf_counter()
        self._featurize(training_data.training_examples, bool(self._config.get("show_progress")))
        logger.debug("Encoded %d training texts in %.1fs", len(training_data.training_examples), time.perf_counter() - start)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Encodes incoming messages."""
        self._featurize(messages)
        return messages
