"""Spec questions ("How heavy is the Millet 14?", "14 Pro 电池多大") answered from `products.yml`.

A question is a spec question when it names a known product and a spec keyword, and is not a
how-to ("How do I make the battery last longer?" goes to the FAQ): which spec is `bot.knowledge.spec_words`
(re-exported here). The answer leads with the value and says what it means in use (the spec's `say`), in the
user's language.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.knowledge.answering import asks_question
from bot.knowledge.model import Product
from bot.knowledge.spec_words import (
    BOX_ITEM_NAMES,
    BOX_ITEMS,
    SPEC_KEYWORDS,
    asks_part_price,
    box_item_asked,
    detect_spec,
    excluded,
    names_spec,
    unheld_spec,
)
from bot.knowledge.text import has_cjk, normalise
from bot.language import CJK_CHAR

__all__ = ["SpecAnswer", "STOCK_ENTRY", "detect_spec", "names_spec", "unheld_spec", "missing_spec", "render_spec", "answer_spec", "check_products", "join_list", "SPEC_KEYWORDS",
           "ACTIVITIES"]

_WIRELESS = re.compile(r"wireless|qi\b|无线", re.IGNORECASE)
# "充电宝能冲几次14pro", "how many 14 pro charges from the power bank": the phone is what the bank's charges fill.
_CHARGES_FROM = re.compile(r"[充冲]几次|几次电|how many (?:\w+ ){0,3}(?:full )?(?:times|charges)\b", re.IGNORECASE)

# What a water-resistance rating allows is data (`fine:` / `not_for:` in products.yml), never a sentence
# in `say`: the yes or no of an answer comes from the activity the user asks about.
ACTIVITIES: Dict[str, Tuple[str, Dict[str, str]]] = {
    "rain": (r"\brain(?:s|ing|y|coat)?\b|淋雨|下雨|雨天|雨里|雨中", {"en": "rain", "zh": "淋雨"}),
    "splash": (r"splash\w*|spill\w*|溅|洒", {"en": "splashes", "zh": "溅水"}),
    "sweat": (r"sweat\w*|出汗|防汗|汗水", {"en": "sweat", "zh": "出汗"}),
    "sink": (r"sink|toilet|drop\w* (?:it )?in(?:to)? (?:the )?water|fell in(?:to)? (?:the )?water|掉(?:进|到|在)?水|泡水",
             {"en": "a drop in the sink", "zh": "掉进水池"}),
    "shower": (r"shower\w*|bath\w*|洗澡|热水澡|淋浴|泡澡", {"en": "hot showers", "zh": "洗热水澡"}),
    "swim": (r"swim\w*|pool|游泳|泳池", {"en": "swimming", "zh": "游泳"}),
    "dive": (r"div(?:e|ing)|snorkel\w*|潜水|浮潜", {"en": "diving", "zh": "潜水"}),
    "sea": (r"\bsea\b|ocean|beach|salt ?water|海水|海边|下海", {"en": "the sea", "zh": "海水"}),
    "sauna": (r"sauna|hot spring|steam\w*|桑拿|温泉|蒸汽", {"en": "saunas and hot springs", "zh": "桑拿和温泉"}),
}
_ACTIVITY_PATTERNS = {key: re.compile(pat, re.IGNORECASE) for key, (pat, _) in ACTIVITIES.items()}
# One sample question per activity and language: `check_products` renders each against the data.
_ACTIVITY_SAMPLES = {"en": "Can I take the {name} into {what}?", "zh": "{name} 能{what}吗？"}


@dataclass
class SpecAnswer:
    """A spec answer: which products and spec, and the sentence."""

    products: List[str]
    spec: str
    text: str

    @property
    def entry_id(self) -> str:
        if self.spec == "stock":  # the stock topic's entry: the action fills in the live stock (bot/actions/stock.py)
            return STOCK_ENTRY
        return f"spec:{'+'.join(self.products)}:{self.spec}"


STOCK_ENTRY = "stock_availability"
"""The FAQ entry of stock questions: "in stock now?" is recorded as it, and its text gets the backend's live stock."""
_STOCK_TEXT = {"en": "The {name}'s stock changes through the day: its page in the Millet app or on our website shows it live.",
               "zh": "{name} 的库存一天里会变，米粒 App 或官网的商品页显示的是实时库存。"}


