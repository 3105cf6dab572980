"""Several questions in one message, part by part (bot/knowledge/parts.py): each part about its own products, a part
that names only a product asking the part before it, and one line for a part no entry answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._kb_reply import reply as _reply
from bot.knowledge import build_retriever
from bot.knowledge.parts import PartUnsure

KB = Path(__file__).resolve().parents[1] / "knowledge"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    r, _ = build_retriever(KB, tmp_path_factory.mktemp("kbcache"))
    return r


def _entries(retriever: Any, text: str) -> List[str]:
    return [f"{p.outcome}:{p.entry_id}" for p in retriever.ask_parts(text)]


@pytest.mark.parametrize("text, entries", [
    # a part that names its own category is asked about it alone, not about every product of the message
    ("手环多少钱 耳机有降噪吗", ["answer:spec:band_9:price", "answer:buds_anc"]),
    ("when did the band 9 come out, and how much are the buds",
     ["answer:spec:band_9:release_date", "answer:spec:buds_5:price"]),
    # a part that names only a product or category asks the part before it about that
    ("14pro多重 耳机呢", ["answer:spec:phone_14_pro:weight", "answer:spec:buds_5:weight"]),
    ("耳机多少钱 手环呢", ["answer:spec:buds_5:price", "answer:spec:band_9:price"]),
    ("is the band 9 waterproof? what about the buds?",
     ["answer:spec:band_9:water_resistance", "answer:spec:buds_5:water_resistance"]),
    ("how much is the 14 pro? and the band?", ["answer:spec:phone_14_pro:price", "answer:spec:band_9:price"]),
])
def test_each_part_is_asked_about_its_own_products(retriever, text: str,  # type: ignore[no-untyped-def]
                                                   entries: List[str]) -> None:
    assert _entries(retriever, text) == entries


def test_a_part_no_entry_answers_gets_its_own_line(retriever) -> None:  # type: ignore[no-untyped-def]
    parts = retriever.ask_parts("耳机能连两个手机不 另外多少钱")
    assert [p.outcome for p in parts] == ["unsure", "answer"]
    assert isinstance(parts[0], PartUnsure) and parts[0].part == "耳机能连两个手机不"
    assert parts[1].entry_id == "spec:buds_5:price"
    parts = retriever.ask_parts("is the 14 pro waterproof? can it shoot 8k video?")
    assert [p.outcome for p in parts] == ["answer", "unsure"] and parts[1].part == "can it shoot 8k video"
    dispatcher = CollectingDispatcher()
    assert _reply(retriever, dispatcher, None, parts[1], quiet_when_unsure=True) == []  # type: ignore[arg-type]
    assert dispatcher.messages[0]["response"] == "utter_kb_part_unsure"
    assert dispatcher.messages[0]["kb_part"] == "can it shoot 8k video"


def test_a_follow_up_the_answer_covers_gets_no_line(retriever) -> None:  # type: ignore[no-untyped-def]
    assert [p.outcome for p in retriever.ask_parts("保修多久 电池也保吗")] in ([], ["answer"])  # the warranty says it
    assert retriever.ask_parts("14pro屏幕多大 是2K屏吗") == []                         # a short follow-up
    assert retriever.ask_parts("how much is the 14 pro") == []


@pytest.mark.parametrize("text, entry", [
    ("14pro玩游戏掉电快吗", "phone_battery_saving"),         # drain while gaming: the battery, not heat
    ("手机用了两个月 电池掉电好快 咋回事", "phone_battery_saving"),
    ("14pro打游戏发烫正常吗", "phone_overheating"),
])
def test_a_battery_draining_while_gaming_is_the_battery(retriever, text: str,  # type: ignore[no-untyped-def]
                                                        entry: str) -> None:
    result = retriever.ask(text)
    assert result.outcome == "answer" and result.entry_id == entry, result.record()


@pytest.mark.parametrize("text, entries", [
    # "and how long" takes its topic from the question before it, not the warranty's "how long"
    ("do you ship to hong kong and how long", ["answer:shipping_international"]),
    ("do you deliver to macau and how long does it take", ["answer:shipping_international"]),
])
def test_an_elliptical_part_takes_the_topic_of_the_part_before(retriever, text: str,  # type: ignore[no-untyped-def]
                                                               entries: List[str]) -> None:
    assert _entries(retriever, text) == entries


def test_the_part_that_can_be_answered_is_answered(retriever) -> None:  # type: ignore[no-untyped-def]
    # the other part is near an out-of-scope example: that says nothing against the band's price
    parts = retriever.ask_parts("手环9能测体温吗 顺便问下多少钱")
    assert [(p.outcome, p.entry_id) for p in parts][1:] == [("answer", "spec:band_9:price")]
    assert isinstance(parts[0], PartUnsure) and parts[0].part == "手环9能测体温吗"
    # a part asked about the message's product only hedges (the 14 Pro's battery); alone it is surely the warranty
    assert [p.entry_id for p in retriever.ask_parts("14pro支持卫星通话吗 保修多久") if p.outcome == "answer"] == [
        "warranty_period"]


def test_how_long_after_a_repair_question_is_the_repair_not_the_delivery(retriever) -> None:  # type: ignore[no-untyped-def]
    """"how long does it take" names nothing: with the part before it, it is the repair's time, though that part
    names the phone (whose own "how long" would read as delivery)."""
    result = retriever.ask("screen cracked on my 14, how much to fix and how long does it take")
    parts = retriever.ask_parts("screen cracked on my 14, how much to fix and how long does it take")
    assert [p.entry_id for p in parts] in ([], ["warranty_screen_damage"]), [p.record() for p in parts]
    assert result.entry_id == "warranty_screen_damage", result.record()


@pytest.mark.parametrize("text", ["耳机降噪咋样 坐飞机能用吗", "手环9盒子里带啥 有充电头不"])
def test_a_part_is_not_answered_by_an_entry_about_other_products(retriever, text: str) -> None:  # type: ignore[no-untyped-def]
    """The power bank's flight rules say nothing of the earbuds on a plane; the phones' box nothing of the band's."""
    assert not any(e in entry for entry in _entries(retriever, text)
                   for e in ("answer:power_bank_flight", "answer:phone_charger_in_box"))
    whole = retriever.ask(text)
    assert whole.outcome != "answer" or whole.entry_id not in ("power_bank_flight", "phone_charger_in_box"), whole.record()


def test_the_words_before_the_first_question_are_its_context(retriever) -> None:  # type: ignore[no-untyped-def]
    # "多久到" alone is a refund's "how long till it arrives"; after "配送这块大概讲讲" it is the delivery's
    assert _entries(retriever, "第一次在你们家买 配送这块大概讲讲 多久到 要不要运费") == [
        "answer:shipping_overview", "answer:shipping_cost"]
