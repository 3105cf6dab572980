"""Asking a message part by part (docs/dialogue.md, "One answer path", step 3).

- `ask_parts`: a message that asks several questions ("手环9 多少钱？有粉色的吗", `bot.knowledge.multi.question_parts`)
  gets the confident answer of each part, one per entry and in the message's order, when at least two parts are
  answered (or one, and the whole message no other entry), and a line for each part left unsure. A part is asked
  about its own products or category; one that names nothing else ("耳机呢") asks the part before it about them; one
  that names none, about the products the whole message names (`_asked`).
- `by_clause`: a long message the ranking is unsure of as a whole ("更新到一半失败了 黑屏了咋办 急") is asked clause
  by clause (`bot.knowledge.multi.clause_questions`).

Both ask through the retriever's own single-question ranking (`Retriever._ask`, `Retriever.ask`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, List, Optional, Set, Tuple

from bot.knowledge.catalog import CATEGORIES, asked_category_products, category_products
from bot.knowledge.multi import clause_questions, clauses, question_parts, without_topic
from bot.knowledge.result import Result
from bot.knowledge.specs import detect_spec
from bot.knowledge.text import has_cjk
from bot.language import CJK_CHAR, detect_language

if TYPE_CHECKING:
    from bot.knowledge.retriever import Retriever

__all__ = ["PartUnsure", "ask_parts", "by_clause"]


def _repeats(earlier: Result, later: Result) -> bool:
    """The same entry, or an answer that opens with what an earlier part already said ("下单后多久发货 能指定顺丰吗":
    the shipping overview repeats the shipping-time answer): saying it twice answers nothing more."""
    if earlier.entry_id == later.entry_id:
        return True
    first = re.split(r"(?<=[。！？.!?])\s*|\n", (later.text or "").strip())[0].strip()
    return len(first) >= 8 and first in (earlier.text or "")


def _same_topic(r: "Retriever", earlier: Result, later: Result) -> bool:
    """Two FAQ entries that share a tag (shipping, returns, …): an ellipsis answered by the second is the first's."""
    tags = [set(r._docs[e].meta.get("tags") or []) if e in r._docs else set()
            for e in (earlier.entry_id, later.entry_id)]
    return later.outcome == "answer" and bool(tags[0] & tags[1])


def by_clause(r: "Retriever", question: str, lang: str, whole: Result) -> Result:
    """A long message the ranking is unsure of as a whole ("更新到一半失败了 黑屏了咋办 急"): the most confident
    answer (hedged included) one of its clauses gets, when it is an FAQ entry among the whole message's best
    candidates (two rankings agree on it), or two neighbouring clauses are `sure_threshold` sure of an entry about
    the product named ("changed my mind about the buds, opened them already, can i still return?")."""
    near = {c.entry_id: rank for rank, c in enumerate(whole.candidates)}
    best: Optional[Result] = None

    def key(found: Result) -> Tuple[int, float]:  # the entry the whole message ranks higher, then the surer clause
        return -near.get(found.entry_id or "", len(near)), found.confidence

    named = r._named_products(question)
    names = "" if len(named) > 1 else " ".join(r.kb.products[p].name.get(lang) or p for p in named)
    single = clauses(question)  # alone, a short clause may mean anything ("能换新的么"); two neighbours say more
    # "my phone is on 5% after 4 hours, is that normal": "is that normal" alone names nothing to rank
    pieces = [(piece, piece not in single) for piece in clause_questions(question) if not _NO_TOPIC.fullmatch(piece)]
    if names:  # "…突然右边就不响了": also with the earbuds another clause named
        pieces += [(f"{names} {piece}", two) for piece, two in pieces
                   if not r.matcher.find(piece).known and not category_products(r.kb.products, piece)]
    for piece, two in pieces:
        found = r._hedge(r._ask(piece, lang, cues_of=question), piece)  # "spilled tea on it … is that covered"
        doc = r._docs.get(found.entry_id or "")
        about = set(doc.meta.get("products") or []) if doc is not None else set()
        agrees = found.entry_id in near or (two and found.confidence >= r.config.sure_threshold
                                            and (not about or not named or bool(about & set(named))))
        if found.outcome == "answer" and found.kind == "faq" and agrees and (best is None or key(found) >= key(best)):
            best = found
    if best is None:
        return whole
    return replace(best, candidates=whole.candidates, reason=f"a clause of the message: {best.reason}")


