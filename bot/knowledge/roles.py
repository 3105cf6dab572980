"""The device our product is used with: "充电宝能给华为手机快充吗", "will the buds pair with my pixel 9",
"耳机能连两个手机不 另外多少钱".

A message names things in two roles. The subject is what it asks about (the power bank, the earbuds); a device
after a word of use ("给…充", "连", "配", "charge my …", "pair with …", "for …", "跟…连") is only what the subject is
used with. Two rules read the subject from this:
- another brand in that role is not what the question is about (`bot.knowledge.brands`): an entry about our
  product named as the subject answers it ("does the power bank fast charge an iPhone" → the power bank's
  charging), while "is the iphone 15 waterproof" (the brand is the subject) stays not sure;
- a category word in that role ("手机" in "耳机能连两个手机不") does not name the products a clause without its
  own product is asked about: "另外多少钱" is the earbuds' price, not every phone's (`Roles.subject_text`).
A comparison ("14pro跟iphone16比", "better than the pixel 9") has no such role: both sides are its subject.

A device can also be what our product is used **without** ("can i use the band 9 without a phone nearby", "手环9不带手机能
单独用吗", `asks_without`): an FAQ entry answers that only when its phrasings or answer speak of doing without something
(`speaks_of_absence`); the pairing entry, which only shares the word "phone", does not: the honest reply is not sure.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Tuple

__all__ = ["Roles", "asks_without", "speaks_of_absence", "mentions_what_is_done_without"]

# Devices a product of ours is used with, by their generic nouns (other brands come from the config's list).
_DEVICES = (r"手机|平板|电脑|笔记本|手表|耳机|手环|充电宝|游戏机|设备|"
            r"(?<![a-z])(?:smart ?)?phones?|tablets?|laptops?|computers?|watch(?:es)?|ear ?buds|buds|bands?|"
            r"power ?banks?|devices?|consoles?")
# The words of use before the device, and what may stand between ("给我的", "连两个", "charge my old", "pair with a").
_USE_ZH = r"(?:给|帮|替|连|连接|连上|配|配对|搭配|接|插|兼容|适配|用在|用于)(?:上|到|着|一下)?"
_DET_ZH = (r"(?:我的?|她的?|他的?|你们的?|家里的?|老的?|旧的?|新的?|两个|两台|两部|俩|仨|[2二3三]个|[3三][台部]|一个|一台|多个|几个|"
           r"别的|其他的?|另一个|另一台|别人的?|安卓的?)?")
_USE_EN = r"(?<![a-z])(?:with|to|for|on|into|charge[sd]?|charging)"
_DET_EN = (r"(?:\s+(?:my|a|an|the|your|her|his|our|their|two|2|both|other|another|old|new|several|multiple|any|"
           r"android|ios|windows))*\s+")  # "work with android phones": the phones' system names no product of ours
# A model after the name: "15", "s24", "9 pro", "macbook air", "mate 70"
_MODEL = r"(?:[a-z]*\d[a-z0-9]*|pro|max|plus|mini|ultra|air|lite|se|fe|note|mate)"
# "跟iphone能连吗", "和华为手机配对": 跟/和/与 only when a word of use follows the device (else it compares or lists)
_WITH_ZH = r"(?:跟|和|与)"
_USE_AFTER_ZH = r"(?=\s*(?:能|可以|能不能|可不可以|怎么|咋|也|一起)?\s*(?:连|配对|配|匹配|兼容|同步|一起用|用))"
_COMPARES = re.compile(r"比|哪个|谁|区别|差别|不同|一样|(?<![a-z])(?:vs\.?|versus|than|better|worse|compare[sd]?|"
                       r"comparison|difference)(?![a-z])", re.IGNORECASE)


# "can i use the band 9 without a phone nearby", "手环9不带手机能单独用吗": our product used without what it is usually
# used with (a phone, the app, an account, a network). No entry is about that unless it says so itself.
_NEEDED_EN = (r"(?:(?:a|an|the|my|any|your|its|millet)\s+)*(?:smart ?)?(?:phones?|mobile|app|account|wi-?fi|internet|"
              r"network|sim(?: card)?|bluetooth)")
# after "no"/"没有" only what one uses it with, not a symptom ("no signal", "没有信号", "no wifi after the update")
_NEEDED_NO = r"(?:(?:a|the|my|any|millet)\s+)*(?:phones?|app|account)|(?:我的|米粒|小米)?(?:手机|app|账号|帐号)"
_NEEDED_ZH = r"(?:我的|米粒|小米)?(?:手机|app|账号|帐号|网络|wifi|流量|蓝牙|sim卡?)"
_WITHOUT = re.compile(
    rf"(?<![a-z])(?:without|w/o)\s+{_NEEDED_EN}(?![a-z])|(?<![a-z])(?:with no|no)\s+(?:{_NEEDED_NO})(?![a-z])|"
    rf"(?<![a-z])(?:standalone|on its own|by itself)(?![a-z])|"
    rf"(?:不带|不用|不连|不连接|不拿|没带|没连|没拿|脱离|离开|不开)\s*{_NEEDED_ZH}|(?<!有)没有\s*(?:{_NEEDED_NO})|"
    rf"单独(?:用|使用|运行|工作)|独立(?:用|使用|运行|工作)", re.IGNORECASE)
_OFFLINE = re.compile(r"(?<![a-z])offline(?![a-z])|离线", re.IGNORECASE)


def asks_without(text: str) -> str:
    """What `text` asks to use our product without ("a phone nearby" → "without a phone"), or ""."""
    found = _WITHOUT.search(text or "")
    return found.group(0).strip() if found else ""


# What a "without" phrase does without, by family: an entry that mentions one is about using ours with it.
_NEEDS = tuple(re.compile(words, re.IGNORECASE) for words in (
    r"phone|mobile|手机|iphone|android|安卓|苹果",
    r"(?<![a-z])app(?![a-z])|应用|米粒健康|millet health",
    r"account|账号|帐号",
    r"wi-?fi|internet|network|网络|流量",
    r"(?<![a-z])sim(?![a-z])|sim卡",
    r"bluetooth|蓝牙",
))


def mentions_what_is_done_without(absent: str, texts: Iterable[str]) -> bool:
    """Whether `texts` (an entry's phrasings and answer) mention what `absent` ("不带手机", "without the app") does
    without: the pairing entry mentions the phone, so it is about using the band with one; the ANC entry never
    mentions the app ("long-press an earbud"), so "耳机不用app能调降噪吗" may still be its question."""
    texts = list(texts)
    families = [family for family in _NEEDS if family.search(absent)] or [_NEEDS[0]]  # "standalone", "单独用": no phone
    return any(family.search(t or "") for family in families for t in texts)


def speaks_of_absence(texts: Iterable[str]) -> bool:
    """Whether any of `texts` (an entry's phrasings and answer) speaks of doing without what our product is used with,
    or of working offline ("can i return it without a reason" or "表带能单独买吗" do not)."""
    return any(_WITHOUT.search(t or "") or _OFFLINE.search(t or "") for t in texts)


def _names(brands: Iterable[str]) -> str:
    words = sorted({b.strip() for b in brands if b.strip()}, key=len, reverse=True)
    latin = [re.escape(w) for w in words if re.fullmatch(r"[A-Za-z0-9 .+-]+", w)]
    other = [re.escape(w) for w in words if not re.fullmatch(r"[A-Za-z0-9 .+-]+", w)]
    parts = ([rf"(?<![a-z0-9])(?:{'|'.join(latin)})(?![a-z])"] if latin else []) + other
    return "|".join(parts + [_DEVICES])


class Roles:
    """The object-role phrases of a message for one list of other brands (`answering.other_brands`)."""

    def __init__(self, brands: Iterable[str]) -> None:
        names = _names(brands)
        # the device: a brand or a device noun, a model after it ("苹果15", "galaxy s24"), a device noun after that
        one = rf"(?:{names})(?:\s*{_MODEL}(?![a-z0-9])){{0,3}}(?:\s*(?:{_DEVICES}))?"
        # "charge my phone and my band", "给手机和手环充": devices joined are all used with
        thing = rf"{one}(?:\s*(?:和|跟|与|还有|、|,|and|&|or|或)(?:{_DET_EN}|\s*{_DET_ZH}\s*){one})*"
        self._object = re.compile(
            rf"{_USE_ZH}\s*{_DET_ZH}\s*(?P<a>{thing})|{_USE_EN}{_DET_EN}(?P<b>{thing})|"
            rf"{_WITH_ZH}\s*{_DET_ZH}\s*(?P<c>{thing}){_USE_AFTER_ZH}|"
            # an aside: "or just a cable like apple does now" names what they do, not what is asked about
            rf"(?<![a-z])like{_DET_EN}(?P<d>{thing})(?=\s+(?:does|do|did|has|have|had)\b)", re.IGNORECASE)
        self._device = re.compile(_DEVICES, re.IGNORECASE)

    def objects(self, text: str) -> List[Tuple[int, int]]:
        """The spans of the devices `text` uses something with; none in a comparison."""
        text = text or ""
        if _COMPARES.search(text):
            return []
        spans: List[Tuple[int, int]] = []
        for found in self._object.finditer(text):
            group = next(g for g in ("a", "b", "c", "d") if found.group(g) is not None)
            spans.append(found.span(group))
        return spans

    def used_with(self, text: str, start: int, end: int) -> bool:
        """Whether the name at `text[start:end]` lies in a device our product is used with."""
        return any(a <= start and end <= b for a, b in self.objects(text))

    def subject_text(self, text: str) -> str:
        """`text` with the device nouns of its object phrases replaced by a word no category reads ("耳机能连两个手机不"
        → "耳机能连两个设备不" in Chinese, "device" in English), so the category words left name the subject."""
        out = text or ""
        for a, b in reversed(self.objects(out)):
            out = out[:a] + self._device.sub(lambda m: "设备" if re.match(r"[^\x00-\x7f]", m.group(0)) else "device",
                                             out[a:b]) + out[b:]
        return out
