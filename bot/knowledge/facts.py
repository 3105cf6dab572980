"""Spec and catalog facts as documents of the one ranking, beside the FAQ entries.

`products.yml` answers spec questions ("how heavy r the buds") and catalog questions ("any fitness
bands?"). The exact patterns of `bot.knowledge.specs` and `bot.knowledge.catalog` catch the plain
phrasings; everything else is found by the same hybrid ranking as the FAQ: every fact the data can
answer becomes a document (`spec:<product>:<spec>`, `catalog:lineup[:<category>]`) with a few generic
phrasings per language, and the ranking decides between a spec fact, a catalog fact and an FAQ entry.
The answer text is rendered from the data when the document wins, with the user's question (so
"can I swim with it?" still gets its yes or no).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from bot.knowledge.catalog import CATEGORIES, render_catalog
from bot.knowledge.index import Doc
from bot.knowledge.loader import KnowledgeBase, Product
from bot.knowledge.spec_words import asks_part_price
from bot.knowledge.specs import render_spec

__all__ = ["fact_docs", "kb_docs", "render_fact", "SPEC_PHRASINGS"]

# Generic phrasings per spec ({n}: the product's names). More phrasings here = better matching.
SPEC_PHRASINGS: Dict[str, Dict[str, List[str]]] = {
    "battery": {"en": ["{n} battery", "How long does the {n} last on one charge?", "{n} battery life",
                       "How many mAh is the {n} battery?"],
                "zh": ["{n} 电池多大", "{n} 续航多久", "{n} 充一次电能用几天", "{n} 电池容量多少毫安"]},
    "weight": {"en": ["How heavy is the {n}?", "{n} weight in grams"], "zh": ["{n} 多重", "{n} 重量多少克"]},
    "screen": {"en": ["How big is the {n} screen?", "{n} display size and refresh rate"],
               "zh": ["{n} 屏幕多大", "{n} 屏幕尺寸和刷新率"]},
    "water_resistance": {"en": ["Is the {n} waterproof?", "{n} water resistance rating"],
                         "zh": ["{n} 防水吗", "{n} 防水等级"]},
    "charging": {"en": ["How fast does the {n} charge?", "{n} charging speed in watts", "Can the {n} charge wirelessly?"],
                 "zh": ["{n} 充电多快", "{n} 快充多少瓦", "{n} 支持无线充电吗"]},
    "price": {"en": ["How much is the {n}?", "{n} price"], "zh": ["{n} 多少钱", "{n} 价格"]},
    "release_date": {"en": ["When did the {n} come out?", "{n} release date"], "zh": ["{n} 什么时候发布的", "{n} 上市时间"]},
    "storage": {"en": ["How much storage does the {n} have?", "{n} storage options in GB"],
                "zh": ["{n} 存储有多大", "{n} 有哪些容量版本"]},
    "chip": {"en": ["What chip does the {n} use?", "{n} processor"], "zh": ["{n} 用的什么芯片", "{n} 处理器"]},
    "colours": {"en": ["What colours does the {n} come in?", "{n} colour options"], "zh": ["{n} 有几种颜色", "{n} 有什么颜色"]},
}
# A range question is asked in as many ways as an FAQ one, and its documents compete with entries of about 15
# phrasings each: a document with three would lose "想买个充电宝 你们有吗" to a weaker but richer entry.
_CATEGORY_PHRASINGS = {"en": ["What {p} do you sell?", "Do you have any {p}?", "Which {p} can I buy?", "got any {p}?",
                              "How many {p} do you make?", "Is there only one {one}?", "I want to buy a {one}, what do you have?",
                              "Which {one} would you recommend?"],
                       "zh": ["你们有哪些{p}", "有{p}卖吗", "{p}有几款", "{p}就一款吗", "想买个{p} 你们有吗", "推荐一款{p}",
                              "你们家{p}有哪些型号", "{p}都有什么可以选的"]}
_LINEUP_PHRASINGS = {"en": ["What do you sell?", "What products do you have?", "Show me your product range",
                            "list all your products", "What kind of stuff does Millet make?", "what's in your lineup?",
                            "What's new from Millet?", "What devices can I buy from you?", "What's in your range?",
                            "What gadgets does Millet make?", "I'm new to the brand, what can I get?",
                            "Looking for a gift, what do you have?", "Full list of your devices"],
                     "zh": ["你们都卖什么", "有哪些产品", "你们的产品线", "你们店里都有些什么", "米粒有啥新品", "都有什么东西卖",
                            "你们家主要做什么产品", "你们有哪些设备", "你们家都有啥数码产品", "想送礼 你们有什么可以挑的",
                            "米粒的产品都有哪些", "第一次买你们家的东西 有啥可以买", "全部产品列表"]}


def _names(p: Product, lang: str) -> List[str]:
    names = [p.name.get(lang) or p.id]
    short = next((a for a in p.aliases.get(lang, []) if a != names[0]), None)
    return names + ([short] if short else [])


def fact_docs(kb: KnowledgeBase) -> List[Doc]:
    """A document per spec fact the data holds and per catalog category (plus the whole range)."""
    docs: List[Doc] = []
    for p in kb.products.values():
        for key, phrasings in SPEC_PHRASINGS.items():
            sample = {lang: render_spec(p, key, lang, "") for lang in ("en", "zh")}
            if not all(sample.values()):
                continue
            questions = [t.format(n=n) for lang in ("en", "zh") for n in _names(p, lang) for t in phrasings[lang]]
            docs.append(Doc(id=f"spec:{p.id}:{key}", questions=questions, passages=[sample["en"] or "", sample["zh"] or ""],
                            extra=" ".join([key, *p.model_codes]),
                            meta={"kind": "spec", "products": [p.id], "tags": ["spec", key]}))
    sold = {p.category for p in kb.products.values() if p.category in CATEGORIES}
    for category in [c for c in CATEGORIES if c in sold]:
        words = CATEGORIES[category][1]
        questions = [t.format(p=words[lang][1], one=words[lang][0]) for lang in ("en", "zh") for t in _CATEGORY_PHRASINGS[lang]]
        docs.append(Doc(id=f"catalog:lineup:{category}", questions=questions, extra=category,
                        meta={"kind": "catalog", "products": [], "tags": ["catalog", category]}))
    if sold:
        docs.append(Doc(id="catalog:lineup", questions=[*_LINEUP_PHRASINGS["en"], *_LINEUP_PHRASINGS["zh"]],
                        meta={"kind": "catalog", "products": [], "tags": ["catalog"]}))
    return docs


def render_fact(kb: KnowledgeBase, doc_id: str, question: str, lang: str) -> Optional[Tuple[str, str, List[str]]]:
    """(kind, answer text, product ids) of a spec or catalog document, or None if it is not one."""
    parts = doc_id.split(":")
    if parts[0] == "spec" and len(parts) == 3 and parts[1] in kb.products:
        if asks_part_price(question):  # "14电池多少钱": the price of a new battery, not its mAh nor the phone's price
            return None
        text = render_spec(kb.products[parts[1]], parts[2], lang, question)
        return ("spec", text, [parts[1]]) if text else None
    if parts[0] == "catalog" and parts[1:2] == ["lineup"]:
        answer = render_catalog(kb.products, parts[2] if len(parts) == 3 else None, lang)
        return ("catalog", answer.text, answer.products) if answer else None
    return None


def kb_docs(kb: KnowledgeBase) -> List[Doc]:
    """Index documents for everything answerable: the FAQ entries (phrasings in both languages, answers as
    passages), then the spec and catalog facts of products.yml (`fact_docs`)."""
    docs = []
    for e in kb.faq.values():
        names = [n for pid in e.products if pid in kb.products
                 for n in [*kb.products[pid].name.values(), *kb.products[pid].model_codes]]
        docs.append(Doc(id=e.id, questions=[*e.questions.get("en", []), *e.questions.get("zh", [])],
                        passages=[e.answer.get("en", ""), e.answer.get("zh", "")],
                        extra=" ".join([*e.tags, *names]),
                        meta={"kind": "faq", "products": list(e.products), "tags": list(e.tags)}))
    return docs + fact_docs(kb)
