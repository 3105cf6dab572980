"""What the brand sells ("what phones do you sell?", "你们有哪些手机"), answered from `products.yml`.

A catalog question asks for the range, not about one product: it names no product, and it asks
what there is ("what … do you sell", "有哪些", "哪几款"), optionally for one category. The answer
lists the products of that category (or all categories) with their price and `summary`. A question
about a category the brand does not sell ("do you sell laptops?") is not a catalog question: the
retriever's unknown-product rule and the fallback handle it, so the bot never lists phones to someone
who asked for a TV.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from bot.knowledge.answering import asks_question
from bot.knowledge.loader import Product
from bot.knowledge.spec_words import detect_spec
from bot.knowledge.specs import join_list
from bot.knowledge.superlatives import answer_ranked, answer_relative
from bot.knowledge.text import has_cjk, normalise

__all__ = ["CatalogAnswer", "answer_catalog", "unmade_kind", "names_unmade_kind", "render_catalog", "category_products", "asked_category_products",
           "CATEGORIES"]

# Kinds of phone fans name without 手机 ("你们有没有老人机", "想买个备用机"): the phone range.
_PHONE_KINDS = "老人机|老年机|学生机|备用机|千元机|智能机"
# category -> (question words, {lang: (singular, plural)})
CATEGORIES: Dict[str, Tuple[str, Dict[str, Tuple[str, str]]]] = {
    "phone": (rf"\b(?:smart)?phones?\b|手机|{_PHONE_KINDS}", {"en": ("phone", "phones"), "zh": ("手机", "手机")}),
    "band": (r"bands?|fitness trackers?|手环", {"en": ("band", "bands"), "zh": ("手环", "手环")}),
    # not the phone's jack or someone's old wired pair ("有耳机孔么", "my old wired earphones")
    "earbuds": (r"ear ?buds?\b|buds|(?<!wired )(?:earphones?|headphones?)(?! (?:jack|port|socket|adapter))|"
                r"(?<!有线)耳机(?![孔口插接转])", {"en": ("pair of earbuds", "earbuds"), "zh": ("耳机", "耳机")}),
    "power_bank": (r"power ?banks?|portable chargers?|充电宝|移动电源", {"en": ("power bank", "power banks"),
                                                                        "zh": ("充电宝", "充电宝")}),
}
# Product kinds people ask for that the brand does not make: never answered with the range.
_NOT_SOLD = re.compile(r"laptops?|notebooks?|computers?|\btvs?\b|televisions?|tablets?|\bpads?\b|watch(?:es)?|routers?|"
                       r"speakers?|cameras?|(?:e-?)?scooters?|e-?bikes?|\bcars?\b|drones?|电脑|笔记本|电视|平板|手表|路由器|音箱|相机|"
                       r"滑板车|汽车|电动车|电瓶车|平衡车|无人机|"
                       # other makers' ranges: a fan asks "do you sell …" of every kind of gadget
                       r"\bvr\b|headsets?|smart ?glasses|vacuums?|robot vacuums?|kettles?|rice cookers?|air fryers?|fridges?|"
                       r"monitors?|keyboards?|\bmice\b|printers?|consoles?|e-?readers?|toothbrush(?:es)?|shavers?|hair ?dryers?|"
                       r"头显|眼镜|扫地机|吸尘器|电饭煲|空气炸锅|冰箱|空调|洗衣机|显示器|键盘|鼠标|打印机|游戏机|电动牙刷|剃须刀|吹风机")
_NOUNS_EN = (r"(?:products|phones|smartphones|models|devices|gadgets|ear ?buds|earphones|headphones|bands|fitness trackers|"
             r"power ?banks|portable chargers|wearables|stuff|things)")
_KIND_WORDS_EN = "good|cheap|decent|wireless|bluetooth|new"  # what kind of a category ("any cheap wireless earbuds")
_NOUNS_ZH = rf"(?:型号|款式|款|产品|东西|设备|手机|{_PHONE_KINDS}|耳机|手环|充电宝|移动电源)"
_NOUNS_MIXED = rf"(?:{_NOUNS_EN}|{_NOUNS_ZH})"  # "got any 充电宝?", "do u sell 耳机": an English frame round a Chinese kind
_ONE_EN = r"(?:phone|smartphone|band|fitness tracker|pair of earbuds|earbud|earphone|headphone|power bank|product|model|device)"
_NOT_A_PART = r"(?![壳膜套孔口插接线带])"  # "推荐个手机壳": an accessory, not the range
_ASKS_RANGE = re.compile(
    rf"what (?:(?:kinds? of|kinda|types? of|sorts? of|sorta|other|else|all) )?(?:{_NOUNS_EN} )?(?:do|does|can) (?:you|u|ya|millet) "
    rf"(?:guys )?(?:actually |even |really |currently |still )?(?:sell|have|make|offer|got)|"
    rf"(?:\bdo |^)(?:you|u) (?:guys )?(?:sell|have|make) (?:any )?(?:other )?(?:(?:{_KIND_WORDS_EN}|sports?|running|fitness|smart|noise[- ]cancell?ing) )*{_NOUNS_MIXED}|"
    # "do you have a fitness tracker": one of a kind, not its accessory ("do you sell a phone case"); "do" may be left out
    # at the start ("you guys sell fitness trackers?")
    rf"(?:\bdo |^)(?:you|u) (?:guys )?(?:sell|have|make) an? (?:(?:{_KIND_WORDS_EN}|sports?|running|fitness|smart) )*{_ONE_EN}\b"
    r"(?!\s*(?:cases?|covers?|chargers?|cables?|straps?|screen protectors?|films?|holders?|stands?))|how many {_NOUNS_EN} (?:do|does)|"
    # "any fitness trackers?", "got any earbuds": the whole message asks whether there are any
    rf"^(?:(?:you |u )?(?:got|have) )?any (?:(?:{_KIND_WORDS_EN}|other) )*{_NOUNS_MIXED}(?: (?:for|from|by) [a-z ]{{1,20}})?\W*$|"
    rf"\b(?:your|the) (?:(?:full|whole|entire|complete) )?(?:line-?up|product range|range of {_NOUNS_EN}|catalog(?:ue)?)\b|\ball (?:your|the) {_NOUNS_EN}|"
    # "any fitness trackers in your range", "whats in the millet range"
    r"\bin (?:your|the millet|millet'?s) range\b|"
    rf"\b(?:list|show me) (?:of )?(?:your |all |millet |the )*{_NOUNS_EN}|"
    rf"(?:有|卖|出了?)些?(?:哪些|什么|啥|几款|几种|哪几款|哪几种){_NOUNS_ZH}|(?:你们|你家|你们家|米粒)(?:一共|总共)?(?:出了|有|卖)(?:几款|哪几款|几种|哪几种)(?=\s*(?:$|[，,。？?！!~～吗呀啊呢哦嘛]))|"
    # "闺女想要个运动手环 你们有吗": the kind, then whether we have it
    rf"{_NOUNS_ZH}{_NOT_A_PART}\s*(?:你们|你家|你们家)(?:有|卖)(?:吗|嘛|么|没有?|不)(?=\W|$)|"
    # "你们家有做运动手环的吗": whether they make that kind
    rf"有(?:做|卖|出)[^，。？?！!\s]{{0,6}}{_NOUNS_ZH}{_NOT_A_PART}的?(?:吗|嘛|么|没有?)|"
    # ends there or names the range ("手机有哪几款可以选"); "耳机有几个颜色", "充电宝有几个口" ask about one product
    rf"{_NOUNS_ZH}(?:现在|目前|都|一共|总共){{0,2}}有?(?:哪些|哪几[款个种]|几[款个种]|什么型号)"
    r"(?=\s|$|[，,。？?！!~～吗呀啊呢哦嘛]|(?:可以|能|可)?(?:选|买)|型号|产品|系列)|"
    rf"(?:卖不卖|做不做|出不出|有没有卖|有卖)[^，。？?！!\s]{{0,4}}{_NOUNS_ZH}{_NOT_A_PART}|"
    rf"有没有[^，。？?！!\s]{{0,8}}(?:产品|东西|设备|手机|{_PHONE_KINDS}|耳机|手环|充电宝|移动电源)(?=\s*(?:$|[，,。？?！!~～吗呀啊呢哦嘛]|卖|买|推荐))|"
    # "想买个运动手环 你们有啥", "有啥适合老人用的手机吗", "which of your products is good for running": what to pick
    r"(?:你们|你家|你们家|米粒)(?:都|还)?有(?:啥|什么|哪些)(?=\s*(?:$|[，,。？?！!~～吗呀啊呢哦嘛]|推荐|可以|能|卖))|"
    rf"适合[^，。？?！!\s]{{0,8}}的{_NOUNS_ZH}|\bwhich (?:of your |one of your )?(?:{_NOUNS_EN}|phone|band|pair of earbuds|power bank|product|model) (?:is|are) "
    rf"(?:good|best|right)\b|\b(?:newest|latest) (?:thing|product|release|device|gadget|model|{_ONE_EN})s?\b|"
    # "最新的手机是哪款", "你们最新出的是啥": the newest of the range
    rf"最新(?:的|出的|款的?|发布的)?(?:一款|款|{_NOUNS_ZH})?(?:是|有)?(?:哪|什么|啥)|"
    rf"卖(?:些|的)?是?(?:什么|啥|哪些|哪一?款|哪个)|全部产品|所有产品|产品线|全家桶|^(?:你们)?有{_NOUNS_ZH}(?:卖|吗|没|不)|(?:你们|你家|你们家|米粒)(?:出|卖|做)了?[^，。？?！!\s]{{0,4}}?{_NOUNS_ZH}{_NOT_A_PART}(?:吗|嘛|么|没|不)|"
    # "耳机就只有buds5这一款吗", "is the buds 5 the only pair you make"
    rf"只有[^，。？?！!\s]{{0,12}}(?:这)?一款|就这[一两几三]款|只有[两几三]款|(?:没有?|还有)(?:别的|其他|其它)(?:款|型号|产品|东西|设备)|"
    r"\bthe only (?:one|model|pair|phone|band|power bank|wearable|gadget|device)s?\b|"
    rf"还是只有[^，。？?！!\s]{{0,6}}{_NOUNS_ZH}|"
    # "推荐一款手机", "想买个耳机 推荐下", "recommend me a phone", "which band should i buy": pick one for me
    rf"推荐[^，。？?！!\s]{{0,6}}{_NOUNS_ZH}{_NOT_A_PART}|{_NOUNS_ZH}{_NOT_A_PART}[^，。？?！!]{{0,8}}推荐|"
    rf"\brecommend\w* (?:me )?(?:an? |some |any )?(?:good |cheap |decent )?(?:{_ONE_EN}|{_NOUNS_EN})\b|"
    rf"\bwhich (?:{_ONE_EN}|{_NOUNS_EN}) (?:should i|do you recommend|would you)\b|"
    rf"\b(?:which|what) (?:millet |of your |ur )?{_NOUNS_EN} (?:can|could) (?:i|we) (?:buy|get|order)\b|"
    # "你们有几个系列", "millet's lineup", "what can i buy here", "how many phone models are there"
    rf"几个系列|哪些系列|什么系列|\bmillet'?s (?:line-?up|range|products)\b|\bproduct line-?up\b|\bwhat can i (?:actually |even )?buy\b|"
    rf"\bhow many (?:{_ONE_EN} )?models\b|"
    # "fitness tracker options?", "what are my options for earbuds", "手环有啥选择": the choices there are
    rf"^(?:(?:{_KIND_WORDS_EN}|sports?|running|fitness|smart) )*(?:{_ONE_EN}|{_NOUNS_EN}) (?:options|choices)\W*$|"
    rf"\bwhat (?:are )?(?:the |my |your )?(?:options|choices) (?:for|in) (?:an? )?(?:{_ONE_EN}|{_NOUNS_EN})\b|"
    rf"{_NOUNS_ZH}{_NOT_A_PART}(?:都|还)?有(?:啥|什么|哪些)(?:选择|可选|可以选)|"
    # "充电宝有小一点的吗", "do you have a smaller power bank": another size of the kind, i.e. the range
    rf"(?:{_NOUNS_ZH}{_NOT_A_PART}\s*)?有(?:没有)?(?:更)?(?:小|大|轻|薄|便宜|容量小|容量大)(?:一)?(?:点|些)的(?:{_NOUNS_ZH})?(?:吗|嘛|么|没有?|不)?(?=\W|$)|"
    rf"\b(?:do|does) (?:you|u|millet) (?:guys )?(?:sell|have|make) (?:a |an |any )?(?:smaller|bigger|lighter|cheaper|thinner|slimmer) "
    rf"(?:one|{_ONE_EN}|{_NOUNS_EN})s?\b",
    re.IGNORECASE,
)
# How superlative and budget answers name what they compare: a category, or (None) everything we sell.
_GROUPS: Dict[Optional[str], Dict[str, str]] = {
    **{key: {"en": names["en"][1], "en_one": names["en"][0], "zh": names["zh"][1]} for key, (_, names) in CATEGORIES.items()},
    None: {"en": "products", "en_one": "product", "zh": "产品"},
}
_CATEGORY_PATTERNS = {key: re.compile(pat, re.IGNORECASE) for key, (pat, _) in CATEGORIES.items()}
# "Do you sell X?" for an X the brand does not make ("你们有平板吗", "do u sell a smartwatch", "recommend a laptop"):
# the honest answer is "we don't have that" (`unmade_kind`), as for a product name we do not know.
_ASKS_FOR = re.compile(r"\b(?:do|does|can|will) (?:you|u|ya|millet) (?:guys )?(?:sell|have|make|offer|got|do)\b|"
                       r"\brecommend\b|\bany (?:good )?\w+ (?:for sale|in stock)|有没有|有卖|卖不卖|出不出|做不做|推荐|"
                       # "got any smartwatches", "any tablets?", "u guys make laptops?": the whole message asks for them
                       r"^(?:(?:you |u )?(?:got|have) )?any (?:\w+ ){0,2}\w+\W*$|^(?:do )?(?:you|u) (?:guys )?(?:sell|make|have)\b|"
                       r"^(?:你们|你家|你们家|米粒)?(?:有|卖|出)[^，。？?！!\s]{0,8}(?:吗|嘛|么|没|不)(?:\W|$)|"
                       # "…笔记本电脑 你们有吗", "你们家有没"; the kind alone, or after "and" ("laptops?", "那手表呢")
                       r"(?:你们|你家|你们家)(?:有|卖|出)(?:吗|嘛|么|没|不)|有没|^\W*[a-z]+\s*[?？]+\W*$|"
                       r"^那[^，。？?！!\s]{1,6}呢|^(?:and|what about|how about) (?:the |a |your )?\w+\W*$",
                       re.IGNORECASE)


@dataclass
class CatalogAnswer:
    category: Optional[str]
    text: str
    products: List[str]
    entry: Optional[str] = None  # a superlative's: the spec over the products compared (bot.knowledge.superlatives)

    @property
    def entry_id(self) -> str:
        return self.entry or "catalog:lineup" + (f":{self.category}" if self.category else "")


def _price(p: Product, lang: str) -> str:
    value = (p.price or {}).get("value")
    if value is None:
        return ""
    return f"{value} 元" if lang == "zh" else f"¥{value:,}" if isinstance(value, int) else f"¥{value}"


def _line(p: Product, lang: str) -> str:
    name = p.name.get(lang) or p.id
    bits = [b for b in (_price(p, lang), p.summary.get(lang, "")) if b]
    if lang == "zh":
        return f"{name}（{'，'.join(bits)}）" if bits else name
    return f"the {name} ({', '.join(bits)})" if bits else f"the {name}"




# "除了手机还卖啥", "what else do you sell besides phones": the category named is the one NOT asked about.
_EXCEPT = re.compile(r"(?:除了|除开|besides|other ?than|apart ?from|except)\s*(?:the\s*|your\s*)?$", re.IGNORECASE)


# "想给爸妈买个手机 哪款合适", "充电宝哪款划算": which one of a category to buy, with no product or other brand named
_WITH_OURS = re.compile(r"[和跟与同](?:你们|你家|米粒)")
_WHICH_TO_BUY = re.compile(r"(?:哪款|哪一款|哪个|哪种|买哪)(?:[个款种]?(?:手机|手环|耳机|充电宝))?(?:比较|更|最)?(?:合适|适合|好|值得买|划算)")


def _category_of(text: str) -> Tuple[Optional[str], bool]:
    """(the category named, whether a category we do not sell is named); a category named right after "besides"
    or "除了" asks for the rest of the range: no category."""
    for key, pattern in _CATEGORY_PATTERNS.items():
        found = pattern.search(text)
        if found:
            return (None if _EXCEPT.search(text[:found.start()]) else key), False
    return None, bool(_NOT_SOLD.search(text))


def category_products(products: Dict[str, Product], question: str) -> List[str]:
    """"耳机防水吗", "你们的手机有没有512g的": a category word names the products of that category (one or several);
    "price of the band and the buds": each category named, in the order named."""
    text = normalise(question)
    category, foreign = _category_of(text)
    if category is None or foreign:
        return []
    named = sorted((found.start(), key) for key, pattern in _CATEGORY_PATTERNS.items()
                   for found in [pattern.search(text)] if found and not _EXCEPT.search(text[:found.start()]))
    asked = [(at, key) for at, key in named if not _OWN.search(text[:at])]
    return [p.id for _, key in (asked or named) for p in products.values() if p.category == key]


# "can i charge the buds with my phone's wireless pad", "耳机能连我的手机吗": the fan's own device, beside the product
# asked about, is not asked about itself.
_OWN = re.compile(r"(?:\bmy|我的?|我家)\s*$", re.IGNORECASE)


# Specs every product of a category has a figure for (see asked_category_products).
_CATEGORY_SPECS = ("price", "colours", "storage", "water_resistance", "weight", "battery", "charging", "screen", "chip", "stock",
                   "release_date", "in_box")


def asked_category_products(products: Dict[str, Product], question: str) -> List[str]:
    """The products a category word names: its only product, or all of them for the specs every product of a
    category has a figure for, asked as a question ("手机有几种颜色"); never for the words that also mean a fault
    ("屏裂了") or a statement ("my phone battery dies quickly")."""
    members = category_products(products, question)
    if len({products[p].category for p in members}) == len(members):  # one product per category named
        return members
    return members if detect_spec(question) in _CATEGORY_SPECS and asks_question(question) else []


def answer_catalog(products: Dict[str, Product], question: str, named: Sequence[str], lang: str) -> Optional[CatalogAnswer]:
    """The range answer, or None when `question` is not a catalog question (or is about one product)."""
    text = normalise(question)
    category, foreign = _category_of(text)
    ranked = None if foreign else (answer_relative(products, text, named, _GROUPS, lang) if named else
                                   answer_ranked(products, text, category, _GROUPS, lang))
    if ranked is not None:  # "whats the cheapest thing you sell", "三千以内的手机"
        return CatalogAnswer(category=category, entry=ranked[0], text=ranked[1], products=ranked[2])
    # "充电宝哪款划算": the category word names its only product; "14跟pro哪个好" compares the products it names
    # ("华为手环和你们手环9哪个好" weighs another maker's against ours: no pick from our range answers it)
    which = bool(category and not re.search("比(?!较)", text) and not _WITH_OURS.search(text) and _WHICH_TO_BUY.search(text) and (not named or (
        len(named) == 1 and sum(p.category == category for p in products.values()) == 1)))
    if not (_ASKS_RANGE.search(text) or which) or foreign:
        return None
    # "有哪些充电宝": a generic alias may name the category's only product; any other product named
    # makes it a question about that product, not about the range.
    if named and (category is None or any(products[p].category != category for p in named if p in products)):
        return None
    return render_catalog(products, category, lang)


def unmade_kind(question: str, named: Sequence[str], find: Optional[Callable[[str], Any]] = None) -> Optional[str]:
    """The kind of product asked for that the brand does not make ("你们有平板吗" → 平板, "do u sell laptops" → laptops, and a
    spec of it: "手表的价格是多少", "how much is your smartwatch"), else None: the answer is "we don't have that", as
    for a product name we do not know (the retriever's `unknown_products`). With `find` (the product matcher's), a
    clause of its own asks too ("米粒出不出watch啊 手环屏太小了": the band named after it is why they ask)."""
    kind = _unmade_kind(normalise(question), named)
    if kind is not None or find is None:
        return kind
    clauses = [c for c in _CLAUSE.split(question if has_cjk(question) else re.sub(r"\s+", " ", question)) if c.strip()]
    ours = False  # "getting the 14 pro, is the camera good in low light": after our product, its camera, not a camera
    for clause in clauses if len(clauses) > 1 else []:
        known = find(clause).known
        kind = None if ours and not _ASKS_FOR.search(normalise(clause)) else _unmade_kind(normalise(clause), known)
        if kind is not None:
            return kind
        ours = ours or bool(known)
    return None


def names_unmade_kind(question: str) -> bool:
    """Whether `question` names a kind of device the brand does not make ("华为手表能连米粒手机用吗": 手表)."""
    return bool(_NOT_SOLD.search(normalise(question)))


def _unmade_kind(text: str, named: Sequence[str]) -> Optional[str]:
    _, foreign = _category_of(text)
    if not foreign or named or not (_ASKS_FOR.search(text) or (detect_spec(text) is not None and asks_question(text))):
        return None
    found = _NOT_SOLD.search(text)
    if found is None:
        return None
    start = found.start()
    while start and text[start - 1].isascii() and text[start - 1].isalpha():  # "smartwatches", not "watches"
        start -= 1
    return text[start:found.end()]


# Clauses: Chinese ones end at punctuation or a space, English ones at punctuation.
_CLAUSE = re.compile(r"[，。？?！!；;,\n]+|(?<=[\u4e00-\u9fff啊吗呢吧嘛])\s+|\s+(?=[\u4e00-\u9fff])")


def render_catalog(products: Dict[str, Product], category: Optional[str], lang: str) -> Optional[CatalogAnswer]:
    """The range of one category (or of everything the brand sells) in `lang`; None if nothing to list."""
    sold = [p for p in products.values() if p.category in CATEGORIES]
    if category is not None:
        chosen = [p for p in sold if p.category == category]
        if not chosen:
            return None
        singular, plural = CATEGORIES[category][1][lang]
        lines = join_list([_line(p, lang) for p in chosen], lang, zh_sep="；")
        if lang == "zh":
            text_out = f"{plural}有 {len(chosen)} 款：{lines}。" if len(chosen) > 1 else f"{singular}目前有一款：{lines}。"
            text_out += "说说你最看重什么，我帮你挑。"
        else:
            head = f"We have {len(chosen)} {plural}: " if len(chosen) > 1 else f"We have one {singular}: "
            text_out = head + lines + ". Tell me what matters most to you and I'll help you pick."
        return CatalogAnswer(category=category, text=text_out, products=[p.id for p in chosen])
    groups: List[str] = []
    for key, (_, names) in CATEGORIES.items():
        members = [p for p in sold if p.category == key]
        if not members:
            continue
        titles = join_list([p.name.get(lang, p.id) for p in members], lang)
        groups.append(f"{names[lang][1]}：{titles}" if lang == "zh" else f"{names[lang][1]} ({titles})")
    if not groups:
        return None
    listed = join_list(groups, lang, zh_sep="；")
    if lang == "zh":
        text_out = "我们现在卖这些：" + listed + "。想了解哪一款，告诉我就行。"
    else:
        text_out = "Right now we sell " + listed + ". Tell me which one you'd like to know more about."
    return CatalogAnswer(category=None, text=text_out, products=[p.id for p in sold])
