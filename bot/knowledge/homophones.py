"""Chinese typos of the knowledge base's own words: a character typed for another that sounds the same.

Chinese fans type with pinyin input methods, so their typos are homophones, not swapped letters: "14pro点池多大"
(电池), "耳几出黑色没有" (耳机), "手机言色" (颜色). A run of two or three characters in a question is read as a
word of the knowledge base when:
- it is not itself a word (not in jieba's dictionary, nowhere in the knowledge base's text),
- it differs from that word in exactly one character, and the two characters share a toneless pinyin reading,
- and no other word of the knowledge base fits the same way.
Anything else is left as typed. `bot.knowledge.terms.fix_swaps` does the same for Latin letters.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, FrozenSet, List, Set, Tuple

from bot.knowledge.text import _jieba
from bot.language import CJK_CHAR

__all__ = ["HomophoneFixer"]

_LENGTHS = (3, 2)  # longer words first: "充电宝" before "充电"
_NOUNS = frozenset({"n", "nz", "vn"})  # jieba's plain nouns; not names of people or places ("上市", "宝能")
_RARE = 100  # a dictionary word seen fewer times than this in jieba's corpus may be a typo's piece ("几出": 12)
_MIN_COUNT = 4  # times a noun is named in the KB before a typo is read as it (jieba tags a few odd runs as nouns)
_Key = Tuple[str, str, str]  # (before the character, after it, a toneless reading of it)


class HomophoneFixer:
    """Replaces one-character homophone typos of the words of `known_text` (all of the KB's Chinese, joined)."""

    def __init__(self, known_text: str) -> None:
        self._known_text = known_text
        self._pinyin: Any = importlib.import_module("pypinyin")
        self._readings: Dict[str, FrozenSet[str]] = {}  # per character; a cache, filled as characters come
        self._dictionary: Dict[str, int] = _jieba().dt.FREQ
        posseg: Any = importlib.import_module("jieba.posseg")
        counts: Dict[str, int] = {}
        for pair in posseg.lcut(known_text):
            if pair.flag in _NOUNS:
                counts[pair.word] = counts.get(pair.word, 0) + 1
        # the KB's nouns (电池, 耳机, 颜色, 屏幕…), named often: what a question is about, not its grammar
        words = {w for w, n in counts.items() if n >= _MIN_COUNT and len(w) in _LENGTHS and all(CJK_CHAR.match(c) for c in w)}
        self._by_key: Dict[_Key, Set[str]] = {}
        for word in words:
            for key in self._keys(word):
                self._by_key.setdefault(key, set()).add(word)

    def _reading(self, char: str) -> FrozenSet[str]:
        found = self._readings.get(char)
        if found is None:
            style = self._pinyin.Style.NORMAL
            # the character's usual reading only: a pinyin input method offers a character for it, not for a rare one
            # ("网" is not a typo of the "方" of 官方, which can be read wang)
            found = frozenset(self._pinyin.pinyin(char, style=style, heteronym=False)[0])
            self._readings[char] = found
        return found

    def _keys(self, word: str) -> List[_Key]:
        return [(word[:i], word[i + 1:], sound) for i, char in enumerate(word) for sound in self._reading(char)]

    def _is_word(self, run: str) -> bool:
        return self._dictionary.get(run, 0) > 0 or run in self._known_text

    def _meant(self, run: str) -> str:
        """The one KB word `run` is a homophone typo of, or "" ."""
        if self._is_word(run):
            return ""
        meant = {w for key in self._keys(run) for w in self._by_key.get(key, ()) if w != run}
        return next(iter(meant)) if len(meant) == 1 else ""

    def _suspects(self, text: str) -> List[bool]:
        """Per character: whether jieba left it out of every common word (alone, in a run it made up: "点池", or in a
        word its dictionary barely knows: "耳几出黑色没有" cut as 耳 / 几出)."""
        out: List[bool] = []
        for piece in _jieba().lcut(text):
            rare = self._dictionary.get(piece, 0) < _RARE and piece not in self._known_text
            out += [len(piece) == 1 or rare] * len(piece)
        return out

    def fix(self, text: str) -> str:
        """`text` with each homophone typo of a KB word replaced by that word ("点池多大" → "电池多大")."""
        if not text or not CJK_CHAR.search(text):
            return text
        chars, suspect = list(text), self._suspects(text)
        i = 0
        while i < len(chars):
            for length in _LENGTHS:
                run = "".join(chars[i:i + length])
                if len(run) == length and all(suspect[i:i + length]) and all(CJK_CHAR.match(c) for c in run):
                    meant = self._meant(run)
                    if meant:
                        chars[i:i + length] = list(meant)
                        i += length - 1
                        break
            i += 1
        return "".join(chars)
