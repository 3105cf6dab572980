"""The knowledge base's own words: named terms it never mentions, and typos of the words it uses.

Named terms the knowledge base never mentions: "耳机支持LDAC吗", "do buds 5 work with a ps5".

A "did you mean" offers entries that are near the question as a whole. When the question names a thing
(a codec, a console, a format: written with a digit, in capitals, in camel case, or in Latin letters inside
Chinese) that
no phrasing, answer, tag or product name of the knowledge base contains, none of those entries can be about
it, and the honest reply is "not sure" (voice rule 7: never guess). Used by the retriever on its "did you
mean" band only; a confident answer is left alone, and plain words (typos, slang) never count.
"""

from __future__ import annotations

import functools
import importlib
import re
import string
from collections import Counter
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterable, List, Sequence, Set, Tuple

from bot.knowledge.text import _EN_STOP, _jieba, has_cjk
from bot.language import reads_as_chinese

if TYPE_CHECKING:  # pragma: no cover
    from bot.knowledge.index import Doc
    from bot.knowledge.model import Product

__all__ = ["kb_texts", "vocabulary", "spelled", "in_chinese", "unknown_terms", "novel_nouns", "fix_swaps", "NovelWords"]

_WORD = re.compile(r"[A-Za-z0-9]+")


def kb_texts(docs: Sequence["Doc"], products: Dict[str, "Product"]) -> Tuple[List[str], List[str]]:
    """The knowledge base's own words: (its answers, fact texts and product names, aliases and model codes; its
    question phrasings). The retriever's vocabulary and spelling are built from them, and a synonym's KB word must
    occur in them (bot.knowledge.synonyms)."""
    clean = [t for d in docs for t in (*d.passages, d.extra)] + [
        n for p in products.values()
        for n in (*p.name.values(), *(a for v in p.aliases.values() for a in v), *p.model_codes)]
    return clean, [q for d in docs for q in d.questions]


def vocabulary(texts: Iterable[str], joined: bool = True) -> FrozenSet[str]:
    """Every Latin/digit token of `texts`, lower case; with `joined`, neighbours also joined ("Buds 5" → "buds5")."""
    words = set()
    for text in texts:
        found = [w.lower() for w in _WORD.findall(text or "")]
        words.update(found)
        if joined:
            words.update(a + b for a, b in zip(found, found[1:], strict=False))
    return frozenset(words)


# Latin words Chinese speakers use as plain words ("卡在logo界面", "app闪退"): they name no codec or device.
_PLAIN = frozenset("logo app apps bug bugs ok okay vip ui diy emoji vlog wifi hi".split())


def spelled(clean: Iterable[str], phrasings: Iterable[str], joined: bool = True) -> FrozenSet[str]:
    """The words to trust as spelled right, for `fix_swaps`: every word of `clean` texts (answers, names, tags) and
    the words at least two phrasings use. Trainers write typos into single phrasings on purpose ("3 prots"), so
    that the ranking meets them; a typo fixer must not take them for words."""
    counts = Counter(w for p in phrasings for w in vocabulary([p], joined))
    return vocabulary(clean, joined) | frozenset(w for w, n in counts.items() if n >= 2)


def _named(word: str, in_chinese: bool) -> bool:
    if not re.search(r"[A-Za-z]", word) or word.lower() in _PLAIN:  # a number alone ("13") names nothing either
        return False
    return (bool(re.search(r"\d|[a-z][A-Z]", word)) or (len(word) >= 2 and word.isupper())
            or (in_chinese and len(word) >= 2))


def in_chinese(text: str) -> bool:
    """Latin words set in Chinese ("耳机支持LDAC吗"), not an English sentence with a Chinese word in it
    (`bot.language.reads_as_chinese`)."""
    return reads_as_chinese(text)


def unknown_terms(text: str, known: FrozenSet[str]) -> List[str]:
    """The named terms of `text` that the vocabulary `known` lacks (plural "s" forgiven)."""
    chinese = in_chinese(text or "")
    out = []
    for word in _WORD.findall(text or ""):
        low = word.lower()
        if _known_form(low, known) or not _named(word, chinese):
            continue
        out.append(word)
    return out


def _known_form(word: str, known: FrozenSet[str]) -> bool:
    """`word`, or another form of it, is in `known`: "disconnecting" where the KB says "disconnects"."""
    if word in known or (word.endswith("s") and word[:-1] in known):
        return True
    stems = [word[:-len(e)] for e in _ENDINGS if word.endswith(e) and len(word) - len(e) >= 4]
    return any(stem + e in known for stem in stems for e in ("", "e", *_ENDINGS))


def _swapped(word: str, known: FrozenSet[str]) -> List[str]:
    return sorted({word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)
                   if word[i] != word[i + 1]} & known)


def _extra_letter(word: str, words: FrozenSet[str]) -> List[str]:
    """A letter typed twice ("lifee", "shippping", "warrantty"); another extra letter is mostly a word the vocabulary
    lacks ("swims" is no "sims", "theyre" no "there")."""
    return sorted({word[:i] + word[i + 1:] for i in range(1, len(word)) if word[i] == word[i - 1]} & words)


