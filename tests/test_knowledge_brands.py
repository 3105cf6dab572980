"""Other brands a question names (bot/knowledge/brands.py, `answering.other_brands` in knowledge/config.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.knowledge.answering import load_answering
from bot.knowledge.brands import brands_named, unanswered_brands

BRANDS = {"pixel 9": ("android",), "ipad": (), "苹果": ("iphone", "ios"), "samsung": ("android", "安卓")}


def test_latin_names_match_whole_words_and_chinese_names_anywhere() -> None:
    assert brands_named("is the 14 pro better than the Pixel 9 for photos", BRANDS) == ["pixel 9"]
    assert brands_named("got a dead pixel on my screen", BRANDS) == []
    assert brands_named("ipads?", BRANDS) == []
    assert brands_named("120W的头能给苹果手机用吗", BRANDS) == ["苹果"]


def test_an_entry_covers_a_brand_by_its_name_or_one_of_its_words() -> None:
    assert unanswered_brands("手环能配苹果手机吗", BRANDS, ["Works with Android 8+ and iOS 14+"]) == []
    assert unanswered_brands("band with my samsung?", BRANDS, ["安卓 8 以上都行"]) == []
    assert unanswered_brands("can the 120W charger do my ipad", BRANDS, ["The 14 Pro comes with a 120W charger"]) == [
        "ipad"]


def test_the_shipped_list_loads_and_a_bad_one_names_the_file(tmp_path: Path) -> None:
    home = Path(__file__).resolve().parents[1]
    assert "pixel 9" in load_answering(home / "knowledge").other_brands
    (tmp_path / "config.yml").write_text("answering:\n  other_brands: [apple, samsung]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.yml: answering.other_brands must map"):
        load_answering(tmp_path)


def test_a_brand_the_user_comes_from_is_context_not_the_question() -> None:
    from bot.knowledge.brands import unanswered_brands

    brands = {"vivo": ("android",), "huawei": ("android",), "iphone": ("ios",)}
    warranty = ["Phones get 1 year on the device and 6 months on the battery."]
    assert unanswered_brands("我之前一直用的vivo 一用就是五年 想问下保修期到底多长", brands, warranty) == []
    assert unanswered_brands("trading in my old huawei when i buy the pro, possible?", brands, warranty) == []
    assert unanswered_brands("is the 14 pro better than the huawei p70", brands, warranty) == ["huawei"]
    assert unanswered_brands("can the 120w charger charge my iphone", brands, warranty) == ["iphone"]


def test_a_brand_said_beside_the_question_is_the_users_situation() -> None:
    """A brand only in a piece that neither asks nor compares, next to one that asks, is where the user stands; said in
    the question, or in a comparison, it is what they ask about."""
    brands = {"苹果": ("iphone",), "samsung": ("android",), "pixel": ("android",)}
    box = ["A 90 W charger, a USB-C cable, a clear case and a SIM tool are in the box."]
    assert unanswered_brands("手机盒子里有充电器吗 我家里全是苹果的线", brands, box) == []
    assert unanswered_brands("my old man uses a samsung, is there a charger in the box", brands, box) == []
    assert unanswered_brands("pixel 9 camera vs the 14 pro, which wins", brands, box) == ["pixel"]
    assert unanswered_brands("samsung s25 or the 14, which one wins", brands, box) == ["samsung"]
    assert unanswered_brands("苹果的充电器能给14快充吗", brands, box) == ["苹果"]


def test_a_model_named_after_another_brand_is_that_brands_word() -> None:
    """"an old samsung s21": s21 is a word the KB never uses, but it is the brand's model, so the brands rule judges it,
    not the rule for named things the KB lacks; a term of its own stays one."""
    from bot.knowledge.brands import not_brand_terms

    brands = ["samsung", "pixel"]
    assert not_brand_terms("trade in my old samsung s21 for the 14?", ["s21"], brands) == []
    assert not_brand_terms("does the pixel 9a charge on the power bank", ["9a", "pixel"], brands) == []
    assert not_brand_terms("does the 14 support LDAC? i have a samsung", ["LDAC"], brands) == ["LDAC"]
