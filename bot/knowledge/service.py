"""A service question that names a product or its category: "can i return the earbuds if i already used them".

The store-wide service entries (returns, refunds, warranty, repairs, invoices, shipping, payment, price protection:
FAQ entries with `products: []`) are written without product names. A question about one of those acts that names
what it is about ("耳机用过几次了还能退吗", "need an invoice for the power bank i bought", "how do i send my earbuds in for
repair") shares its words with the product's own entries instead: the category word ("earbuds", 耳机, not a product
name, so `Retriever._without_names` leaves it) pulls the ranking to `buds_lost_earbud`, and "充电宝能开发票吗" to the
power bank's flight entry.

`service_reading` asks such a question once more with every product name and category word replaced by "it" / 它
("can i return it if i already used them"; a trailing "on it" / "for it" dropped: "whats the return window") and keeps that reading when all of these hold:
- the message names a service act (`_SERVICE`: return, refund, warranty, repair, invoice, ship, pay, price drop,
  swap, …): other questions never pay for the second ranking;
- the whole question was ranked (not a spec or catalog answer from products.yml) and did not already get a
  store-wide FAQ entry, nor one a trainer's cue points at ("trade in my broken phone": the trade-in, `cues:`);
- the reading without names is answered (`answer_threshold`) by a store-wide FAQ entry, no out-of-scope example is
  nearer, and it is surer than the whole question's answer (when there was one).
The product's own entries stay where the act is theirs: "耳机丢了一只能单买吗" asked as "它丢了一只能单买吗" still ranks
`buds_lost_earbud` first (not store-wide: nothing changes).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Optional

from bot.knowledge.catalog import CATEGORIES
from bot.knowledge.result import Result
from bot.knowledge.text import has_cjk

if TYPE_CHECKING:
    from bot.knowledge.retriever import Retriever

__all__ = ["service_reading", "asks_service", "fee_spoken_of"]

_SERVICE = re.compile(
    r"退|保修|保固|质保|维修|修|售后|发票|开票|邮|运费|快递|寄|发货|配送|送货|到货|地址|付款|支付|付钱|分期|花呗|信用卡|降价|差价|"
    r"价保|换新|换货|以旧换新|掉价|跌价|便宜了|"
    r"(?<![a-z])(?:return\w*|refund\w*|send (?:it |them )?back|money back|warrant\w*|guarantee\w*|repair\w*|"
    r"invoice\w*|receipt\w*|vat|ship\w*|deliver\w*|courier|postage|address|pay|paid|paying|payment\w*|instal+ments?|"
    r"alipay|wechat pay|credit card|price (?:drop|protection)|(?:dropped|fell|went down) in price|price (?:dropped|fell|went down)|"
    r"cheaper|the difference|swap\w*|exchang\w*|replace\w*|"
    r"trade.?in)(?![a-z])", re.IGNORECASE)
_CATEGORY_WORDS = re.compile("|".join(f"(?:{words})" for words, _ in CATEGORIES.values()), re.IGNORECASE)
_DETERMINER = re.compile(r"(?<![a-z])(?:the|my|your|ur|these|those|this|that|a|an)\s+it(?![a-z])", re.IGNORECASE)
# "whats the return window on the power bank": a trailing "on it" only says what the act is about; without it the
# question reads as the store-wide entry's phrasings do ("whats the return window")
_TRAILING = re.compile(r"\s+(?:on|for|of|about|with)\s+it\s*([?.!]*)\s*$", re.IGNORECASE)


def asks_service(question: str) -> bool:
    """Whether `question` names a store-wide service act (return, warranty, invoice, shipping, payment, …)."""
    return bool(_SERVICE.search(question or ""))


def _store_wide(r: "Retriever", result: Result) -> bool:
    entry = r.kb.faq.get(result.entry_id or "")
    return result.outcome == "answer" and result.kind == "faq" and entry is not None and not entry.products


def service_reading(r: "Retriever", question: str, lang: str, whole: Result, intent: Optional[str],
                    intent_confidence: float) -> Result:
    """`whole`, or the store-wide service entry that answers `question` asked without its product names and category
    words, when that reading is surer (module docstring)."""
    if (not whole.candidates or whole.unknown_products or whole.near_miss or _store_wide(r, whole)
            or not asks_service(question) or r.cues.points_at(question, whole.entry_id)):
        return whole
    mentions = r.matcher.find(question)
    pronoun = "它" if has_cjk(question) else "it"
    text = mentions.without_names(pronoun) if mentions.spans else mentions.text
    neutral = _TRAILING.sub(r"\1", _DETERMINER.sub("it", _CATEGORY_WORDS.sub(pronoun, text)))
    if neutral == mentions.text:
        return whole
    found = r._ask(neutral, lang, intent, intent_confidence)
    if (not _store_wide(r, found) or found.near_miss
            or (whole.outcome == "answer" and found.confidence <= whole.confidence)):
        return whole
    return replace(found, products=whole.products, candidates=whole.candidates,
                   reason=f"a service question, asked without the product's name: {found.reason}")


# A fee asked about by its own word ("就买一张钢化膜 包邮吗", "do i pay shipping on a strap"): an entry that never speaks of
# it (the protector's, the strap's) is not its answer when a candidate that does (the shipping fee's) is ranked near.
_FEE_ASKED = re.compile(r"包邮|运费|邮费|快递费|\bshipping (?:fees?|costs?)\b|\bpay (?:for )?shipping\b|\bfree shipping\b|"
                        r"\bpostage\b|\bdelivery (?:fees?|charges?)\b", re.IGNORECASE)
_FEE_SPOKEN = re.compile(r"包邮|运费|邮费|shipping|postage|delivery", re.IGNORECASE)


def fee_spoken_of(r: "Retriever", question: str, result: Result) -> Result:
    """`result`, or the answer of its first candidate that speaks of the fee `question` asks about by its word."""
    if result.outcome != "answer" or result.kind != "faq" or not _FEE_ASKED.search(question or ""):
        return result
    docs = {d.id: d for d in r.index.docs}

    def speaks(entry_id: str) -> bool:
        doc = docs.get(entry_id)
        return doc is not None and bool(_FEE_SPOKEN.search(" ".join([*doc.questions, *doc.passages])))

    if speaks(result.entry_id or ""):
        return result
    for candidate in result.candidates[1:]:
        if candidate.entry_id in r.kb.faq and speaks(candidate.entry_id):
            found = r.answer_entry(candidate.entry_id, result.language, reason=(
                f"asks about a fee {result.entry_id} never speaks of; {candidate.entry_id} does"))
            if found is not None:
                return replace(found, confidence=result.confidence, candidates=result.candidates, products=result.products,
                               topic=result.topic)
    return result
