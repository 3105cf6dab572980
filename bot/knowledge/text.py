"""Text normalisation and tokenisation for lexical matching, Chinese and English.

Chinese is cut with jieba (words) and, because users misspell and jieba mis-cuts short chat
text, also into character unigrams and bigrams. English is split into lower-case words with
stop words dropped and a light suffix stemmer. Tokens carry a prefix ("w:", "b:", "c:") so
the kinds never collide in one BM25 vocabulary.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import Any, List

from bot.language import CJK_CHAR, has_cjk

__all__ = ["normalise", "tokens", "char_ngrams", "has_cjk"]

_CJK_RUN = re.compile(CJK_CHAR.pattern + "+")
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_EN_STOP = frozenset(
    """a an the and or but if of to in on at for with by from as is are was were be been being do does did
    doing have has had having i me my we our you your he she it its they them their this that these those
    there here what which who whom how can could should would will shall may might must so than too very
    just also about into over after before up down out off again then once any some such no nor not only
    own same both each few more most other s t don im ive get got""".split()
)
_ZH_STOP = frozenset("的 了 吗 呢 吧 啊 呀 么 是 我 你 他 她 它 们 这 那 个 有 在 和 就 都 也 还 请问 一下 怎么 什么 嘛 哦 啦".split())


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), lower case, collapsed spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip().lower()


def _stem(word: str) -> str:
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "es" and not word.endswith(("ches", "shes", "sses", "xes")):
                continue
            if suffix == "s" and word.endswith("ss"):
                continue
            return word[: -len(suffix)] + repl
    return word


@lru_cache(maxsize=1)
def _jieba() -> Any:
    """jieba, with its dictionary loaded (about a second): process-wide cache; reset with _jieba.cache_clear()."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def char_ngrams(text: str, n_min: int = 1, n_max: int = 2) -> List[str]:
    """Character n-grams of every Chinese run (no n-gram crosses a non-Chinese character)."""
    out: List[str] = []
    for run in _CJK_RUN.findall(text):
        for n in range(n_min, n_max + 1):
            out.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return out


def tokens(text: str) -> List[str]:
    """Lexical tokens of one text for BM25: English words, jieba words, Chinese char uni/bigrams."""
    text = normalise(text)
    out: List[str] = [f"w:{_stem(w)}" for w in _WORD.findall(text) if w not in _EN_STOP]
    if has_cjk(text):
        jieba = _jieba()
        for run in _CJK_RUN.findall(text):
            out.extend(f"w:{w}" for w in jieba.lcut(run) if w not in _ZH_STOP)
        out.extend(f"c:{g}" if len(g) == 1 else f"b:{g}" for g in char_ngrams(text) if g not in _ZH_STOP)
    return out
