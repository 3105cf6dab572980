"""Follow-ups read in the light of the question answered just before them (bot/knowledge/follow_up.py), against the
real assistant: "那14呢" after "14pro电池多大" is the 14's battery, "重量呢" the 14's weight; a follow-up the previous
answer has nothing alike for is "not sure", and a new topic is its own question."""

from __future__ import annotations

from typing import List, Optional, Tuple

import pytest

from bot.knowledge.follow_up import FollowUp, answers_alike, corrects
from bot.knowledge.result import Result
from tests.harness import Assistant, new_sender
from tests.test_answer_path import _answered, _turn

CONVERSATIONS: List[Tuple[str, List[Tuple[str, Optional[str]]]]] = [
    ("zh-products-and-specs", [("14pro电池多大", "spec:phone_14_pro:battery"), ("那14呢", "spec:phone_14:battery"),
                               ("重量呢", "spec:phone_14:weight"), ("有几种颜色", "spec:phone_14:colours"),
                               ("那pro呢", "spec:phone_14_pro:colours"), ("多少钱", "spec:phone_14_pro:price")]),
    ("en-products-and-specs", [("how heavy is the 14 pro", "spec:phone_14_pro:weight"),
                               ("and the regular 14?", "spec:phone_14:weight"),
                               ("what about battery", "spec:phone_14:battery"), ("how much", "spec:phone_14:price")]),
    ("a-new-topic-is-its-own", [("14pro电池多大", "spec:phone_14_pro:battery"), ("退货政策是什么", "returns_7day")]),
    ("a-faq-for-both", [("14有nfc吗", "phone_nfc"), ("那pro呢", "phone_nfc")]),
    ("nothing-alike", [("耳机有降噪吗", "buds_anc"), ("手环呢", None)]),
    ("en-correction", [("how long is the battery on the buds", "spec:buds_5:battery"),
                       ("no i meant the band", "spec:band_9:battery"),
                       ("and is it waterproof", "spec:band_9:water_resistance")]),
    ("zh-correction", [("耳机多少钱", "spec:buds_5:price"), ("不是 我说的是手环", "spec:band_9:price"),
                       ("有粉色的吗", "spec:band_9:colours")]),
    # a version word alone names the 14 ("普通版" is its alias): it was stripped, and the Pro's colours came again
    ("zh-version-alone", [("pro有粉色吗", "spec:phone_14_pro:colours"), ("那普通版呢", "spec:phone_14:colours")]),
    ("en-version-alone", [("how heavy is the 14 pro", "spec:phone_14_pro:weight"), ("and the non-pro?", "spec:phone_14:weight")]),
]


@pytest.mark.parametrize("name,turns", CONVERSATIONS, ids=[name for name, _ in CONVERSATIONS])
def test_a_follow_up_asks_the_previous_question_of_its_products(assistant: Assistant, name: str,
                                                                  turns: List[Tuple[str, Optional[str]]]) -> None:
    sender = new_sender(f"follow-up-{name}")
    for text, expected in turns:
        turn = _turn(assistant, sender, text)
        assert _answered(turn) == expected, (text, turn)
        assert "action_handoff" not in turn["actions"], (text, turn)


def test_a_follow_up_only_follows_the_bots_last_answer(assistant: Assistant) -> None:
    sender = new_sender("follow-up-stale")
    assert _answered(_turn(assistant, sender, "14pro电池多大")) == "spec:phone_14_pro:battery"
    _turn(assistant, sender, "你好")
    assert _answered(_turn(assistant, sender, "那14呢")) != "spec:phone_14:battery"


def _result(entry: str, kind: str) -> Result:
    return Result(outcome="answer", language="zh", confidence=0.9, entry_id=entry, kind=kind)


class _Kb:
    """The one retriever method `answers_alike` reads: an FAQ entry's products."""

    class _Entry:
        def __init__(self, products: List[str]) -> None:
            self.products = products

    def entry(self, entry_id: str) -> "Optional[_Kb._Entry]":
        return {"band_sleep_tracking": self._Entry(["band_9"]), "buds_anc": self._Entry(["buds_5"])}.get(entry_id)


@pytest.mark.parametrize("before,entry,kind,alike", [
    ("spec:phone_14_pro:battery", "spec:phone_14:battery", "spec", True),
    ("spec:phone_14_pro:battery", "spec:phone_14:weight", "spec", False),
    ("spec:phone_14_pro:battery", "phone_battery_saving", "faq", False),
    ("buds_anc", "buds_anc", "faq", True),
    ("buds_anc", "band_sleep_tracking", "faq", True),   # about the band the follow-up names
    ("band_sleep_tracking", "buds_anc", "faq", False),  # about other products
    ("buds_anc", "spec:band_9:water_resistance", "spec", False),
])
def test_answers_alike(before: str, entry: str, kind: str, alike: bool) -> None:
    follow_up = FollowUp("…", ["band_9"])
    assert answers_alike(_Kb(), before, follow_up, _result(entry, kind)) is alike  # type: ignore[arg-type]


@pytest.mark.parametrize("text,correction", [
    ("no i meant the band", True), ("不是 我说的是手环", True), ("sorry, I mean the pro", True), ("我是说14pro", True),
    ("no thanks", False), ("不是", False), ("i mean it", False), ("no, i meant it.", False), ("not now", False),
])
def test_a_correction_names_what_it_meant(text: str, correction: bool) -> None:
    assert corrects(text) is correction
