"""A model fitted on the knowledge base's own phrasings: which entry a question is about.

The retriever's ranking compares a question with each phrasing (nearest neighbour) and with the answers. That
needs a phrasing close to the question. A model fitted on all phrasings of an entry at once learns what they
share ("两个号", "two numbers", "work sim and personal sim" → dual SIM) and generalises better, as Rasa's
ResponseSelector or Dialogflow's intents do. Here: per language, kernel ridge regression from a phrasing to its
entry (one-hot), the kernel the sum of the cosine in the language's sentence model and the cosine of character
n-gram TF-IDF; the out-of-scope questions are rows whose target is no entry at all (negative examples).

Ridge has exact leave-one-out predictions in closed form (each row's prediction by the model fitted without it),
so the calibrator is fitted on what a question never seen gets (`scores(..., exclude=...)`), and fitting both
languages takes well under a second on our ~2,600 phrasings. The retriever adds `boost(scores)` (the scores times
`entry_model_weight`) to the fused ranking and gives the calibrator the top entry's
score as a feature. docs/knowledge.md, "A model of the entries".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.knowledge._arrays import Floats, Ints
from bot.knowledge.calibration import languages
from bot.knowledge.index import HybridIndex

__all__ = ["EntryModel", "SURE", "LEAD"]

SURE = 0.5
"""A score from which the model is sure of an entry (more of the one-hot target than not): a question nearer to an
out-of-scope example than to the entry's phrasings is still answered (the model learned those examples as
negatives: "充电宝能开发票吗" is about the invoice, however near "充电宝能给电动车充电吗" is)."""

LEAD = 0.2
"""How far ahead of a spec the question names an entry must be for `EntryModel.sure_of` to choose it over the spec."""


def _ngrams(lang: str) -> TfidfVectorizer:
    """Characters 1–3 for Chinese (no spaces to split on), 2–4 within words for English (typos keep most of them)."""
    if lang == "zh":
        return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=True)
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=True)


def _class_of(doc_id: str) -> str:
    """What the model learns to tell apart: an FAQ entry, or a spec whatever the product ("spec:phone_14:battery" and
    "spec:phone_14_pro:battery" are one class: their phrasings differ only by the name, which the retriever's product
    matching weighs)."""
    return f"spec:{doc_id.rsplit(':', 1)[-1]}" if doc_id.startswith("spec:") else doc_id


def _unit(vecs: Floats) -> Floats:
    out: Floats = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
    return out


@dataclass
class _Language:
    """One language's fitted model: the training rows' unit vectors and n-grams, and the dual weights."""

    block: slice
    ngrams: TfidfVectorizer
    dense: Floats  # (rows, dim) unit vectors
    grams: sparse.csr_matrix  # (rows, vocabulary)
    dual: Floats  # (rows, classes): (K + alpha I)^-1 Y

    def kernel(self, vecs: Floats, texts: Sequence[str]) -> Floats:
        k: Floats = _unit(np.atleast_2d(vecs)[:, self.block]) @ self.dense.T
        grams: Floats = (self.ngrams.transform(list(texts)) @ self.grams.T).toarray()
        return k + grams

    def predict(self, vecs: Floats, texts: Sequence[str]) -> Floats:
        out: Floats = self.kernel(vecs, texts) @ self.dual
        return out


class EntryModel:
    """Scores (questions x entries) of the index: near 1 for the entry a question is about, near 0 elsewhere."""

    def __init__(self, models: Dict[str, _Language], doc_class: Ints, weight: float, loo_phrases: Floats,
                 loo_negatives: Dict[str, Floats]) -> None:
        self._models = models
        self._doc_class = doc_class  # per entry of the index, its class (a column of the dual weights)
        self.weight = weight
        self._loo_phrases = loo_phrases
        self._loo_negatives = loo_negatives

    @classmethod
    def fit(cls, index: HybridIndex, negatives: Sequence[str], negative_vecs: Optional[Floats], weight: float = 0.5,
            alpha: float = 1.0) -> "EntryModel":
        """Fit on every phrasing of `index` (its stored vectors) and the out-of-scope `negatives` (their vectors in
        `negative_vecs`, as the encoder gives them): one model per language of the phrasings."""
        phrases = list(index.phrases)
        names = [_class_of(d.id) for d in index.docs]
        column = {name: i for i, name in enumerate(dict.fromkeys(names))}
        doc_class = np.asarray([column[name] for name in names], np.int64)
        langs = np.asarray(languages(phrases))
        negatives = list(negatives) if negative_vecs is not None else []
        neg_langs = np.asarray(languages(negatives))
        models: Dict[str, _Language] = {}
        loo_phrases = np.zeros((len(phrases), len(column)), np.float32)
        loo_negatives: Dict[str, Floats] = {}
        for lang in sorted(set(langs.tolist())):
            rows: Ints = np.flatnonzero(langs == lang)
            neg_rows: Ints = np.flatnonzero(neg_langs == lang)
            texts = [phrases[i] for i in rows] + [negatives[i] for i in neg_rows]
            block = index.blocks[index.block_of(lang)]
            vecs = np.asarray(index.q_vecs[rows], np.float32)
            if len(neg_rows) and negative_vecs is not None:
                vecs = np.vstack([vecs, np.asarray(negative_vecs, np.float32)[neg_rows]])
            ngrams = _ngrams(lang).fit(texts)
            dense, grams = _unit(vecs[:, block]).astype(np.float64), ngrams.transform(texts).tocsr()
            kernel = dense @ dense.T + (grams @ grams.T).toarray()
            targets = np.zeros((len(texts), len(column)))
            targets[np.arange(len(rows)), doc_class[index.phrase_doc[rows]]] = 1.0
            inverse = np.linalg.inv(kernel + alpha * np.eye(len(texts)))
            dual = inverse @ targets
            # exact leave-one-out: (f_i - H_ii y_i) / (1 - H_ii), with H = K (K + alpha I)^-1
            hat = np.einsum("ij,ji->i", kernel, inverse)
            loo = (kernel @ dual - hat[:, None] * targets) / (1.0 - hat[:, None])
            loo_phrases[rows] = loo[: len(rows)]
            loo_negatives.update({negatives[i]: loo[len(rows) + j] for j, i in enumerate(neg_rows)})
            models[lang] = _Language(block, ngrams, dense.astype(np.float32), grams, dual.astype(np.float32))
        return cls(models, doc_class, weight, loo_phrases, loo_negatives)

    @classmethod
    def for_index(cls, index: HybridIndex, negatives: Sequence[str], encoder: Any, weight: float,
                  alpha: float) -> Optional["EntryModel"]:
        """The model of `index` with `negatives` encoded by `encoder`; None when `weight` turns it off."""
        if weight <= 0:
            return None
        return cls.fit(index, negatives, encoder.encode(list(negatives)) if negatives else None, weight, alpha)

    def scores(self, texts: Sequence[str], vecs: Floats, exclude: Optional[Ints] = None) -> Floats:
        """(texts x entries of the index). `exclude[i]`: text i is the index's phrasing of that number, scored by the model fitted
        without it; a text that is one of the negatives fitted on is scored without it too (the calibrator asks
        them); any other text by the model."""
        out = np.zeros((len(texts), self._doc_class.max(initial=-1) + 1), np.float32)
        if exclude is not None:
            out[:] = self._loo_phrases[np.asarray(exclude)]
            return out[:, self._doc_class]
        todo: Dict[str, List[int]] = {}
        for i, (text, lang) in enumerate(zip(texts, languages(texts), strict=True)):
            if text in self._loo_negatives:
                out[i] = self._loo_negatives[text]
            elif lang in self._models:
                todo.setdefault(lang, []).append(i)
        vecs = np.atleast_2d(vecs)
        for lang, rows in todo.items():
            out[rows] = self._models[lang].predict(vecs[rows], [texts[i] for i in rows])
        return out[:, self._doc_class]

    def boost(self, scores: Floats) -> Floats:
        """What the fused ranking gets: the scores times the weight (z-units per unit of score). Not standardised
        per question: a question about nothing we know gets low scores everywhere, and standardising would blow its
        noise up into a clear winner ("明天北京下雨不" → the shipping times)."""
        out: Floats = self.weight * np.atleast_2d(scores)
        return out

    @staticmethod
    def sure_of(row: Floats, ids: Sequence[str], rival: str = "") -> Optional[str]:
        """The FAQ entry of `ids` (the index's) the model is sure a question is about, from its `scores` (`row`): a score
        of at least `SURE`, and `LEAD` ahead of the entries whose id ends with `rival`, the spec the question names on the
        way ("airline form wants the watt-hours of my power bank": the flight rules, not the capacity; "手环9多重呀
        戴着睡觉硌不硌" asks the weight too)."""
        best = int(np.argmax(row))
        against = max((float(row[i]) for i, doc in enumerate(ids) if rival and doc.endswith(rival)), default=0.0)
        fact = ids[best].startswith(("spec:", "catalog:"))
        return ids[best] if row[best] >= SURE and row[best] - against >= LEAD and not fact else None

    @staticmethod
    def top(scores: Floats, ranking: Floats) -> Floats:
        """Per question, the model's score of the entry `ranking` puts first (a calibration feature)."""
        ranking = np.atleast_2d(ranking)
        out: Floats = np.atleast_2d(scores)[np.arange(ranking.shape[0]), np.argmax(ranking, axis=1)]
        return out
