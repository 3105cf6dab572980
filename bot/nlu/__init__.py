"""Canyu's Rasa NLU components (use them from config.yml as `bot.nlu.<Name>`).

- `CanyuLanguage`: zh/en detection → message data `language` and a `language` entity;
- `CanyuSentenceFeaturizer`: sentence-transformers embedding as a dense sentence feature;
- `CanyuIntentClassifier`: linear classifier over embeddings + char/word n-grams with calibrated
  confidences, a full ranking and an out-of-scope threshold.

Inside: `classifier` (the Rasa adapter), `model` (the intent model on plain arrays), `tuning` (`C`, neighbour
weight, temperature and threshold chosen on held-out data), `features` (the n-gram TF-IDF features);
`evaluation` runs `bot eval intents` and `eval_report` scores and reports it.
"""

from bot.nlu.classifier import CanyuIntentClassifier
from bot.nlu.featurizer import CanyuSentenceFeaturizer
from bot.nlu.language import CanyuLanguage

__all__ = ["CanyuIntentClassifier", "CanyuLanguage", "CanyuSentenceFeaturizer"]
