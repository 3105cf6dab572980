"""Fans' words for the knowledge base's words: `synonyms:` in `knowledge/config.yml`.

"米粒14能装两张电话卡不" ranked phone_dual_sim at 0.13: the sentence model does not see 电话卡 as the SIM cards the
entry talks about; asked as "…两张SIM卡不" it is 0.84 sure. As Dialogflow's entity synonyms and Rasa's
`synonyms:` do for entity values, each word a fan uses is read as the KB's word before the question is ranked:

    synonyms:
      SIM卡: [电话卡, 手机卡, 流量卡]
      refund: [money back]

Latin words match whole words, case-insensitively; Chinese words anywhere. The longest user word wins where two
overlap. Each KB word must occur in the knowledge base (a synonym of a word it never uses could not help), and no
user word may stand for two KB words: `load_synonyms` says which, in which file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, Optional

from bot.errors import ConfigError
from bot.knowledge.answering import config_section
from bot.knowledge.text import has_cjk

__all__ = ["Synonyms", "load_synonyms"]


class Synonyms:
    """Replaces fans' words by the knowledge base's words."""

    def __init__(self, words: Dict[str, str]) -> None:
        self.words = dict(words)  # user word (lower case) -> KB word
        alternatives = sorted(self.words, key=len, reverse=True)
        parts = [re.escape(w) if has_cjk(w) else rf"(?<![\w-]){re.escape(w)}(?![\w-])" for w in alternatives]
        self._pattern: Optional["re.Pattern[str]"] = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def apply(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self.words[m.group(0).lower()], text)


def load_synonyms(root: Path, kb_texts: Iterable[str] = ()) -> Synonyms:
    """`synonyms:` of `<root>/config.yml` (none: nothing replaced); `kb_texts` checks each KB word is used."""
    path, raw = config_section(root, "synonyms")
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, list) for k, v in raw.items()):
        raise ConfigError(f"{path}: synonyms must map each knowledge-base word to a list of fans' words "
                          f"(e.g. `SIM卡: [电话卡, 手机卡]`), got {raw!r}")
    corpus = "\n".join(kb_texts).lower()
    words: Dict[str, str] = {}
    for kb_word, theirs in raw.items():
        if corpus and kb_word.lower() not in corpus:
            raise ConfigError(f"{path}: synonyms.{kb_word}: the knowledge base never uses '{kb_word}'; "
                              f"name a word its entries or products.yml use")
        for word in theirs:
            key = str(word).strip().lower()
            if key in words and words[key] != kb_word:
                raise ConfigError(f"{path}: synonyms: '{word}' stands for both '{words[key]}' and '{kb_word}'")
            if key:
                words[key] = kb_word
    return Synonyms(words)
