"""`CanyuLanguage`: tags every message with its language ("zh" / "en") for the rest of the pipeline.

For each message it calls `bot.language.detect_language`. When the text carries a language
signal it sets the message data key `language` (read by the intent classifier and by custom
components) and, at prediction time, adds the entity
`{"entity": "language", "value": "zh"|"en", "start": 0, "end": 0, "extractor": "CanyuLanguage"}`
which fills the `language` slot. Emoji-only or digit-only messages get nothing, so the
conversation keeps its previous language.

Registered as a message featurizer (so it runs on training data too, where only the data key
is set: no entity is added to training examples) and as an entity extractor.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language import detect_language
from bot.nlu._fingerprint import code_fingerprint

__all__ = ["CanyuLanguage", "LANGUAGE_KEY"]

LANGUAGE_KEY = "language"
EXTRACTOR = "CanyuLanguage"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=False,
)
class CanyuLanguage(GraphComponent):
    """Detects zh/en per message; sets `message.data["language"]` and a `language` entity."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """`entity`: the entity name to add (None disables the entity, the data key stays)."""
        return {"entity": "language"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._entity: Optional[str] = config.get("entity", "language")

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
    ) -> "CanyuLanguage":
        """Creates the component (it has nothing to train)."""
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Sets the `language` data key on training examples (no entity: it would pollute the data)."""
        for message in training_data.training_examples:
            text = message.get(TEXT)
            if text is not None:
                message.set(LANGUAGE_KEY, detect_language(text))
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets the `language` data key and adds the `language` entity when the text has a signal."""
        for message in messages:
            language = detect_language(message.get(TEXT) or "")
            message.set(LANGUAGE_KEY, language)
            if language is None or not self._entity:
                continue
            entities = [e for e in message.get(ENTITIES, []) if e.get("extractor") != EXTRACTOR]
            entities.append(
                {"entity": self._entity, "value": language, "start": 0, "end": 0, "extractor": EXTRACTOR}
            )
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
