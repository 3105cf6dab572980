"""Tell Chinese from English in one user message.

Returns "zh", "en" or None when the text carries no language signal (emoji,
digits, an order number): callers keep the conversation's previous language then.
"""

from __future__ import annotations

import re
from typing import List, Optional

LANGUAGES = ("zh", "en")
CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # a Chinese (CJK unified) character
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Latin tokens that Chinese users type inside Chinese sentences and that say nothing about language.
_NEUTRAL_WORDS = re.compile(r"\b(?:ok|okay|pro|max|ultra|mah|wifi|nfc|os|app|id|mi|gb|tb|usb|hi)\b", re.IGNORECASE)


def has_cjk(text: str) -> bool:
    """True if the text contains a Chinese character."""
    return bool(CJK_CHAR.search(text))


_LATIN_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]+(?![A-Za-z0-9])")


def latin_words(text: str) -> List[str]:
    """The whole Latin words of `text`: "wtf seriously" has two; a code's letters ("7kq4m-9xdph") are none."""
    return _LATIN_TOKEN.findall(text or "")


def reads_as_chinese(text: str) -> bool:
    """Chinese characters, set in a Chinese sentence ("耳机支持LDAC吗", "14pro的camera咋样"), not an English sentence with
    a Chinese word in it ("does the 14 pro support 花呗 installments", "can my 14 pro be my 上海交通卡?"): at least four
    Latin words and at least half as many as Chinese characters make it English."""
    latin = latin_words(text)  # words, not the letters of a code ("绑定 7kq4m-9xdph")
    return has_cjk(text) and not (len(latin) >= 4 and len(latin) * 2 >= len(CJK_CHAR.findall(text)))


def detect_language(text: str) -> Optional[str]:
    """Return "zh" if the message reads as Chinese (`reads_as_chinese`), "en" if it has English words, else None."""
    if not text:
        return None
    if has_cjk(text):
        return "zh" if reads_as_chinese(text) else "en"
    if _LATIN_WORD.search(_NEUTRAL_WORDS.sub(" ", text)) or re.search(r"\b(?:hi|ok|okay)\b", text, re.IGNORECASE):
        return "en"
    return None


def channel_language(sender_id: str) -> str:
    """The language a channel's users speak when nothing else says: WeChat users Chinese, everyone else English."""
    return "zh" if sender_id.startswith("wechat:") else "en"


def user_language(text: str = "", *, conversation: Optional[str] = None, platform: Optional[str] = None,
                  sender_id: str = "") -> str:
    """The one decision of which language to answer a user in. Precedence, first that says something:

    1. the message itself (`detect_language(text)`): a user who switches language is answered in the new one;
    2. the conversation's language so far (`conversation`: the `language` slot, or the language stored for the
       user by the channel), for messages with no language signal ("👍", an order number, a button payload);
    3. the platform's hint (`platform`: Telegram's `language_code`, "zh-hans" → zh);
    4. the channel's default (`channel_language(sender_id)`).
    """
    said = detect_language(text) if text and not text.startswith("/") else None
    if said:
        return said
    if conversation in LANGUAGES:
        return str(conversation)
    if platform:
        return "zh" if platform.lower().startswith("zh") else "en"
    return channel_language(sender_id)