def _missing_letter(word: str, words: FrozenSet[str]) -> List[str]:
    found = {word[:i] + c + word[i:] for i in range(len(word) + 1) for c in string.ascii_lowercase} & words
    return sorted(found - {word + "s"})  # "window" is not a typo of "windows"


def fix_swaps(text: str, known: FrozenSet[str], words: FrozenSet[str] = frozenset()) -> str:
    """Typos of the words the knowledge base uses. A word of three letters or more that the vocabulary `known`
    lacks becomes the one known word that a single swap of two neighbouring letters makes of it ("how mcuh",
    "waht colours", "teh 14"; of three letters only a function word: "ois" stays), else the one word of `words` (single words, no joined names) that one missing
    letter makes of it ("how mch", "batery", "waterprof", "shiping"), else (five letters or more) one letter typed
    twice ("lifee"). Two or more candidates: left as typed."""
    def fix(match: "re.Match[str]") -> str:
        word = match.group(0)
        low = word.lower()
        if len(low) < 3 or low in known or not low.isalpha() or low in english_words():
            return word  # "ran outta space" is no typo of "rain", nor "hey" of "they"
        # three letters swap only into a function word ("hwo"): "ois" is an acronym, not "ios"
        found = [w for w in _swapped(low, known) if len(low) > 3 or w in _EN_STOP] or _missing_letter(low, words) or (
            _extra_letter(low, words) if len(low) > 4 else [])  # "battery lifee", "warrantty"
        return found[0] if len(found) == 1 else word

    return _WORD.sub(fix, text or "")


@functools.lru_cache(maxsize=1)
def english_words() -> FrozenSet[str]:
    """The whole English words of the bundled sentence model's vocabulary (30,522 WordPiece entries: "ran", "hey",
    "shoot"; not "batery" or "waht"): a word it holds is a word, not a typo. Empty when the model is not installed."""
    from bot.embedding_models import bundled_model_path
    from bot.errors import ConfigError

    try:
        lines = (bundled_model_path() / "vocab.txt").read_text(encoding="utf-8").split()
    except (OSError, ConfigError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.isascii() and w.islower())


# jieba's parts of speech for plain nouns: not names of people or places ("多伦多" is where a parcel goes), nor
# verbal nouns ("游泳", "优惠"), which the knowledge base words differently.
_NOUN_FLAGS = frozenset({"n", "nz", "nt"})


def novel_nouns(text: str, known_text: str) -> List[str]:
    """The Chinese nouns of two characters or more in `text` that `known_text` (all the knowledge base's Chinese,
    joined) never contains: "耳机能当助听器用不" → 助听器. For the "did you mean" band only, like `unknown_terms`: near a
    confident answer a new noun is mostly colour ("手机掉马桶里了 还能保修不")."""
    if not has_cjk(text or ""):
        return []
    _jieba()
    posseg: Any = importlib.import_module("jieba.posseg")  # its HMM tables load on first use
    return [pair.word for pair in posseg.lcut(text) if pair.flag in _NOUN_FLAGS and len(pair.word) >= 2
            and has_cjk(pair.word) and pair.word not in known_text]


_ENDINGS = ("s", "es", "ed", "ing", "ly")


class NovelWords:
    """The plain English words of five letters or more that the knowledge base never uses, nor one letter off one
    it uses: "buds 5 spatial audio?", "any foldable phones coming", "spotify offline on band 9?". For the "did
    you mean" band only, like `novel_nouns` for Chinese: the entries near such a question cannot be about it."""

    def __init__(self, known: FrozenSet[str]) -> None:
        self._known = known
        # the KB's words without their ending: "disconnecting" is a form of "disconnects", "charged" of "charging"
        self._stems = {w[:-len(e)] for w in known for e in _ENDINGS if w.endswith(e) and len(w) - len(e) >= 4}
        self._deleted: Dict[str, Set[int]] = {}  # a KB word with one letter taken out -> where it was taken out
        for w in known:
            if len(w) >= 4 and w.isalpha():
                for i in range(len(w)):
                    self._deleted.setdefault(w[:i] + w[i + 1:], set()).add(i)

    def _near(self, word: str) -> bool:
        """A word of the KB with an ending ("cycles"), or one letter added, missing, changed or swapped with the next (a
        typo): a letter taken out of both at the same place or next to it, not anywhere ("spatial" is no "partial")."""
        if any(word.endswith(e) and (word[:-len(e)] in self._known or word[:-len(e)] + "e" in self._known
                                     or word[:-len(e)] in self._stems) for e in _ENDINGS):
            return True
        cut = [word[:i] + word[i + 1:] for i in range(len(word))]  # the word with its i-th letter taken out
        if word in self._deleted or any(c in self._known for c in cut):
            return True
        return any(abs(i - j) <= 1 for i, c in enumerate(cut) for j in self._deleted.get(c, ()))

    def __call__(self, text: str) -> List[str]:
        if has_cjk(text or ""):
            return []
        return [w for w in re.findall(r"[a-z]+", (text or "").lower())
                if len(w) >= 5 and w not in _EN_STOP and w not in self._known and not self._near(w)]
