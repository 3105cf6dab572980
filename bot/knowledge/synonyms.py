"""Fans' words for the knowledge base's words: `synonyms:` in `knowledge/config.yml`.

"米粒14能装两张电话卡不" ranked phone_dual_sim at 0.13: the sentence model does not see 电话卡 as the SIM cards the
entry talks about; asked as "…两张SIM卡不" it is 0.84 sure. As Dialogflow's entity synonyms and Rasa's
`synonyms:` do for entity values, each word a fan uses is read as the KB's word before the question is ranked:

    synonyms:
      SIM卡: [电话卡, 手机卡, 流量卡]
      refund: [money back]

Latin words match whole words (a Chinese character ends one), case-insensitively; Chinese words anywhere. The longest user word wins where two
overlap. Each KB word must occur in the knowledge base (a synonym of a word it never uses could not help), and no
user word may stand for two KB words: `load_synonyms` says which, in which file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, Optional

from bot.errors import ConfigError
from bot.knowledge.answering import config_section
from bot.knowledge.terms import in_chinese
from bot.knowledge.text import has_cjk

__all__ = ["Synonyms", "load_synonyms", "CodeSwitch", "load_code_switch"]


class Synonyms:
    """Replaces fans' words by the knowledge base's words."""

    def __init__(self, words: Dict[str, str]) -> None:
        self.words = dict(words)  # user word (lower case) -> KB word
        alternatives = sorted(self.words, key=len, reverse=True)
        parts = [re.escape(w) if has_cjk(w) else rf"(?<![A-Za-z0-9_-]){re.escape(w)}(?![A-Za-z0-9_-])"
                 for w in alternatives]  # a Latin word ends at a Chinese character too: "steam deck能用…"
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


class CodeSwitch:
    """A fan's English word in a Chinese sentence, or a Chinese word in an English one, read in the sentence's
    language: `code_switch:` in `knowledge/config.yml` (English word: Chinese word, both as the KB writes them).

    "14pro的camera咋样", "buds5 noise cancelling好用吗", "does the 14 pro come with a 充电器": a ranking meets a word of
    the other language, which its BM25 never saw and its sentence model reads poorly; "does the 14 pro come with a
    充电器" was ranked as Chinese (it has Chinese characters) and got "did you mean". Whether a sentence is Chinese:
    `terms.in_chinese` (Latin words set in Chinese, not an English sentence with a Chinese word in it)."""

    def __init__(self, pairs: Dict[str, str]) -> None:
        self._to_zh = {en.lower(): zh for en, zh in pairs.items()}
        self._to_en = {zh: en for en, zh in pairs.items()}
        latin = sorted(self._to_zh, key=len, reverse=True)
        chinese = sorted(self._to_en, key=len, reverse=True)
        self._latin = re.compile("|".join(rf"(?<![A-Za-z]){re.escape(w)}(?:s|es)?(?![A-Za-z])" for w in latin),
                                 re.IGNORECASE) if latin else None
        self._chinese = re.compile("|".join(re.escape(w) for w in chinese)) if chinese else None

    def _zh_of(self, word: str) -> str:
        low = word.lower()  # "colours": the plural of a listed word
        return self._to_zh.get(low) or self._to_zh.get(low[:-1]) or self._to_zh.get(low[:-2], word)

    def apply(self, text: str) -> str:
        if not text or not has_cjk(text):
            return text
        if in_chinese(text):
            return self._latin.sub(lambda m: self._zh_of(m.group(0)), text) if self._latin else text
        english = self._chinese.sub(lambda m: f" {self._to_en[m.group(0)]} ", text) if self._chinese else text
        return text if has_cjk(english) else english  # "how to 开发票": half a word read across helps nothing


def load_code_switch(root: Path, kb_texts: Iterable[str] = ()) -> CodeSwitch:
    """`code_switch:` of `<root>/config.yml` (none: nothing read across); `kb_texts` checks each word is the KB's."""
    path, raw = config_section(root, "code_switch")
    raw = raw or {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ConfigError(f"{path}: code_switch must map English words to Chinese words (e.g. `battery: 电池`), got {raw!r}")
    texts = list(kb_texts)
    english = "\n".join(t for t in texts if not has_cjk(t)).lower()
    chinese = "\n".join(t for t in texts if has_cjk(t))
    for en, zh in raw.items():
        if texts and not re.search(rf"(?<![a-z]){re.escape(en.lower())}(?![a-z])", english):
            raise ConfigError(f"{path}: code_switch.{en}: the knowledge base's English never uses '{en}'")
        if texts and zh not in chinese:
            raise ConfigError(f"{path}: code_switch.{en}: the knowledge base's Chinese never uses '{zh}'")
    return CodeSwitch(raw)