# A clause that only points back at another one: alone it is about whatever the ranking's nearest phrasing says.
_NO_TOPIC = re.compile(r"(?:\b(?:is|it|that|this|normal|ok|okay|fine|safe|what|should|can|could|i|do|now|why|how|come|"
                       r"help|pls|please|so|really|a|problem|bad|weird|right|or|not|nah|any|ideas?|tips?)\b|"
                       r"这|那|个|是|正常|吗|嘛|么|呢|吧|啊|呀|怎么办|咋办|怎么回事|咋回事|咋整|有问题|问题|要紧|没事|不|好|\W)*",
                       re.IGNORECASE)


@dataclass
class PartUnsure(Result):
    """A part of a several-questions message no entry answers, beside parts that are answered: the reply says so
    for it in one line (`utter_kb_part_unsure`, "「耳机能当助听器用不」这个我不太确定…"), and sets no slot."""

    part: str = ""


def _quoted(part: str) -> str:
    """The part as the reply quotes it: without its question marks and the joiner before it."""
    return re.sub(r"^\W+|[\s?？!！。,，]+$", "", part).strip()


_FILLER = re.compile(r"(?:那|那么|还有|和|跟|又|呢|的|怎么样|咋样|如何|\b(?:and|what|how|about|the|for|ones?|your|u)\b|\W)*",
                     re.IGNORECASE)


def _without_products(r: "Retriever", text: str) -> str:
    """`text` without the product names and category words it holds ("14pro多重" → "多重")."""
    mentions = r.matcher.find(text)
    out = mentions.without_names(" ") if mentions.known else text
    for pattern, _ in CATEGORIES.values():
        out = re.sub(pattern, " ", out, flags=re.IGNORECASE)
    return out.strip()


def _names(r: "Retriever", products: List[str], lang: str) -> str:
    return " ".join(r.kb.products[p].name.get(lang) or r.kb.products[p].name.get("en", p) for p in products)


def _of_the_subject(r: "Retriever", result: Result, subject: List[str]) -> Result:
    """A part's FAQ answer about other products than the message's subject is no answer ("耳机降噪咋样 坐飞机能用吗":
    the power bank's flight rules say nothing of the earbuds on a plane), as for a whole question
    (`Retriever._not_its_entry`)."""
    doc = r._docs.get(result.entry_id or "") if result.outcome == "answer" and result.kind == "faq" else None
    about = set(doc.meta.get("products") or []) if doc is not None else set()
    if not about or not subject or about & set(subject):
        return result
    return replace(result, outcome="unsure", text=None, offer=None, hedged=False,
                   reason=f"{result.entry_id} is about other products than the message's ({', '.join(subject)})")


# A part that asks for a service done to the device (repaired, replaced, fixed up): a cost asked after it is the
# service's, not the device's price
_SERVICE = re.compile(r"修|补漆|换(?!新|货|购|机)|贴膜|\b(?:fix\w*|repair\w*|replac\w*|swap\w*|mend\w*|paint\w*)\b",
                      re.IGNORECASE)


