"""Words the retriever reads literally: quantities that are not model numbers, categories after "besides",
Latin loanwords that name nothing, and spec words inside other words (bot/knowledge/products.py, catalog.py,
terms.py, specs.py)."""

from __future__ import annotations

from pathlib import Path

from bot.knowledge.answering import asks_question
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


def test_a_bare_model_number_opening_a_chinese_message_names_the_phone() -> None:
    matcher = ProductMatcher(KB.products)
    for text in ("14续航咋样", "我的14有256的吗", "14 充电功率多少"):
        assert matcher.find(text).known == ["phone_14"], text
    for text in ("14天能退吗", "买了14个月了", "14号发货", "第14天坏了"):
        assert matcher.find(text).known == [], text


def test_how_is_it_asks_for_the_spec_and_a_part_or_repair_goes_to_the_faq() -> None:
    assert detect_spec("buds5 续航咋样") == "battery"
    assert detect_spec("14pro电池怎么样") == "battery"
    assert detect_spec("手环怎样才能省电") is None  # a how-to
    assert detect_spec("充电宝好重吧 放兜里行不") == "weight"
    assert detect_spec("重启很重要吗") is None
    assert detect_spec("how much does the power bank weigh") == "weight"
    assert detect_spec("how long does the power bank take to fill up") == "charging"
    assert detect_spec("how long do buds 5 last on one charge") != "charging"
    assert detect_spec("14有256的吗") == "storage"
    assert detect_spec("14pro现在卖多少") == "price"
    assert detect_spec("yo how much the 14 pro rn") == "price"
    for text in ("手机摔了屏幕裂了 换屏多少米", "耳机丢了一只 能单独买吗 多少钱", "band 9 straps, can i buy other colours?",
                 "手环9的表带能换别的颜色吗", "how much is a screen repair on the 14"):
        assert detect_spec(text) is None, text


def test_questions_without_a_question_mark() -> None:
    for text in ("有手表卖吗 智能手表那种", "屏幕用的三星还是京东方的", "14还是14pro好", "any news on the next flagship",
                 "u guys make any laptops or just phones"):
        assert asks_question(text), text
    for text in ("重启了还是不行 烦死了", "换了还是一样的", "我还是喜欢黑色的", "the price dropped a week after I bought it"):
        assert not asks_question(text), text


def test_the_phones_jack_or_a_wired_pair_is_not_the_earbuds() -> None:
    from bot.knowledge.catalog import category_products

    for text in ("有3.5耳机孔么", "没有耳机孔？那我的有线耳机咋办", "no headphone jack? what about my wired headphones"):
        assert category_products(KB.products, text) == [], text
    assert category_products(KB.products, "耳机防水吗") == ["buds_5"]


def test_do_you_sell_with_more_said_after_it() -> None:
    found = answer_catalog(KB.products, "有手表卖吗 智能手表那种", [], "zh")
    assert found is not None and found.entry_id == "catalog:lineup"


def test_pro_alone_names_the_14_pro() -> None:
    matcher = ProductMatcher(KB.products)
    for text in ("pro有蓝色吗", "pro版多重", "想要个1t的pro 有这么大的存储吗", "dropped my pro in the sea"):
        assert matcher.find(text).known == ["phone_14_pro"], text
    assert sorted(matcher.find("14和pro哪个电池更耐用").known) == ["phone_14", "phone_14_pro"]
    for text in ("i am a pro gamer", "有pro max吗"):
        assert "phone_14_pro" not in matcher.find(text).known, text
    assert matcher.find("小屏14的续航咋样").known == ["phone_14"]
    assert matcher.find("等了14天").known == []


def test_battery_and_recharge_wordings() -> None:
    assert detect_spec("耳机戴着能听几个小时歌") == "battery"
    assert detect_spec("will the 14 last me a full day") == "battery"
    assert detect_spec("这个充电宝本身回电要多长时间") == "charging"
    assert detect_spec("小屏14的续航咋样") == "battery"


def test_how_it_charges_is_the_charging_figure_unless_it_fails() -> None:
    for text in ("手环咋充电的 要专门的线吗", "how do i charge the buds", "耳机怎么充电"):
        assert detect_spec(text) == "charging", text
    for text in ("手机怎么充不进电了", "how do i charge it, it won't charge anymore", "怎么充电这么慢"):
        assert detect_spec(text) != "charging", text


def test_a_colour_asked_about_is_the_colours() -> None:
    for text in ("is there a blue 14 pro?? need it", "any pink band 9 left", "耳机出黑色没有"):
        assert detect_spec(text) == "colours", text
    assert detect_spec("blue screen after the update") != "colours"


def test_a_whole_comparison_is_not_one_figure() -> None:
    assert detect_spec("本来打算买pro的 一看价格有点肉疼 两个主要差在哪") is None
    assert detect_spec("14 pro is pricey, is the extra worth it vs the 14, whats really different") is None
    assert detect_spec("14和pro哪个电池更耐用") == "battery"


def test_do_you_make_a_category_we_sell() -> None:
    for text, entry in (("你们家做不做蓝牙耳机", "catalog:lineup:earbuds"), ("有没有卖手环", "catalog:lineup:band"),
                        ("手机现在有哪几个型号", "catalog:lineup:phone")):
        found = answer_catalog(KB.products, text, [], "zh")
        assert found is not None and found.entry_id == entry, text
    assert answer_catalog(KB.products, "有没有耳机孔", [], "zh") is None


def test_a_fault_is_not_a_spec_question() -> None:
    assert detect_spec("my 14 pro screen flickers after the update") is None
    assert detect_spec("14pro屏幕闪屏怎么回事") is None
    assert detect_spec("14 pro screen size") == "screen"
