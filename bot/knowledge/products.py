"""Recognise products in a question: known aliases and model codes, and product names we do not sell.

"14 Pro 电池多大" → phone_14_pro; "Millet Phone 15" or "Millet TV" → an unknown product mention,
which makes the retriever say "not sure" instead of answering about another product.
Matching is on normalised text (NFKC, lower case) and ignores spaces ("14pro" = "14 Pro").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from bot.knowledge.catalog import CATEGORIES
from bot.knowledge.loader import Product
from bot.knowledge.text import has_cjk, normalise
from bot.language import CJK_CHAR

__all__ = ["ProductMatcher", "Mentions"]

_BRAND = r"(?:millet|米粒)"
# Product nouns customers use; with our brand or a model number they name a product.
_NOUNS = (r"phone|smartphone|tv|television|watch|smartwatch|band|buds|earbuds|earphones|headphones|pad|tablet|"
          r"laptop|notebook|book|router|speaker|scooter|car|ev|camera|power\s*bank|charger|手机|电视|手表|"
          r"手环|耳机|平板|笔记本|电脑|路由器|音箱|滑板车|汽车|相机|充电宝|移动电源|充电器")
# The nouns of the kinds of product products.yml has (its `category`): with the brand alone, the kind, not a model.
_KIND_NOUNS = {"phone": r"phone|smartphone|手机", "band": r"band|手环", "earbuds": r"buds|earbuds|earphones|headphones|耳机",
               "power_bank": r"power\s*bank|充电宝|移动电源"}
_VARIANT = r"(?:pro\+?|ultra|max|plus|lite|mini|se|fe|s|t|x|e)"
_MODEL_NO = rf"\d{{1,3}}(?:\s*{_VARIANT}(?![a-z0-9]))?(?![\d])"
# "got my phone 4 days ago", "手机3个月了": a quantity after a noun is not a model number.
_QUANTITY = (r"(?!\s*(?:days?|weeks?|months?|years?|yrs?|hours?|hrs?|mins?|minutes?|times|x\b|%|天|周|星期|个月|月|年|"
             r"小时|分钟|次|回|atm\b|w\b|mah|hz|瓦|毫安|"  # "band 5atm", "charger 120w": a rating, not a Band 5
             r"元|块|以内|以下|之内|左右|k(?![a-z])|rmb|yuan|bucks|号|日|"  # "耳机 500以内", "phone 2k": a budget, not a model
             # "耳机 3.5插头", "手机5G", "keep a phone 5 or 6 years": a size, the network, a range
             r"\.\d|mm\b|g(?![a-z])|(?:or|to|-|–|~|到|或)\s*\d))")
# a kind after the brand is a word of its own: "Millet Care" (the screen plan) is no "Millet Car"
_MENTION = re.compile(
    rf"{_BRAND}\s*(?:(?:{_NOUNS})(?=(?:e?s)?(?![a-z])))?\s*(?:{_MODEL_NO})?|(?<![a-z])(?:{_NOUNS})\s*{_MODEL_NO}{_QUANTITY}",
    re.IGNORECASE,
)
_TRAILING_VARIANT = re.compile(rf"\s*(?:{_VARIANT})(?![a-z0-9])|\d", re.IGNORECASE)
# After a name that already ends in a variant ("14 Pro"), a further one ("14 Pro Max") is another model.
_TRAILING_UPGRADE = re.compile(r"\s*(?:max|ultra|plus|\+)(?![a-z0-9])", re.IGNORECASE)
# What an older model's owner asks to keep using on the new one ("手环8的表带手环9能用吗").
_ACCESSORY = re.compile(r"表带|腕带|壳|充电器|充电头|充电线|数据线|耳塞|\bstraps?\b|\bbands? fit\b|\bcases?\b|\bcovers?\b|"
                        r"\bchargers?\b|\bcables?\b|\bcharging (?:cable|dock|cradle)\b|\bear ?tips\b", re.IGNORECASE)
# A bare model number standing alone ("14 vs 14 pro"), not a quantity ("14 days", "14%", "14小时").
_BARE_NUMBER = re.compile(r"(?<![\d.a-z])(\d{1,3})(?!\s*(?:[\d.%]|pro|ultra|max|plus|mini|lite|se|fe|\+|days?|"
                          r"hours?|h\b|min|mins|minutes?|w\b|mah|gb?\b|tb?\b|mm|cm|inch|天|日|号|点|小时|分钟|元|块|个|次|寸))",
                          re.IGNORECASE)
# "14续航咋样", "我的14有256的吗": a bare model number of two or three digits opening a Chinese message (or after
# 的/这/那/买了…) and followed by a Chinese word, not a counter or unit ("14天", "14号", "14个月"): Chinese fans
# name the phone by its number alone.
# "我妈天天刷抖音，14的电撑得住吗", "想送她14，她喜欢浅色系": also after a comma, and before one after a word that
# gives, buys or points at it (not "等了14，" where the days are left out).
_LEADING_MODEL = re.compile(rf"(?:^|(?<=[\s,.!?;:~])|(?<={CJK_CHAR.pattern})(?<![第有共前后近约大多满超过快差每等花年号]))"
                            rf"(\d{{2,3}})(?=\s?{CJK_CHAR.pattern}|(?<=[送买入换用选拿要这那的款部台她他]\d\d)[,.!?;~])"
                            r"(?!\s?(?:[天日号点时秒元块个次寸岁年月周期倍度克斤米毫瓦伏台部位人款代]|分(?!辨)))")
# "14 screen size", "the new 14, whats the screen like", "14 jg多少": a two- or three-digit model number opening the
# message (or after my/the/this…), followed by a Latin word that is not a quantity's unit ("14 days", "14 gb left")
# or by nothing.
_VARIANT_QUALIFIER = (r"(?:\d{1,4}\s?(?:gb?|tb?)|black|white|pink|green|blue|gr[ae]y|purple|red|gold|silver|new|old|base|"
                      r"basic)")
_LEADING_MODEL_LATIN = re.compile(
    # "hi亲 14 dianchi 多大": also after a Chinese word and a space; "battery life on 14?": after on/for/of ending it
    # "the 512gb 14", "my black 14": a storage size or a colour between the word and the number
    rf"(?:^|\b(?:my|the|this|that|your|his|her|new|old)\s+(?:{_VARIANT_QUALIFIER}\s+)?|\ba\s+{_VARIANT_QUALIFIER}\s+|"
    rf"(?<={CJK_CHAR.pattern}\s)|"
    r"\b(?:on|for|of|about)\s+(?=\d{2,3}\s*[?!.]*$))"
    r"(\d{2,3})"
    r"(?!\s*(?:days?|weeks?|months?|years?|yrs?|y/?o|hours?|hrs?|h|mins?|minutes?|secs?|seconds?|times|x|percent|pct|"
    r"yuan|rmb|cny|usd|dollars?|bucks|euros?|people|pcs|pieces|items|units|orders?|am|pm|k|g|gb|mb|tb|kg|grams?|"
    r"mm|cm|km|m|inch\w*|in(?!\s+(?:the|a|an|my|water|rain|pool|sink|toilet|pocket|hand|bag|case)\b)|of|or|to|and|"
    r"more|left|out|off|"
    r"pro|max|ultra|plus|mini|lite|se|fe|s|t|x|e)(?![a-z]))"  # "14 mini": a variant, named or unknown elsewhere
    r"(?=\s*[,:;]\s*[a-z]|\s+[a-z]|\s*[,:;?!.]*$)", re.IGNORECASE)
# "mi 14", "小米14": another brand's phone by its number, never ours (米粒14 is ours)
_OTHER_BRAND_MODEL = re.compile(r"(?:(?<![a-z])(?:mi|xiaomi|redmi)|小米|红米)\s*\d{1,2}(?:\s*(?:pro|ultra|max|lite|[st]))?"
                                r"(?![a-z0-9])", re.IGNORECASE)
# "pro有蓝色吗", "pro版多重", "dropped my pro": the variant word alone names the one product it ends the name of.
_BARE_PRO_ZH = re.compile(r"(?<![a-z0-9])pro(?!\s*(?:max|plus|ultra|\+))(?![a-z])", re.IGNORECASE)
# "my pro", "14 vs pro", "pro screen size?", "a blue pro": the Pro beside a possessive, a comparison or a colour, or
# opening the message
_BARE_PRO_EN = re.compile(r"(?:\b(?:my|this|that|your|his|her|new|vs\.?|versus|or|and|than|black|white|pink|green|blue|"
                          r"gr[ae]y|purple|red|gold|silver|titanium)\s+|^)pro\b"
                          r"(?!\s*(?:max|plus|ultra|\+|tips?\b|gamers?\b|players?\b|mode\b|account\b|plan\b|version of\b))",
                          re.IGNORECASE)
# "手环9和耳机哪个便宜", "band 9 or earbuds, which lasts longer": a comparison, where a category word names a product too
_COMPARISON = re.compile(r"哪(?:个|款|一个|一款)|比|还是|对比|区别|差(?:多少|几|在)|\bvs\.?\b|\bversus\b|\bthan\b|\bor\b|"
                         r"\bcompar\w*|\bwhich\b", re.IGNORECASE)
# "米粒十四", "fourteen pro", "手环九", "buds five": a model number spelled out in words
_NUMBER_WORDS = re.compile(r"十四|\bfourteen\b|(?<=手环)\s*九|(?<=\bband)\s*nine\b|(?<=耳机)\s*五|(?<=\bbuds)\s*five\b")
_DIGITS = {"十四": "14", "fourteen": "14", "九": "9", "nine": "9", "五": "5", "five": "5"}


def _digits(text: str) -> str:
    """`text` with the model numbers spelled out in words written as digits."""
    return _NUMBER_WORDS.sub(lambda m: (" " if m.group(0)[0].isspace() else "") + _DIGITS[m.group(0).strip()], text)


# "the 14 pros charging": a possessive typed without its apostrophe is the model, not a plural
_POSSESSIVE = re.compile(r"(\d\s*(?:pro|max|ultra|plus))s\b", re.IGNORECASE)
# "14por", "14pr0 price", "14 prp battery": after a model number, a word one letter off "pro" (two neighbours swapped,
# one letter wrong after the "p", one missing or one too many) is the Pro.
_AFTER_NUMBER = re.compile(r"(?<![\d.])(\d{1,3}\s*)([a-z][a-z0-9]{1,3})(?![a-z0-9])")


def _pro_typo(word: str) -> bool:
    if word == "pro":
        return False
    if len(word) == 3:
        diff = [i for i in range(3) if word[i] != "pro"[i]]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == "pro"[diff[1]] \
            and word[diff[1]] == "pro"[diff[0]]
        return swapped or (len(diff) == 1 and diff[0] > 0)
    short, long_ = ("pro", word) if len(word) == 4 else (word, "pro")
    return word[0] == "p" and any(long_[:i] + long_[i + 1:] == short for i in range(1, len(long_)))


def _spell_pro(text: str) -> str:
    """`text` with "pro" typed one letter off after a model number written "pro"."""
    return _AFTER_NUMBER.sub(lambda m: m.group(1) + ("pro" if _pro_typo(m.group(2)) else m.group(2)), text)


_VARIANT_WORD = re.compile(r"(?<![a-z])(?:pro|max|ultra|plus)(?![a-z])", re.IGNORECASE)
# A bare model number with a variant we do not make ("14 Ultra", "15 pro max"), brand or noun omitted.
_BARE_VARIANT = re.compile(r"(?<![a-z0-9])\d{1,2}\s*(?:pro\s*max|pro\s*\+|ultra|max|plus|lite|mini|se|fe)(?![a-z0-9])",
                           re.IGNORECASE)
# "14有青春版吗", "pro至尊版多少钱": an edition we do not make, in Chinese (our own, 标准版 / 大屏版, are aliases)
_EDITION = re.compile(r"(?:青春|至尊|轻薄|活力|纪念|尊享|概念|探索|(?<![a-z])(?:mini|max|ultra|plus|lite|se))\s?版",
                      re.IGNORECASE)

# "有折叠屏手机吗", "got any foldables?", "flip phone?": a kind of phone we do not make, named without a model
_KIND_NOT_MADE = re.compile(r"(?:大|小)?折叠(?:屏|手机|机)|翻盖(?:手机|机)|(?<![a-z])(?:foldables?|flip ?phones?|"
                            r"folding phones?|fold(?:ing)? screen)(?![a-z])", re.IGNORECASE)


@dataclass
class Mentions:
    """What a question names: known product ids (in order) and names of products not in the KB."""

    known: List[str] = field(default_factory=list)
    unknown: List[str] = field(default_factory=list)
    positions: Dict[str, int] = field(default_factory=dict)  # where each known product is first named
    text: str = ""  # the question as matched (normalised)
    spans: List[Tuple[int, int]] = field(default_factory=list)  # where known products are named in `text`

    def without_names(self, pronoun: str) -> str:
        """The question with each known product's name replaced by `pronoun` ("can i pay for it in instalments")."""
        out, last = [], 0
        for start, end in sorted(self.spans):
            if start >= last:
                out += [self.text[last:start], f" {pronoun} "]
                last = end
        return " ".join("".join([*out, self.text[last:]]).split())


