"""Confidence for the retriever's top entry, calibrated on the knowledge base itself.

Every phrasing is asked against the others (its own entry kept, then removed) and the off-topic
questions against all, and a per-language logistic regression maps (top score, margin, raw dense
and lexical similarity) to "the top entry is right". Split from `bot.knowledge.retriever`, which
fits one `Calibrator` per built index.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from bot.knowledge._arrays import Floats
from bot.knowledge.index import HybridIndex
from bot.knowledge.text import has_cjk

__all__ = ["Calibrator", "calib_features", "calibrate_scores", "languages"]


def languages(texts: Sequence[str]) -> List[str]:
    """The language whose calibration (and fusion weights) each text gets: "zh" if it has Chinese, else "en"."""
    return ["zh" if has_cjk(t) else "en" for t in texts]


def calib_features(scores: Floats, dense: Floats, lex: Floats) -> Floats:
    """Per query: the top entry's fused score, its margin over the second, its raw dense and BM25 scores."""
    order = np.argsort(-scores, axis=1)
    rows = np.arange(scores.shape[0])
    top, second = order[:, 0], order[:, 1] if scores.shape[1] > 1 else order[:, 0]
    features: Floats = np.c_[scores[rows, top], scores[rows, top] - scores[rows, second], dense[rows, top],
                             lex[rows, top]]
    return features


class Calibrator:
    """Per-language logistic map from top-entry features to P(top entry is right).

    Features: the top entry's fused z-score, its margin over the second, and its raw dense and
    BM25 similarities. Chinese and English get separate fits: the bundled model gives every
    pair of Chinese sentences a high cosine, so raw similarity means different things.
    """

    _PRIOR = (np.asarray([0.8, 1.5, 4.0, 2.0]), -5.0)

    def __init__(self, params: Optional[Dict[str, Any]] = None) -> None:
        self.params: Dict[str, Any] = params or {}

    def __call__(self, x: Floats, lang: str = "en") -> Floats:
        coef, intercept = self.params.get(lang) or self.params.get("en") or self._PRIOR
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
            encoder: Any = None, asked: Optional[Floats] = None, extra: Any = None) -> "Calibrator":
        """Fit on the index's own phrasings; `asked` (bool per phrasing) limits which are asked. Generated
        spec phrasings are near-copies of each other across products ("14 battery" / "14 Pro battery"):
        asking them would teach the calibrator that a top score means little. `extra(texts, vecs, exclude)`
        adds to the fused scores what the retriever adds (the Chinese pair model, `PairScorer.boost`)."""
        n_phr = len(index.phrases)
        if n_phr < 4 or len(index.docs) < 3:
            return cls()
        phr = index.phrase_features(index.phrases, index.q_vecs)
        mask = ~np.eye(n_phr, dtype=bool)
        feats = index.aggregate(phr, mask)
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
        x_kept = calib_features(scores, feats["dense_q"], feats["lex_q"])
        y_kept = (np.argmax(scores, axis=1) == gold).astype(int)
        removed = scores.copy()
        removed[np.arange(n_phr), gold] = -1e9
        x_removed = calib_features(removed, feats["dense_q"], feats["lex_q"])
        negatives = [n for n in negatives if n.strip()]
        if negatives and encoder is not None:
            n_vecs = encoder.encode(list(negatives))
            n_feats = index.features(negatives, n_vecs)
            n_scores = index.fuse(n_feats, languages(negatives))
            if extra is not None:
                n_scores = n_scores + extra(negatives, n_vecs)
            if adjust is not None:
                n_scores = adjust(negatives, n_scores)
            x_neg = calib_features(n_scores, n_feats["dense_q"], n_feats["lex_q"])
            neg_langs = np.asarray(languages(negatives))
        else:
            x_neg, neg_langs = np.zeros((0, 4)), np.asarray([], dtype=str)
        params: Dict[str, Any] = {}
        for lang in sorted(set(langs.tolist()) - {""}):
            sel = langs == lang
            nsel = neg_langs == lang
            X = np.vstack([x_kept[keep & sel], x_removed[sel], x_neg[nsel]])
            y = np.r_[y_kept[keep & sel], np.zeros(int(sel.sum()) + int(nsel.sum()), int)]
            # off-topic questions weigh as much in total as the "entry removed" near misses
            n_rm, n_neg = int(sel.sum()), int(nsel.sum())
            w = np.r_[np.ones(int((keep & sel).sum())), np.ones(n_rm), np.full(n_neg, n_rm / max(n_neg, 1))]
            if len(y) >= 8 and len(set(y.tolist())) == 2:
                params[lang] = cls._fit_nonneg(X, y, w)
        return cls(params)


def calibrate_scores(index: HybridIndex, scores: Floats, texts: Sequence[str], q_vecs: Floats) -> Floats:
    """Calibrated confidence of each query's top entry (used by `bot eval faq` for out-of-scope)."""
    cal = Calibrator.fit(index)
    feats = index.features(texts, q_vecs)
    x = calib_features(scores, feats["dense_q"], feats["lex_q"])
    return np.asarray([float(cal(x[i], lang)[0]) for i, lang in enumerate(languages(texts))])
