"""Chat filler taken out of a question before it is ranked: "系统要怎么升级呀 找不到在那", "hey quick q how do i update the os lol".

Fans on WeChat and Telegram wrap a question in words that carry no topic: greetings and openers ("亲", "哈喽", "请问下",
"想问下", "那个", "就是", "在吗", "dbq" (对不起, sorry to bother), "打扰了", "hey", "quick q"), sentence-final particles (呀 啊 吧 嘛 哈 啦 哦; not 呢, which makes "耳机呢" a
follow-up, nor 吗), a closing "找不到在哪" after a
how-question, and chat words ("lol", "tho", "pls", "u", "ur", "or nah", "rn", "ngl"; "wanna", "cuz" spelled out). The KB's phrasings are written without them,
so they only dilute both signals: the sentence vector drifts towards small talk and BM25 matches "找不到" with the lost
earbud entry. `strip_fillers` removes them from the query only (the index is untouched), at clause edges only: a
word inside a clause ("就是" in "是不是就是这个", "那个" in "买哪个") is left alone. A question that is nothing but filler
is kept as it is.
"""

from __future__ import annotations

import re

__all__ = ["strip_fillers"]

_EDGE = r"[\s，,。.！!？?~～、…]"
# openers at the start of a clause, one or several ("亲 请问那个…", "嗯嗯 那…")
_ZH_LEAD = re.compile(rf"(?:(?<={_EDGE})|^)(?:(?:亲亲?|哈喽|哈罗|嗨|嗯嗯?|额|呃|那个(?={_EDGE})|就是|你好|您好|在吗|在不在|"
                      rf"(?i:dbq)|打扰(?:一下|了)?|不好意思|麻烦(?=问)|"
                      rf"(?:我)?(?:想|请)?问(?:一)?下|请问(?:一下|下)?|想问(?:一下|下)?)(?:{_EDGE}*))+(?=[^\s，,。.！!？?~～、…])")
# particles that end a clause ("升级呀", "正常的嘛", "不哈"); not 嘛 in 干嘛, not 吗 (a question's own word, in the KB too)
_ZH_TAIL = re.compile(rf"(?<=[^\s，,。.！!？?~～、…干])(?:[呀啊吧嘛哈啦哦噢呗]+)(?={_EDGE}|$)")
# a last clause of filler only ("…插sd卡嘛 想问下哈")
_ZH_EMPTY = re.compile(rf"{_EDGE}+(?:(?:我)?(?:想|请)?问(?:一)?下|请问|想问|[呀啊吧嘛哈啦哦噢呗嗯])+{_EDGE}*$")
# "…怎么升级 找不到在那": a clause that only says the fan looked and did not find it, after another clause
_ZH_NOT_FOUND = re.compile(rf"{_EDGE}+(?:我)?(?:都)?找不到(?:在哪里?|在那里?|在哪儿|入口|地方)?{_EDGE}*$")
_EN_LEAD = re.compile(r"^(?:(?:hey+|hi|hello|yo|um+|uh+|hmm+|quick q(?:uestion)?|pls|plz|please)\b[\s,.!:;-]*)+(?=\w)",
                      re.IGNORECASE)
_EN_TAIL = re.compile(r"[\s,]*\b(?:lol|lmao|haha+|tho|though|pls|plz|thx|thanks)\b[\s.!]*$", re.IGNORECASE)
_EN_WORDS = ((re.compile(r"\s*\bor nah\b", re.IGNORECASE), "?"), (re.compile(r"\b(?:pls|plz)\b\s*", re.IGNORECASE), ""),
             (re.compile(r"\bu\b(?!-)", re.IGNORECASE), "you"), (re.compile(r"\bur\b", re.IGNORECASE), "your"),
             # chat shorthand: "wanna return my buds rn cuz they hurt", "ngl the battery is it good fr"
             (re.compile(r"\bwanna\b", re.IGNORECASE), "want to"), (re.compile(r"\bgonna\b", re.IGNORECASE), "going to"),
             (re.compile(r"\b(?:cuz|coz|bc)\b", re.IGNORECASE), "because"), (re.compile(r"\bw/\s*", re.IGNORECASE), "with "),
             (re.compile(r"\s*\b(?:rn|ngl|tbh|fr|smh|imo|lowkey|tho)\b", re.IGNORECASE), ""))


def strip_fillers(question: str) -> str:
    """`question` without chat filler at its clause edges; unchanged when nothing else would be left."""
    text = question or ""
    out = _ZH_NOT_FOUND.sub("", text) if re.search(r"怎么|咋|如何|在哪", text[: max(0, len(text) - 5)]) else text
    out = _ZH_TAIL.sub("", _ZH_LEAD.sub("", _ZH_EMPTY.sub("", out)))
    for _ in range(2):  # "hey quick q how … lol tho"
        out = _EN_TAIL.sub("", _EN_LEAD.sub("", out.strip()))
    for pattern, repl in _EN_WORDS:
        out = pattern.sub(repl, out)
    out = re.sub(r"\s+", " ", out).strip()
    return out if len(re.sub(r"\W", "", out)) >= 2 else text
