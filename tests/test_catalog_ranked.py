"""Catalog questions over the data (issue 14, helper B): superlatives and budgets (bot/knowledge/superlatives.py), whether
it is in stock now and what comes in the box (bot/knowledge/spec_words.py, specs.py, loader.py), and the live stock the
answer path puts in a stock answer (bot/actions/stock.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.stock import RESTOCK_FLOW, with_live_stock
from bot.errors import DataError
from bot.knowledge.catalog import answer_catalog, asked_category_products
from bot.knowledge.loader import load_kb
from bot.knowledge.products import ProductMatcher
from bot.knowledge.specs import STOCK_ENTRY, answer_spec, detect_spec
from bot.knowledge.superlatives import budget, superlative
from bot.knowledge.text import has_cjk

KB_DIR = Path(__file__).resolve().parents[1] / "knowledge"
KB = load_kb(KB_DIR)
MATCHER = ProductMatcher(KB.products)


def _answer(question: str) -> Optional[tuple[str, str]]:
    """The catalog or spec answer from the exact patterns, as the retriever tries them: (entry id, text)."""
    lang = "zh" if has_cjk(question) else "en"
    named = MATCHER.find(question).known
    catalog = answer_catalog(KB.products, question, named, lang)
    if catalog is not None:
        return catalog.entry_id, catalog.text
    about = named or asked_category_products(KB.products, question)
    spec = answer_spec([KB.products[p] for p in about], question, lang)
    return (spec.entry_id, spec.text) if spec is not None else None


@pytest.mark.parametrize("question, entry, says", [
    ("whats the cheapest thing you sell", "spec:phone_14+phone_14_pro+band_9+buds_5+power_bank_20000:price",
     "Millet Power Bank 20000: ¥149"),
    ("cheapest phone?", "spec:phone_14+phone_14_pro:price", "Millet Phone 14: ¥3,999"),
    ("你们最贵的是哪个", "spec:phone_14+phone_14_pro+band_9+buds_5+power_bank_20000:price", "米粒手机 14 Pro：4999 元"),
    ("whats your lightest phone", "spec:phone_14+phone_14_pro:weight", "Millet Phone 14: 189 g"),
    ("哪款手机电池最大", "spec:phone_14+phone_14_pro:battery", "米粒手机 14 Pro：5000mAh"),
    # battery, screen and charging compare within phones: a power bank's mAh is no battery life
    ("续航最久的是哪个", "spec:phone_14+phone_14_pro:battery", "14 Pro"),
    ("which phone charges fastest", "spec:phone_14+phone_14_pro:charging", "120 W"),
])
def test_a_superlative_names_the_product_and_its_figure(question: str, entry: str, says: str) -> None:
    got = _answer(question)
    assert got is not None and got[0] == entry and says in got[1], got


@pytest.mark.parametrize("question, entry, says", [
    ("a phone under 3000", "catalog:lineup:phone", "cheapest phone is the Millet Phone 14 at ¥3,999"),
    ("三千以内的手机", "catalog:lineup:phone", "3000 元以内的手机我们还没有"),
    ("anything under 500?", "catalog:lineup", "Millet Band 9 (¥249)"),
    ("预算两千五 买啥好", "catalog:lineup", "米粒耳机 Buds 5（599 元）"),
    ("想买个耳机 500以内有吗", "catalog:lineup:earbuds", "最便宜的是米粒耳机 Buds 5"),  # "耳机 500" is no model
    ("phone under 5k", "catalog:lineup:phone", "Millet Phone 14 Pro (¥4,999)"),
    ("预算一千 送女朋友啥好", "catalog:lineup", "1000 元以内的产品有"),  # 预算 is a word of buying
])
def test_a_budget_lists_what_fits_or_says_the_cheapest(question: str, entry: str, says: str) -> None:
    got = _answer(question)
    assert got is not None and got[0] == entry and says in got[1], got


@pytest.mark.parametrize("question", [
    "cheapest 14 pro config price",  # one product: its price
    "is the 14 pro cheaper than 5000",
    "14和14pro哪个轻",  # a comparison of the two named
])
def test_a_named_product_is_no_superlative_over_the_range(question: str) -> None:
    got = _answer(question)
    assert got is None or not got[0].startswith("catalog:") and "+band_9" not in got[0]


def test_superlative_and_budget_words() -> None:
    assert superlative("最轻的手机") == ("weight", False) and superlative("priciest phone") == ("price", True)
    assert budget("三千以内的手机") == 3000 and budget("预算1.5k") == 1500 and budget("两千五以内") == 2500
    assert budget("退款不超过7天吧") is None and budget("14pro 512g") is None


@pytest.mark.parametrize("question, spec", [
    ("14pro 512g 还有货没", "stock"),  # the storage says which one; whether it is in stock is asked
    ("14 Pro 有货吗", "stock"),
    ("is the band 9 in stock", "stock"),
    ("buds 5 sold out?", "stock"),
    ("is the buds 5 available?", "stock"),
    # not "in stock now?": when it comes back or a request to be told, the FAQ and the restock form
    ("14pro啥时候有货啊", None),
    ("钛金灰1T的有货了通知我", None),
    ("ping me when the 14 pro is back in stock", None),
    ("14 pro 1tb version available?", "storage"),
    ("which phones r available rn", None),  # what there is: the range  # "available" with a variant asks whether it exists
    ("MP14P available in sky blue?", None),  # the colour name: answer_spec's colours
    # what comes in the box
    ("手环有充电线吗", "in_box"),
    ("充电宝自带线吗", "in_box"),
    ("does the band 9 come with a charger", "in_box"),
    ("昨天到的货 拆开发现没看到数据线 是不是漏发了", None),  # missing from the box: a complaint
])
def test_stock_and_box_questions(question: str, spec: Optional[str]) -> None:
    assert detect_spec(question) == spec


@pytest.mark.parametrize("question, entry, says", [
    ("14pro 512g 还有货没", STOCK_ENTRY, "库存"),
    ("手机有货吗", STOCK_ENTRY, "米粒手机 14 Pro"),
    ("手环有充电线吗", "spec:band_9:in_box", "有的，米粒手环 9 包装里带磁吸充电线。"),
    ("whats in the box of the buds 5", "spec:buds_5:in_box", "comes with the charging case"),
    ("买耳机送充电盒吗", "spec:buds_5:in_box", "有的，米粒耳机 Buds 5 包装里带充电盒。"),
    ("does the band come w a charger cable", "spec:band_9:in_box", "Yes, the Millet Band 9 comes with its magnetic"),
    ("what comes in the buds 5 box", "spec:buds_5:in_box", "comes with the charging case"),
    ("can i still buy the power bank now", STOCK_ENTRY, "Power Bank 20000"),
    # not listed, and the band's list is not `complete`: what is known, and that the charger cannot be said
    ("does the band 9 come with a charger", "spec:band_9:in_box", "magnetic charging cable; I can't say for sure"),
])
def test_stock_and_box_answers(question: str, entry: str, says: str) -> None:
    got = _answer(question)
    assert got is not None and got[0] == entry and says in got[1], got


@pytest.mark.parametrize("question", [
    "充电宝自带线吗",  # the power bank's box is not in the data: not sure
    "14pro送充电头吗",  # the phones' box is the FAQ entry's (`in_box.entry`)
])
def test_box_questions_the_data_does_not_answer_go_on(question: str) -> None:
    assert _answer(question) is None


def _products_kb(tmp_path: Path, old: str, new: str) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(KB_DIR, root)
    text = (root / "products.yml").read_text(encoding="utf-8")
    assert old in text
    (root / "products.yml").write_text(text.replace(old, new), encoding="utf-8")
    return root


@pytest.mark.parametrize("old, new, error", [
    ("in_box: {en: [the charging case], zh: [充电盒]}", "in_box: {en: [the charging case, a cable], zh: [充电盒]}",
     "products.yml:142: product 'buds_5': `in_box` needs en and zh lists of the same length"),
    ("in_box: {en: [the charging case], zh: [充电盒]}", "in_box: {en: [the charging case], zh: [充电盒], complete: yes please}",
     "products.yml:142: product 'buds_5': `in_box.complete` must be true or false"),
    ("in_box: {en: [the charging case], zh: [充电盒]}", "in_box: {en: [the charging case], zh: [充电盒], entry: nope}",
     "product 'buds_5' `in_box.entry` names 'nope', which is no FAQ entry"),
    ("in_box: {en: [the charging case], zh: [充电盒]}", "in_box: [the charging case]",
     "products.yml:133: product 'buds_5': `in_box` takes `en` and `zh` lists"),  # a list has no line: the product's
])
def test_in_box_is_validated_with_file_and_line(tmp_path: Path, old: str, new: str, error: str) -> None:
    with pytest.raises(DataError) as info:
        load_kb(_products_kb(tmp_path, old, new))
    assert error in str(info.value)


class _Backend:
    def __init__(self, levels: Dict[str, int]) -> None:
        self.levels = levels

    def stock(self, product: str) -> int:
        return self.levels.get(product, 0)


def _turn(text: str, entry: str, answer: str, levels: Dict[str, int],
          events: Optional[List[Dict[str, Any]]] = None) -> tuple[List[Dict[str, Any]], str]:
    ctx = SimpleNamespace(orders=_Backend(levels), knowledge=SimpleNamespace(retriever=lambda: SimpleNamespace(kb=KB, matcher=MATCHER)))
    tracker = Tracker("u1", {"language": "zh" if has_cjk(text) else "en"}, {"text": text, "intent": {}, "entities": []},
                      [{"event": "user", "text": text}], False, None, None, "action_listen")
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(text=answer, kb={"outcome": "answer", "entry": entry})
    out = with_live_stock(ctx, dispatcher, tracker, list(events or []))  # type: ignore[arg-type]
    return out, str(dispatcher.messages[0]["text"])


def test_a_stock_answer_says_the_backends_stock() -> None:
    events, text = _turn("14pro 512g 还有货没", STOCK_ENTRY, "…", {"phone_14_pro": 0})
    assert text.startswith("米粒手机 14 Pro现在卖完了。") and "补货" in text  # then the entry's restock days and offer
    assert _turn("pro一直缺货 啥时后补货啊", STOCK_ENTRY, "…", {"phone_14_pro": 0})[1].startswith("米粒手机 14 Pro现在卖完了")
    assert [e["value"]["flow"] for e in events if e.get("name") == "pending_offer"] == [RESTOCK_FLOW]
    events, text = _turn("is the buds 5 in stock", STOCK_ENTRY, "…", {"buds_5": 12},
                         events=[{"event": "slot", "name": "pending_offer", "value": {"kind": "flow"}}])
    assert text.startswith("Good news, the Millet Buds 5 is in stock right now") and events == []  # nothing to wait for


def test_other_answers_and_unnamed_products_keep_their_text() -> None:
    assert _turn("14 pro battery", "spec:phone_14_pro:battery", "5000 mAh", {"phone_14_pro": 0})[1] == "5000 mAh"
    assert _turn("when do you restock", STOCK_ENTRY, "Restocks…", {"phone_14_pro": 0})[1] == "Restocks…"
