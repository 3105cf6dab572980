"""A product, a range or a figure asked about in the middle of a longer message, as fans write on WeChat and
Telegram: a model number after a comma or a gift ("想送她14，有白的吗"), a pinyin word after it ("hi亲 14 dianchi
多大"), "any fitness trackers?" for the range (bot/knowledge/products.py, catalog.py, spec_words.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.catalog import answer_catalog, unmade_kind
from bot.knowledge.loader import load_kb
from bot.knowledge.products import ProductMatcher
from bot.knowledge.specs import detect_spec
from bot.knowledge.text import has_cjk

KB = load_kb(Path(__file__).resolve().parents[1] / "knowledge")


@pytest.mark.parametrize("text", ["我妈一天到晚刷抖音，14的电撑得住一整天吗", "我拍照特别多，14最大能选多少G的",
                                  "下周女朋友生日🎂想送她14，她喜欢浅色系，有白的吗", "hi亲 14 dianchi 多大",
                                  "dropped my 14 in the sink for a sec, is it ok?"])
def test_a_model_number_inside_a_longer_message_names_the_phone(text: str) -> None:
    assert ProductMatcher(KB.products).find(text).known == ["phone_14"]


@pytest.mark.parametrize("text", ["我今年14，能用吗", "订单尾号14，到哪了", "i have 14, what now", "14天能退吗",
                                  "等了14，还没发货"])
def test_an_age_a_tail_number_or_a_size_is_no_model(text: str) -> None:
    assert ProductMatcher(KB.products).find(text).known == [], text


def test_a_gift_is_not_what_comes_in_the_box() -> None:
    assert detect_spec("想送她14，有白的吗") == "colours"
    assert detect_spec("送给我爸的14 电池多大") == "battery"
    assert detect_spec("14送耳机吗") is None
    # what comes in the box is its own spec (`in_box`; the phones' answer is the FAQ entry's: products.yml `in_box.entry`)
    assert detect_spec("送不送充电器") == "in_box"


@pytest.mark.parametrize("text, entry", [
    ("any fitness trackers?", "catalog:lineup:band"), ("got any earbuds", "catalog:lineup:earbuds"),
    ("do you sell portable chargers", "catalog:lineup:power_bank"), ("手机就这两款吗 没别的了？", "catalog:lineup:phone"),
    ("耳机还有别的款吗", "catalog:lineup:earbuds"), ("do you have a fitness tracker", "catalog:lineup:band"),
    ("除了手机你们还有别的产品吗", "catalog:lineup"), ("手环现在卖的是哪一款", "catalog:lineup:band"),
    ("你们出手环吗 想买个运动的", "catalog:lineup:band"),
])
def test_asking_whether_there_are_any_gets_the_range(text: str, entry: str) -> None:
    found = answer_catalog(KB.products, text, [], "zh" if has_cjk(text) else "en")
    assert found is not None and found.entry_id == entry, (text, found)


@pytest.mark.parametrize("text", ["没别的了 谢谢", "any updates on my order?", "any tips for the band 9?",
                                  "do you sell a phone case", "耳机还有别的颜色吗",
                                  "any phones with 1tb of storage and a stylus, and a headphone jack?"])
def test_other_any_questions_are_not_the_range(text: str) -> None:
    assert answer_catalog(KB.products, text, [], "zh" if has_cjk(text) else "en") is None, text


def test_without_names_replaces_each_product_name() -> None:
    mentions = ProductMatcher(KB.products).find("can i pay for the 14 Pro in instalments, and the buds 5?")
    assert mentions.known == ["phone_14_pro", "buds_5"]
    assert mentions.without_names("it") == "can i pay for it in instalments, and the it ?"


@pytest.fixture(scope="module")
def retriever():  # type: ignore[no-untyped-def]
    from bot.context import build_context

    return build_context().knowledge.retriever()


@pytest.mark.parametrize("text, entry", [
    ("can i pay for the 14 pro in instalments", "payment_methods"),  # "…for it in instalments" is sure
    ("how do i update the OS on my 14", "os_update_how"),
    ("14 pro is it 5g", "phone_5g_bands"),
])
def test_a_product_name_does_not_pull_a_service_question_to_the_product(retriever, text: str,  # type: ignore[no-untyped-def]
                                                                        entry: str) -> None:
    found = retriever.ask(text)
    assert (found.outcome, found.entry_id) == ("answer", entry), found.reason
    assert found.products, found


@pytest.mark.parametrize("text", ["spotify offline on band 9?", "14pro支持几代wifi", "米粒14pro手机壳尺寸"])
def test_without_the_name_nothing_unsure_is_made_sure(retriever, text: str) -> None:  # type: ignore[no-untyped-def]
    assert retriever.ask(text).outcome != "answer", text


def test_how_many_full_charges_is_the_capacity_and_which_one_asks() -> None:
    from bot.knowledge.answering import asks_question

    assert detect_spec("出去露营三天，充电宝能给14充满几次") == "battery"  # how many times it fills the phone
    assert detect_spec("充电宝充满要多久") == "charging"
    assert detect_spec("循环充多少次会衰减啊 充电宝能用几年") is None  # how it ages: the FAQ's, not a figure
    assert detect_spec("哪款耳机最便宜") == "price"
    for text in ("哪款手机电池最大", "哪种颜色好看"):
        assert asks_question(text), text


@pytest.mark.parametrize("typed, meant", [("14pro点池多大", "14pro电池多大"), ("手机言色有几种", "手机颜色有几种"),
                                          ("耳几多少钱", "耳机多少钱"), ("14pro屏募多大", "14pro屏幕多大"),
                                          ("保休期多久", "保修期多久")])
def test_a_homophone_typo_of_a_kb_noun_is_read_as_it(retriever, typed: str, meant: str) -> None:  # type: ignore[no-untyped-def]
    assert retriever._homophones.fix(typed) == meant


@pytest.mark.parametrize("text", ["我那副老耳机 在14上还能用吗", "充电宝哪年出的", "耳机能戴着游泳不", "你们官网下了个单",
                                  "右边有电流声", "手环屏幕几寸", "想尝鲜内侧版"])
def test_real_words_and_words_across_a_boundary_are_left_alone(retriever, text: str) -> None:  # type: ignore[no-untyped-def]
    assert retriever._homophones.fix(text) == text


def test_a_typed_homophone_gets_the_spec(retriever) -> None:  # type: ignore[no-untyped-def]
    found = retriever.ask("14pro点池多大")
    assert found.entry_id == "spec:phone_14_pro:battery", found.reason


def test_two_categories_named_by_their_words_get_both_products(retriever) -> None:  # type: ignore[no-untyped-def]
    for text in ("price of the band and the buds", "手环和耳机多少钱"):
        assert retriever.ask(text).entry_id == "spec:band_9+buds_5:price", text
    assert retriever.ask("耳机防水吗").entry_id == "spec:buds_5:water_resistance"
    assert retriever.ask("除了手机 手环防水吗").entry_id == "spec:band_9:water_resistance"  # "besides" is not asked


def test_novel_english_words_are_the_kbs_own_or_typos_of_them(retriever) -> None:  # type: ignore[no-untyped-def]
    novel = retriever._novel_words
    assert novel("buds 5 spatial audio?") == ["spatial"]
    assert novel("any foldable phones coming") == ["foldable"]
    for text in ("rated charge cycles of the power bank?", "how long does the batery last", "耳机有没有空间音频",
                 "is the screen brighter outdoors"):
        assert "cycles" not in novel(text) and "batery" not in novel(text), text
    assert novel("耳机有没有空间音频") == []


@pytest.mark.parametrize("text", ["does the buds 5 do spatial audio", "any foldable phones coming"])
def test_a_did_you_mean_never_offers_entries_for_a_word_the_kb_never_uses(retriever, text: str) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from bot.knowledge.retriever import Retriever

    # without the out-of-scope examples, which may also turn it away ("is there 3d audio on the buds")
    plain = Retriever(replace(retriever.kb, near_misses={}), retriever.index, retriever.encoder, retriever.config)
    found = plain.ask(text)
    # "foldable" is also a kind of phone we do not make (bot.knowledge.products._KIND_NOT_MADE): turned away earlier
    # or not even near enough for a "did you mean" (the entry model, fitted without the near misses too)
    assert found.outcome == "unsure" and ("never mentions" in found.reason or "foldable" in found.reason
                                          or found.confidence < plain.config.suggest_threshold), found.reason
    assert retriever.ask(text).outcome == "unsure"


def test_wearing_it_for_the_dishes_is_a_water_question_and_a_question() -> None:
    from bot.knowledge.answering import asks_question

    assert detect_spec("手环9洗碗的时候戴着没事吧") == "water_resistance"
    assert asks_question("手环9洗碗的时候戴着没事吧") and asks_question("耳机跑步戴着不要紧吧")
    assert not asks_question("那就买吧")


@pytest.mark.parametrize("text", ["do u guys sell vr headsets", "你们有扫地机器人吗", "有没有卖电饭煲"])
def test_a_kind_of_gadget_we_do_not_make_is_named_as_not_ours(text: str) -> None:
    assert answer_catalog(KB.products, text, [], "zh" if "有" in text else "en") is None, text
    assert unmade_kind(text, []) in ("vr", "扫地机", "电饭煲"), text


def test_a_health_figure_a_screen_fault_and_the_watts_of_a_newcomer() -> None:
    from bot.knowledge.specs import unheld_spec

    assert unheld_spec("手环9能测血压吗 我爸高血压") == "血压"  # the band measures no blood pressure: never "yes"
    assert detect_spec("14pro的屏幕会不会烧屏") is None and detect_spec("oled burn-in on the pro?") is None  # a fault
    assert detect_spec("充电宝 多少w的") == "charging" and detect_spec("充电宝几w") == "charging"


@pytest.mark.parametrize("text, kind", [("laptops?", "laptops"), ("大学开学想买个笔记本电脑 你们有吗", "笔记本"),
                                        ("娃要个能定位的儿童手表 你们家有没", "手表"), ("那手表呢", "手表"),
                                        ("and the tablet?", "tablet")])
def test_a_kind_we_do_not_make_asked_for_in_few_words_is_named(text: str, kind: str) -> None:
    assert unmade_kind(text, []) == kind
    assert unmade_kind("手表能连手环吗", []) is None and unmade_kind("手表怎么样", []) is None


def test_an_english_sentence_with_a_chinese_word_is_english() -> None:
    from bot.language import detect_language

    assert detect_language("does the 14 pro support 花呗 installments") == "en"  # answered in English
    assert detect_language("14pro的camera咋样") == "zh" and detect_language("耳机支持LDAC吗") == "zh"


@pytest.mark.parametrize("text, entry", [
    ("does the 14 pro support 花呗 installments", "payment_methods"),  # 花呗 read as the KB's "huabei"
    ("do u take paypal", "payment_methods"),  # the entry lists what we take: the answer to "do you take X"
    ("手环颜色买错了 盒子都没开 退得了吗", "returns_7day"),  # "退得了吗" is "能退吗"; a colour named is no colour question
    ("unboxed my band 9 today and theres a scuff across the display, swap?", "exchange_15day"),  # no box contents
    ("my dell xps wants 65w, is your power bank gonna do anything for it", "power_bank_laptop"),  # a laptop by its maker
])
def test_a_service_question_that_names_a_figure_or_a_foreign_word(retriever, text: str,  # type: ignore[no-untyped-def]
                                                                  entry: str) -> None:
    found = retriever.ask(text)
    assert (found.outcome, found.entry_id, found.language) == ("answer", entry, "zh" if "退" in text else "en"), found.reason


def test_how_long_it_lasts_or_takes_to_fill_in_other_words() -> None:
    assert detect_spec("how many days does band 9 last with always on display") == "battery"  # not the screen
    assert detect_spec("14pro从没电到满电要多久") == "charging"
    assert detect_spec("does the band 9 come with a charger") == "in_box"


def test_the_choices_of_a_kind_are_its_range() -> None:
    for text, category in (("fitness tracker options?", "band"), ("what are my options for earbuds", "earbuds"),
                           ("手环有啥选择", "band")):
        found = answer_catalog(KB.products, text, [], "zh" if "手环" in text else "en")
        assert found is not None and found.category == category, text


def test_a_kind_we_do_not_make_asked_for_in_a_clause_of_its_own() -> None:
    find = ProductMatcher(KB.products).find
    assert unmade_kind("米粒出不出watch啊 手环屏太小了", find("米粒出不出watch啊 手环屏太小了").known, find) == "watch"
    assert unmade_kind("耳机能连我的手表吗 有没有延迟", find("耳机能连我的手表吗").known, find) is None  # ours, with a watch


def test_another_brands_device_of_a_kind_we_do_not_make_is_not_our_bands_entry(retriever) -> None:  # type: ignore[no-untyped-def]
    found = retriever.ask("华为手表能连米粒手机用吗")  # a Huawei watch with our phone: the band's pairing entry is not it
    assert found.outcome == "unsure", found.reason
    assert retriever.ask("华为手机能连手环9吗").entry_id == "band_iphone"  # their phone, our band: the entry's


def test_a_swear_word_before_what_do_i_do_still_asks() -> None:
    from bot.knowledge.answering import asks_question

    assert asks_question("stuck in an update loop, failed 3 times at 72%, wtf do i do")


def test_what_we_know_is_in_a_box_whose_list_is_not_complete() -> None:
    from bot.knowledge.specs import answer_spec

    band = KB.products["band_9"]
    found = answer_spec([band], "手环盒子里有充电头吗 还是只给根线", "zh")
    assert found is not None and "磁吸充电线" in found.text and "充电头" in found.text, found  # not sure of the charger
    found = answer_spec([band], "band 9 come with a charger?", "en")
    assert found is not None and "magnetic charging cable" in found.text and "can't say" in found.text, found


def test_an_update_a_choice_between_two_and_filling_itself_up() -> None:
    assert detect_spec("给我爸的pro升个级 要充满电再弄吗") is None  # the update, not the charging figure
    assert detect_spec("14和14pro到底选哪个啊 最近电池不行了") is None  # the whole comparison
    assert detect_spec("哪个电池大") == "battery"
    assert detect_spec("how long does the power bank take to fill itself up") == "charging"


@pytest.mark.parametrize("text, entry", [
    ("is there anc on ur 耳机, my commute is loud af", "buds_anc"),  # 耳机 read as "earbuds" in an English sentence
    ("does the 14 box have a charger in it or just a cable like apple does now", "phone_charger_in_box"),  # an aside
    ("就买一张钢化膜 包邮吗", "shipping_cost"),  # the fee asked about by its word: the entry that speaks of it
    ("any fitness trackers from millet?", "catalog:lineup:band"),
])
def test_the_thing_asked_about_wins_over_words_on_the_way(retriever, text: str,  # type: ignore[no-untyped-def]
                                                          entry: str) -> None:
    found = retriever.ask(text)
    assert (found.outcome, found.entry_id) == ("answer", entry), found.reason


def test_a_repair_price_asked_with_just_how_much_names_the_part(retriever) -> None:  # type: ignore[no-untyped-def]
    found = retriever.ask("背板摔裂了一道 修后盖大概多少")  # the back cover's price: the screen's entry has none
    assert found.outcome == "unsure" and "back" in found.reason, found.reason


def test_a_feature_the_knowledge_base_never_mentions_is_not_its_nearest_entry(retriever) -> None:  # type: ignore[no-untyped-def]
    for text in ("14pro能拍星空延时吗", "耳机能一边连电脑一边连手机吗 来回切好麻烦"):  # time-lapse; two devices at once
        assert retriever.ask(text).outcome == "unsure", text
    assert retriever.ask("14pro夜景怎么样").entry_id == "phone_camera"


@pytest.mark.parametrize("text", ["家里有副森海的有线耳机 3.5插头的 接到pro上要另外买啥不", "去美国出差半个月 这手机5G在那边靠谱吗",
                                  "i usually keep a phone 5 or 6 years"])
def test_a_size_the_network_or_a_range_after_a_noun_is_no_model(text: str) -> None:
    assert ProductMatcher(KB.products).find(text).unknown == [], text


def test_an_older_model_named_to_ask_whether_its_accessory_fits_is_ours(retriever) -> None:  # type: ignore[no-untyped-def]
    for text in ("will my old Band 8 strap fit the Band 9?", "手环8的表带手环9能用吗"):
        assert retriever.ask(text).entry_id == "band_strap", text  # "older Band straps don't fit"
    assert retriever.ask("band 8 vs band 9 which is better").unknown_products == ["band 8"]


@pytest.mark.parametrize("text, entry", [
    ("unboxing the pro tomorrow 🎉 what should i expect to find inside", "phone_charger_in_box"),  # products.yml's entry
    ("Will I be able to add extra storage to the 14 Pro later?", "phone_memory_card"),  # not the storage figure
    ("我的轻薄本是typec口充的 原装头65w 这充电宝带得动不", "power_bank_laptop"),
    ("你们卖无线耳机不", "catalog:lineup:earbuds"),
    ("how mucch is the 14 pro in rmb", "spec:phone_14_pro:price"),  # a letter typed twice
])
def test_more_questions_read_as_their_thing(retriever, text: str, entry: str) -> None:  # type: ignore[no-untyped-def]
    found = retriever.ask(text)
    assert (found.outcome, found.entry_id) == ("answer", entry), found.reason


@pytest.mark.parametrize("text", ["14pro的镜头是徕卡的吗", "长焦有没有光学防抖啊", "有学生优惠没 开学想换机", "能不能加钱买延长保修",
                                  "how many charge cycles is the 14's battery rated for", "手环9屏幕是蓝宝石玻璃吗",
                                  "can the buds stay connected to my laptop and phone at once", "明天深圳下不下雨"])
def test_features_deals_and_weather_the_knowledge_base_does_not_hold(retriever, text: str) -> None:  # type: ignore[no-untyped-def]
    assert retriever.ask(text).outcome != "answer", text


def test_paying_extra_or_adding_something_yourself_is_no_wish() -> None:
    from bot.knowledge.answering import wants_change

    assert not wants_change("能不能加钱买延长保修 多保一年那种") and not wants_change("Will I be able to add extra storage later?")
    assert wants_change("能不能加个红外") and wants_change("Please add a headphone jack to the 14 Pro")


def test_a_fault_of_any_part_is_the_exchange_policys_and_an_unheld_plan_no_overview(retriever) -> None:  # type: ignore[no-untyped-def]
    assert retriever.ask("到手第三天 手机扬声器就破音了 能换台新的吗").entry_id == "exchange_15day"  # the speaker: a part
    found = retriever.ask("is there some paid plan to stretch the warranty on the pro to 2 or 3 years?",
                          intent="repair_warranty", intent_confidence=0.96)
    assert found.outcome == "unsure", found.reason  # not the warranty overview: it holds no extension plan
    assert retriever.ask("how much storage does the base 14 come with").entry_id == "spec:phone_14:storage"
    assert retriever.ask("14是什么屏幕材质").entry_id == "spec:phone_14:screen"  # the screen's material is its type


def test_a_typed_warranty_light_sleep_why_dearer_and_another_makers_charger(retriever) -> None:  # type: ignore[no-untyped-def]
    assert retriever.ask("手机电池保休是一年还是半年啊").entry_id == "warranty_period"  # 保休: 保修 typed
    assert detect_spec("does band 9 show rem or just light/deep") is None  # light sleep, not lightness
    assert retriever.ask("pro贵一千块 到底贵在哪了？").entry_id == "phone_14_vs_pro"  # why dearer: the comparison
    for text in ("拿别家的65w充电头给14充 能快充吗", "听说有5G-A了 米粒14能用上吗"):
        assert retriever.ask(text).outcome == "unsure", text