def _render_stock(name: str, lang: str) -> str:
    """Without the orders backend (`bot kb ask`): where the live stock is; the action says the backend's own figure."""
    return _STOCK_TEXT[lang].format(name=name)


def _render_in_box(product: Product, name: str, lang: str, question: str) -> Optional[str]:
    """What the box holds; for an item asked about, yes when listed, no when the list is `complete`, else None."""
    items = product.in_box.get(lang) or []
    if not items or product.in_box_entry:
        return None
    zh = lang == "zh"
    listed = join_list(items, lang)
    kind = box_item_asked(question)
    if kind is None and product.in_box_complete:
        return f"{name} 包装里有：{listed}。" if zh else f"In the {name} box: {listed}."
    if kind is None:  # what we know is in it, not the whole list
        return (f"{name} 包装里带{listed}；其他配件我这里没有确切的清单。" if zh else
                f"The {name} comes with {listed}; I don't have the full list of what else is in the box.")
    pattern = re.compile(BOX_ITEMS[kind][1], re.IGNORECASE)
    has = [i for i, en in enumerate(product.in_box.get("en") or []) if pattern.search(en)]
    if has:
        item, more = items[has[0]], len(items) > 1
        if zh:
            return f"有的，{name} 包装里带{item}" + (f"（盒里有：{listed}）。" if more else "。")
        return f"Yes, the {name} comes with {item}" + (f" ({listed} in the box)." if more else ".")
    if not product.in_box_complete:  # what we know, and that we cannot say about the rest
        other = BOX_ITEM_NAMES[kind][lang]
        return (f"{name} 包装里带{listed}；有没有{other}我这里没有确切的信息。" if zh else
                f"The {name} comes with {listed}; I can't say for sure whether {other} is in the box too.")
    return f"不带。{name} 包装里有：{listed}。" if zh else f"No, that's not in the box. The {name} comes with {listed}."


def missing_spec(products: Sequence[Product], question: str, lang: str) -> Optional[str]:
    """What the question asks that products.yml does not hold, or None: a figure no product has ("14 pro ppi" →
    "ppi"), or a spec the named products have no data for ("band 9 storage for music?" → "storage"). A "did you mean"
    offered for such a question can only point at the wrong thing; the honest reply is not sure."""
    unheld = unheld_spec(question)
    if unheld:
        return unheld
    if asks_part_price(question):  # "how much to replace the battery in my band 9": no part has a price in products.yml,
        return "the price of a part"  # so a "did you mean" offers its figures (mAh, the product's price), never the cost
    key = detect_spec(question)
    if key and products and all(render_spec(p, key, lang, question) is None for p in products):
        return key
    return None


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and value >= 10000:
        return f"{value:,}"
    return str(value)


def _detail(spec: Dict[str, Any], lang: str) -> str:
    d = spec.get("detail")
    return str(d.get(lang, "")) if isinstance(d, dict) else ""


def _say(spec: Dict[str, Any], lang: str) -> str:
    s = spec.get("say")
    return str(s.get(lang, "")) if isinstance(s, dict) else ""