def _asked(r: "Retriever", part: str, before: str, subject: List[str], lang: str) -> Tuple[str, bool]:
    """What to ask of one part. A part that names its own products (by name, else by a category word in the subject
    role: "耳机能连两个手机不") is asked about those only; one that
    names nothing else ("耳机呢", "and the band?") asks the part before it about them ("14pro多重 耳机呢" → the
    earbuds' weight; the bool says so); a part that names none is asked about the message's subject (`subject`), and
    one that only asks how long or how much (`multi.without_topic`: "and how long", "大概几天"), together with the part
    before it unless one of them asks a figure of the subject ("do you ship to hong kong and how long" is about
    shipping, not the warranty)."""
    mentions = r.matcher.find(part)
    own = mentions.known or category_products(r.kb.products, r._subject_text(part))
    if own and before and _FILLER.fullmatch(_without_products(r, part)):
        return f"{_names(r, own, lang)} {_without_products(r, before)}", True
    if not own and not mentions.unknown and before and without_topic(part) and (_SERVICE.search(before) or not (
            subject and (detect_spec(before) or detect_spec(part)))):
        # "do you ship to hong kong and how long": the shipping's "how long"; "screen cracked on my 14, how much to fix
        # and how long does it take": the repair's, not the 14's delivery; "屏幕碎了能修吗 多少钱", "能换表带吗 多少钱":
        # the service's cost; a figure of the subject stays its own ("14pro多重 多少钱", "手环9能测体温吗 顺便问下多少钱":
        # the price)
        return f"{before} {part}", True
    if own or mentions.unknown or not subject:
        return part, False
    return f"{_names(r, subject, lang)} {part}", False


def _subjects_joined(r: "Retriever", parts: List[str]) -> List[str]:
    """A part that only names products before another part ("and the pro? does it take an esim", "手环9呢？多少钱") is
    what the next one asks about, not a question of its own (alone it would be the product's price)."""
    out: List[str] = []
    carry = ""
    for at, part in enumerate(parts):
        if at + 1 < len(parts) and r.matcher.find(part).known and _FILLER.fullmatch(_without_products(r, part)):
            carry = f"{carry} {part}".strip()
            continue
        out.append(f"{carry} {part}".strip())
        carry = ""
    return out


def _asks_apart(unsure: "PartUnsure", said: Set[Optional[str]]) -> bool:
    """Whether an unsure part asks something the answers leave out, worth a line: not a short follow-up (at least 5
    Chinese characters or 4 words: "是2k的吗", "really 21 days?" are what the answer beside it says), and no answered
    entry among its 3 best candidates ("包修期多久啊 电池也包吗": the warranty answer says it)."""
    long = len(CJK_CHAR.findall(unsure.part)) >= 5 if has_cjk(unsure.part) else len(re.findall(r"\w+", unsure.part)) >= 4
    if not long:
        return False
    return not said & {c.entry_id for c in unsure.candidates[:3]}


def _stands_alone(r: "Retriever", alone: Result, whole: Result, intent: Optional[str], turned_away: Set[str]) -> bool:
    """Whether the one answered part of a message ("耳机能连两个手机不 另外多少钱": the price) is said, with a line for
    the others: when the whole message gets the same entry, or no answer (and is no near miss, names no product we
    do not sell) while the part's is
    `sure_threshold` sure and not the intent's topic overview ("双十一有券吗 能便宜多少" is not about delivery). A near
    miss that an unsure part was turned away by too (`turned_away`) is that part's, not the message's: "手环9能测体温吗
    顺便问下多少钱" is near "手环能测体温吗", which says nothing against the band's price."""
    if whole.outcome == "answer":
        return whole.entry_id == alone.entry_id
    topic = r.answering.topic(intent)
    near_miss = whole.near_miss is not None and whole.near_miss not in turned_away
    return (not near_miss and not whole.unknown_products and not whole.other_brand  # "手环9pro有吗 多少钱"
            and alone.confidence >= r.config.sure_threshold
            and (topic is None or alone.entry_id != topic.overview))


