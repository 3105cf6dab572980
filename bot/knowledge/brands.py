"""Other brands a question names: "is the 14 pro better than the pixel 10", "120W的头能给苹果手机充吗".

The knowledge base knows our own products. When a question names another brand or its product and the entry
the ranking chose never mentions it, that entry is about ours, not theirs: answering would be a guess dressed as
a fact (voice rule 7: never guess). The honest reply is that we only know our own, and what we can tell about
ours. An entry that does mention the brand ("手环9能配 iPhone 吗" → `band_iphone`) answers as usual, and so does an
entry about our product when the brand is only the device it is used with ("does the power bank fast charge an
iPhone": `bot.knowledge.roles`); "is the iphone 15 waterproof" asks about theirs.

The list is the trainers': `knowledge/config.yml` `answering.other_brands`. Latin names match whole words, case
aside ("pixel", "ipad"); Chinese names match anywhere ("苹果", "华为").
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Iterable, List, Mapping, Optional, Sequence

from bot.knowledge.answering import asks_question
from bot.knowledge.multi import message_pieces
from bot.knowledge.result import Result

if TYPE_CHECKING:
    from bot.knowledge.retriever import Retriever

__all__ = ["brands_named", "aside_brands", "unanswered_brands", "UsedWith", "not_brand_terms", "other_brand"]


def _pattern(brand: str) -> "re.Pattern[str]":
    if re.fullmatch(r"[A-Za-z0-9 .+-]+", brand):
        return re.compile(rf"(?<![A-Za-z0-9]){re.escape(brand)}(?![A-Za-z])", re.IGNORECASE)
    return re.compile(re.escape(brand))


def brands_named(text: str, brands: Iterable[str]) -> List[str]:
    """The brands of `brands` that `text` names, in the list's order."""
    return [b for b in brands if b and _pattern(b).search(text or "")]


def not_brand_terms(text: str, terms: Iterable[str], brands: Iterable[str]) -> List[str]:
    """`terms` (words the knowledge base never uses) less another brand's name and the model named right after it
    ("an old samsung s21": s21 is theirs, the brands rule judges it)."""
    brands = [b for b in brands if b]
    named = brands_named(text, brands)
    return [t for t in terms if t.lower() not in brands and not any(
        re.search(rf"{re.escape(b)}\W*{re.escape(t)}(?![A-Za-z0-9])", text, re.IGNORECASE) for b in named)]


# A brand the user comes from is where they stand, not what they ask about ("我之前一直用的vivo … 保修期到底多长",
# "trading in my old huawei when i buy the pro", "coming from an iphone mini"): the answer about ours stands.
_COMES_FROM = re.compile(r"(?:之前|以前|原来|一直|旧|老)[^，。？?！!,.]{0,6}$|\b(?:my (?:old|current|previous)|coming from|"
                         r"switching from|used to (?:have|use)|had|trad(?:e|ing) in)(?: (?:my|an?|old|the))*\s*$",
                         re.IGNORECASE)


def _comes_from(text: str, brand: str) -> bool:
    return all(_COMES_FROM.search(text[max(0, m.start() - 24): m.start()]) for m in _pattern(brand).finditer(text))


# A brand said only in a piece that neither asks nor compares, beside a piece that asks ("包装盒里带不带充电头啊 家里的都是
# 苹果的", "my wife has a samsung, does the band 9 show whatsapp messages"), is the user's situation, not the question.
# 哪个 compares only two things named with 和/跟/与 ("华为手环和你们手环9哪个好"), not "iPhone上要装哪个app".
_COMPARES = re.compile(r"\bvs\.?|\bor\b|或者|\bversus\b|\bcompar\w*|\bbetter\b|\bworse\b|\bthan\b|比|对比|还是|区别|差别"
                       r"|[和跟与].*哪[个款]", re.IGNORECASE)


def _said_aside(text: str, brand: str) -> bool:
    pieces = message_pieces(text)
    asking = [p for p in pieces if asks_question(p)]
    if len(pieces) < 2 or not asking:
        return False
    said = [p for p in pieces if _pattern(brand).search(p)]
    return bool(said) and not any(asks_question(p) or _COMPARES.search(p) for p in said)


# Where the brand stands in the message (start, end) -> whether it is only the device our product is used with
UsedWith = Callable[[int, int], bool]


def aside_brands(text: str, brands: Iterable[str], used_with: Optional[UsedWith] = None) -> List[str]:
    """The brands of `brands` that `text` names as what it asks about: not a brand the user comes from, and not one
    that is only the device our product is used with (`used_with`, bot.knowledge.roles: "charge my iPhone")."""
    return [b for b in brands_named(text, brands) if not _comes_from(text, b) and not _said_aside(text, b)
            and not (used_with is not None and all(used_with(*m.span()) for m in _pattern(b).finditer(text)))]


def unanswered_brands(text: str, brands: Mapping[str, Sequence[str]], entry_texts: Iterable[str],
                      used_with: Optional[UsedWith] = None) -> List[str]:
    """The brands `text` names that none of `entry_texts` (the chosen entry's phrasings and answer) covers: by
    the brand's own name or one of its words (`samsung: [android, 安卓]`); a brand the user comes from is left out,
    and so is one our product is only used with (`aside_brands`)."""
    named = aside_brands(text, brands, used_with)
    if not named:
        return []
    known = " ".join(entry_texts)
    # compared with ours ("你们和苹果比哪个好"), no entry answers it, even one that mentions the brand ("能连苹果手机吗")
    return [b for b in named if _compared(text, b) or not any(_pattern(w).search(known) for w in (b, *brands[b]))]


def _compared(text: str, brand: str) -> bool:
    return any(_pattern(brand).search(p) and _COMPARES.search(p) for p in message_pieces(text))


def other_brand(retriever: "Retriever", result: Result, question: str) -> Result:
    """Unsure when the question names another brand that the chosen entry never mentions (bot.knowledge.brands);
    an unsure reply to a question naming one says we only know our own."""
    if result.kind == "catalog" and result.outcome == "answer":
        return result
    doc = retriever._docs.get(result.entry_id or "")
    texts = [*doc.questions, *doc.passages, result.text or ""] if doc is not None else [result.text or ""]
    # "does the power bank fast charge an iPhone": the brand is only what our product is used with; an answer
    # about the product asked about stands, and not knowing says "not sure", not "I only know ours"
    subject = set(retriever._named_products(retriever.roles.subject_text(question)))  # none: their device is the subject
    about = set(doc.meta.get("products") or []) if doc is not None else set()
    ours = bool(subject & (about | set(result.products or []))) or (result.outcome == "unsure" and bool(subject))
    used_with = (lambda start, end: retriever.roles.used_with(question, start, end)) if ours else None
    brands = (unanswered_brands(question, retriever.answering.other_brands, texts, used_with)
              if result.outcome != "unsure" else aside_brands(question, retriever.answering.other_brands, used_with))
    if not brands:
        return result
    reason = result.reason if result.outcome == "unsure" else (
        f"asks about {brands[0]}, which {result.entry_id} never mentions (was {result.outcome} "
        f"at {result.confidence:.2f})")
    return replace(result, outcome="unsure", text=None, offer=None, hedged=False, other_brand=brands[0],
                   reason=reason)
