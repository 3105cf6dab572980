"""Confidence for the retriever's top entry, calibrated on the knowledge base itself.

Every phrasing is asked against the others (its own entry kept, then removed) and the off-topic
questions against all, and a per-language logistic regression maps (top score, margin, raw dense
and lexical similarity) to "the top entry is right". Split from `bot.knowledge.retriever`, which
fits one `Calibrator` per built index.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from bot.knowledge._arrays import Floats, Ints
from bot.knowledge.index import HybridIndex
from bot.knowledge.text import has_cjk

__all__ = ["Calibrator", "calib_features", "calibrate_scores", "languages"]


def languages(texts: Sequence[str]) -> List[str]:
    """The language whose calibration (and fusion weights) each text gets: "zh" if it has Chinese, else "en"."""
    return ["zh" if has_cjk(t) else "en" for t in texts]


def calib_features(scores: Floats, dense: Floats, lex: Floats, model: Optional[Floats] = None,
                   top: Optional[Ints] = None) -> Floats:
    """Per query: the top entry's fused score, its margin over the best other, its raw dense and BM25 scores, and the
    entry model's score of it (`bot.knowledge.entry_model`; 0 without one). `top`: the entries to describe, when
    not the best of `scores`."""
    rows = np.arange(scores.shape[0])
    top = np.argmax(scores, axis=1) if top is None else np.asarray(top)
    others = scores.copy()
    others[rows, top] = -np.inf
    second = np.argmax(others, axis=1) if scores.shape[1] > 1 else top
    fitted = model[rows, top] if model is not None else np.zeros(len(rows))
    features: Floats = np.c_[scores[rows, top], scores[rows, top] - scores[rows, second], dense[rows, top],
                             lex[rows, top], fitted]
    return features


class Calibrator:
    """Per-language logistic map from top-entry features to P(top entry is right).

    Features: the top entry's fused z-score, its margin over the second, its raw dense and
    BM25 similarities, and the entry model's score of it. Chinese and English get separate fits: the bundled model gives every
    pair of Chinese sentences a high cosine, so raw similarity means different things.
    """

    _PRIOR = (np.asarray([0.8, 1.5, 4.0, 2.0, 0.0]), -5.0)

    def __init__(self, params: Optional[Dict[str, Any]] = None) -> None:
        self.params: Dict[str, Any] = params or {}

    def __call__(self, x: Floats, lang: str = "en", model: bool = True) -> Floats:
        """`model=False`: without the entry model's score (a spec or catalog fact at the top: the model learned them
        from a few generated phrasings, and its score of them means less than of an FAQ entry)."""
        key = lang if model else f"{lang}:without model"
        coef, intercept = self.params.get(key) or self.params.get(lang) or self.params.get("en") or self._PRIOR
        if not model and key in self.params:
            coef = np.r_[coef, 0.0]
        probability: Floats = 1.0 / (1.0 + np.exp(-(np.atleast_2d(x) @ coef + intercept)))
        return probability

    @staticmethod
    def _fit_nonneg(X: Floats, y: Floats, w: Floats) -> Any:
        from sklearn.linear_model import LogisticRegression

        # Confidence must not fall as similarity rises: refit without any feature that gets a
        # negative weight (the features are correlated, and a few odd phrasings can flip a sign).
        active = list(range(X.shape[1]))
        while True:
            model = LogisticRegression(C=1.0, max_iter=2000).fit(X[:, active], y, sample_weight=w)
            coef = model.coef_[0]
            if (coef >= 0).all() or len(active) == 1:
                break
            active.pop(int(np.argmin(coef)))
        full = np.zeros(X.shape[1])
        full[active] = np.maximum(coef, 0.0)
        return full, float(model.intercept_[0])

    @classmethod
    def fit(cls, index: HybridIndex, adjust: Any = None, negatives: Sequence[str] = (),
            encoder: Any = None, asked: Optional[Floats] = None, extra: Any = None, model: Any = None) -> "Calibrator":
        """Fit on the index's own phrasings; `asked` (bool per phrasing) limits which are asked. Generated
        spec phrasings are near-copies of each other across products ("14 battery" / "14 Pro battery"):
        asking them would teach the calibrator that a top score means little. `extra(texts, vecs, exclude)`
        adds to the fused scores what the retriever adds (the Chinese pair model, `PairScorer.boost`); `model`, the
        `EntryModel`, too (each phrasing scored by the model fitted without it). With a model, a second fit per
        language leaves it out of the scores and the features ("<lang>:without model", for a fact at the top)."""
        n_phr = len(index.phrases)
        if n_phr < 4 or len(index.docs) < 3:
            return cls()
        phr = index.phrase_features(index.phrases, index.q_vecs)
        feats = index.aggregate(phr, ~np.eye(n_phr, dtype=bool))
        langs = np.asarray(languages(index.phrases))
        scores = index.fuse(feats, list(langs))
        if extra is not None:
            scores = scores + extra(index.phrases, index.q_vecs, np.arange(n_phr))
        if adjust is not None:
            scores = adjust(index.phrases, scores)
        gold = index.phrase_doc
        # entries with a single phrasing cannot be asked "with their own entry kept"
        counts = np.bincount(gold, minlength=len(index.docs))
        keep = counts[gold] > 1
        if asked is not None:
            langs = np.where(asked, langs, "")  # phrasings not asked belong to no language's fit
            keep = keep & asked
        negatives = [n for n in negatives if n.strip()] if encoder is not None else []
        n_vecs = encoder.encode(list(negatives)) if negatives else np.zeros((0, 1))
        n_feats = index.features(negatives, n_vecs) if negatives else {}
        n_scores = index.fuse(n_feats, languages(negatives)) if negatives else np.zeros((0, len(index.docs)))
        if negatives and extra is not None:
            n_scores = n_scores + extra(negatives, n_vecs)
        if negatives and adjust is not None:
            n_scores = adjust(negatives, n_scores)
        neg_langs = np.asarray(languages(negatives), dtype=str)

        def rows(phrase_scores: Floats, negative_scores: Floats, fitted: Optional[Floats],
                 n_fitted: Optional[Floats]) -> Tuple[Floats, Floats, Floats, Floats]:
            """(features with the entry kept, whether its top is right, features with it removed, of the negatives)"""
            removed = phrase_scores.copy()
            removed[np.arange(n_phr), gold] = -1e9
            x_neg = (calib_features(negative_scores, n_feats["dense_q"], n_feats["lex_q"], n_fitted) if negatives
                     else np.zeros((0, 5)))
            return (calib_features(phrase_scores, feats["dense_q"], feats["lex_q"], fitted),
                    (np.argmax(phrase_scores, axis=1) == gold).astype(int),
                    calib_features(removed, feats["dense_q"], feats["lex_q"], fitted), x_neg)

        fits = {"": rows(scores, n_scores, None, None)}
        if model is not None:
            fitted, n_fitted = model.scores(index.phrases, index.q_vecs, np.arange(n_phr)), model.scores(negatives, n_vecs)
            fits = {"": rows(scores + model.boost(fitted), n_scores + model.boost(n_fitted), fitted, n_fitted),
                    ":without model": fits[""]}
        params: Dict[str, Any] = {}
        for lang in sorted(set(langs.tolist()) - {""}):
            sel, nsel = langs == lang, neg_langs == lang
            # off-topic questions weigh as much in total as the "entry removed" near misses
            n_rm, n_neg = int(sel.sum()), int(nsel.sum())
            w = np.r_[np.ones(int((keep & sel).sum())), np.ones(n_rm), np.full(n_neg, n_rm / max(n_neg, 1))]
            for suffix, (x_kept, y_kept, x_removed, x_neg) in fits.items():
                X = np.vstack([x_kept[keep & sel], x_removed[sel], x_neg[nsel]])
                y = np.r_[y_kept[keep & sel], np.zeros(n_rm + n_neg, int)]
                if len(y) >= 8 and len(set(y.tolist())) == 2:
                    params[lang + suffix] = cls._fit_nonneg(X if suffix == "" else X[:, :4], y, w)
        return cls(params)


def calibrate_scores(index: HybridIndex, scores: Floats, texts: Sequence[str], q_vecs: Floats) -> Floats:
    """Calibrated confidence of each query's top entry (used by `bot eval faq` for out-of-scope)."""
    cal = Calibrator.fit(index)
    feats = index.features(texts, q_vecs)
    x = calib_features(scores, feats["dense_q"], feats["lex_q"])
    return np.asarray([float(cal(x[i], lang)[0]) for i, lang in enumerate(languages(texts))])
