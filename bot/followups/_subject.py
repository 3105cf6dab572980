"""What a check-in asks about: the part or fault the user told us about ("左耳" / "the left earbud"), else the
product ("米粒耳机 Buds 5"), else nothing (a general "is it sorted?").

Read from the user's own words (the handoff's messages, the repair's fault text), so the question is about
their thing, not a ticket number. Parts are checked in order; the first that matches wins.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, Optional

from bot.orders.products import AMBIGUOUS_PHONE, PRODUCTS, find_product

__all__ = ["subject_of"]

_PARTS = [
    (re.compile(r"左耳|左边(的)?耳机|左边那只|left\s*(ear\s*)?bud|left\s*ear(piece|phone)?", re.I),
     "左耳", "the left earbud"),
    (re.compile(r"右耳|右边(的)?耳机|右边那只|right\s*(ear\s*)?bud|right\s*ear(piece|phone)?", re.I),
     "右耳", "the right earbud"),
    (re.compile(r"屏幕|屏|screen|display", re.I), "屏幕", "the screen"),
    (re.compile(r"电池|续航|掉电|battery", re.I), "电池", "the battery"),
    (re.compile(r"充不进|充电|charg", re.I), "充电", "charging"),
    (re.compile(r"摄像头|相机|拍照|camera", re.I), "相机", "the camera"),
    (re.compile(r"没声音|声音|杂音|喇叭|sound|speaker|audio", re.I), "声音", "the sound"),
    (re.compile(r"表带|strap", re.I), "表带", "the strap"),
]


def subject_of(texts: Iterable[str], product: Optional[str] = None) -> Dict[str, str]:
    """`{"zh": ..., "en": ..., "kind": "part" | "product" | ""}` for the user's words (latest last).

    `product` is a known product key (a repair's device) used when the words name none."""
    words = [t for t in texts if t]
    for text in reversed(words):
        for pattern, zh, en in _PARTS:
            if pattern.search(text):
                return {"zh": zh, "en": en, "kind": "part"}
    key = product if product in PRODUCTS else None
    if key is None:
        for text in reversed(words):
            found = find_product(text)
            if found and found != AMBIGUOUS_PHONE:
                key = found
                break
    if key is not None:
        en, zh = PRODUCTS[key]
        return {"zh": zh, "en": f"your {en}", "kind": "product"}
    return {"zh": "", "en": "", "kind": ""}
