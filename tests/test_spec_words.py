"""Which spec and which product a spec question asks about (bot/knowledge/spec_words.py, products.py, catalog.py):
a variant or a setting named beside the spec asked, colloquial spec words, the price of a part, a model name typed
one letter off, a category word in a comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.catalog import answer_catalog, category_products
from bot.knowledge.facts import render_fact
from bot.knowledge.loader import load_kb
from bot.knowledge.products import ProductMatcher
from bot.knowledge.specs import answer_spec, detect_spec, unheld_spec

KB = load_kb(Path(__file__).resolve().parents[1] / "knowledge")


@pytest.mark.parametrize("question, spec", [
    ("灰色的14pro卖多少", "price"),  # a colour says which one; the price is asked
    ("is the white 14 heavy", "weight"),
    ("512g的14啥时候上市的", "release_date"),  # a storage size says which one
    ("what's the price of the 1tb pro", "price"),
    ("pro开高刷能撑一天吗", "battery"),  # a screen mode is the condition, the battery the question
    ("does the band last a week with aod on", "battery"),
    # alone, the qualifier is the question
    ("手环有黑色的吗", "colours"),
    ("is there a 256gb 14", "storage"),
    ("14pro是120hz吗", "screen"),
])
def test_a_variant_or_setting_yields_to_the_spec_asked(question: str, spec: str) -> None:
    assert detect_spec(question) == spec


@pytest.mark.parametrize("question, spec", [
    ("这手机有多沉", "weight"),
    ("batery life of the 14 pro", "battery"),
    ("whats the battary like on the band", "battery"),
    ("how long would the band last", "battery"),
    ("how much juice is in the buds case", "battery"),
    ("can i wear the band in the jacuzzi", "water_resistance"),
    ("how many atm is it rated", "water_resistance"),
    ("power bank max output?", "charging"),
    ("14首发价是多少", "price"),
    ("how much did the pro launch for", "price"),
    ("手环是去年出的吗", "release_date"),
    ("14和14pro哪个便宜", "price"),
    ("is the pro too big for small hands", "screen"),
    ("14多大呀", "screen"),
    ("手环表盘尺寸多少", "screen"),
    ("14的电池多少wh", "battery"),  # watt-hours: the battery's energy, not a charging power
    ("手环用啥充电线", "charging"),
    ("what port does the buds case use", "charging"),
    ("手环充满电能戴多久", "battery"),  # after a full charge, how long it plays: the battery
    ("14几天充一次电", "battery"),
    ("how long will the band go", "battery"),
    ("how long does it take to fill up the power bank", "charging"),
    ("是不是最新款的14pro", "release_date"),
    ("is the band 15.8g", "weight"),  # a figure in grams is a weight...
    ("is there a 128g 14", "storage"),  # ...a power of two a storage size
    ("is the 14 pro 5g", None),  # and 5G a network
    ("how many hours of playback do the buds get", "battery"),
    ("how many days till it arrives", None),  # a delivery, not the battery
    ("14比pro轻多少", "weight"),
    ("手环官网价", "price"),
    ("band 9 relaese date", "release_date"),  # letters moved or doubled in a long spec word
    ("what proccesor is in the 14", "chip"),
    ("is the 14 pro wireles charging", "charging"),
    ("i'm changing my address", None),  # another word, not "charging"
    ("充满一次 耳机续航多久", "battery"),  # how long a full charge lasts, not how long charging takes
    ("一次充满手机能用几天", "battery"),
    ("耳机充电要插多久才满", "charging"),
    ("once i empty the power bank how long until its full", "charging"),
    ("在雨里淋了一会儿 耳机还能用吗", "water_resistance"),  # water met by accident: the rating answers
    ("手环掉水池里了 捞起来还好使吗", "water_resistance"),
    ("spilled coffee on the band, is it ok", "water_resistance"),
    ("耳机充满一次能一直听多久", "battery"),
    ("充电宝充满以后能给14充满几回", "battery"),  # how many phone charges a full power bank gives
    ("do the buds stop the music when i take them out", None),  # no release date
])
def test_colloquial_spec_words(question: str, spec: str) -> None:
    assert detect_spec(question) == spec


@pytest.mark.parametrize("question", [
    "14pro换块电池要多少钱",  # the price of a part or a repair: the FAQ's
    "how much for a new screen on the 14 if it cracks",
    "耳机盒子单买多少钱",
    "14快充会伤电池吗",  # how the battery ages
    "does fast charging hurt the battery",
    "粉色手环补货了通知我一下",  # a restock alert
    "will the pro get new colours",  # colours to come
    "the 14 is already 200 cheaper, can i get the difference",  # a price drop
    "if i trade in my old pixel how much off the 14 pro",  # a trade-in: the FAQ's, not the price
    "旧手机折价以后买14要多少钱",
    "我那台用了四年的华为能抵多少钱 想换14pro",
    "what would u give me for my old phone if i buy the 14 pro",
    "14pro可以投屏到投影仪吗",  # a feature of the screen, not its figure
    "拼多多上14才卖3599 你们能便宜点吗",  # a price to be matched or lowered: no figure answers it
    "would you price match amazon on the buds 5",
    "can you do 3500 for the 14",
    "can i add storage to the 14 later with a card",  # a card slot: the FAQ's
    "is there a tempered glass for the pro and how much",
    "how do i cast the pro's screen to a chromecast",
    "出厂那张膜质量咋样 要不要换",  # the film on it, not the screen
    "电池不经用 有什么设置可以省点电",  # saving power: the FAQ's tips
    "what warranty comes with the buds 5",  # the warranty, not what is in the box
    "does the band get really hot while charging",  # a fault
    "the light on the band keeps blinking",  # an indicator light, not lightness
    "band 9 screen wont light up anymore pls help",  # a fault: neither its weight nor its screen
    "14pro 电池耗电好快",  # a drain complaint (掉电 reads as 耗电: knowledge/config.yml synonyms), not the figure
    "14 Pro 费电也太快了吧，很失望",
    "pro的电池多少钱",  # a part named alone with its price
    "how much is a replacement charger for the 14",
    "how much is the band 9 charger by itself",
])
def test_not_a_figure_although_a_spec_word_is_named(question: str) -> None:
    assert detect_spec(question) is None


@pytest.mark.parametrize("question, word", [
    ("14的前置多少像素", "前置多少像素"),
    ("what are the 14 pro's dimensions", "dimensions"),
    ("14是曲面屏还是直屏", "曲面"),
    ("pro前摄几个像素", "前摄几个像素"),
    ("whats the selfie camera mp on the 14", "selfie camera mp"),
    ("14录视频支持120fps吗", "fps"),
    ("pro能拍慢动作不", "慢动作"),
    ("14屏幕pwm调光多少hz", "pwm"),
])
def test_figures_the_data_does_not_hold(question: str, word: str) -> None:
    assert unheld_spec(question) == word


def test_main_camera_megapixels_are_left_to_the_camera_entry() -> None:
    assert unheld_spec("how many megapixels on the main camera") is None


@pytest.mark.parametrize("question, known", [
    ("14por几寸", ["phone_14_pro"]),
    ("14 pr0 weight", ["phone_14_pro"]),
    ("14 pr battery?", ["phone_14_pro"]),
    ("14 pm delivery", []),  # not a variant: "pm", "pcs" are two letters off
    ("battery on 14?", ["phone_14"]),  # a model number ending the message after "on"
    ("手环9跟耳机哪个轻", ["band_9", "buds_5"]),  # a category word in a comparison
    ("手环9连耳机", ["band_9"]),  # no comparison: the category word names nothing
])
def test_product_names(question: str, known: list) -> None:  # type: ignore[type-arg]
    assert ProductMatcher(KB.products).find(question).known == known


def test_a_rating_after_a_product_noun_is_not_a_model() -> None:
    assert ProductMatcher(KB.products).find("does the charger 90w work on the buds").unknown == []


def test_a_comparison_with_a_category_word_answers_both() -> None:
    question = "buds or band 9, which is cheaper"
    named = ProductMatcher(KB.products).find(question).known
    answer = answer_spec([KB.products[p] for p in named], question, "en")
    assert answer is not None and answer.entry_id == "spec:buds_5+band_9:price"


@pytest.mark.parametrize("question, entry", [
    ("which phone is good for a student", "catalog:lineup:phone"),
    ("what's the latest product you launched", "catalog:lineup"),
    ("is the power bank the only gadget you make", "catalog:lineup:power_bank"),
    ("could you recommend a good band", "catalog:lineup:band"),  # pick one for me
    ("which earbud should i get", "catalog:lineup:earbuds"),
    ("any cheap wireless earphones", "catalog:lineup:earbuds"),
    ("what's in millet's range", "catalog:lineup"),
    ("how many models are there", "catalog:lineup"),
    ("you got any earbuds for the gym", "catalog:lineup:earbuds"),
    ("do u sell any noise cancelling headphones", "catalog:lineup:earbuds"),
    ("do you make smart bands", "catalog:lineup:band"),
    ("show me the whole lineup", "catalog:lineup"),
])
def test_catalog_questions(question: str, entry: str) -> None:
    found = answer_catalog(KB.products, question, [], "en")
    assert found is not None and found.entry_id == entry


@pytest.mark.parametrize("question, entry", [
    ("给老婆推荐个耳机", "catalog:lineup:earbuds"),
    ("手机有啥推荐的", "catalog:lineup:phone"),
    ("有没有性价比高点的手环", "catalog:lineup:band"),
    ("米粒还有啥", "catalog:lineup"),
    ("你们有哪些系列的产品", "catalog:lineup"),
    ("想给儿子买个充电宝 你们有吗", "catalog:lineup:power_bank"),  # the kind, then whether we have it
    ("耳机的话 你们一共出了几款", "catalog:lineup:earbuds"),
    ("你们有出充电宝的吗", "catalog:lineup:power_bank"),
    ("耳机现在有几款 想送朋友", "catalog:lineup:earbuds"),
])
def test_catalog_questions_zh(question: str, entry: str) -> None:
    found = answer_catalog(KB.products, question, [], "zh")
    assert found is not None and found.entry_id == entry


def test_an_accessory_is_not_the_range() -> None:
    assert answer_catalog(KB.products, "推荐个手机壳", [], "zh") is None


def test_an_edition_we_do_not_make_is_unknown() -> None:
    matcher = ProductMatcher(KB.products)
    assert matcher.find("pro有至尊版吗").unknown == ["至尊版"]
    assert matcher.find("14标准版多少钱").unknown == []  # ours: an alias


def test_the_fans_own_device_is_not_asked_about() -> None:
    assert category_products(KB.products, "can the earbuds charge on my phone's reverse charging") == ["buds_5"]
    assert category_products(KB.products, "耳机和手机哪个先充") == ["buds_5", "phone_14", "phone_14_pro"]
    assert category_products(KB.products, "my phone battery drains") == ["phone_14", "phone_14_pro"]  # alone: asked


def test_a_part_price_is_never_answered_with_a_spec_figure() -> None:
    assert render_fact(KB, "spec:phone_14:battery", "14的电池多少钱一块", "zh") is None
    assert render_fact(KB, "spec:phone_14:price", "how much is the 14 screen", "en") is None
    answered = render_fact(KB, "spec:phone_14:battery", "14电池多大", "zh")
    assert answered is not None and "4800" in answered[1]


@pytest.mark.parametrize("question, entry", [
    ("手上是14 打算换pro pro续航怎么样", "spec:phone_14_pro:battery"),  # the clause with the spec word says which
    ("my band 9 broke. how heavy are the buds 5", "spec:buds_5:weight"),
    ("14多重 pro呢", "spec:phone_14+phone_14_pro:weight"),  # another clause asks too: both
    ("14 or 14 pro, which is lighter", "spec:phone_14+phone_14_pro:weight"),  # compared: both
])
def test_which_product_a_spec_clause_asks_about(question: str, entry: str) -> None:
    named = ProductMatcher(KB.products).find(question).known
    answer = answer_spec([KB.products[p] for p in named], question, "zh")
    assert answer is not None and answer.entry_id == entry
