"""Words the retriever reads literally: quantities that are not model numbers, categories after "besides",
Latin loanwords that name nothing, and spec words inside other words (bot/knowledge/products.py, catalog.py,
terms.py, specs.py)."""

from __future__ import annotations

from pathlib import Path

from bot.knowledge.catalog import answer_catalog
from bot.knowledge.loader import load_kb
from bot.knowledge.products import ProductMatcher
from bot.knowledge.specs import detect_spec
from bot.knowledge.terms import unknown_terms, vocabulary

KB = load_kb(Path(__file__).resolve().parents[1] / "knowledge")


def test_a_quantity_after_a_product_noun_is_not_a_model() -> None:
    matcher = ProductMatcher(KB.products)
    assert matcher.find("got my phone 4 days ago and the camera broke").unknown == []
    assert matcher.find("手机3个月就坏了").unknown == []
    assert matcher.find("is there a millet phone 15").unknown == ["millet phone 15"]
    assert matcher.find("耳机5能不能戴着跑步").known == ["buds_5"]


def test_a_category_after_besides_asks_for_the_rest_of_the_range() -> None:
    for text in ("你们家除了手机还卖啥", "what else do you sell besides phones"):
        found = answer_catalog(KB.products, text, [], "zh" if "手机" in text else "en")
        assert found is not None and found.entry_id == "catalog:lineup", text
    phones = answer_catalog(KB.products, "你们有哪些手机", [], "zh")
    assert phones is not None and phones.entry_id == "catalog:lineup:phone"


def test_loanwords_name_nothing_but_feature_names_do() -> None:
    known = vocabulary(["system update"])
    assert unknown_terms("系统更新完卡在logo界面了", known) == []
    assert unknown_terms("手环9内置GPS没", known) == ["GPS"]


def test_spec_words_inside_other_words_do_not_count() -> None:
    assert detect_spec("band 9 stopped showing telegram notifs") != "weight"
    assert detect_spec("how heavy is the band 9") == "weight"
    assert detect_spec("充电宝能给手机冲几次电") == "battery"
    assert detect_spec("耳机出汗多会坏吗") == "water_resistance"
    assert detect_spec("14 Pro的charging多快") == "charging"