def ask_parts(r: "Retriever", question: str, language: Optional[str] = None, intent: Optional[str] = None,
              intent_confidence: float = 0.0) -> List[Result]:
    """Several questions in one message (`bot.knowledge.multi`): the confident answers of its parts, one per
    entry and in the message's order, when at least two parts are answered, or one is and the whole message gets
    no other answer; each part left unsure then comes back too (outcome "unsure", `part` set: the reply says so
    for it in one line). Else []. What each part is asked: `_asked`."""
    parts = question_parts(question)
    if not parts:
        return []
    lang = detect_language(question) or language or "en"
    named = r.matcher.find(question).known
    # "耳机能连两个手机不 另外多少钱": the earbuds' price; the phones are only what they connect to (bot.knowledge.roles)
    category = [] if named else asked_category_products(r.kb.products, r._subject_text(question))
    answers: List[Result] = []
    unsure: List[Tuple[int, PartUnsure]] = []
    # "第一次在你们家买 配送这块大概讲讲 多久到 要不要运费": what the message says before its first question is its context
    lead = question[:max(question.find(parts[0]), 0)].strip()
    parts = _subjects_joined(r, parts)
    if len(parts) < 2:
        return []
    before, folded = lead, False
    for at, part in enumerate(parts):
        subject = named or (category if detect_spec(part) else [])  # "你们的手机有没有512g的 价格多少"
        asked, elliptic = _asked(r, part, before, subject, lang)
        if at == 0 and lead and asked != part and not elliptic and not r.matcher.find(part).known:
            asked = f"{lead} {part}"  # "band 9 with an iphone 13, does it work and …": the lead says what with
        if not elliptic:
            before = part
        result = r.ask(asked, lang, intent, intent_confidence)
        if asked != part and not elliptic and (result.outcome != "answer" or result.confidence < r.config.sure_threshold):
            # "…? also whats the warranty"; "14pro支持卫星通话吗 保修多久": the warranty (sure), not the 14 Pro's battery
            # (hedged): the surer of the two readings
            alone = r.ask(part, lang, intent, intent_confidence)
            if alone.outcome == "answer" and (result.outcome != "answer" or alone.confidence > result.confidence):
                result = alone
        result = _of_the_subject(r, result, named or category)
        if elliptic and without_topic(part) and answers and _same_topic(r, answers[-1], result):
            folded = True  # "do you deliver to macau and how long does it take": the international entry says how long
        elif result.outcome == "answer" and not any(_repeats(a, result) for a in answers):
            result.reason = f"part {at + 1} of a message with {len(parts)} questions: {result.reason}"
            answers.append(result)
        elif elliptic and without_topic(part):
            folded = True  # "and how long" after "do you ship to hong kong": said by the answer before, or by none
        elif result.outcome != "answer":
            unsure.append((len(answers), PartUnsure(outcome="unsure", language=lang, confidence=result.confidence,
                                                    entry_id=result.entry_id, candidates=result.candidates,
                                                    reason=f"part {at + 1} of {len(parts)}: {result.reason}",
                                                    part=_quoted(part), near_miss=result.near_miss)))
    said = {a.entry_id for a in answers}
    turned_away = {result.near_miss for _, result in unsure if result.near_miss}
    unsure = [(at, result) for at, result in unsure if _asks_apart(result, said)]
    if not answers:
        return []
    whole = r.ask(question, lang, intent, intent_confidence) if len(answers) == 1 else None
    if whole is not None and not unsure and not folded:  # "pro用的啥芯片 跑分高不": the chip, when the whole is unsure
        return answers if whole.outcome != "answer" and _stands_alone(r, answers[0], whole, intent, turned_away) else []
    if whole is not None and folded and not unsure:  # one question and its ellipsis: the question's answer
        return [] if whole.unknown_products or whole.other_brand else answers
    if whole is not None and not _stands_alone(r, answers[0], whole, intent, turned_away):
        return []
    for offset, (at, result) in enumerate(unsure):  # in the message's order, among the answers
        answers.insert(at + offset, result)
    return answers