def render_spec(product: Product, spec_key: str, lang: str, question: str = "") -> Optional[str]:
    """One natural sentence for `spec_key` of `product` in `lang`, or None if the product has no such data."""
    name = product.name.get(lang) or product.name.get("en") or product.id
    zh = lang == "zh"
    if spec_key == "price":
        if not product.price:
            return None
        v = _num(product.price.get("value"))
        return f"{name} 商城售价 {v} 元。" if zh else f"The {name} is ¥{v} in our store."
    if spec_key == "release_date":
        if not product.release_date:
            return None
        try:
            d = dt.date.fromisoformat(product.release_date)
        except ValueError:
            return None
        return f"{name} 是 {d.year} 年 {d.month} 月 {d.day} 日发布的。" if zh else \
            f"The {name} came out on {d.strftime('%B')} {d.day}, {d.year}."
    if spec_key == "stock":
        return _render_stock(name, lang)
    if spec_key == "in_box":
        return _render_in_box(product, name, lang, question)
    if spec_key == "colours":
        colours = product.colours.get(lang) or []
        if not colours:
            return None
        listed = (f"{name} 有 {len(colours)} 种颜色：{join_list(colours, lang)}。" if zh else
                  f"The {name} comes in {len(colours)} colour{'s' if len(colours) > 1 else ''}: {join_list(colours, lang)}.")
        return _colour_asked(product, lang, question, listed)
    spec = product.specs.get(spec_key)
    if spec is None:
        return None
    value, unit = spec.get("value"), spec.get("unit", "")
    detail, say = _detail(spec, lang), _say(spec, lang)
    if spec_key == "battery":
        if zh:
            return f"{name} 电池 {_num(value)}{unit}{'（' + detail + '）' if detail else ''}，{say}。"
        return f"The {name} has a {_num(value)} {unit} battery{' (' + detail + ')' if detail else ''} — {say}."
    if spec_key == "weight":
        if zh:
            return f"{name} 重 {_num(value)} 克{'（' + detail + '）' if detail else ''}，{say}。"
        return f"The {name} weighs {_num(value)} {unit}{' (' + detail + ')' if detail else ''} — {say}."
    if spec_key == "screen":
        if zh:
            return f"{name} 是 {_num(value)} 英寸屏幕{'，' + detail if detail else ''}，{say}。"
        return f"The {name} has a {_num(value)}-inch screen{' (' + detail + ')' if detail else ''} — {say}."
    if spec_key == "water_resistance":
        return _render_water(name, spec, lang, question)
    if spec_key == "charging":
        wired, wireless = spec.get("wired_w"), spec.get("wireless_w") or 0
        if _WIRELESS.search(question or ""):
            if wireless:
                return (f"支持，{name} 无线充电最高 {_num(wireless)}W；有线 {_num(wired)}W，{say}。" if zh else
                        f"Yes, the {name} charges wirelessly at up to {_num(wireless)} W. With a cable it's {_num(wired)} W: {say}.")
            return (f"不支持无线充电。{name} 用有线充电，{say}。" if zh else
                    f"No, the {name} doesn't charge wirelessly. It uses a cable: {say}.")
        return (f"{name} 有线充电最高 {_num(wired)}W，{say}。" if zh else
                f"The {name} charges at up to {_num(wired)} W: {say}.")
    if spec_key in ("storage", "chip"):
        if zh:
            return f"{name} 有 {value} 可选。" if spec_key == "storage" else f"{name} 用的是 {value} 芯片。"
        return f"The {name} comes with {value}." if spec_key == "storage" else f"The {name} runs on the {value}."
    if value is None:
        return None
    return f"{name}：{value}{unit}。" if zh else f"The {name}: {value} {unit}."


def activity_asked(question: str) -> Optional[str]:
    """The water activity a question asks about ("can I swim with it?" → "swim"), or None."""
    text = normalise(question)
    for key, pattern in _ACTIVITY_PATTERNS.items():
        if pattern.search(text):
            return key
    return None


# Colour words a fan asks for ("pro有粉色吗", "any green band 9?"): (Chinese character, English pattern).
_COLOURS = {"粉": "pink", "黑": "black", "白": "white", "绿": "green", "蓝": "blue", "紫": "purple", "红": "red",
            "金": "gold", "灰": "gr[ae]y", "银": "silver", "黄": "yellow", "橙": "orange"}
_ASKED_COLOUR = re.compile(rf"([{''.join(_COLOURS)}])(?:色|的|款|配色)|\b({'|'.join(_COLOURS.values())})\b", re.IGNORECASE)


def _colour_asked(product: Product, lang: str, question: str, listed: str) -> str:
    """The colours, led by a yes or no when the question asks for one ("pro有粉色吗": 没有粉色的). The product's lists
    are compared in both languages, index by index: "any green band?" finds 薄荷绿 though the English says Mint."""
    match = _ASKED_COLOUR.search(question or "")
    if not match:
        return listed
    char = match.group(1) or next(c for c, en in _COLOURS.items() if re.fullmatch(en, match.group(2), re.IGNORECASE))
    en_word = _COLOURS[char]
    zh_names, en_names = product.colours.get("zh") or [], product.colours.get("en") or []
    found = [i for i in range(max(len(zh_names), len(en_names)))
             if (i < len(zh_names) and zh_names[i].rstrip("色")[-1:] == char)  # 薄荷绿 is green, 钛金灰 not gold
             or (i < len(en_names) and re.search(rf"\b{en_word}\b", en_names[i], re.I))]
    names = product.colours.get(lang) or []
    said = join_list([names[i] for i in found if i < len(names)], lang, "or")
    word = match.group(2) or re.sub(r"\[.*\]", "rey", en_word)
    if lang == "zh":
        return f"有，{said}。{listed}" if found else f"没有{char}色的。{listed}"
    return f"Yes: {said}. {listed}" if found else f"Not in {word.lower()}. {listed}"


