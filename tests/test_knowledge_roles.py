"""What a message asks about and what our product is only used with (bot/knowledge/roles.py), the brands rule and
the category words that follow from it, and questions the NLU cannot place (issue 14's newcomer check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.knowledge import build_retriever
from bot.knowledge.answering import asks_in_words, load_answering
from bot.knowledge.brands import unanswered_brands
from bot.knowledge.roles import Roles

KB = Path(__file__).resolve().parents[1] / "knowledge"
ROLES = Roles(load_answering(KB).other_brands)


def _objects(text: str) -> list[str]:
    return [text[a:b] for a, b in ROLES.objects(text)]


def test_a_device_after_a_word_of_use_is_what_ours_is_used_with() -> None:
    assert _objects("充电宝能给华为手机快充吗") == ["华为手机"]
    assert _objects("does the power bank do fast charge for iphone") == ["iphone"]
    assert _objects("will the buds 5 pair with my pixel 9 pro ok") == ["pixel 9 pro"]
    assert _objects("耳机能连两个手机不 另外多少钱") == ["手机"]
    assert _objects("耳机跟ipad能配对不") == ["ipad"]                     # 跟 … 配对: used with
    assert _objects("can i charge my phone and my band together?") == ["phone and my band"]


def test_the_brand_or_a_comparison_as_the_subject_has_no_object() -> None:
    assert _objects("is the iphone 15 waterproof") == []
    assert _objects("are airpods compatible with the 14 pro") == []          # "the 14 pro" is ours: no device noun
    assert _objects("14pro跟iphone16比拍照谁强") == []                          # a comparison
    assert _objects("is the 14 pro better than the pixel 9 for photos") == []
    assert _objects("三星的充电器插14上能快充吗") == []


def test_the_subject_text_hides_the_devices_used_with() -> None:
    assert ROLES.subject_text("耳机能连两个手机不 另外多少钱") == "耳机能连两个设备不 另外多少钱"
    assert ROLES.subject_text("if i pair the buds with my phone how long does the battery last") == (
        "if i pair the buds with my device how long does the battery last")


def test_a_brand_ours_is_used_with_is_left_to_the_entry_about_ours() -> None:
    brands = {"iphone": ("ios",), "samsung": ("android",)}
    charging = ["33 W fast charging for phones"]
    text = "can the power bank fast charge my samsung"

    def used_with(start: int, end: int) -> bool:
        return ROLES.used_with(text, start, end)

    assert unanswered_brands(text, brands, charging) == ["samsung"]           # without roles: turned away
    assert unanswered_brands(text, brands, charging, used_with) == []
    question = "is the 14 pro better than the samsung s25"
    assert unanswered_brands(question, brands, charging, lambda a, b: ROLES.used_with(question, a, b)) == ["samsung"]


def test_a_question_in_words_is_not_a_request_to_rephrase() -> None:
    assert asks_in_words("do you guys have a student discount")
    assert asks_in_words("学生买手机有优惠吗")
    assert not asks_in_words("??")
    assert not asks_in_words("啥")
    assert not asks_in_words("asdf qwer zxcv")                              # no question's form
    assert not asks_in_words('/ask_product{"kb_entry": "invoice"}')


def test_the_policy_sends_an_unplaced_question_to_the_answer_path() -> None:
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.answer_path_policy import AnswerPathPolicy

    def decide(text: str) -> Any:
        user = UserUttered(text, intent={"name": "nlu_fallback", "confidence": 0.3}, entities=[])
        return AnswerPathPolicy._decide(DialogueStateTracker.from_events("roles", [ActionExecuted("action_listen"), user]))

    assert decide("do you guys have a student discount") == "action_answer_product"
    assert decide("asdfgh") is None                                         # the fallback ladder: please rephrase


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    r, _ = build_retriever(KB, tmp_path_factory.mktemp("kbcache"))
    return r


@pytest.mark.parametrize("text, entry", [
    ("does the power bank do fast charge for iphone", "spec:power_bank_20000:charging"),
    ("充电宝能给华为手机快充吗", "spec:power_bank_20000:charging"),
    ("手环配oppo手机可以吗", "band_iphone"),
    ("耳机能连两个手机不 另外多少钱", "spec:buds_5:price"),                    # the earbuds' price, not the phones'
    ("耳机跟手机连上以后电池能用多久", "spec:buds_5:battery"),
    ("if i pair the buds with my phone how long does the battery last", "spec:buds_5:battery"),
])
def test_ours_used_with_another_device_is_answered_about_ours(retriever, text: str,  # type: ignore[no-untyped-def]
                                                               entry: str) -> None:
    result = retriever.ask(text)
    assert (result.outcome, result.entry_id) == ("answer", entry), result.reason


@pytest.mark.parametrize("text", ["is the iphone 15 waterproof", "120W的充电头能给苹果手机用吗", "三星的充电器插14上能快充吗",
                                  "are airpods compatible with the 14 pro"])
def test_their_device_as_the_subject_stays_not_sure(retriever, text: str) -> None:  # type: ignore[no-untyped-def]
    assert retriever.ask(text).outcome == "unsure"


def test_damaged_on_arrival_reaches_the_exchange_entry(retriever) -> None:  # type: ignore[no-untyped-def]
    result = retriever.ask("刚买的手机有划痕 能换吗 才到两天")
    assert (result.outcome, result.entry_id) == ("answer", "exchange_15day"), result.reason


def test_using_ours_without_a_phone_is_read() -> None:
    from bot.knowledge.roles import asks_without, speaks_of_absence

    for text in ("can i use the band 9 without a phone nearby", "手环9不带手机能单独用吗", "没有米粒账号能用手环吗",
                 "do the buds 5 work without the app", "can i play music on the band with no phone around"):
        assert asks_without(text), text
    for text in ("有没有手机壳", "手机没有信号怎么办", "no signal after the update", "表带能单独买吗",
                 "how long can the 14 pro go without charging", "can i return it without a reason"):
        assert not asks_without(text), text
    assert not speaks_of_absence(["can i send it back without giving a reason?", "表带能单独买吗"])
    assert speaks_of_absence(["does it work without a phone?"])


@pytest.mark.parametrize("text", ["can i use the band 9 without a phone nearby", "手环9不带手机能单独用吗",
                                  "do the buds 5 work without the app"])
def test_an_entry_that_never_speaks_of_doing_without_does_not_answer_it(retriever, text: str) -> None:  # type: ignore[no-untyped-def]
    result = retriever.ask(text)
    assert result.outcome != "answer", (result.entry_id, result.reason)


def test_a_sure_entry_that_never_needs_the_thing_still_answers(retriever) -> None:  # type: ignore[no-untyped-def]
    # the ANC entry says "long-press an earbud": it never mentions the app, and it is sure
    assert retriever.ask("耳机不用app能调降噪吗").entry_id == "buds_anc"
    assert retriever.ask("耳机不用app能调降噪吗").outcome == "answer"
