"""Is this new complaint the same thing as an item we already have?

Three signals, because one is never enough across two languages:
- *concepts*: a small bilingual lexicon maps "battery drains", "掉电", "续航" to one concept
  (`battery`), and product names ("14 Pro", "手环 9") to product ids; this is what joins
  "battery drains fast on 14 Pro" and "14 Pro 掉电快";
- *character n-grams* (2–3): robust to typos and good for Chinese against Chinese;
- *sentence vectors* from `bot.embeddings.get_encoder()` (English model): paraphrases in English.

Different products, or two disjoint sets of concepts, veto a match whatever the other signals say.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from bot.language import detect_language

__all__ = ["Signature", "signature", "similarity", "products_in", "concepts_in", "encode", "AUTO_JOIN", "SUGGEST"]

Vectors = npt.NDArray[np.float32]
"""Sentence vectors (one per row, or one vector)."""
AUTO_JOIN = 0.68
"""At or above this score a voice joins the item without asking."""
SUGGEST = 0.45
"""Between SUGGEST and AUTO_JOIN the user is asked whether it is the same thing (a +1 button)."""

# Product ids and how people write them. Order matters: "14 Pro" before "14".
_PRODUCTS: List[Tuple[str, str]] = [
    ("phone-14-pro", r"14\s*pro|14p\b"),
    ("phone-14", r"(?:millet\s*)?phone\s*14|(?<![\d.])14(?![\d.])|小米\s*14|手机"),
    ("band-9", r"band\s*9|\bband\b|手环"),
    ("buds-5", r"buds\s*5|\bbuds\b|earbuds|earphones?|耳机"),
    ("power-bank", r"power\s*bank|20000|充电宝|移动电源"),
]

# Concept id -> one regex over English and Chinese. Keep ids short; trainers extend this list.
_CONCEPTS: Dict[str, str] = {
    "battery": r"batter(?:y|ies)|drain|battery life|dies (?:fast|quickly)|掉电|耗电|续航|电池|没电|不耐用",
    "charging": r"charg(?:e|es|ing|er)|充电|充不进|快充",
    "heat": r"\bhot\b|heat|overheat|warm|发热|发烫|烫|过热",
    "screen": r"screen|display|flicker|brightness|屏|亮度",
    "camera": r"camera|photo|picture|selfie|相机|拍照|摄像头|照片",
    "bluetooth": r"bluetooth|\bpair(?:ing|ed)?\b|disconnect|蓝牙|配对|断连|断开",
    "network": r"wi-?fi|signal|5g|4g|network|信号|网络|没网",
    "sound": r"sound|audio|noise|volume|\banc\b|speaker|\bmic(?:rophone)?\b|声音|音质|降噪|杂音|音量|麦克风",
    "dark_mode": r"dark\s*mode|night\s*(?:mode|theme)|dark theme|深色模式|暗黑模式|夜间模式|黑暗模式",
    "notifications": r"notif|通知|消息提醒",
    "lag": r"\blag|stutter|freez|crash|slow(?:s)? down|卡顿|卡死|死机|闪退|很卡|好卡",
    "update": r"updat|upgrad|firmware|更新|升级|固件",
    "delivery": r"deliver|shipping|courier|parcel|package|快递|物流|发货|送货",
    "price": r"price|expensive|cost|cheaper|价格|太贵|价钱|降价",
    "service": r"customer service|support staff|\bagent|rude|客服|服务态度",
    "refund": r"refund|return|退货|退款",
    "health": r"sleep|heart rate|steps|spo2|blood oxygen|睡眠|心率|步数|血氧",
    "watch_face": r"watch ?faces?|表盘",
    "strap": r"strap|wristband|表带|腕带",
    "waterproof": r"waterproof|water resistance|防水",
    "app": r"\bapps?\b|应用|(?<![a-z])app(?![a-z])",
    "fit": r"falls? out|\bfit\b|comfort|佩戴|舒适|硌耳",
    "size": r"too (?:big|heavy)|weight|heavy|太重|太大|重量",
}

_PRODUCT_RES = [(pid, re.compile(rx, re.IGNORECASE)) for pid, rx in _PRODUCTS]
_CONCEPT_RES = {cid: re.compile(rx, re.IGNORECASE) for cid, rx in _CONCEPTS.items()}
_NON_WORD = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Signature:
    """What matching needs to know about one text."""

    text: str
    language: Optional[str]
    products: FrozenSet[str]
    concepts: FrozenSet[str]
    grams: Dict[str, int] = field(hash=False, compare=False)
    vector: Optional[Vectors] = field(default=None, hash=False, compare=False)


def products_in(text: str) -> FrozenSet[str]:
    """Product ids named in `text` ("14 Pro" wins over "14")."""
    found = set()
    rest = text
    for pid, rx in _PRODUCT_RES:
        if rx.search(rest):
            found.add(pid)
            rest = rx.sub(" ", rest)
    return frozenset(found)


def concepts_in(text: str) -> FrozenSet[str]:
    return frozenset(cid for cid, rx in _CONCEPT_RES.items() if rx.search(text))


def _grams(text: str) -> Dict[str, int]:
    flat = _NON_WORD.sub(" ", text.lower()).strip()
    counts: Counter[str] = Counter()
    for token in flat.split():
        padded = f" {token} "
        for n in (2, 3):
            for i in range(len(padded) - n + 1):
                counts[padded[i : i + n]] += 1
    return dict(counts)


def encode(texts: Sequence[str]) -> Optional[Vectors]:
    """Sentence vectors from the shared encoder (None when it cannot be loaded)."""
    if not texts:
        return None
    from bot.embeddings import get_encoder

    return get_encoder().encode(list(texts))


@lru_cache(maxsize=20_000)
def _parts(text: str) -> Tuple[Optional[str], FrozenSet[str], FrozenSet[str], Dict[str, int]]:
    """The text-only parts of a signature: a process-wide cache (exemplars are matched again and again); reset with
    `_parts.cache_clear()`."""
    return detect_language(text), products_in(text), concepts_in(text), _grams(text)


def signature(text: str, vector: Optional[Vectors] = None, language: Optional[str] = None) -> Signature:
    """Everything matching needs about `text` (cached per text: items' exemplars are re-read often)."""
    detected, products, concepts, grams = _parts(text)
    return Signature(text=text, language=language or detected, products=products, concepts=concepts,
                     grams=grams, vector=vector)


def _cosine(a: Dict[str, int], b: Dict[str, int]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    if not dot:
        return 0.0
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def similarity(a: Signature, b: Signature) -> float:
    """A score in [0, 1]: ≥ AUTO_JOIN means "the same item"."""
    if a.products and b.products and not (a.products & b.products):
        return 0.0
    same_products = a.products == b.products
    concept_score = 0.0
    disjoint = False
    if a.concepts and b.concepts:
        common = len(a.concepts & b.concepts)
        if common == 0:
            disjoint = True
        else:
            jaccard = common / len(a.concepts | b.concepts)
            overlap = common / min(len(a.concepts), len(b.concepts))
            concept_score = (jaccard + overlap) / 2 * (1.0 if same_products else 0.85)
    gram_score = _cosine(a.grams, b.grams)
    dense = 0.0
    if a.vector is not None and b.vector is not None and a.language == b.language == "en":
        dense = float(np.dot(a.vector, b.vector))
    score = max(concept_score, gram_score, dense)
    if disjoint:
        score *= 0.5
    return max(0.0, min(1.0, score))
