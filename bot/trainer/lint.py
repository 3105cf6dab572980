"""`bot lint`: the voice checker for responses and knowledge-base answers (rules of voice.md).

Rules (severities and phrase lists in `voice.yml`):
- banned_phrase: empty praise ("world-class", 极致体验 …);
- bureaucratic: formulas ("please be informed", 尊敬的用户 …);
- too_long: over the sentence/word (en) or character/line (zh) limits, KB answers a little longer;
- too_many_emoji: more than `limits.max_emoji`;
- answer_not_first: the first sentence is a greeting or filler instead of the answer (heuristic;
  greetings/goodbyes/thanks responses are exempt);
- hard_readability: the readability figure is below the bar (en: Flesch reading ease;
  zh: average characters per sentence). Every answer's figure is in `--figures` and `--json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import statistics
import sys
from typing import Any, Dict, List, Optional, Tuple

from bot.language import has_cjk
from bot.trainer import knowledge_texts
from bot.trainer.config import load_config
from bot.trainer.domain_index import index_domain
from bot.trainer.problems import Problem, count, print_problems, sort_problems
from bot.trainer.sources import TextItem, response_texts

__all__ = ["lint_texts", "run_lint", "readability", "main", "register_arguments"]

_EMOJI = re.compile(
    "(?:[\U0001F1E6-\U0001F1FF]{2}|[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2B55\u231A\u231B\u23E9-\u23FA\u3030\u303D]"
    "[\uFE0F\U0001F3FB-\U0001F3FF]*(?:\u200D[\U0001F300-\U0001FAFF\u2600-\u27BF][\uFE0F]*)*)"
)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*|\n+")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:[.,]\d+)*")
_GREETING_ONLY = re.compile(r"^(?:hi|hello|hey|hiya|dear|亲|你好|您好|嗨|哈喽|hello there|hi there)[\s!！~～,，。.]*$", re.I)
EXEMPT_ANSWER_FIRST = ("utter_greet", "utter_goodbye", "utter_thanks", "utter_welcome", "utter_youre_welcome",
                       "utter_iamabot")


@dataclasses.dataclass
class Figure:
    """The readability figure of one answer."""

    key: str
    lang: str
    file: str
    line: int
    measure: str  # "flesch" or "chars/sentence"
    value: float


def sentences(text: str) -> List[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _syllables(word: str) -> int:
    word = word.lower().strip("'’-")
    if not word or word[0].isdigit():
        return 1
    groups = re.findall(r"[aeiouy]+", word)
    n = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    return max(1, n)


def readability(text: str, lang: str) -> Tuple[str, float]:
    """(measure, value): Flesch reading ease for English (higher is easier), characters per sentence for Chinese."""
    plain = _PLACEHOLDER.sub("x", _EMOJI.sub("", text))
    sents = sentences(plain) or [plain]
    if lang == "zh":
        chars = len(re.sub(r"\s", "", plain))
        return "chars/sentence", round(chars / max(1, len(sents)), 1)
    words = _WORD.findall(plain)
    if not words:
        return "flesch", 100.0
    syl = sum(_syllables(w) for w in words)
    score = 206.835 - 1.015 * (len(words) / len(sents)) - 84.6 * (syl / len(words))
    return "flesch", round(score, 1)


def _find(text: str, phrases: List[str]) -> List[str]:
    """Phrases found in `text`, without those inside a longer found phrase."""
    low = text.lower()
    found = sorted({p.lower() for p in phrases if p and p.lower() in low}, key=len, reverse=True)
    return [p for i, p in enumerate(found) if not any(p in longer for longer in found[:i])]


def _problem(item: TextItem, severity: str, code: str, message: str) -> Optional[Problem]:
    if severity == "off":
        return None
    what = f"'{item.key}' ({item.lang or 'no language'})"
    return Problem(item.file, item.line, severity, code, f"{what}: {message}")


def lint_item(item: TextItem, config: Dict[str, Any]) -> Tuple[List[Problem], Figure]:
    """(problems, figure) of one answer text."""
    sev = config["severity"]
    lang = item.lang if item.lang in ("zh", "en") else ("zh" if has_cjk(item.text) else "en")
    text = item.text
    out: List[Optional[Problem]] = []
    other = "zh" if lang == "en" else "en"
    for phrase in _find(text, list(config["banned"].get(lang) or []) + list(config["banned"].get(other) or [])):
        out.append(_problem(item, sev["banned_phrase"], "banned-phrase",
            f"\"{phrase}\" is empty praise; say what the user gets instead (a number, a feeling, a step)"))
    for phrase in _find(text, list(config["bureaucratic"].get(lang) or [])):
        out.append(_problem(item, sev["bureaucratic"], "bureaucratic",
            f"\"{phrase}\" is a bureaucratic formula; say it the way a friend would "
            f"(e.g. \"Sorry about that — let's fix it.\" / \"抱歉，我们马上看看。\")"))
    emoji = _EMOJI.findall(text)
    max_emoji = int(config["limits"]["max_emoji"])
    if len(emoji) > max_emoji:
        out.append(_problem(item, sev["too_many_emoji"], "too-many-emoji",
            f"{len(emoji)} emoji ({' '.join(emoji)}); keep at most {max_emoji}"))
    limits = config["limits"]["kb"][lang] if item.kind == "kb" else config["limits"][lang]
    plain = _PLACEHOLDER.sub("x", text)
    sents = sentences(plain)
    if lang == "en":
        words = len(_WORD.findall(plain))
        if len(sents) > limits["max_sentences"] or words > limits["max_words"]:
            out.append(_problem(item, sev["too_long"], "too-long",
                f"{len(sents)} sentences / {words} words; keep it chat-sized "
                f"(at most {limits['max_sentences']} sentences, {limits['max_words']} words)"))
    else:
        chars = len(re.sub(r"\s", "", plain))
        longest = max((len(line.strip()) for line in plain.splitlines()), default=0)
        if chars > limits["max_chars"]:
            out.append(_problem(item, sev["too_long"], "too-long",
                f"{chars} characters; keep it chat-sized (at most {limits['max_chars']})"))
        elif longest > limits["max_line_chars"]:
            out.append(_problem(item, sev["too_long"], "too-long",
                f"a line of {longest} characters; break it before {limits['max_line_chars']}"))
    if not item.key.startswith(EXEMPT_ANSWER_FIRST) and sents:
        first = sents[0]
        opener = [o for o in _find(first, list(config["openers"].get(lang) or [])) if first.lower().find(o) <= 12]
        if opener or (_GREETING_ONLY.match(first) and len(sents) > 1):
            why = f"\"{opener[0]}\"" if opener else f"a bare greeting (\"{first}\")"
            out.append(_problem(item, sev["answer_not_first"], "answer-not-first",
                f"the first sentence is {why}, not the answer; lead with the answer"))
    measure, value = readability(text, lang)
    figure = Figure(item.key, lang, item.file, item.line, measure, value)
    bar = config["readability"]
    hard = value < bar["en_min_flesch"] if measure == "flesch" else value > bar["zh_max_sentence_chars"]
    if hard and len(text) > 20:
        target = (f"at least {bar['en_min_flesch']}" if measure == "flesch"
                  else f"at most {bar['zh_max_sentence_chars']}")
        out.append(_problem(item, sev["hard_readability"], "hard-to-read",
            f"readability {measure} {value} (want {target}); use shorter sentences and plainer words"))
    return [p for p in out if p is not None], figure


def lint_texts(items: List[TextItem], config: Dict[str, Any]) -> Tuple[List[Problem], List[Figure]]:
    """(problems, figures) of many answers."""
    problems: List[Problem] = []
    figures: List[Figure] = []
    for item in items:
        found, figure = lint_item(item, config)
        problems += found
        figures.append(figure)
    return sort_problems(problems), figures


def collect_texts(repo_root: str, problems: List[Problem]) -> List[TextItem]:
    domain = index_domain(repo_root, problems)
    kb = knowledge_texts.load(repo_root, [])
    return response_texts(domain.files) + kb.texts


def run_lint(repo_root: str, config_path: Optional[str] = None) -> Tuple[List[Problem], List[Figure]]:
    """(problems, figures) for every response and KB answer under `repo_root`."""
    config = load_config(repo_root, config_path)
    load_problems: List[Problem] = []
    items = collect_texts(repo_root, load_problems)
    problems, figures = lint_texts(items, config)
    return sort_problems(load_problems + problems), figures


def _summary(figures: List[Figure]) -> str:
    parts = []
    for lang, measure, better in (("en", "flesch", "higher is easier"), ("zh", "chars/sentence", "lower is easier")):
        values = [f.value for f in figures if f.lang == lang and f.measure == measure]
        if values:
            median = statistics.median(values)
            parts.append(f"{lang}: median {measure} {median:.1f} over {len(values)} answers ({better})")
    return "readability — " + "; ".join(parts) if parts else "readability — no answers found"


def register_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=None, help="project folder (default: CANYU_HOME, the repo)")
    p.add_argument("--config", default=None, help="voice rules file (default: <root>/voice.yml)")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--figures", action="store_true", help="print the readability figure of every answer")
    p.add_argument("--json", action="store_true", help="print findings and figures as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="also show notes (info lines)")


def main(args: argparse.Namespace) -> int:
    """Exit 0 when the voice is clean, 1 on errors (or warnings with --strict)."""
    root = os.path.abspath(args.root or str(args.ctx.settings.home))
    problems, figures = run_lint(root, args.config)
    if args.json:
        print(json.dumps({"problems": [p.to_dict() for p in problems],
                          "figures": [dataclasses.asdict(f) for f in figures]}, ensure_ascii=False, indent=1))
    else:
        if args.figures:
            for f in sorted(figures, key=lambda f: (f.file, f.line)):
                print(f"{f.file}:{f.line}: {f.key} ({f.lang}) {f.measure} {f.value}")
        print_problems(problems, show_info=args.verbose)
        print(_summary(figures))
    if count(problems, "error") or (args.strict and count(problems, "warning")):
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bot lint")
    register_arguments(parser)
    sys.exit(main(parser.parse_args()))
