"""What the fan is told after a trainer's decision (zh and en; voice.md; checked by `bot lint` in the tests)."""

from __future__ import annotations

from typing import Dict

__all__ = ["TEXTS", "text_for"]

TEXTS: Dict[str, Dict[str, str]] = {
    "published": {
        "zh": "你写的答案上线了！以后有人问「{question}」，我就用你的回答，署名 @{name}。谢谢你帮大家，米粉积分 +{points} 🎉",
        "en": "Your answer is live! When someone asks \"{question}\", I'll give your answer, signed @{name}. "
              "Thanks for helping out: +{points} fan points 🎉",
    },
    "rejected": {
        "zh": "谢谢你回答「{question}」！这次训练师没有采用，原因：{reason}。下一题也欢迎你来答。",
        "en": "Thanks for answering \"{question}\"! A trainer didn't use it this time: {reason}. "
              "The next one is yours if you like.",
    },
}


def text_for(kind: str, language: str, **values: str) -> str:
    table = TEXTS[kind]
    return (table.get(language) or table["en"]).format(**values)
