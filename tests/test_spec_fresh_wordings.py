"""Spec and catalog questions in fresh wordings (issue 14, helper F, 1 Dec): the cost of a service done to a part, a
comparison of how long or how much, a variant before a bare model number, a kind of phone we do not make, the newest of
the range."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.catalog import answer_catalog
from bot.knowledge.facts import render_fact
from bot.knowledge.loader import load_kb
from bot.knowledge.products import ProductMatcher
from bot.knowledge.spec_words import asks_part_price
from bot.knowledge.specs import detect_spec

KB = load_kb(Path(__file__).resolve().parents[1] / "knowledge")
MATCHER = ProductMatcher(KB.products)


@pytest.mark.parametrize("question", [
    "how much to swap the battery on my 14 pro",
    "what's the cost of a new battery for the buds",
    "battery replacement price?",
    "how much to replace the battery in my band 9",
    "手环屏幕坏了换一个多少钱",
    "14pro电池修一下多少钱",
    "换电池贵不贵",
    "how much to get the 14 screen fixed",
])
def test_the_cost_of_a_service_on_a_part_is_no_spec_figure(question: str) -> None:
    assert asks_part_price(question)
    assert detect_spec(question) is None
    assert render_fact(KB, "spec:phone_14_pro:battery", question, "en") is None


@pytest.mark.parametrize("question, spec", [
    ("how much is the 14 pro", "price"),  # no service, no part: the product's price
    ("14pro电池多大", "battery"),  # a part, no cost
    ("does the 14 pro have a bigger battery than the 14", "battery"),  # no service, no cost word
    ("whats the battery capacity and how much is the 14", "price"),
])
def test_a_figure_without_a_service_stays_a_spec(question: str, spec: str) -> None:
    assert not asks_part_price(question)
    assert detect_spec(question) == spec


@pytest.mark.parametrize("question, spec", [
    ("band vs buds which lasts longer", "battery"),
    ("does the 14 outlast the pro", "battery"),
    ("how much more is the pro than the 14", "price"),
    ("14 pro 512 多少rmb", "price"),  # the storage says which one, "多少rmb" asks the price
    ("can the 14 pro handle the beach", "water_resistance"),
    ("is the 14 pro good for beach photos", None),
])
def test_comparison_money_and_beach_words(question: str, spec: object) -> None:
    assert detect_spec(question) == spec


@pytest.mark.parametrize("question, known", [
    ("how much is the 512gb 14", ["phone_14"]),
    ("is a black 14 heavier", ["phone_14"]),
    ("my 256gb 14 pro battery", ["phone_14_pro"]),
    ("the 14 days return", []),  # still a quantity
])
def test_a_variant_before_a_bare_model_number(question: str, known: list) -> None:
    assert MATCHER.find(question).known == known


@pytest.mark.parametrize("question", ["有折叠屏手机吗", "got any foldables?", "do you make a flip phone"])
def test_a_kind_of_phone_we_do_not_make_is_unknown(question: str) -> None:
    found = MATCHER.find(question)
    assert found.unknown and not found.known


@pytest.mark.parametrize("question, lang, entry", [
    ("最新的手机是哪款", "zh", "catalog:lineup:phone"),
    ("你们最新出的是啥", "zh", "catalog:lineup"),
    ("whats your newest phone", "en", "catalog:lineup:phone"),
])
def test_the_newest_of_the_range_is_the_range(question: str, lang: str, entry: str) -> None:
    answer = answer_catalog(KB.products, question, [], lang)
    assert answer is not None and answer.entry_id == entry


@pytest.mark.parametrize("question", ["最新系统是什么版本", "how do i get the latest update"])
def test_the_latest_software_is_no_catalog_question(question: str) -> None:
    assert answer_catalog(KB.products, question, [], "zh" if "系统" in question else "en") is None


def test_a_did_you_mean_for_a_parts_price_offers_nothing() -> None:
    """No part has a price in products.yml: a weak match for a part's price can only offer the part's figures."""
    from bot.knowledge.specs import missing_spec

    band = [KB.products["band_9"]]
    assert missing_spec(band, "how much to replace the battery in my band 9", "en") == "the price of a part"
    assert missing_spec(band, "how heavy is the band 9", "en") is None


@pytest.mark.parametrize("question, lang, text", [
    ("any cheaper phones than the 14 pro?", "en", "Cheaper than the Millet Phone 14 Pro (¥4,999): the Millet Phone 14"),
    ("有没有比14pro便宜的手机", "zh", "比米粒手机 14 Pro（4999 元）便宜的手机有：米粒手机 14（3999 元）。"),
    ("is there something cheaper than the 14", "en", "is already our cheapest phone"),
])
def test_others_cheaper_than_a_named_product(question: str, lang: str, text: str) -> None:
    answer = answer_catalog(KB.products, question, MATCHER.find(question).known, lang)
    assert answer is not None and answer.entry_id == "spec:phone_14+phone_14_pro:price" and text in answer.text


@pytest.mark.parametrize("question", ["is the 14 cheaper than the pro", "pro比14贵多少"])
def test_two_products_compared_stay_a_spec_comparison(question: str) -> None:
    assert answer_catalog(KB.products, question, MATCHER.find(question).known, "en") is None


@pytest.mark.parametrize("question, spec", [
    ("充电宝20000毫安能带上高铁吗", None),  # may it be carried: the FAQ's
    ("is the 20000mah power bank ok in carry on", None),
    ("can i bring the 20000mah power bank on a train", None),
    ("坐高铁回老家要六个钟，耳机电够听一路吗", "battery"),  # the trip is the context of how long it lasts
    ("long haul flight 12h, will the buds 5 last w the case", "battery"),
])
def test_whether_it_may_be_carried_is_no_figure(question: str, spec: object) -> None:
    assert detect_spec(question) == spec
