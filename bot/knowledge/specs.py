"""Spec questions ("How heavy is the Millet 14?", "14 Pro 电池多大") answered from `products.yml`.

A question is a spec question when it names a known product and a spec keyword, and is not a
how-to ("How do I make the battery last longer?" goes to the FAQ). The answer leads with the
value and says what it means in use (the spec's `say`), in the user's language.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from bot.knowledge.loader import Product
from bot.knowledge.text import normalise

__all__ = ["SpecAnswer", "detect_spec", "render_spec", "SPEC_KEYWORDS"]

SPEC_KEYWORDS: Dict[str, str] = {
    "battery": r"battery|mah|battery life|how long does it last|续航|电池|毫安|电量|能用多久|用多久",
    "weight": r"heav\w*|weigh\w*|\blight(?:er|est)?\b|grams?\b|多重|重量|几克|多少克|重不重|有多重",
    "screen": r"screen|display|inch|屏幕|屏|英寸|寸",
    "water_resistance": r"waterproof|water[- ]?resistant|water resistance|water|ip\s?6\d|swim|rain|shower|防水|游泳|进水|淋雨|泡水",
    "charging": (r"charging (?:speed|time|power)|fast[- ]charg\w*|quick[- ]charg\w*|wireless\w*|watts?|\d+\s?w\b|"
                 r"how (?:fast|quick\w*|long) (?:\w+ ){0,4}charg\w*|charg\w* (?:fast|quick\w*)|"
                 r"快充|无线充|充满|充电(?:速度|功率|多久|多快|快)|瓦"),
    "price": r"price|cost|how much|expensive|cheap|多少钱|价格|售价|贵|价钱|几块",
    "release_date": r"release|launch|come out|came out|available since|发布|上市|什么时候出|哪天出",
    "storage": r"storage|\bgb\b|\btb\b|memory|存储|内存|空间多大",
    "chip": r"chip|processor|cpu|soc|芯片|处理器",
}
_WIRELESS = re.compile(r"wireless|qi\b|无线", re.IGNORECASE)
# How-to and troubleshooting questions belong to the FAQ even when they name a spec.
_HOWTO = re.compile(r"\bhow (?:do|to|can|should|could)\b|\bwhy\b|\btips?\b|\bstuck\b|\bdrain|\bfix\b|"
                    r"\bbroken\b|\bnot working\b|\bcome with\b|in the box|\bincluded\b|\bcracked\b|"
                    r"怎么|如何|为什么|咋|办法|技巧|怎样|坏了|不了|送|盒里|发烫|烫|掉电|plane|飞机",
                    re.IGNORECASE)
_PATTERNS = {key: re.compile(rf"(?:{pat})", re.IGNORECASE) for key, pat in SPEC_KEYWORDS.items()}


@dataclass
class SpecAnswer:
    """A spec answer: which products and spec, and the sentence."""

    products: List[str]
    spec: str
    text: str

    @property
    def entry_id(self) -> str:
        return f"spec:{'+'.join(self.products)}:{self.spec}"


def detect_spec(question: str) -> Optional[str]:
    """The spec a question asks about, or None (no keyword, or a how-to question)."""
    text = normalise(question)
    if _HOWTO.search(text):
        return None
    hits = [key for key, pat in _PATTERNS.items() if pat.search(text)]
    if not hits:
        return None
    # "wireless charging battery" → charging; price beats release when both appear.
    for preferred in ("charging", "water_resistance", "price", "weight", "screen", "battery"):
        if preferred in hits:
            return preferred
    return hits[0]


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
        return f"防水，{name} 是 {value} 级别：{say}。" if zh else f"Yes, the {name} is rated {value} — {say}."
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


def answer_spec(products: Sequence[Product], question: str, lang: str) -> Optional[SpecAnswer]:
    """Answer a spec question about the named products, or None when it is not one we can answer."""
    key = detect_spec(question)
    if key is None or not products:
        return None
    lines = [render_spec(p, key, lang, question) for p in products]
    if any(line is None for line in lines):
        return None
    text = "\n".join(line for line in lines if line)
    return SpecAnswer(products=[p.id for p in products], spec=key, text=text)
