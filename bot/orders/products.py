"""Our products as the order tasks know them: a key, the name in each language, and free-text matching.

Keys are the ids of `knowledge/products.yml` (``phone_14``, ``phone_14_pro``, ``band_9``, ``buds_5``,
``power_bank_20000``). `find_product` reads what customers type ("14pro", "耳机", "my band",
"米粒手机14") and returns a key, `AMBIGUOUS_PHONE` for a bare "phone"/"手机" (which one?), or None.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict, Optional, Tuple

__all__ = ["PRODUCTS", "AMBIGUOUS_PHONE", "find_product", "product_key", "product_label"]

PRODUCTS: Dict[str, Tuple[str, str]] = {
    "phone_14": ("Millet Phone 14", "米粒手机 14"),
    "phone_14_pro": ("Millet Phone 14 Pro", "米粒手机 14 Pro"),
    "band_9": ("Millet Band 9", "米粒手环 9"),
    "buds_5": ("Millet Buds 5", "米粒耳机 Buds 5"),
    "power_bank_20000": ("Millet Power Bank 20000", "米粒充电宝 20000"),
}
AMBIGUOUS_PHONE = "phone"
"""`find_product` result for "my phone" / "手机": a phone, but not which one."""

# Checked in order on lower-case text without spaces; the first match wins.
_PATTERNS = [
    ("phone_14_pro", re.compile(r"14pro|m14p|mp14p|pro版|14p(?![a-z])")),
    ("power_bank_20000", re.compile(r"powerbank|充电宝|移动电源|充电宝20000|mpb20|20000")),
    ("buds_5", re.compile(r"buds|earbud|earphone|headphone|耳机|耳塞|mbd5")),
    ("band_9", re.compile(r"band|手环|mb9|smartband")),
    ("phone_14", re.compile(r"phone14|手机14|米粒14|millet14|m14|mp14|(?<![0-9])14(?![0-9])")),
]
_PHONE = re.compile(r"phone|手机|mobile|cellphone")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "").lower())


def find_product(text: str) -> Optional[str]:
    """The product key `text` names, `AMBIGUOUS_PHONE` for a phone without a model, or None.

    >>> find_product("我的14pro屏幕碎了"), find_product("耳机"), find_product("my phone")
    ('phone_14_pro', 'buds_5', 'phone')
    """
    squashed = _squash(text)
    if not squashed:
        return None
    for key, pattern in _PATTERNS:
        if pattern.search(squashed):
            return key
    return AMBIGUOUS_PHONE if _PHONE.search(squashed) else None


def product_key(name: str) -> Optional[str]:
    """The key of a stored English product name ("Millet Band 9" → "band_9")."""
    for key, (en, _) in PRODUCTS.items():
        if en == name:
            return key
    return None


def product_label(key: str, language: str) -> str:
    """The product's name in the user's language ("phone_14_pro", "zh" → "米粒手机 14 Pro")."""
    en, zh = PRODUCTS.get(key, (key, key))
    return zh if language == "zh" else en
