"""What a user's words say about the answer before: a rating, "that's not what I asked", a request for a
person, or the same question again (lexical similarity). Pure text functions, no Redis."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, Optional, Set

from bot.language import CJK_CHAR

__all__ = ["similarity", "rating_of", "NOT_WHAT_I_ASKED", "PERSON"]

# Typed ratings (no entity): "down" is checked first, so "not helpful" / "没有帮助" are not read as "up".
_TYPED_RATINGS = (
    (re.compile(r"👎|useless|not helpful|no help|didn'?t help|not useful|没用|没有用|没帮助|没有帮助|没解决|答非所问|"
                r"thumbs down|wrong answer", re.I), "down"),
    (re.compile(r"👍|helpful|helped|useful|有用|有帮助|解决了|很棒|thumbs up|great answer", re.I), "up"),
)
# "That is not what I asked": the last answer missed, whatever the intent the message got (often `deny`).
NOT_WHAT_I_ASKED = re.compile(
    r"不是这个|不是我问的|不是我要问的|我问的不是|我问的是|答非所问|问的不是这个|你没懂|没听懂我|理解错了|文不对题|牛头不对马嘴|"
    r"not what i (?:asked|meant|wanted)|that'?s not my question|not my question|not what i'?m asking|"
    r"didn'?t answer my question|you misunderstood|you didn'?t understand|wrong answer|i meant\b|i asked about", re.I)
# Asking for a person in so many words (the NLU may call it something else).
PERSON = re.compile(
    r"转人工|人工客服|人工服务|找人工|要人工|真人|客服人员|活人|"
    r"real person|real human|human agent|live agent|live person|an? (?:human|agent|person) please|"
    r"(?:talk|speak|chat) (?:to|with) (?:a |an |your )?(?:human|person|agent|someone|representative|real)|"
    r"customer service rep", re.I)
_WORD = re.compile(r"[a-z0-9]+")
_CJK_RUN = re.compile(f"(?:{CJK_CHAR.pattern})+")  # a run of Chinese characters (bot.language's definition)
_EN_STOP = frozenset(
    """a an the and or but if of to in on at for with by from as is are was were be been do does did have has had
    i me my we our you your it its they them this that these those there here what which who how can could should
    would will may might must so too very just also about into up out any some no not only please pls again
    hi hello hey thanks tell know want need get got does""".split())
_ZH_STOP = frozenset("请问 一下 怎么 什么 可以 是不 不是 一个 这个 那个 我的 你们 吗".split())


def _stem(word: str) -> str:
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not (suffix == "s" and word.endswith("ss")):
            return word[: -len(suffix)]
    return word


def _features(text: str) -> Set[str]:
    """English words (stemmed, no stop words) and Chinese character bigrams (unigram for a 1-character run)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    out = {_stem(w) for w in _WORD.findall(text) if w not in _EN_STOP}
    for run in _CJK_RUN.findall(text):
        grams = [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
        out.update(g for g in grams if g not in _ZH_STOP)
    return out


def similarity(a: str, b: str) -> float:
    """Cheap lexical similarity of two questions: Jaccard of their word/bigram features (0..1)."""
    fa, fb = _features(a), _features(b)
    if not fa or not fb:
        return 0.0
    return len(fa & fb) / len(fa | fb)


def rating_of(event: Dict[str, Any]) -> Optional[str]:
    """The rating a user event gives (the `rating` entity, else typed words), or None."""
    for ent in (event.get("parse_data") or {}).get("entities") or []:
        if ent.get("entity") == "rating":
            return str(ent.get("value")).lower()
    text = event.get("text") or ""
    for pattern, value in _TYPED_RATINGS:
        if pattern.search(text):
            return value
    return None
