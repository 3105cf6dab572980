"""Asking a message part by part (docs/dialogue.md, "One answer path", step 3).

- `ask_parts`: a message that asks several questions ("手环9 多少钱？有粉色的吗", `bot.knowledge.multi.question_parts`)
  gets the confident answer of each part, one per entry and in the message's order, when at least two parts are
  answered. A part that names no product is asked about the products the whole message names.
- `by_clause`: a long message the ranking is unsure of as a whole ("更新到一半失败了 黑屏了咋办 急") is asked clause
  by clause (`bot.knowledge.multi.clause_questions`).

Both ask through the retriever's own single-question ranking (`Retriever._ask`, `Retriever.ask`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, List, Optional, Tuple

from bot.knowledge.catalog import asked_category_products, category_products
from bot.knowledge.multi import clause_questions, clauses, question_parts
from bot.knowledge.result import Result
from bot.knowledge.specs import detect_spec
from bot.language import detect_language

if TYPE_CHECKING:
    from bot.knowledge.retriever import Retriever

__all__ = ["ask_parts", "by_clause"]


def _repeats(earlier: Result, later: Result) -> bool:
    """The same entry, or an answer that opens with what an earlier part already said ("下单后多久发货 能指定顺丰吗":
    the shipping overview repeats the shipping-time answer): saying it twice answers nothing more."""
    if earlier.entry_id == later.entry_id:
        return True
    first = re.split(r"(?<=[。！？.!?])\s*|\n", (later.text or "").strip())[0].strip()
    return len(first) >= 8 and first in (earlier.text or "")


def by_clause(r: "Retriever", question: str, lang: str, whole: Result) -> Result:
    """A long message the ranking is unsure of as a whole ("更新到一半失败了 黑屏了咋办 急"): the most confident
    answer (hedged included) one of its clauses gets, when it is an FAQ entry among the whole message's best
    candidates (two rankings agree on it), or two neighbouring clauses are `sure_threshold` sure of an entry about
    the product named ("changed my mind about the buds, opened them already, can i still return?")."""
    near = {c.entry_id: rank for rank, c in enumerate(whole.candidates)}
    best: Optional[Result] = None

    def key(found: Result) -> Tuple[int, float]:  # the entry the whole message ranks higher, then the surer clause
        return -near.get(found.entry_id or "", len(near)), found.confidence

    named = r._named_products(question)
    names = "" if len(named) > 1 else " ".join(r.kb.products[p].name.get(lang) or p for p in named)
    single = clauses(question)  # alone, a short clause may mean anything ("能换新的么"); two neighbours say more
    pieces = [(piece, piece not in single) for piece in clause_questions(question)]
    if names:  # "…突然右边就不响了": also with the earbuds another clause named
        pieces += [(f"{names} {piece}", two) for piece, two in pieces
                   if not r.matcher.find(piece).known and not category_products(r.kb.products, piece)]
    for piece, two in pieces:
        found = r._hedge(r._ask(piece, lang), piece)
        doc = r._docs.get(found.entry_id or "")
        about = set(doc.meta.get("products") or []) if doc is not None else set()
        agrees = found.entry_id in near or (two and found.confidence >= r.config.sure_threshold
                                            and (not about or not named or bool(about & set(named))))
        if found.outcome == "answer" and found.kind == "faq" and agrees and (best is None or key(found) >= key(best)):
            best = found
    if best is None:
        return whole
    return replace(best, candidates=whole.candidates, reason=f"a clause of the message: {best.reason}")


def ask_parts(r: "Retriever", question: str, language: Optional[str] = None, intent: Optional[str] = None,
              intent_confidence: float = 0.0) -> List[Result]:
    """Several questions in one message (`bot.knowledge.multi`): the confident answers of its parts, one per
    entry and in the message's order, when at least two parts are answered; else []. A part that names no
    product is asked about the products the whole message names ("手环9 多少钱？有粉色的吗")."""
    parts = question_parts(question)
    if not parts:
        return []
    lang = detect_language(question) or language or "en"
    named = r.matcher.find(question).known
    # "耳机能连两个手机不 另外多少钱": the earbuds' price; the phones are only what they connect to (bot.knowledge.roles)
    category = [] if named else asked_category_products(r.kb.products, r._subject_text(question))
    answers: List[Result] = []
    for part in parts:
        mentions = r.matcher.find(part)
        asked = part
        about = named or (category if detect_spec(part) else [])  # "你们的手机有没有512g的 价格多少"
        if about and not mentions.known and not mentions.unknown:
            asked = " ".join(r.kb.products[p].name.get(lang) or r.kb.products[p].name.get("en", p)
                             for p in about) + " " + part
        result = r.ask(asked, lang, intent, intent_confidence)
        if result.outcome != "answer" and asked != part:  # "…? also whats the warranty": not about the product
            result = r.ask(part, lang, intent, intent_confidence)
        if result.outcome == "answer" and not any(_repeats(a, result) for a in answers):
            result.reason = f"part {len(answers) + 1} of a message with {len(parts)} questions: {result.reason}"
            answers.append(result)
    return answers if len(answers) >= 2 else []
