"""NLU examples: empty, duplicate or conflicting examples, too few per language, intents and the domain apart."""

from __future__ import annotations

import unicodedata
from typing import Any, Dict, List, Mapping, Tuple

from bot.language import detect_language
from bot.trainer.checks.names import LANG_NAMES, LANGS, RASA_DEFAULT_INTENTS
from bot.trainer.domain_index import DomainIndex
from bot.trainer.problems import Problem
from bot.trainer.sources import Example

__all__ = ["normalize_example", "check_nlu"]

_PUNCT_TRANS = {ord(c): None for c in " \t，。！？、,.!?~～…:：;；'\"“”‘’()（）"}


def normalize_example(text: str) -> str:
    """Lower case, full-width folded, punctuation and spaces removed: what makes two examples 'the same'."""
    return unicodedata.normalize("NFKC", text).lower().translate(_PUNCT_TRANS)


def _duplicates(examples: List[Example]) -> List[Problem]:
    problems: List[Problem] = []
    seen: Dict[str, Example] = {}
    for ex in examples:
        if not ex.text:
            problems.append(Problem(ex.file, ex.line, "error", "example-empty",
                f"empty example under intent '{ex.intent}'; write the user's message after `- ` or delete the line"))
            continue
        norm = normalize_example(ex.text)
        first = seen.get(norm)
        if first is None:
            seen[norm] = ex
        elif first.intent == ex.intent:
            exact = first.text == ex.text
            same = "is repeated" if exact else f"is the same as '{first.text}' except for case/punctuation"
            problems.append(Problem(ex.file, ex.line, "warning" if exact else "info", "example-duplicate",
                f"example '{ex.text}' {same} in intent '{ex.intent}' ({first.file}:{first.line}); "
                f"it teaches the model nothing new, delete this line"))
        else:
            problems.append(Problem(ex.file, ex.line, "error", "example-conflict",
                f"example '{ex.text}' is under intent '{ex.intent}' here but under '{first.intent}' at "
                f"{first.file}:{first.line}; keep it in the one intent it means and delete the other"))
    return problems


def _too_few(examples: List[Example], declared: Mapping[str, Tuple[str, int]],
             vconf: Mapping[str, Any]) -> List[Problem]:
    problems: List[Problem] = []
    per_lang: Dict[str, Dict[str, int]] = {}
    for ex in examples:
        lang = detect_language(ex.text)
        per_lang.setdefault(ex.intent, {"zh": 0, "en": 0})
        if lang in LANGS:
            per_lang[ex.intent][str(lang)] += 1
    minimum = int(vconf["min_examples_per_language"])
    ignore = set(vconf.get("ignore_intents") or [])
    one_lang_ok = set(vconf.get("optional_language_intents") or [])
    for intent, counts in sorted(per_lang.items()):
        file, line = declared.get(intent, ("intents", 0))
        if intent in ignore:
            continue
        for lang in LANGS:
            n = counts[lang]
            if n >= minimum or (n == 0 and intent in one_lang_ok):
                continue
            severity = "error" if n == 0 else "warning"
            problems.append(Problem(file, line, severity, "intent-too-few-examples",
                f"intent '{intent}' has {n} {LANG_NAMES[lang]} example(s); at least {minimum} are needed: "
                f"add how real users say it in {LANG_NAMES[lang]}"))
    return problems


def check_nlu(examples: List[Example], declared: Mapping[str, Tuple[str, int]], domain: DomainIndex,
              config: Mapping[str, Any]) -> List[Problem]:
    """Findings about the examples in intents/ and the intents they declare (config: voice.yml's `validate`)."""
    vconf = config["validate"]
    problems = _duplicates(examples) + _too_few(examples, declared, vconf)
    ignore = set(vconf.get("ignore_intents") or [])
    for intent, (file, line) in sorted(declared.items()):
        if intent not in domain.intents and intent not in RASA_DEFAULT_INTENTS:
            problems.append(Problem(file, line, "error", "intent-not-in-domain",
                f"intent '{intent}' has examples but is not listed under `intents:` in responses/; "
                f"add it there (or fix the spelling)"))
    for intent, (file, line) in sorted(domain.intents.items()):
        if intent not in declared and intent not in ignore:
            problems.append(Problem(file, line, "warning", "intent-no-examples",
                f"intent '{intent}' is in the domain but has no examples in intents/; add examples or remove it"))
    return problems
