"""A short follow-up read in the light of the question answered just before it (docs/dialogue.md, "Follow-ups").

Fans ask the way they talk: "14pro电池多大" then "那14呢", "重量呢", "有几种颜色"; "how heavy is the 14 pro" then "and
the regular 14?", "what about battery". Alone, each of those asks nothing the ranking can be sure of ("那14呢" got the
14-vs-Pro comparison, "重量呢" a "say that again", and two misses in a row handed the fan to a person). A message that
is such a follow-up is asked as the question it completes, by the same rule a second question inside one message
follows (`bot.knowledge.parts._asked`), with the previous question as the part before it:
- it names products and nothing else ("那14呢", "and the regular 14?", "耳机呢", "pro也有吗"; a correction too: "no i meant the
  band", "不是 我说的是手环", which the NLU reads as "no": `corrects`): the previous question, about them;
- it names no product and asks a spec ("重量呢", "does it have nfc", "有几种颜色") or only how much / how long / when
  ("多少钱", "and how long"): about the products the previous question named; with none named, together with it.
Anything else (a product with a question of its own, a new topic) is asked as it is. The caller asks the completed
question only when the previous answer was the bot's last turn, and keeps the message's own reading when the
completed one is not answered, or, for other products, not answered the way the previous question was
(`answers_alike`: "耳机有降噪吗" then "手环呢" must not get the band's water resistance; `bot.actions.product`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, List, NamedTuple, Optional

from bot.knowledge.catalog import category_products
from bot.knowledge.fillers import strip_fillers
from bot.knowledge.multi import without_topic
from bot.knowledge.parts import _asked
from bot.knowledge.result import Result
from bot.knowledge.specs import detect_spec

if TYPE_CHECKING:
    from bot.knowledge.retriever import Retriever

__all__ = ["ANSWERED_SLOT", "FollowUp", "answers_alike", "corrects", "follow_up_question"]

ANSWERED_SLOT = "answered_question"
"""The slot with the question the last answer answered, its user turn and entry: a follow-up completes it."""

# What a correction says besides what it corrects: "no i meant the band", "不是 我说的是手环", "sorry, I mean the pro"
_CORRECTION = re.compile(r"^\W*(?:(?:no+|nope|nah|sorry|oops|不是|不对|错了|搞错了)\W*)?"
                         r"(?:i\s+meant|i\s+mean|meant|我是说|我说的是|我问的是|我是问|我指的是)\s*", re.IGNORECASE)

# "As well": "pro也有吗" after "14有nfc吗" asks the same of the Pro ("does the pro have it too")
_ALSO = re.compile(r"也(?:有|是|能|可以|行|支持|一样)?(?:吗|么|嘛|不)?|同样|\b(?:too|as well|also)\b", re.IGNORECASE)
# Chat words around a follow-up: "ok and the pro?", "how about the earbuds then", "嗯 那耳机呢"
_CHAT = re.compile(r"\b(?:then|instead|ok(?:ay)?|so|well|hmm+)\b|然后|好的|哦|嗯", re.IGNORECASE)
# Words that name which version of a product, not a question: "and the regular 14?", "普通版14呢"
_VERSION = re.compile(r"普通版?|标准版?|基础版?|低配|高配|\b(?:regular|standard|normal|base|basic|plain|vanilla|non[- ]?pro)\b",
                      re.IGNORECASE)


class FollowUp(NamedTuple):
    question: str  # what the follow-up asks, completed
    other_products: List[str]  # the previous question is asked about these, the follow-up's ("那14呢"), if any


def follow_up_question(r: "Retriever", text: str, before: str, language: str) -> Optional[FollowUp]:
    """What `text` asks as a follow-up of `before` (the question answered last), or None when it is not one."""
    if not before or not text or text.startswith("/"):
        return None
    text = strip_fillers(text)  # "亲 那14呢", "yo and the pro?"
    mentions = r.matcher.find(text)
    if mentions.unknown:  # "那手表呢": a product we do not make gets its own honest reply
        return None
    part = _CORRECTION.sub("", text)
    versionless = _VERSION.sub(" ", part)  # "普通版14呢" is "14呢"; "那普通版呢" is the 14 itself (an alias): kept
    part = versionless if r.matcher.find(versionless).known == mentions.known else part
    part = _CHAT.sub(" ", _ALSO.sub(" ", part)).strip()
    own = mentions.known or category_products(r.kb.products, r._subject_text(text))
    subject = [] if own or not (detect_spec(part) or without_topic(part)) else r.matcher.find(before).known
    asked, completed = _asked(r, part, before, subject, language)
    if not completed and asked == part:
        return None
    return FollowUp(asked, list(own) if completed and own else [])


def corrects(text: str) -> bool:
    """Whether a message corrects what the bot took the previous question to be about ("no i meant the band"): the
    NLU reads it as "no", and the answer path asks the previous question of what it names instead."""
    rest = _CORRECTION.sub("", text).strip(" ,.!?，。！？")
    return bool(_CORRECTION.match(text)) and rest.lower() not in ("", "it", "that", "this", "那个", "这个")


def answers_alike(r: "Retriever", before_entry: str, follow_up: FollowUp, result: Result) -> bool:
    """Whether `result` answers the previous question (answered by `before_entry`) for the follow-up's other products:
    the same spec ("spec:phone_14_pro:battery" -> "spec:phone_14:battery"), or, after an FAQ entry, the same entry or
    one about those products ("耳机有降噪吗" then "手环呢": nothing about the band's noise cancelling, so no answer)."""
    entry = result.entry_id or ""
    if before_entry.startswith("spec:"):
        return entry.startswith("spec:") and entry.rsplit(":", 1)[-1] == before_entry.rsplit(":", 1)[-1]
    if result.kind != "faq" or not before_entry or ":" in before_entry:
        return False
    faq = r.entry(entry)
    return entry == before_entry or (faq is not None and bool(set(faq.products) & set(follow_up.other_products)))