def join_list(words: Sequence[str], lang: str, conj: str = "and", zh_sep: str = "、") -> str:
    """"a, b and c" in English, "a、b、c" in Chinese ("" for no words)."""
    words = list(words)
    if lang == "zh" or len(words) < 2:
        return zh_sep.join(words)
    return ", ".join(words[:-1]) + f" {conj} " + words[-1]


def _listed(keys: Sequence[str], lang: str, conj: str) -> str:
    return join_list([ACTIVITIES[k][1][lang] for k in keys if k in ACTIVITIES], lang, conj)


def _render_water(name: str, spec: Dict[str, Any], lang: str, question: str) -> Optional[str]:
    value = spec.get("value")
    if not value:
        return None
    fine, not_for = list(spec.get("fine") or []), list(spec.get("not_for") or [])
    ok = _listed(fine, lang, "and")
    avoid = _listed(not_for, lang, "or")
    extra = _say(spec, lang)
    asked = activity_asked(question)
    zh = lang == "zh"
    if zh:
        fine_part = f"{ok}都没问题" if ok else ""
        tail = f"；{extra}" if extra else ""
        if asked in fine:
            return f"可以，{name} 是 {value} 防水，{fine_part}{tail}。"
        if asked is not None and asked in not_for:
            what = ACTIVITIES[asked][1]["zh"]
            return f"不建议，{name} 不适合{what}。它是 {value} 防水，{fine_part}{tail}。"
        avoid_part = f"，但不适合{avoid}" if avoid else ""
        return f"{name} 是 {value} 防水：{fine_part}{avoid_part}{tail}。"
    fine_part = f"{ok} {'are' if len(fine) > 1 else 'is'} fine" if ok else ""
    tail = f"; {extra}" if extra else ""
    if asked in fine:
        return f"Yes, the {name} is rated {value}: {fine_part}{tail}."
    if asked is not None and asked in not_for:
        what = ACTIVITIES[asked][1]["en"]
        return f"No, the {name} isn't made for {what}. It's rated {value}: {fine_part}{tail}."
    avoid_part = f", but it's not for {avoid}" if avoid else ""
    return f"The {name} is rated {value}: {fine_part}{avoid_part}{tail}."