def _name(out: Mentions, covered: List[bool], pid: str, start: int, end: int) -> None:
    """`pid` is named at `start:end`: known (first mention kept), and its characters covered."""
    if pid not in out.known:
        out.known.append(pid)
        out.positions[pid] = start
    out.spans.append((start, end))
    for i in range(start, end):
        covered[i] = True


class ProductMatcher:
    """Longest-match alias/model-code finder built from the KB products."""

    def __init__(self, products: Dict[str, Product]) -> None:
        self.products = products
        pairs: List[Tuple[str, str]] = []
        for p in products.values():
            names = [*p.name.values(), *[a for v in p.aliases.values() for a in v], *p.model_codes]
            for n in names:
                key = "".join(normalise(n).split())
                if key:
                    pairs.append((key, p.id))
        pairs.sort(key=lambda kv: -len(kv[0]))
        self._by_alias = dict(pairs)
        parts: List[str] = []
        for key, _ in pairs:
            body = r"\s*".join(re.escape(c) for c in key)  # "14pro" matches "14 pro" and "14pro"
            before = r"(?<![a-z0-9])" if key[0].isascii() and key[0].isalnum() else ""
            after = r"(?![a-z0-9])" if key[-1].isascii() and key[-1].isalnum() else ""
            after += r"(?!幕)" if key.endswith("屏") else ""  # the nickname "小屏", not "小屏幕" (a small screen)
            # "手机14天前买的", "手环9个月了", "手机14号到的": a name ending in its number, then a quantity or date
            after += _QUANTITY if key[-1].isdigit() else ""
            parts.append(f"{before}(?P<a{len(parts)}>{body}){after}")
        self._keys = [k for k, _ in pairs]
        self._pattern = re.compile("|".join(parts)) if parts else None
        # "14 vs 14 Pro", "14和14pro": a bare model number names the product whose English name ends with
        # it, when another product of the same category is named beside it (a comparison).
        numbers: Dict[str, List[str]] = {}
        for p in products.values():
            tail = re.search(r"(?<![\d.])(\d{1,3})$", p.name.get("en", ""))
            if tail:
                numbers.setdefault(tail.group(1), []).append(p.id)
        self._bare_numbers = {n: ids[0] for n, ids in numbers.items() if len(ids) == 1}
        # a category word names its only product, in a comparison with a named product (`_add_category_compared`)
        self._category_words = [(re.compile(pattern, re.IGNORECASE), members[0]) for key, (pattern, _) in CATEGORIES.items()
                                for members in [[p.id for p in products.values() if p.category == key]]
                                if len(members) == 1]
        pros = [p.id for p in products.values() if re.search(r"\bpro$", p.name.get("en", ""), re.IGNORECASE)]
        self._bare_pro = pros[0] if len(pros) == 1 else None

    def _add_bare_pro(self, text: str, out: Mentions, covered: List[bool]) -> None:
        pid = self._bare_pro
        pattern = _BARE_PRO_ZH if has_cjk(text) else _BARE_PRO_EN
        found = pattern.search(text) if pid and pid not in out.known else None
        if pid and found is not None and not any(covered[found.start() : found.end()]):
            _name(out, covered, pid, found.start(), found.end())

    def _add_compared(self, text: str, out: Mentions, covered: List[bool]) -> None:
        categories = {self.products[p].category for p in out.known if p in self.products}
        for m in _BARE_NUMBER.finditer(text):
            pid = self._bare_numbers.get(m.group(1))
            if pid is None or pid in out.known or any(covered[m.start() : m.end()]):
                continue
            if self.products[pid].category in categories:
                _name(out, covered, pid, m.start(), m.end())
        out.known.sort(key=lambda pid: out.positions.get(pid, 0))

    def _add_category_compared(self, text: str, out: Mentions, covered: List[bool]) -> None:
        if not _COMPARISON.search(text):
            return
        for pattern, pid in self._category_words:
            found = pattern.search(text)
            if found is not None and pid not in out.known and not any(covered[found.start() : found.end()]):
                _name(out, covered, pid, found.start(), found.end())
        out.known.sort(key=lambda pid: out.positions.get(pid, 0))

    def _add_leading(self, text: str, out: Mentions, covered: List[bool]) -> None:
        if _VARIANT_WORD.search(text):  # "14和pro哪个耐用": both phones, left to the category
            return
        for m in [*_LEADING_MODEL.finditer(text), *_LEADING_MODEL_LATIN.finditer(text)]:
            pid = self._bare_numbers.get(m.group(1))
            if pid is not None and not any(covered[m.start(1) : m.end(1)]):
                _name(out, covered, pid, m.start(1), m.end(1))
                return

    def _sold_kind(self, span: str) -> bool:
        """The brand and a kind of product we sell, with no model number ("millet phone", "米粒手环")."""
        noun = re.sub(_BRAND, "", span, flags=re.IGNORECASE).strip().lower()
        kinds = {p.category for p in self.products.values()}
        return not re.search(r"\d", span) and any(re.fullmatch(words, noun) for kind, words in _KIND_NOUNS.items()
                                                 if kind in kinds)

    def _known_suffix(self, spanned: str, key: str) -> Optional[str]:
        """A longer alias that `spanned` (an alias plus a variant, spaces removed) ends with, if any."""
        variant = len(spanned) - len(key)
        return next((k for k in self._keys if k != key and spanned.endswith(k) and len(k) > variant), None)

    def older_models(self, mentions: Mentions) -> List[str]:
        """The unknown names that are an earlier number of a product named beside them ("will my old Band 8 strap fit
        the Band 9?": Band 8 is ours, only older), asked about with an accessory (`_ACCESSORY`). The newer one may be
        named by its number alone ("will my band 8 strap fit the 9")."""
        if not mentions.unknown or not _ACCESSORY.search(mentions.text):
            return []
        bare = set(re.findall(r"(?<![\d.])\d{1,3}(?![\d.%])", mentions.text))
        shapes = {(re.sub(r"\d+", "#", key), int(n)) for key, pid in self._by_alias.items()
                  for n in re.findall(r"\d+", key)[-1:] if pid in mentions.known or n in bare}
        out = []
        for name in mentions.unknown:
            key = "".join(name.split())
            number = re.findall(r"\d+", key)[-1:]
            if number and any(shape == re.sub(r"\d+", "#", key) and int(number[0]) < n for shape, n in shapes):
                out.append(name)
        return out

    def find(self, question: str) -> Mentions:
        """Known products named in `question`, and mentions of products we do not have."""
        text = _POSSESSIVE.sub(r"\1'", _spell_pro(_digits(normalise(question))))
        out = Mentions(text=text)
        covered = [False] * (len(text) + 1)
        for m in _OTHER_BRAND_MODEL.finditer(text):
            out.unknown.append(m.group(0).strip())
            for i in range(m.start(), m.end()):
                covered[i] = True
        if self._pattern is not None:
            for m in self._pattern.finditer(text):
                start, end = m.start(), m.end()
                if any(covered[start:end]):
                    continue
                key = self._keys[int(m.lastgroup[1:])]  # type: ignore[index]
                tail = _TRAILING_VARIANT.match(text, end) if key[-1].isdigit() else _TRAILING_UPGRADE.match(text, end)
                if tail and tail.group(0).strip():
                    longer = self._known_suffix("".join(text[start : tail.end()].split()), key)
                    if longer is None:
                        # "millet 14" followed by "ultra" or another digit: a model we do not sell
                        out.unknown.append(text[start : tail.end()].strip())
                        for i in range(start, tail.end()):
                            covered[i] = True
                        continue
                    key, end = longer, tail.end()  # "the 14 pro": the 14 Pro, not a "14" with a stray variant
                _name(out, covered, self._by_alias[key], start, end)
        self._add_bare_pro(text, out, covered)
        if out.known:
            self._add_compared(text, out, covered)
            self._add_category_compared(text, out, covered)
        else:
            self._add_leading(text, out, covered)
        for m in [*_BARE_VARIANT.finditer(text), *_EDITION.finditer(text), *_KIND_NOT_MADE.finditer(text)]:
            if not any(covered[m.start() : m.end()]):
                out.unknown.append(m.group(0).strip())
                for i in range(m.start(), m.end()):
                    covered[i] = True
        for m in _MENTION.finditer(text):
            span = m.group(0).strip()
            if not span or any(covered[m.start() : m.end()]):
                continue
            bare_brand = re.fullmatch(_BRAND, span, re.IGNORECASE) is not None
            if bare_brand or self._sold_kind(span):
                continue  # "Millet" alone names the brand, "millet phones", "米粒手机" a kind we sell, not a product
            if re.search(r"\d", span) or re.match(_BRAND, span, re.IGNORECASE):
                out.unknown.append(span)
        return out
