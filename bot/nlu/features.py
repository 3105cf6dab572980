"""Text features for the intent classifier that work for Chinese as well as English.

The bundled sentence model is English-only, so the classifier adds TF-IDF features that need
no model: character n-grams (1-3 over runs of CJK characters, 2-4 `char_wb`-style over Latin
words) and words (jieba search mode for Chinese runs, word unigrams and bigrams otherwise). The analyzers are
module-level functions so fitted vectorizers pickle.
"""

from __future__ import annotations

import logging
import re
from typing import List

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.language import CJK_CHAR as _CJK, has_cjk

__all__ = ["char_ngrams", "word_ngrams", "has_cjk", "make_vectorizers"]

_RUNS = re.compile(_CJK.pattern + r"+|[^\W_]+", re.UNICODE)  # Chinese runs, then other words
_MAX_CHARS = 2000  # longer messages are cut: their tail adds nothing but time


def _runs(text: str) -> List[str]:
    return _RUNS.findall(text[:_MAX_CHARS].lower())


def char_ngrams(text: str) -> List[str]:
    """Character n-grams: 1-3 inside CJK runs, 2-4 inside space-padded Latin/digit words."""
    grams: List[str] = []
    for run in _runs(text):
        if _CJK.match(run):
            n_min, n_max, padded = 1, 3, run
        else:
            n_min, n_max, padded = 2, 4, f" {run} "
        size = len(padded)
        for n in range(n_min, n_max + 1):
            grams.extend(padded[i : i + n] for i in range(size - n + 1))
    return grams


def _words(text: str) -> List[str]:
    words: List[str] = []
    for run in _runs(text):
        if _CJK.match(run):
            import jieba

            words.extend(w for w in jieba.lcut_for_search(run) if w.strip())
        else:
            words.append(run)
    return words


def word_ngrams(text: str) -> List[str]:
    """Word unigrams and bigrams (jieba search-mode segmentation for Chinese runs: words and their parts)."""
    words = _words(text)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def make_vectorizers() -> List[TfidfVectorizer]:
    """Fresh (unfitted) character and word TF-IDF vectorizers."""
    try:
        import jieba

        jieba.setLogLevel(logging.WARNING)
    except ImportError:  # pragma: no cover - jieba is a dependency
        pass
    common = dict(lowercase=False, sublinear_tf=True, dtype=np.float32)
    return [
        TfidfVectorizer(analyzer=char_ngrams, min_df=2, **common),
        TfidfVectorizer(analyzer=word_ngrams, min_df=1, **common),
    ]