def check_products(products: Dict[str, Product]) -> List[str]:
    """Spec data that would make an answer contradict itself, as `file:line: problem` strings.

    Water resistance: `fine` and `not_for` name known activities and do not overlap; `say` names no
    activity (the yes/no comes from the lists); and every activity question, rendered in both languages,
    answers yes exactly when the data says fine and no exactly when it says not for."""
    errors: List[str] = []
    for p in products.values():
        spec = p.specs.get("water_resistance")
        if spec is None:
            continue
        where = f"{p.source}: product '{p.id}' water_resistance"
        fine, not_for = spec.get("fine") or [], spec.get("not_for") or []
        if not isinstance(fine, list) or not isinstance(not_for, list):
            errors.append(f"{where}: `fine` and `not_for` must be lists of activities ({', '.join(ACTIVITIES)})")
            continue
        unknown = sorted({str(a) for a in [*fine, *not_for]} - set(ACTIVITIES))
        if unknown:
            errors.append(f"{where}: unknown activit{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                          f"use {', '.join(ACTIVITIES)}")
            continue
        both = sorted(set(fine) & set(not_for))
        if both:
            errors.append(f"{where}: {', '.join(both)} is both `fine` and `not_for`; keep it in one list")
            continue
        for lang in ("en", "zh"):
            said = _say(spec, lang)
            mentioned = [k for k, pat in _ACTIVITY_PATTERNS.items() if said and pat.search(normalise(said))]
            if mentioned:
                errors.append(f"{where}: `say.{lang}` talks about {', '.join(mentioned)} (\"{said}\"); say what an "
                              "activity allows with `fine:` / `not_for:`, so answers cannot contradict the data")
        for key, (_, words) in ACTIVITIES.items():
            for lang, sample in _ACTIVITY_SAMPLES.items():
                question = sample.format(name=p.name.get(lang, p.id), what=words[lang])
                text = render_spec(p, "water_resistance", lang, question) or ""
                says_yes = text.startswith(("Yes", "可以"))
                says_no = text.startswith(("No", "不建议"))
                if says_yes != (key in fine) or says_no != (key in not_for):
                    errors.append(f"{where}: the {lang} answer to \"{question}\" is \"{text}\", which does not match "
                                  f"fine={fine} / not_for={not_for}")
    return errors


def _names_a_colour(products: Sequence[Product], question: str) -> bool:
    """The question names one of the products' own colours ("14 pro in sky blue?", "天青蓝的好看吗"): a name of two
    English words or three Chinese characters, not a bare "black" ("black screen")."""
    text = normalise(question)
    names = {normalise(c) for p in products for cs in p.colours.values() for c in cs}
    return any(n in text for n in names if " " in n or (has_cjk(n) and len(n) >= 3))


# Several products named and nothing compared ("用的14 想换pro pro电池多大", "my 14 died, how much is the 14 pro"): the
# clause with the spec word says which product is asked about; the others are the fan's context.
_COMPARES = re.compile(r"比|哪|还是|差|区别|对比|和|跟|与|或|呢|都|各|分别|两|、|&|\+|/|\bvs\.?|\bversus\b|\bthan\b|\bor\b|"
                       r"\band\b|\bboth\b|\beach\b|\bcompar\w*|\bdiffer\w*|\bwhich\b|\bwhat about\b|\bhow about\b",
                       re.IGNORECASE)
_CLAUSE_BREAK = re.compile(rf"[,，.。!！?？;；~～\n]+|\s+(?={CJK_CHAR.pattern})|(?<={CJK_CHAR.pattern})\s+")


def _named_in(products: Sequence[Product], clause: str) -> List[str]:
    """Which of `products` a clause names (their names, aliases and model codes, longest first; a bare model number
    or "pro" for the one product whose English name ends with it); the full matcher is `bot.knowledge.products`."""
    keys: List[Tuple[str, str]] = []
    for p in products:
        names = [*p.name.values(), *[a for v in p.aliases.values() for a in v], *p.model_codes]
        tail = re.search(r"(\d+|pro)$", p.name.get("en", ""), re.IGNORECASE)
        keys += [("".join(normalise(n).split()), p.id) for n in names] + ([(tail.group(1).lower(), p.id)] if tail else [])
    text, found = clause, []
    for key, pid in sorted(set(keys), key=lambda kv: -len(kv[0])):
        body = r"\s*".join(re.escape(c) for c in key)  # "14pro" names "14 pro" too
        at = re.search(rf"(?<![a-z0-9]){body}(?![a-z0-9])" if key.isascii() else body, text) if key else None
        if at:
            text = text[:at.start()] + " " + text[at.end():]
            found += [] if pid in found else [pid]
    return found


def _asked_products(products: Sequence[Product], question: str, key: str) -> Sequence[Product]:
    """The products the clause asking for `key` names, when it names some but not all and nothing is compared."""
    text = normalise(question)
    if len(products) < 2 or _COMPARES.search(text):
        return products
    clauses = [(c, _named_in(products, c)) for c in _CLAUSE_BREAK.split(text) if c.strip()]
    asking = [named for c, named in clauses if detect_spec(c) == key]
    # another clause asking about a product ("标准版14多少钱 pro又多少") keeps them all
    others = [named for c, named in clauses if named and detect_spec(c) != key and asks_question(c)]
    if not asking or others or not 0 < len(asking[0]) < len(products):
        return products
    return [p for p in products if p.id in asking[0]]


def answer_spec(products: Sequence[Product], question: str, lang: str) -> Optional[SpecAnswer]:
    """Answer a spec question about the named products, or None when it is not one we can answer."""
    key = detect_spec(question)
    if key is None and _names_a_colour(products, question) and not excluded(normalise(question)):
        key = "colours"
    if key is None or not products:
        return None
    banks = [p for p in products if p.category == "power_bank"]
    if key == "battery" and banks and len(banks) < len(products) and _CHARGES_FROM.search(normalise(question)):
        products = banks  # "how many 14 pro charges from the power bank": the bank's figure says it
    products = _asked_products(products, question, key)
    lines = [render_spec(p, key, lang, question) for p in products]
    if any(line is None for line in lines):
        return None
    text = "\n".join(line for line in lines if line)
    return SpecAnswer(products=[p.id for p in products], spec=key, text=text)
