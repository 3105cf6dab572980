"""The knowledge base as data: products, FAQ entries with their offers and credits, and the whole base.

Why apart from the loader: the modules that answer from the knowledge base (specs, products, facts, the
retriever) work on these types, and the loader, which builds them, also runs their checks (`specs.check_products`)
while loading; the types sit below both. `bot.knowledge.loader` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = ["Product", "FaqEntry", "Offer", "Credit", "credit_line", "KnowledgeBase", "CREDIT_LINES"]

CREDIT_LINES = {"zh": "这条答案由米粉 @{name} 贡献", "en": "Answer by fan @{name}"}
"""The line a fan-written answer ends with (bot/fan_answers publishes them; the `credit:` field of an entry)."""


@dataclass
class Product:
    """One product: names, aliases (what customers type), model codes, price, release date, specs."""

    id: str
    category: str
    name: Dict[str, str]
    aliases: Dict[str, List[str]]
    model_codes: List[str]
    price: Optional[Dict[str, Any]] = None
    release_date: Optional[str] = None
    specs: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    source: str = ""
    summary: Dict[str, str] = field(default_factory=dict)  # one line for catalog answers, per language
    colours: Dict[str, List[str]] = field(default_factory=dict)  # per language, same order
    in_box: Dict[str, List[str]] = field(default_factory=dict)  # what the box holds, per language, same order
    in_box_complete: bool = False  # `in_box` is everything in the box: an item not listed is not in it
    in_box_entry: Optional[str] = None  # the FAQ entry that answers what is in the box (the spec path leaves it to it)


@dataclass(frozen=True)
class Offer:
    """What "yes" gets after an answer that ends with an offer ("Want the steps?").

    Exactly one of: `answer` (a text per language), `entry` (another entry's answer) or `flow`
    (a form or action the dialogue starts, e.g. `change_address_form`)."""

    answer: Optional[Dict[str, str]] = None
    entry: Optional[str] = None
    flow: Optional[str] = None


@dataclass(frozen=True)
class Credit:
    """Who wrote a fan-written answer: the fan's profile id and display name per language (`credit:`)."""

    fan: str
    name: Dict[str, str]


def credit_line(credit: Credit, language: str) -> str:
    """"这条答案由米粉 @小北 贡献" / "Answer by fan @xiaobei"."""
    return CREDIT_LINES[language].format(name=credit.name.get(language) or credit.name.get("en") or credit.fan)


@dataclass
class FaqEntry:
    """One FAQ entry: phrasings per language, the answer per language, tags, products it covers."""

    id: str
    questions: Dict[str, List[str]]
    answer: Dict[str, str]
    tags: List[str]
    products: List[str]
    source: str = ""
    offer: Optional[Offer] = None
    credit: Optional[Credit] = None  # a fan-written answer: `answer` ends with its credit line


@dataclass
class KnowledgeBase:
    products: Dict[str, Product]
    faq: Dict[str, FaqEntry]
    root: Path
    fingerprint: str = ""
    out_of_scope: Dict[str, List[str]] = field(default_factory=dict)
    near_misses: Dict[str, List[str]] = field(default_factory=dict)
    """Off-topic questions close to our topics ("米粒账号密码忘了怎么办"): examples only (bot.knowledge.out_of_scope),
    not calibration negatives, which would lower every confidence near them."""

    def entry(self, entry_id: str) -> Optional[FaqEntry]:
        return self.faq.get(entry_id)
