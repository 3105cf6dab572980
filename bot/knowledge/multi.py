"""Several questions in one message: "手环9 多少钱？有粉色的吗", "does the 14 have nfc and dual sim?".

`question_parts` cuts a message at sentence ends and at joiners ("and", "also", "，", "还有", "另外", "以及")
and keeps the parts that ask something (`asks_question`) and are long enough to stand alone. The retriever
asks each part (a part that names no product is asked about the products the whole message names) and
the answer path answers every part it is sure of, one message each (docs/dialogue.md).
"""

from __future__ import annotations

import re
from typing import List, Optional

from bot.knowledge.answering import asks_question
from bot.knowledge.spec_words import names_spec
from bot.knowledge.text import has_cjk
from bot.language import CJK_CHAR

__all__ = ["question_parts", "clauses", "clause_questions", "without_topic"]

_SENTENCE = re.compile(r"(?<=[?？!！。；;])\s*|(?<=[吗呢么嘛])\s+")
_JOINER = re.compile(r"\s*(?:,|，|、|\band also\b|\band\b|\balso\b|\bplus\b|还有|另外|以及|顺便问下|顺便问一下)\s*",
                     re.IGNORECASE)


def _long_enough(part: str) -> bool:
    if has_cjk(part):
        return len(re.sub(r"\W", "", part)) >= 3
    return len(re.findall(r"\w+", part)) >= 2


def _sentences(text: str) -> List[str]:
    """`text` cut at sentence ends, and at a space between two Chinese characters: WeChat users end a question
    with a space, not a "？" ("14pro有没有紫色的 多少钱"); "米粒14 多少钱" stays whole (a digit before the space)."""
    out: List[str] = []
    for sentence in _SENTENCE.split(text):
        start = 0
        for gap in re.finditer(r"\s+", sentence):
            before, after = sentence[gap.start() - 1: gap.start()], sentence[gap.end(): gap.end() + 1]
            if gap.start() > 0 and CJK_CHAR.match(before) and CJK_CHAR.match(after):
                out.append(sentence[start: gap.start()])
                start = gap.end()
        out.append(sentence[start:])
    return out


def question_parts(text: str) -> List[str]:
    """The questions of `text` in order, or [] when it asks at most one."""
    parts: List[str] = []
    for sentence in _sentences((text or "").strip()):
        pieces = [p for p in _JOINER.split(sentence) if p.strip()]
        for piece in pieces:
            piece = piece.strip()
            if _long_enough(piece) and asks_question(piece):
                parts.append(piece)
    return parts if len(parts) >= 2 else []


# What an elliptical follow-up says besides its question ("and how long", "how much would it cost", "要多久", "大概几天",
# "贵不贵"): when nothing else is left, the part has no topic of its own and takes the one of the part before it.
_ELLIPTIC_EN = re.compile(r"\b(?:and|also|so|then|ok|how|long|much|many|what|whats|when|about|for|is|it|its|that|this|"
                          r"does|do|will|would|could|can|i|we|get|be|take|takes|cost|costs|price|roughly|usually|"
                          r"approx|approximately|normally|typically|the|of|a|in|total|days?|weeks?)\b", re.IGNORECASE)
_ELLIPTIC_ZH = re.compile(r"大概|大约|一般|差不多|通常|的话|需要|要|得|多长时间|多久|几天|多少钱|多少|贵不贵|贵吗|贵么|价格|价钱|"
                          r"费用|时间|呢|啊|呀|吗|么|嘛|那|还|又|是|钱|天|能|到")  # "多久能到": how long it takes


def without_topic(part: str) -> bool:
    """Whether a part asks only how long, how much or when, with no topic of its own ("do you ship to hong kong and
    how long": the shipping's "how long", not the warranty's); a product name makes it no ellipsis."""
    if has_cjk(part):
        return not CJK_CHAR.search(_ELLIPTIC_ZH.sub("", part)) and not re.search(r"[A-Za-z0-9]", part)
    return not re.search(r"\w", _ELLIPTIC_EN.sub("", part))


def _substantial(piece: str) -> bool:
    if has_cjk(piece):  # Chinese characters only: "抢14pro用" says little besides the product's name
        return len(CJK_CHAR.findall(piece)) >= 4
    return len(re.findall(r"\w+", piece)) >= 3


def message_pieces(text: str) -> List[str]:
    """`text` cut into sentences and the pieces joined in them ("包装里带充电头吗 家里的都是苹果的" → both halves)."""
    return [piece.strip() for sentence in _sentences((text or "").strip()) for piece in _JOINER.split(sentence)]


def clauses(text: str) -> List[str]:
    """The clauses of `text` with enough words to stand alone ("更新到一半失败了 黑屏了咋办 急" → the first two), or []
    when it has fewer than two: the retriever asks them when it is unsure of a long message as a whole. In a
    question, one such clause among short ones is asked alone ("买手机送不送充电头 还是得另外掏钱"); in a statement
    ("I'm annoyed that my phone battery dies quickly and gets hot") it is the complaint, not a question."""
    pieces = message_pieces(text)
    out = [piece for piece in pieces if _substantial(piece)]
    alone = bool(out) and len([p for p in pieces if p]) >= 2 and asks_question(text)
    return out if len(out) >= 2 or alone else []


def clause_questions(text: str) -> List[str]:
    """What to ask of a long message clause by clause: each clause, then each two neighbouring ones ("…今天早上坐地铁
    突然右边就不响了 重连了好几次…": a fault and what was tried), or [] when it has fewer than two clauses."""
    found = clauses(text)
    return found + [f"{a} {b}" for a, b in zip(found, found[1:], strict=False)]


def asks_unsaid(text: str, key: str, answer: Optional[str]) -> bool:
    """Whether a piece of `text` that asks something (`asks_question`) names spec `key`, and `answer` (an entry's)
    never speaks of it: in "手环9续航真有14天吗 我开了心率监测" the battery is asked, which the heart rate's answer never
    says; in "14pro一天得冲两回电 太费电了 有啥设置能省点" the charging is only told."""
    asked = any(names_spec(piece, key) for piece in message_pieces(text) if asks_question(piece))
    return answer is not None and asked and not names_spec(answer, key)
