"""Superlatives and budgets over the range ("whats the cheapest thing you sell", "最轻的手机", "a phone under 3000",
"三千以内的手机"), answered from `products.yml` with the product named and its figure.

A superlative names a figure and a direction (cheapest = the lowest price, 续航最久 = the biggest battery) and no
product: the products compared are the category's when one is named ("cheapest phone"), else everything we sell; for
the figures that only compare within phones (battery, screen, charging: a power bank's 20000 mAh is no phone's battery
life), the phones. The answer names the winner and its figure, then the others of the category (at most two) with
theirs; it is recorded as the spec over the products compared (`spec:phone_14+phone_14_pro:weight`, as a comparison
of the two). A budget ("under 3000", "预算两千", "1k以内") lists what costs at most that much, dearest first (entry
`catalog:lineup[:<category>]`), or says what the cheapest is when nothing fits.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple

from bot.knowledge.model import Product
from bot.knowledge.text import normalise

__all__ = ["superlative", "budget", "answer_ranked", "answer_relative", "PHONE_ONLY"]

# spec -> ((words for the highest, words for the lowest))
_SUPERLATIVES: Dict[str, Tuple[str, str]] = {
    "price": (r"\bmost expensive\b|\bpriciest\b|\bdearest\b|\bhighest[- ]end\b|最贵|价格最高|最高端",
              r"\bcheapest\b|\bleast expensive\b|\bmost affordable\b|\blowest price\w*|\bcheapest\b|最便宜|最实惠|价格最低|"
              r"最低价|最划算"),
    "weight": (r"\bheaviest\b|最重|最沉", r"\blightest\b|最轻|最轻便"),
    "battery": (r"\b(?:biggest|largest|best|longest|most) (?:battery|batt)\b|\bbattery (?:lasts? )?(?:the )?longest\b|"
                r"\blongest battery\b|\blasts? (?:the )?longest\b|电池最[大好耐]|最大(?:的)?电池|续航最[久长好强]|最(?:耐用|抗用)|"
                r"电量最大|容量最大|最能撑",
                r"\b(?:smallest|worst) battery\b|电池最小|续航最[短差]"),
    "screen": (r"\b(?:biggest|largest) (?:screen|display)\b|屏幕?最大|最大(?:的)?屏",
               r"\bsmallest (?:screen|display)\b|屏幕?最小|最小(?:的)?屏"),
    "charging": (r"\b(?:fastest|quickest) (?:charg\w*|to charge)\b|\bcharges (?:the )?fastest\b|充(?:电|得)最快|快充最快|"
                 r"最快(?:的)?(?:充电|快充)|功率最大", r"\bslowest (?:charg\w*|to charge)\b|充电最慢"),
}
_PATTERNS = {key: (re.compile(hi, re.IGNORECASE), re.compile(lo, re.IGNORECASE)) for key, (hi, lo) in _SUPERLATIVES.items()}
PHONE_ONLY = ("battery", "screen", "charging")
"""Figures compared within phones when no category is named."""

_NUM = r"(\d+(?:[.,]\d+)?)\s*(k|w|千|万|百)?"
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_NUM = r"([一二两三四五六七八九])\s*([千百万])([一二两三四五六七八九](?![千百万]))?"
_MONEY = r"(?:\s*(?:块钱?|元|rmb|yuan|cny|bucks|¥))?"
_BUDGET_BEFORE = (r"(?:\bunder|\bbelow|\bless than|\bcheaper than|\bwithin|\bup to|\bno more than|\bnot more than|\bmax(?:imum)?|"
                  r"\bbudget(?: of| is|'s)?|预算(?:是|有|只有|就|大概|在)?|不超过|不到|低于)\s*(?:¥|rmb|cny|\$)?\s*")
_BUDGET_AFTER = rf"{_MONEY}\s*(?:以内|以下|之内|内|(?:or|and) (?:less|under|below))"
_BUDGETS = [*(re.compile(_BUDGET_BEFORE + n + _MONEY, re.IGNORECASE) for n in (_NUM, _ZH_NUM)),
            *(re.compile(n + _BUDGET_AFTER, re.IGNORECASE) for n in (_NUM, _ZH_NUM))]
# A budget is about the range when the message names a category or asks what to buy ("anything under 500?", "预算两千
# 买啥好"), not "the band lasts under 100 hours?"
_SHOPPING = re.compile(r"\b(?:what|anything|something|which|recommend\w*|buy|get|gift|options?|sell|budget)\b|有啥|有什么|"
                       r"有哪些|有没有|推荐|买|送人|礼物|能选|选什么|选啥|预算|啥好|什么好", re.IGNORECASE)
_UNITS = {"k": 1000, "千": 1000, "w": 10000, "万": 10000, "百": 100}


def superlative(question: str) -> Optional[Tuple[str, bool]]:
    """(the spec, True for the highest / False for the lowest) a superlative asks for, or None."""
    text = normalise(question)
    for key, (high, low) in _PATTERNS.items():
        if high.search(text):
            return key, True
        if low.search(text):
            return key, False
    return None


def _amount(match: "re.Match[str]") -> Optional[int]:
    first, unit = match.group(1), match.group(2)
    if first in _ZH_DIGITS:
        value = _ZH_DIGITS[first] * _UNITS[unit]
        tail = match.group(3)
        return value + (_ZH_DIGITS[tail] * _UNITS[unit] // 10 if tail else 0)
    try:
        number = float(first.replace(",", "")) if "," not in first or len(first.split(",")[-1]) == 3 else None
    except ValueError:
        return None
    if number is None:
        return None
    return int(number * _UNITS.get((unit or "").lower(), 1))


def budget(question: str) -> Optional[int]:
    """The most a question wants to spend ("a phone under 3000" → 3000, "三千以内" → 3000, "预算1.5k" → 1500), or None."""
    text = normalise(question)
    for pattern in _BUDGETS:
        found = pattern.search(text)
        if found:
            amount = _amount(found)
            if amount and amount >= 50:  # "under 5 hours", "10以内": no money
                return amount
    return None


def _figure(p: Product, key: str) -> Optional[float]:
    if key == "price":
        value = (p.price or {}).get("value")
    elif key == "charging":
        value = (p.specs.get("charging") or {}).get("wired_w")
    else:
        value = (p.specs.get(key) or {}).get("value")
    return float(value) if isinstance(value, (int, float)) else None


def _num(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


def _say_figure(p: Product, key: str, value: float, lang: str) -> str:
    zh = lang == "zh"
    detail = ((p.specs.get(key) or {}).get("detail") or {}).get(lang, "") if key in ("weight", "battery") else ""
    if key == "price":
        text = f"{_num(value).replace(',', '')} 元" if zh else f"¥{_num(value)}"
    elif key == "weight":
        text = f"{_num(value)} 克" if zh else f"{_num(value)} g"
    elif key == "battery":
        text = f"{_num(value)}mAh" if zh else f"{_num(value)} mAh"
    elif key == "screen":
        text = f"{_num(value)} 英寸" if zh else f"{_num(value)} inches"
    else:
        text = f"{_num(value)}W" if zh else f"{_num(value)} W"
    if zh:
        text = text.replace(",", "")
        return f"{text}，{detail.split('；')[0]}" if detail else text
    return f"{text} ({detail.split(';')[0]})" if detail else text


_WORDS = {
    "price": ({"en": "most expensive", "zh": "最贵"}, {"en": "cheapest", "zh": "最便宜"}),
    "weight": ({"en": "heaviest", "zh": "最重"}, {"en": "lightest", "zh": "最轻"}),
    "battery": ({"en": "biggest battery", "zh": "电池最大"}, {"en": "smallest battery", "zh": "电池最小"}),
    "screen": ({"en": "biggest screen", "zh": "屏幕最大"}, {"en": "smallest screen", "zh": "屏幕最小"}),
    "charging": ({"en": "fastest charging", "zh": "充电最快"}, {"en": "slowest charging", "zh": "充电最慢"}),
}


def _name(p: Product, lang: str) -> str:
    return p.name.get(lang) or p.name.get("en") or p.id


def _ranked_text(ranked: Sequence[Tuple[Product, float]], key: str, high: bool, lang: str, group: Dict[str, str]) -> str:
    word = _WORDS[key][0 if high else 1][lang]
    (top, value), others = ranked[0], ranked[1:3]
    if lang == "zh":
        head = f"{group['zh']}里{word}的是{_name(top, lang)}：{_say_figure(top, key, value, lang)}"
        rest = "、".join(f"{_name(p, lang)}（{_say_figure(p, key, v, lang)}）" for p, v in others)
        return head + (f"。其次是{rest}。" if rest else "。")
    noun = "" if key in ("battery", "screen", "charging") else f" {group['en_one']}"
    lead = f"Our {word}{noun} is the {_name(top, lang)}: {_say_figure(top, key, value, lang)}"
    if key in ("battery", "screen", "charging"):
        lead = f"Of our {group['en']}, the {_name(top, lang)} has the {word}: {_say_figure(top, key, value, lang)}"
    rest = "; ".join(f"the {_name(p, lang)}, {_say_figure(p, key, v, lang)}" for p, v in others)
    return lead + (f". Next: {rest}." if rest else ".")


def answer_ranked(products: Dict[str, Product], question: str, category: Optional[str],
                  groups: Dict[Optional[str], Dict[str, str]], lang: str) -> Optional[Tuple[str, str, List[str]]]:
    """(entry id, text, product ids) of a superlative or budget question about the range (not about one product), or
    None. `groups` names each category (and None: everything) in both languages: {"en", "en_one", "zh"}."""
    asked = superlative(question)
    most = budget(question) if asked is None and (category or _SHOPPING.search(normalise(question))) else None
    if asked is None and most is None:
        return None
    if asked is not None and category is None and asked[0] in PHONE_ONLY:
        category = "phone"
    pool = [p for p in products.values() if (p.category == category if category else p.category in groups)]
    if asked is not None:
        key, high = asked
        figures = [(p, f) for p in pool for f in [_figure(p, key)] if f is not None]
        if len(figures) < 2:
            return None
        ranked = sorted(figures, key=lambda pf: -pf[1] if high else pf[1])
        ids = [p.id for p, _ in figures]
        return f"spec:{'+'.join(ids)}:{key}", _ranked_text(ranked, key, high, lang, groups[category]), ids
    assert most is not None
    priced = sorted(((p, f) for p in pool for f in [_figure(p, "price")] if f is not None), key=lambda pf: -pf[1])
    if not priced:
        return None
    fits = [(p, f) for p, f in priced if f <= most]
    entry = "catalog:lineup" + (f":{category}" if category else "")
    limit = f"{most} 元以内" if lang == "zh" else f"under ¥{most:,}"
    group = groups[category]
    if not fits:
        p, f = priced[-1]
        text = (f"{limit}的{group['zh']}我们还没有，最便宜的是{_name(p, lang)}，{_say_figure(p, 'price', f, lang)}。"
                if lang == "zh" else
                f"Nothing {limit} yet: our cheapest {group['en_one']} is the {_name(p, lang)} at {_say_figure(p, 'price', f, lang)}.")
        return entry, text, [p.id]
    listed = [f"{_name(p, lang)}（{_say_figure(p, 'price', f, lang)}）" if lang == "zh" else
              f"the {_name(p, lang)} ({_say_figure(p, 'price', f, lang)})" for p, f in fits]
    if lang == "zh":
        text = f"{limit}的{group['zh']}有：{'、'.join(listed)}。想了解哪款，告诉我就行。"
    else:
        joined = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
        text = f"{limit[0].upper()}{limit[1:]}, we have {joined}. Tell me which one you'd like to know more about."
    return entry, text, [p.id for p, _ in fits]


# "any cheaper phones than the 14 pro?", "有没有比14pro便宜的手机": the others of the named product's category that cost
# less (or more), not the named product's own price. Group 1: the direction.
_RELATIVE = [re.compile(r"\b(?:any|anything|something|another|other|ones?|a|options?|alternatives?)\b[\w ]{0,20}?"
                        r"\b(cheaper|less expensive|more affordable|pricier|more expensive|dearer)\b[\w ]{0,15}?\bthan\b",
                        re.IGNORECASE),
             re.compile(r"比[^，。？?！!\s]{1,12}?(?:更|还)?(便宜|实惠|贵)(?:一?点|些)?的")]
_CHEAPER = ("cheaper", "less expensive", "more affordable", "便宜", "实惠")


def answer_relative(products: Dict[str, Product], question: str, named: Sequence[str],
                    groups: Dict[Optional[str], Dict[str, str]], lang: str) -> Optional[Tuple[str, str, List[str]]]:
    """(entry id, text, product ids) for the others of one named product's category that cost less or more than it, or
    None. Recorded as the price over the category's products (`spec:phone_14+phone_14_pro:price`, a comparison)."""
    text = normalise(question)
    found = next((m for pattern in _RELATIVE for m in [pattern.search(text)] if m), None)
    if found is None or len(named) != 1 or named[0] not in products:
        return None
    base = products[named[0]]
    price = _figure(base, "price")
    members = [p for p in products.values() if p.category == base.category and p.category in groups]
    if price is None or len(members) < 2:
        return None
    cheaper = found.group(1).lower() in _CHEAPER
    others = sorted(((p, f) for p in members if p.id != base.id for f in [_figure(p, "price")]
                     if f is not None and (f < price if cheaper else f > price)), key=lambda pf: -pf[1])
    group, figure = groups[base.category], _say_figure(base, "price", price, lang)
    zh = lang == "zh"
    if not others:
        word = ("最便宜" if cheaper else "最贵") if zh else ("cheapest" if cheaper else "priciest")
        text_out = (f"{_name(base, lang)}（{figure}）已经是我们{word}的{group['zh']}了。" if zh else
                    f"The {_name(base, lang)} ({figure}) is already our {word} {group['en_one']}.")
    elif zh:
        listed = "、".join(f"{_name(p, lang)}（{_say_figure(p, 'price', f, lang)}）" for p, f in others)
        text_out = f"比{_name(base, lang)}（{figure}）{'便宜' if cheaper else '贵'}的{group['zh']}有：{listed}。"
    else:
        listed = "; ".join(f"the {_name(p, lang)}, {_say_figure(p, 'price', f, lang)}" for p, f in others)
        text_out = f"{'Cheaper' if cheaper else 'Pricier'} than the {_name(base, lang)} ({figure}): {listed}."
    ids = [p.id for p in members]
    return f"spec:{'+'.join(ids)}:price", text_out, ids
