"""Products: "Millet/米粒 <family> <number> [variant]" names in examples and answers that the catalogue lacks."""

from __future__ import annotations

import re
from typing import Callable, List, Optional, Sequence

from bot.trainer.problems import Problem
from bot.trainer.sources import Example, TextItem

__all__ = ["check_products"]

_MENTION = re.compile(
    r"(?:millet|米粒)[ \t]*(?:手机|手环|耳机|充电宝|手表|平板|phone|band|buds|power[ \t]*bank|watch|pad|tv|book)?[ \t]*"
    r"\d{1,5}(?:[ \t]*(?:pro|ultra|max|plus|lite|mini|se)(?![a-z]))?", re.I)


def _norm_name(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def check_products(examples: List[Example], texts: List[TextItem], catalogue: Sequence[str],
                   finder: Optional[Callable[[str], List[str]]] = None) -> List[Problem]:
    """Unknown product names; `finder` (the knowledge engineer's, when present) replaces our pattern."""
    if finder is None:
        if not catalogue:
            return []
        known = {_norm_name(n) for n in catalogue if n}

        def finder(text: str) -> List[str]:
            return [m.group(0) for m in _MENTION.finditer(text) if _norm_name(m.group(0)) not in known]

    problems: List[Problem] = []
    places = [(ex.text, ex.file, ex.line) for ex in examples] + [(t.text, t.file, t.line) for t in texts]
    for text, file, line in places:
        for name in finder(text):
            problems.append(Problem(file, line, "error", "unknown-product",
                f"'{name}' is not a product in knowledge/products.yml; fix the name or add the product there"))
    return problems
