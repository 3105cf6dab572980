"""Tell Chinese from English in one user message.

Returns "zh", "en" or None when the text carries no language signal (emoji,
digits, an order number): callers keep the conversation's previous language then.
"""

from __future__ import annotations

import re
from typing import Optional

LANGUAGES = ("zh", "en")
CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # a Chinese (CJK unified) character
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Latin tokens that Chinese users type inside Chinese sentences and that say nothing about language.
_NEUTRAL_WORDS = re.compile(r"\b(?:ok|okay|pro|max|ultra|mah|wifi|nfc|os|app|id|mi|gb|tb|usb|hi)\b", re.IGNORECASE)


def has_cjk(text: str) -> bool:
    """True if the text contains a Chinese character."""
    return bool(CJK_CHAR.search(text))


def detect_language(text: str) -> Optional[str]:
    """Return "zh" if the message has Chinese characters, "en" if it has English words, else None."""
    if not text:
        return None
    if has_cjk(text):
        return "zh"
    if _LATIN_WORD.search(_NEUTRAL_WORDS.sub(" ", text)) or re.search(r"\b(?:hi|ok|okay)\b", text, re.IGNORECASE):
        return "en"
    return None
