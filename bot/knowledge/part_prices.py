"""Prices of services and repairs of a device's parts: whether a message asks what something costs, which parts it
names, and whether an FAQ answer gives the price of the part asked about (bot.knowledge.retriever's `_not_its_entry`).

The knowledge base holds few repair prices (the screen's). "用了两年电池不行了 换块电池多少钱" near the warranty entry,
which names the battery's warranty but no price, must not be answered by it: an answer is the price of a part only
when one of its sentences names the part together with a price ("换屏 14 是 799 元", "free with screen insurance").
"""
from __future__ import annotations

import re
from typing import Iterable, List

# The price of a service ("换块屏贵不贵", "how much to replace a cracked back glass") is information, even when the NLU
# reads a repair booking into it: the answer (or "not sure") says it, and may offer the task; only words that want the
# task done start its form ("帮我修", "预约维修", "book a repair for me", "fix it for me").
_COST = re.compile(r"多少钱|多钱|几多钱|啥价|什么价|多少米|要花多少|花多少|价格|价钱|费用|收费|贵不贵|贵吗|贵么|贵嘛|"
                   r"(?:要|得|需要)(?:付|花|交)?钱(?!包)|付钱|免费(?:吗|么|不|嘛)|"
                   r"(?:修|换)[^，。？?！!\s]{0,8}?(?:大概|一般|要|得)多少(?=\s*$|[啊呀呢吗？?，,。!！])|"
                   r"\bhow much\b|\bcost\w*|\bprice\w*|\bfees?\b|\bexpensive\b|\bquote\b|\bcharge (?:me|you|for)\b|"
                   r"\b(?:have to|need to|got to|gotta|do i|would i|will i) pay\b(?! (?:for )?(?:shipping|postage|delivery))|"
                   r"\bpay (?:for|to)\b(?! (?:shipping|postage|delivery))",
                   re.IGNORECASE)
# A price said in an answer: a sum, or that it costs nothing
_PRICE = re.compile(r"[¥￥$]\s?\d|\d\s?(?:元|块)|免费|不收费|不要钱|\bfree\b|\bno charge\b|\bcosts? nothing\b", re.IGNORECASE)
# Still under warranty: the warranty's answer ("电池 6 个月") says whether a part's repair costs anything
_IN_WARRANTY = re.compile(r"保修期内|还在保|在保修期|保修范围内|(?<!out of )(?<!out of the )\b(?:under|in|within) (?:the )?warranty\b|"
                          r"\bstill covered\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[。；;!！?？\n]|\.(?:\s|$)")


def asks_cost(text: str) -> bool:
    """Whether a message asks what something costs ("修一下多少钱", "is it expensive", "how much to fix")."""
    return bool(_COST.search(text or ""))


# The parts of a device whose repair price is asked ("摄像头玻璃碎了 修要多少钱", "camera lens cracked, how much to fix").
_DEVICE_PARTS = {
    "screen": r"屏|screen|display",
    "camera": r"摄像头|镜头|相机|camera|lens",
    "back": r"后盖|背板|后壳|背盖|back ?glass|back ?cover|back ?panel|rear glass",
    "battery": r"电池|battery",
    "port": r"充电口|接口|尾插|(?<![a-z])port(?![a-z])",
    "button": r"按键|按钮|侧键|电源键|音量键|buttons?",
    "speaker": r"扬声器|喇叭|听筒|speakers?",
    "frame": r"边框|中框|(?<![a-z])frame(?![a-z])",
}
_PART_RE = {name: re.compile(words, re.IGNORECASE) for name, words in _DEVICE_PARTS.items()}


def names_part(text: str) -> bool:
    """Whether `text` is the name of a part of a device ("扬声器", "back glass"; not "直屏", a kind of screen)."""
    return any(words.fullmatch((text or "").strip()) for words in _PART_RE.values())


def unpriced_parts(question: str, answers: Iterable[str]) -> List[str]:
    """The device parts a price question names ("how much to fix a cracked camera lens" → camera) that no sentence of
    `answers` (the chosen entry's answers) names together with a price ("换屏 14 是 799 元"): that entry cannot be their
    price ("换块电池多少钱" near the warranty's "电池 6 个月"). Under warranty, naming the part is enough: the warranty's
    answer says whether its repair costs anything. [] for any other question."""
    if not asks_cost(question):
        return []
    sentences = [s for text in answers for s in _SENTENCE.split(text or "")]
    in_warranty = bool(_IN_WARRANTY.search(question))
    return [name for name, words in _PART_RE.items()
            if words.search(question) and not any(words.search(s) and (in_warranty or _PRICE.search(s))
                                                  for s in sentences)]
