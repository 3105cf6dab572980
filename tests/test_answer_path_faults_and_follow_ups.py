"""A fault stated gets the entry that helps, and feedback already sent gets its status (issue 14, 3 Dec round).

Also what the knowledge base holds nothing on stays "not sure" however near an entry's words come: an account's
password (near the returns entry's "sign out of your account"), a battery's price (near the warranty's "6 months on
the battery"), a menu's language; and safety or a broken promise to call back reach a person. Wordings are our own,
not the evaluation sets'."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.handoff.rules import Turn, assess, load_config
from bot.knowledge.answering import asks_feedback_status, voices_feedback
from bot.knowledge.catalog import answer_catalog
from bot.knowledge.restock_words import asks_for_restock_alert
from bot.knowledge.spec_words import detect_spec, unheld_spec
from tests.harness import Assistant, new_sender
from tests.test_answer_path import _answered, _turn

HOME = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text, asks", [
    ("hey any update on the feature request i made about an equaliser", True),
    ("any news on my suggestion about bigger fonts on the band", True),
    ("whatever happened to the feedback i gave on the strap clasp", True),
    ("我之前提的那个建议有进展吗", True),
    ("上次反馈的问题处理了没", True),
    ("any update on my order", False),
    ("i have a suggestion: add an equaliser", False),
])
def test_asking_after_feedback_sent_is_its_status(text: str, asks: bool) -> None:
    assert asks_feedback_status(text) is asks


@pytest.mark.parametrize("text, displeased", [
    ("honestly disappointed, the band strap snapped", True), ("这耳机体验太差了", True), ("this app sucks", True),
    ("反馈一下 手环的表扣太紧了", True), ("some feedback: the case lid is loose", True), ("你们售后也太慢了", True),
    ("左耳突然没声了 右边好好的", False), ("my buds won't connect to my laptop", False), ("电池掉得有点快", False),
])
def test_displeasure_said_is_told_from_a_fault_reported(text: str, displeased: bool) -> None:
    assert voices_feedback(text) is displeased


def test_a_callback_asked_by_message_is_a_restock_alert() -> None:
    assert asks_for_restock_alert("绿色的14pro啥时候补货 到了给我发个消息")
    assert asks_for_restock_alert("pro 1T还有货吗 有货了发条短信给我")


@pytest.mark.parametrize("text, kind", [
    ("移动电源有没有小一点的 口袋能装的", "power_bank"), ("do you have a smaller power bank? 20000 is too heavy", "power_bank"),
    ("手机有没有便宜点的", "phone"),
])
def test_another_size_of_a_kind_is_the_range(text: str, kind: str) -> None:
    from bot.knowledge.loader import load_kb

    products = load_kb(HOME / "knowledge").products
    found = answer_catalog(products, text, [], "zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en")
    assert found is not None and found.entry_id == f"catalog:lineup:{kind}", found


def test_refreshing_a_page_is_no_screen_question() -> None:
    assert detect_spec("kept refreshing the store all week and the pro is gone again, restock when") != "screen"
    assert detect_spec("what is the refresh rate of the 14") == "screen"


@pytest.mark.parametrize("text", ["米粒账号的密码忘了 咋找回", "can't log in to my millet account anymore",
                                  "手环9能不能调成英文界面", "does the band show the lunar calendar", "手环能装第三方应用吗",
                                  "手机是双扬声器吗", "can i adjust the left-right balance on the buds",
                                  "能寄到小区驿站吗", "where is millet's headquarters"])
def test_what_the_kb_holds_nothing_on_is_named(text: str) -> None:
    assert unheld_spec(text), text


@pytest.mark.parametrize("text", ["got a little shock from the cable while it was charging",
                                  "you promised someone would call me back yesterday, nobody did",
                                  "说好了给我回电话的 等了两天了"])
def test_a_shock_or_a_call_back_not_made_reaches_a_person(text: str) -> None:
    found = assess([Turn(text=text)], load_config(HOME / "escalation.yml"))
    assert found is not None and not found.answer_first, (text, found)


def test_a_shock_at_a_price_is_no_safety_case() -> None:
    found = assess([Turn(text="got a shock when i saw the price of the pro")], load_config(HOME / "escalation.yml"))
    assert found is None or found.rule != "safety", found


# Against the real assistant.

@pytest.mark.parametrize("text", ["forgot the password of my millet account, how can i reset it",
                                  "米粒账号登录不了了 密码也想不起来",
                                  "battery on my 14 is worn out after 3 years, how much for a new one",
                                  "电池不行了 换一块新电池要多少钱"])
def test_what_no_entry_holds_is_not_answered_by_a_neighbour(assistant: Assistant, text: str) -> None:
    turn = _turn(assistant, new_sender("unheld"), text)
    assert _answered(turn) is None, turn


def test_a_suggestion_asked_after_gets_its_status_not_a_second_filing(assistant: Assistant) -> None:
    turn = _turn(assistant, new_sender("fb-status"), "any news on the suggestion i sent about a sleep timer for the buds")
    assert "action_feedback_status" in turn["actions"], turn
    assert "action_file_feedback" not in turn["actions"], turn


@pytest.mark.parametrize("text, entry", [("耳机右边突然就不出声了 左边正常", "buds_one_side"),
                                         ("my buds 5 won't pair with my work laptop", "buds_pairing")])
def test_a_fault_stated_gets_the_entry_that_helps(assistant: Assistant, text: str, entry: str) -> None:
    turn = _turn(assistant, new_sender("fault"), text)
    assert _answered(turn) == entry, turn
    assert "action_file_feedback" not in turn["actions"], turn


def test_a_frustrated_statement_with_an_answer_gets_it_and_a_person_offered(assistant: Assistant) -> None:
    turn = _turn(assistant, new_sender("wtf-price"), "got the 14 pro last week and now it's ¥200 cheaper, wtf")
    assert _answered(turn) == "price_protection", turn
    assert "action_handoff" not in turn["actions"], turn
    assert "utter_offer_human_after_answer" in turn["actions"] + turn["responses"], turn


def test_frustration_alone_still_reaches_a_person(assistant: Assistant) -> None:
    turn = _turn(assistant, new_sender("wtf"), "wtf seriously")
    assert "action_handoff" in turn["actions"], turn


@pytest.mark.parametrize("text", ["你们的手机附赠保护壳不", "do your phones come with a cover"])
def test_a_phones_box_asked_by_the_category_is_its_entry(assistant: Assistant, text: str) -> None:
    assert _answered(_turn(assistant, new_sender("box"), text)) == "phone_charger_in_box"


def test_support_that_comes_with_a_phone_is_no_box_question() -> None:
    assert detect_spec("what after sales support comes with the 14") != "in_box"
    assert detect_spec("does the 14 come with a charger") == "in_box"
