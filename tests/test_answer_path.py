"""The one answer path, against the real assistant: precise knowledge beats generic intents, the catalog
and specs answer from products.yml without contradicting themselves, and offers are kept ("yes" gets
what was offered, "no" closes politely). Unit tests for the data checks behind it come first."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from bot.answer_path_policy import FORM_SUBMITS
from bot.errors import DataError
from bot.knowledge.answering import asks_tersely
from bot.knowledge.catalog import answer_catalog, unmade_kind
from bot.knowledge.loader import load_kb
from bot.knowledge.specs import check_products
from tests.harness import Assistant, new_sender

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"


# ---------------------------------------------------------------- data checks (no assistant)

def _copy_kb(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, root)
    return root


def test_an_answer_that_offers_something_must_say_what_yes_gives(tmp_path: Path) -> None:
    root = _copy_kb(tmp_path)
    phones = root / "faq" / "phones.yml"
    text = phones.read_text(encoding="utf-8")
    start = text.index("    offer:\n", text.index("id: phone_nfc"))
    end = text.index("\n\n", start)
    phones.write_text(text[:start] + text[end + 1:], encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_kb(root)
    message = str(err.value)
    assert "faq/phones.yml:" in message and "'phone_nfc'" in message and "add `offer:`" in message


def test_an_offer_of_a_missing_entry_is_reported(tmp_path: Path) -> None:
    root = _copy_kb(tmp_path)
    phones = root / "faq" / "phones.yml"
    text = phones.read_text(encoding="utf-8")
    start = text.index("    offer:\n", text.index("id: phone_nfc"))
    end = text.index("\n\n", start)
    phones.write_text(text[:start] + "    offer:\n      entry: no_such_entry\n" + text[end + 1:], encoding="utf-8")
    with pytest.raises(DataError, match="offers entry 'no_such_entry', which does not exist"):
        load_kb(root)


def _water(products: Dict[str, Any], **spec: Any) -> List[str]:
    phone = products["phone_14"]
    phone.specs["water_resistance"] = {"value": "IP68", **spec}
    return check_products({"phone_14": phone})


def test_water_resistance_data_that_would_contradict_itself_is_rejected() -> None:
    products = load_kb(KNOWLEDGE).products
    assert check_products(products) == []
    said = _water(products, fine=["rain"], not_for=["swim"],
                  say={"en": "rain is fine; just don't take it swimming", "zh": "淋雨没事，别带去游泳"})
    assert any("`say.en` talks about" in e and "swim" in e for e in said), said
    both = _water(products, fine=["rain", "swim"], not_for=["swim"])
    assert any("swim is both `fine` and `not_for`" in e for e in both), both
    unknown = _water(products, fine=["skydiving"])
    assert any("unknown activity skydiving" in e for e in unknown), unknown


def test_every_training_example_of_a_flow_with_words_names_them() -> None:
    """`FLOW_WORDS` stops a flow on a message without its words: an example of the intent without them would be
    a request the bot then never starts."""
    import re

    import yaml

    from bot.knowledge.answering import FLOW_WORDS
    from bot.settings import load_settings

    missing = []
    for path in sorted((load_settings().home / "intents").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            words = FLOW_WORDS.get(block.get("intent") or "")
            for line in (block.get("examples") or "").splitlines() if words else []:
                text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip()[2:])
                if text and not words.search(text):
                    missing.append(f"{path.name}: {block['intent']}: {text}")
    assert not missing, missing


def test_catalog_answers_the_range_and_only_for_what_we_sell() -> None:
    products = load_kb(KNOWLEDGE).products
    phones = answer_catalog(products, "what phones do u guys sell", [], "en")
    assert phones is not None and phones.entry_id == "catalog:lineup:phone"
    assert "Millet Phone 14 (" in phones.text and "Millet Phone 14 Pro (" in phones.text
    everything = answer_catalog(products, "你们都卖些什么", [], "zh")
    assert everything is not None and everything.entry_id == "catalog:lineup"
    assert all(name in everything.text for name in ("米粒手环 9", "米粒耳机 Buds 5", "米粒充电宝 20000"))
    for laptops in ("do you sell laptops?", "what laptops do you sell"):  # not ours: "we don't have that", never phones
        assert answer_catalog(products, laptops, [], "en") is None and unmade_kind(laptops, []) == "laptops"
    assert answer_catalog(products, "what warranty do you have", [], "en") is None
    assert answer_catalog(products, "14 Pro 有哪些颜色", ["phone_14_pro"], "zh") is None  # about one product


# ---------------------------------------------------------------- the real assistant

def _turn(assistant: Assistant, sender: str, text: str) -> Dict[str, Any]:
    """Send `text`; return the replies, the actions and the knowledge records of this turn."""
    replies = assistant.say(sender, text)
    events = assistant.tracker(sender)["events"]
    last = max(i for i, e in enumerate(events) if e["event"] == "user")
    turn = events[last:]
    return {
        "texts": [r.get("text") or "" for r in replies],
        "actions": [e["name"] for e in turn if e["event"] == "action" and e["name"] != "action_listen"],
        "kb": [(e.get("metadata") or {}).get("kb") for e in turn if e["event"] == "bot" and (e.get("metadata") or {}).get("kb")],
        "responses": [(e.get("metadata") or {}).get("utter_action") for e in turn if e["event"] == "bot"],
    }


def _answered(turn: Dict[str, Any]) -> Optional[str]:
    return next((k["entry"] for k in turn["kb"] if k.get("outcome") == "answer"), None)


# The examples of issue 14 ("Why"): each once got a generic canned text, a "not sure" or a contradiction.
WHY = [
    ("my earbuds left side stopped working", "buds_one_side"),
    ("耳机左边没声音了", "buds_one_side"),
    ("屏幕碎了修一下多少钱", "warranty_screen_damage"),
    ("发票怎么开", "invoice"),
    ("手机怎么升级系统", "os_update_how"),
    ("升级失败开不了机了", "os_update_failed"),
    ("怎么把旧手机的数据迁移过来", "phone_transfer_data"),
    ("can I change the delivery address", "shipping_change_address"),
    ("能改收货地址吗", "shipping_change_address"),
    ("the price dropped a week after I bought it", "price_protection"),
    ("my phone gets really hot when charging", "phone_overheating"),
    ("what phones do you sell?", "catalog:lineup:phone"),
    ("你们有哪些手机", "catalog:lineup:phone"),
    ("14 Pro 有几种颜色", "spec:phone_14_pro:colours"),
    ("can I swim with the Millet 14?", "spec:phone_14:water_resistance"),
]


@pytest.mark.parametrize("text, entry", WHY)
def test_the_precise_answer_wins(assistant: Assistant, text: str, entry: str) -> None:
    turn = _turn(assistant, new_sender("why"), text)
    assert _answered(turn) == entry, turn


def test_swimming_gets_a_no_that_matches_the_rating(assistant: Assistant) -> None:
    en = _turn(assistant, new_sender("swim"), "can I swim with the Millet 14?")["texts"][0]
    assert en.startswith("No") and "IP68" in en and "Yes" not in en, en
    zh = _turn(assistant, new_sender("swim"), "米粒14能带去游泳吗")["texts"][0]
    assert zh.startswith("不建议") and "可以" not in zh, zh
    band = _turn(assistant, new_sender("swim"), "can I go swimming with the band 9?")["texts"][0]
    assert band.startswith("Yes") and "5 ATM" in band, band


@pytest.mark.parametrize("question, yes, offered", [
    ("How good is the camera on the 14 Pro?", "yes please", "Night shots"),
    ("米粒14 Pro 拍照怎么样", "好的", "夜景三招"),
    ("my phone battery drains way too fast", "sure", "Battery saver"),
])
def test_yes_to_an_offer_gives_the_offered_thing(assistant: Assistant, question: str, yes: str, offered: str) -> None:
    sender = new_sender("offer-yes")
    first = _turn(assistant, sender, question)
    assert first["texts"][0].rstrip().endswith(("?", "？")), first  # the answer made an offer
    taken = _turn(assistant, sender, yes)
    assert taken["actions"] == ["action_answer_offer"], taken
    assert any(offered in t for t in taken["texts"]), taken
    assert "What would you like to know" not in " ".join(taken["texts"])


@pytest.mark.parametrize("question, no, language", [
    ("How good is the camera on the 14 Pro?", "no thanks", "en"),
    ("米粒14 Pro 拍照怎么样", "不用了", "zh"),
])
def test_no_to_an_offer_closes_politely(assistant: Assistant, question: str, no: str, language: str) -> None:
    sender = new_sender("offer-no")
    _turn(assistant, sender, question)
    declined = _turn(assistant, sender, no)
    assert declined["responses"] == ["utter_offer_no_thanks"], declined
    assert declined["texts"] and ("Anything else" in declined["texts"][0] if language == "en" else "随时说" in declined["texts"][0])


def test_an_offer_is_only_good_for_the_next_message(assistant: Assistant) -> None:
    sender = new_sender("offer-stale")
    _turn(assistant, sender, "How good is the camera on the 14 Pro?")
    _turn(assistant, sender, "how long does shipping take?")
    late = _turn(assistant, sender, "yes")
    assert late["responses"] == ["utter_affirm_ack"], late  # the camera tips are not given out of the blue


@pytest.mark.parametrize("text, entry", [("包邮不", "shipping_cost"), ("能开发票不", "invoice")])
def test_a_short_chinese_question_with_nothing_offered_is_no_no(assistant: Assistant, text: str, entry: str) -> None:
    """"包邮不" ends like a no ("…不") and the NLU may read it as deny: with no offer pending it is a question about
    free shipping, answered; a bare "不用了" is still the plain acknowledgement."""
    asked = _turn(assistant, new_sender("short-zh"), text)
    assert _answered(asked) == entry, asked
    declined = _turn(assistant, new_sender("short-no"), "不用了")
    assert declined["responses"] == ["utter_deny_ack"], declined


def test_a_complaint_that_asks_something_gets_the_answer_and_can_be_filed(assistant: Assistant) -> None:
    sender = new_sender("complaint-answer")
    first = _turn(assistant, sender, "the price dropped a week after I bought it")
    assert _answered(first) == "price_protection"
    assert "action_file_feedback" not in first["actions"]
    assert first["responses"][-1] == "utter_offer_feedback"
    filed = _turn(assistant, sender, "yes")
    assert "action_file_feedback" in filed["actions"], filed
    assert any("FB" in t for t in filed["texts"]), filed  # told the feedback number


@pytest.mark.parametrize("text", ["手环能不能测血糖啊", "does the band 9 have a built-in speaker for calls?",
                                  "millet tv price", "米粒电视价格"])
def test_a_question_about_what_exists_is_not_filed_as_feedback(assistant: Assistant, text: str) -> None:
    """Whatever intent the NLU gives it, a question about a capability the KB does not cover gets not sure (or a
    "did you mean"), never "thanks, filed as FB…": nobody asked to file anything."""
    turn = _turn(assistant, new_sender("capability"), text)
    assert "action_file_feedback" not in turn["actions"], turn
    assert not any("FB" in t for t in turn["texts"]), turn


@pytest.mark.parametrize("text, terse", [("millet tv price", True), ("14pro电池", True), ("band 9 colours", True),
                                         ("14 pro battery drains fast", False), ("希望出个大电池版", False),
                                         ("band 9 needs a bigger battery", False)])
def test_a_spec_typed_like_a_search_asks(text: str, terse: bool) -> None:
    assert asks_tersely(text) is terse


@pytest.mark.parametrize("text, flow", [("how do i cancel my millet cloud subscription", "cancel_order_form"),
                                        ("can the phone notify me when the battery is full", "restock_alert_form"),
                                        ("怎么修改账号密码", "action_link_identity")])
def test_a_task_word_without_the_tasks_thing_starts_nothing(assistant: Assistant, text: str, flow: str) -> None:
    """A subscription is no order, a full battery no restock, a password no second identity: the ranking's reply."""
    turn = _turn(assistant, new_sender("task-word"), text)
    assert flow not in turn["actions"] and turn["kb"], turn


def test_a_terse_question_gets_its_answer_without_an_offer_to_file_it(assistant: Assistant) -> None:
    turn = _turn(assistant, new_sender("terse"), "most expensive phone you have")
    assert _answered(turn) and "utter_offer_feedback" not in turn["responses"], turn


@pytest.mark.parametrize("text", ["能不能给手环加个离线音乐功能", "建议手环加个微信支付功能 拜托了",
                                  "the band 9 strap buckle feels really flimsy, you should make it sturdier"])
def test_a_wish_is_still_filed(assistant: Assistant, text: str) -> None:
    """However sure an entry is (payment methods, the strap's) of a wish, it grants nothing: filed."""
    turn = _turn(assistant, new_sender("wish"), text)
    assert "action_file_feedback" in turn["actions"], turn


def test_a_complaint_said_not_asked_is_filed_though_it_names_a_spec(assistant: Assistant) -> None:
    """The NLU is sure it is a complaint and nothing is asked: the band's screen size would answer nothing."""
    turn = _turn(assistant, new_sender("said-spec"), "给你们提个意见 手环的抬腕亮屏太不灵敏了")
    assert "action_file_feedback" in turn["actions"] and _answered(turn) is None, turn


@pytest.mark.parametrize("text", ["lemme know when the pro in green is available", "绿色的pro啥时候有货 到了跟我说一声",
                                  "pls add me to the waitlist for the pro in sky blue"])
def test_stock_asked_to_be_told_of_starts_the_alert_not_the_colours(assistant: Assistant, text: str) -> None:
    turn = _turn(assistant, new_sender("told-stock"), text)
    assert "restock_alert_form" in turn["actions"] and _answered(turn) is None, turn


def test_a_feature_request_is_filed_even_when_it_names_a_spec(assistant: Assistant) -> None:
    turn = _turn(assistant, new_sender("wish-spec"), "feature request: pls let us customise the always on display on band 9")
    assert "action_file_feedback" in turn["actions"], turn


@pytest.mark.parametrize("text, entry", [("要不要贴膜啊 出厂带膜没", "phone_screen_protector"),
                                         ("do you do trade ins for old phones", "trade_in"),
                                         ("does the 14 have nfc for google pay", "phone_nfc"),
                                         ("pro多重", "spec:phone_14_pro:weight")])
def test_a_question_the_nlu_reads_as_no_or_as_a_task_is_answered(assistant: Assistant, text: str, entry: str) -> None:
    """"…带膜没" read as `deny`, "trade ins" as `request_fcode`, "google pay" naming Google: a question still gets
    its answer, not "OK, no problem", an F-code, or "I only know our own gear"."""
    turn = _turn(assistant, new_sender("misread"), text)
    assert _answered(turn) == entry, turn
    assert "action_grant_fcode" not in turn["actions"], turn


@pytest.mark.parametrize("text", ["sign me up for the beta", "内测报名"])  # NLU examples of feedback_beta_signup
def test_a_beta_sign_up_naming_no_fan_idea_gets_the_milletos_beta(assistant: Assistant, text: str) -> None:
    """The beta flow signs a fan up for a fan idea's beta; with none named and none of theirs in beta it hands the
    message to the answer path, which tells how to join the MilletOS beta instead of asking for an id like FB12."""
    turn = _turn(assistant, new_sender("beta"), text)
    assert _answered(turn) == "os_beta", turn
    assert turn["actions"].count("action_feedback_beta_signup") == 1, turn


def test_small_talk_the_nlu_only_leans_towards_gets_the_answer_or_its_reply(assistant: Assistant) -> None:
    """"right bud went silent…" read as goodbye at about 0.5 gets the one-bud entry; a plain "bye" still gets bye."""
    assert _answered(_turn(assistant, new_sender("small-talk"), "right bud went silent, left still fine")) == \
        "buds_one_side"
    bye = _turn(assistant, new_sender("small-talk"), "ok bye!")
    assert "utter_goodbye" in bye["actions"], bye


def test_a_frustrated_question_gets_the_answer_and_a_person_offered(assistant: Assistant) -> None:
    """"气死 … 能退差价不": price protection first, then a person one "yes" away; frustration the knowledge base
    cannot answer still goes to a person."""
    sender = new_sender("frustrated")
    first = _turn(assistant, sender, "气死 刚买三天就降了两百 能退差价不")
    assert _answered(first) == "price_protection", first
    assert "utter_offer_human_after_answer" in first["actions"] and "action_handoff" not in first["actions"], first
    taken = _turn(assistant, sender, "要")
    assert "action_handoff" in taken["actions"], taken
    unanswered = _turn(assistant, new_sender("frustrated"), "this is ridiculous, why is my parcel sitting in a depot for 5 days??")
    assert "action_handoff" in unanswered["actions"], unanswered
    order = _turn(assistant, new_sender("frustrated"), "where is my order??? its been 2 weeks!!!")
    assert "action_handoff" in order["actions"], order


@pytest.mark.parametrize("miss, question, entry, yes", [
    ("asdkjh qwe", "ok can i pay in installments", "payment_methods", "yes"),
    ("阿巴阿巴", "额 那个 能分期不", "payment_methods", "要"),
])
def test_a_question_after_a_missed_turn_gets_its_answer_and_a_person_offered(assistant: Assistant, miss: str,
                                                                            question: str, entry: str, yes: str) -> None:
    """Two turns the NLU is unsure of in a row (escalation.yml `low_confidence`): the second one, a question the
    knowledge base answers, gets its answer and a person one "yes" away, instead of a handoff with no answer."""
    sender = new_sender("missed")
    _turn(assistant, sender, miss)
    turn = _turn(assistant, sender, question)
    assert _answered(turn) == entry, turn
    assert "utter_offer_human_after_miss" in turn["actions"] and "action_handoff" not in turn["actions"], turn
    assert "action_handoff" in _turn(assistant, sender, yes)["actions"]


@pytest.mark.parametrize("text, entry", [
    ("bought the buds on friday. the box is open and i paired them. not for me. still returnable?", "returns_opened"),
    ("在吗 我这耳机买了一个多月一直挺好 今天早上坐地铁突然右边就不响了 重连了好几次 还是不行 到底咋回事啊", "buds_one_side"),
])
def test_a_long_message_is_answered_by_the_clauses_that_ask(assistant: Assistant, text: str, entry: str) -> None:
    """Two neighbouring clauses sure of an entry about the product named, or a clause with the product another
    clause named, answer a message whose whole the ranking is unsure of."""
    assert _answered(_turn(assistant, new_sender("clauses"), text)) == entry


def test_a_flow_the_nlu_barely_reads_does_not_start_on_a_question(assistant: Assistant) -> None:
    """"forgot my millet account password what do i do" leans towards verify_order (about 0.2): the answer path's
    reply, not a form asking for an order number."""
    turn = _turn(assistant, new_sender("barely"), "forgot my millet account password what do i do")
    assert not any(a.endswith("_form") for a in turn["actions"]), turn


def test_the_catalog_answers_a_question_read_as_a_guarded_flow() -> None:
    """"what phones do you sell?" read as order_status (a guarded flow): the catalog's exact answer wins over the
    order form, as a confident FAQ entry does."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from bot.actions.product import _guarded_or_answer
    from bot.context import build_context

    retriever = build_context().knowledge.retriever()
    latest = {"text": "what phones do you sell?", "intent": {"name": "order_status", "confidence": 0.7}, "entities": []}
    tracker = Tracker("s", {"language": "en"}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = _guarded_or_answer(retriever, dispatcher, tracker, "order_status")
    assert not any(e.get("event") == "followup" for e in events), events
    assert dispatcher.messages and "Millet Phone 14" in dispatcher.messages[0]["text"], dispatcher.messages


def test_out_of_scope_as_a_weak_guess_does_not_hold_a_question_to_the_override_bar() -> None:
    """A question the NLU only guesses is out of scope (below FLOW_CONFIDENCE) takes the usual answer threshold; said
    surely out of scope, only an FAQ entry `override_threshold` sure answers it."""
    from dataclasses import replace

    from bot.actions.product import _clearly_answers
    from bot.context import build_context

    retriever = build_context().knowledge.retriever()
    text = "12 month instalments possible? zero interest?"
    result = retriever.ask(text, "en", "out_of_scope", 0.3)
    assert result.outcome == "answer" and result.entry_id == "payment_methods", result
    result = replace(result, confidence=0.65)  # between the answer threshold and the override bar
    assert _clearly_answers(retriever, result, text, "out_of_scope", 0.3)
    assert not _clearly_answers(retriever, result, text, "out_of_scope", 0.9)


def _guarded_turn(text: str, confidence: float) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from bot.actions.product import _guarded_or_answer
    from bot.context import build_context

    retriever = build_context().knowledge.retriever()
    latest = {"text": text, "intent": {"name": "order_status", "confidence": confidence}, "entities": []}
    tracker = Tracker("s", {"language": "en"}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    return _guarded_or_answer(retriever, dispatcher, tracker, "order_status"), dispatcher.messages


def test_a_flow_the_nlu_is_unsure_of_answers_a_statement_it_can_answer() -> None:
    """"first time here, what products do u guys have" (no question mark) read as order_status at 0.24: the policy
    sends it to the answer path, and the catalog answers it; a statement nothing answers still starts the form, and
    so does one the NLU is sure of."""
    from rasa.shared.core.events import ActionExecuted, UserUttered

    from bot.answer_path_policy import AnswerPathPolicy

    text = "first time here, what products do u guys have"
    unsure = UserUttered(text, intent={"name": "order_status", "confidence": 0.24}, entities=[])
    assert AnswerPathPolicy._decide(_tracker(ActionExecuted("action_listen"), unsure)) == "action_answer_product"
    events, messages = _guarded_turn(text, 0.24)
    assert not any(e.get("event") == "followup" for e in events), events
    assert messages and "Millet Phone 14" in messages[0]["text"], messages
    request = UserUttered("can you check what products i ordered", intent={"name": "order_status", "confidence": 0.3})
    assert AnswerPathPolicy._decide(_tracker(ActionExecuted("action_listen"), request)) is None  # a request: the rule
    for words, confidence in (("my stuff still not here", 0.3), ("order M2026110503 status", 0.9),
                              ("can you check what products i ordered", 0.3)):
        events, messages = _guarded_turn(words, confidence)
        assert events == [{"event": "followup", "timestamp": None, "name": "order_form"}] and not messages, events


def test_a_kind_of_product_we_do_not_make_is_said_to_be_not_ours(assistant: Assistant) -> None:
    turn = _turn(assistant, new_sender("scooter"), "你们有电动车吗")
    assert turn["responses"] == ["utter_product_not_ours"] and "电动车" in turn["texts"][0], turn


@pytest.mark.parametrize("broad, detail", [("说说你们发货的情况", "可以到店自提吗"),
                                            ("tell me how your delivery works", "can I pick it up in a store instead")])
def test_a_topic_overview_answers_a_broad_question_not_a_detail_it_lacks(assistant: Assistant, broad: str,
                                                                         detail: str) -> None:
    assert _answered(_turn(assistant, new_sender("overview"), broad)) == "shipping_overview"
    turn = _turn(assistant, new_sender("overview-detail"), detail)
    assert _answered(turn) is None and any(k.get("outcome") == "unsure" for k in turn["kb"]), turn


def test_a_plain_complaint_is_still_filed(assistant: Assistant) -> None:
    turn = _turn(assistant, new_sender("complaint-plain"), "the courier threw my parcel over the fence, not happy")
    assert "action_file_feedback" in turn["actions"], turn
    assert _answered(turn) is None


def test_every_offered_flow_exists_in_the_domain() -> None:
    import yaml

    domain_dir = Path(__file__).resolve().parents[1] / "responses"
    known: set = set()
    for path in domain_dir.glob("*.yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        known.update((doc.get("forms") or {}).keys())
        known.update(doc.get("actions") or [])
        known.update((doc.get("responses") or {}).keys())
    offered = {e.id: e.offer.flow for e in load_kb(KNOWLEDGE).faq.values() if e.offer is not None and e.offer.flow}
    assert offered, "the knowledge base offers no flow at all"
    assert {entry: flow for entry, flow in offered.items() if flow not in known} == {}


@pytest.mark.parametrize("question, yes, form", [
    ("my left earbud went silent", "yes please", "repair_booking_form"),
    ("能改收货地址吗", "好的", "change_address_form"),
    ("the 14 Pro is sold out, when is it back?", "yes", "restock_alert_form"),
])
def test_yes_to_an_offered_task_starts_it(assistant: Assistant, question: str, yes: str, form: str) -> None:
    sender = new_sender("offer-flow")
    first = _turn(assistant, sender, question)
    assert _answered(first) is not None, first
    started = _turn(assistant, sender, yes)
    assert form in started["actions"], started
    assert any(started["texts"]), started  # the form asks its first question, or it had it all and is done:
    if not assistant.tracker(sender).get("active_loop", {}).get("name"):  # "yes" got silence once, no alert set
        assert FORM_SUBMITS[form] in started["actions"], started


@pytest.mark.parametrize("question, taken", [
    ("14pro什么时候有货", "好的 到货了告诉我"),
    ("is the 14 pro in stock", "ok let me know when it's back"),
])
def test_an_offer_taken_up_in_other_words_keeps_what_it_was_about(assistant: Assistant, question: str,
                                                                  taken: str) -> None:
    """"要我一到货就通知你吗？" answered with the user's own words for the task (the NLU reads the task, not "yes"):
    the alert is for the 14 Pro the offer was about; the form asked "which product?" again."""
    sender = new_sender("offer-own-words")
    _turn(assistant, sender, question)
    done = _turn(assistant, sender, taken)
    assert "action_restock_alert" in done["actions"], done
    assert any("14 Pro" in text for text in done["texts"]), done


def test_every_form_the_answer_path_may_start_is_submitted_as_the_rules_say() -> None:
    import yaml

    rules = [r for path in (KNOWLEDGE.parent / "dialogue").glob("*.yml")
             for r in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules") or []]
    submits = {}
    for rule in rules:
        steps = rule.get("steps") or []
        for at, step in enumerate(steps[:-1]):
            if step.get("active_loop", "") is None and at > 0 and "action" in steps[at - 1]:
                later = [s["action"] for s in steps[at + 1:] if "action" in s]
                if later:
                    submits[steps[at - 1]["action"]] = later[0]
    assert {form: submits.get(form) for form in FORM_SUBMITS} == FORM_SUBMITS


def _tracker(*events: Any) -> Any:
    from rasa.shared.core.trackers import DialogueStateTracker

    return DialogueStateTracker.from_events("policy-unit", list(events))


def _user(text: str, intent: str, entities: Optional[List[Dict[str, Any]]] = None) -> Any:
    from rasa.shared.core.events import UserUttered

    return UserUttered(text, intent={"name": intent, "confidence": 0.9}, entities=entities or [])


def test_the_answer_path_policy_sends_task_questions_to_the_answer_and_closes_its_turns() -> None:
    from rasa.shared.core.events import ActionExecuted

    from bot.answer_path_policy import AnswerPathPolicy

    decide = AnswerPathPolicy._decide
    listen = ActionExecuted("action_listen")
    assert decide(_tracker(listen, _user("能改收货地址吗", "change_address"))) == "action_answer_product"
    assert decide(_tracker(listen, _user("can I change the delivery address?", "change_address"))) == "action_answer_product"
    # requests and messages about one order go to the form by the rules
    assert decide(_tracker(listen, _user("帮我改一下收货地址", "change_address"))) is None
    assert decide(_tracker(listen, _user("can you change the address?", "change_address"))) is None
    assert decide(_tracker(listen, _user("能改订单M2026110503的地址吗", "change_address",
                                         [{"entity": "order_number", "value": "M2026110503"}]))) is None
    assert decide(_tracker(listen, _user("how long does shipping take?", "shipping"))) is None  # the rules' job
    # after the answer path handed the turn on (a complaint filed, a yes taken up), the turn ends
    complaint = _user("terrible battery", "complain")
    assert decide(_tracker(listen, complaint, ActionExecuted("action_answer_product"),
                           ActionExecuted("action_file_feedback"))) == "action_listen"
    assert decide(_tracker(listen, _user("yes", "affirm"), ActionExecuted("action_answer_offer"),
                           ActionExecuted("action_file_feedback"))) == "action_listen"
    assert decide(_tracker(listen, complaint, ActionExecuted("action_file_feedback"))) is None  # not the answer path


def test_a_repair_price_is_information_and_only_a_booking_starts_the_form() -> None:
    from rasa.shared.core.events import ActionExecuted

    from bot.answer_path_policy import AnswerPathPolicy
    from bot.knowledge.answering import only_asks_for_information

    decide, listen = AnswerPathPolicy._decide, ActionExecuted("action_listen")
    for text in ("how much to replace a cracked back glass on 14 pro", "屏幕碎了 换块屏贵不贵",
                 "can you tell me how much a new screen is"):  # a price, even asked as a request
        assert decide(_tracker(listen, _user(text, "book_repair"))) == "action_answer_product", text
        assert only_asks_for_information(text, False, 0.9, task=True), text
    for text in ("屏幕裂了 帮我预约个维修", "my screen is cracked, book a repair for me", "帮我修一下 多少钱都行"):
        assert decide(_tracker(listen, _user(text, "book_repair"))) is None, text  # the form, by the rules
        assert not only_asks_for_information(text, False, 0.9, task=True), text
    # a guarded flow keeps its line: "how much was my order" is still the order form's
    assert not only_asks_for_information("how much was my order", False, 0.9, task=False)


def test_the_price_of_a_part_no_entry_names_is_not_the_screens() -> None:
    from bot.knowledge.part_prices import unpriced_parts

    screen = ["A cracked screen isn't covered, sorry. A new screen is ¥799 for the 14.", "摔碎屏幕不保。换屏 14 是 799 元。"]
    assert unpriced_parts("手机摄像头玻璃碎了 修要多少钱", screen) == ["camera"]
    assert unpriced_parts("camera lens cracked on my 14, how much to fix it", screen) == ["camera"]
    assert unpriced_parts("屏幕碎了修一下多少钱", screen) == []
    assert unpriced_parts("how much is a new screen for the 14", screen) == []
    assert unpriced_parts("my camera lens cracked, is that covered?", screen) == []  # no price asked


def test_an_answer_that_names_a_part_without_its_price_is_not_its_price() -> None:
    """The warranty's "6 months on the battery" is no battery price; under warranty it says what the repair costs."""
    from bot.knowledge.part_prices import unpriced_parts

    warranty = ["Phones get 1 year on the device and 6 months on the battery.", "手机整机保修 1 年、电池 6 个月。"]
    assert unpriced_parts("用了两年电池不行了 换块电池多少钱", warranty) == ["battery"]
    assert unpriced_parts("how much to replace the battery on a 14 thats out of warranty", warranty) == ["battery"]
    assert unpriced_parts("电池还在保修期内 换电池收费吗", warranty) == []
    assert unpriced_parts("is a battery swap under warranty free?", warranty) == []
    assert unpriced_parts("电池坏了换一块收费吗", ["电池 6 个月内免费换新。"]) == []


@pytest.mark.parametrize("text", ["how much to replace a cracked back glass on 14 pro", "14pro背板摔裂了 修一下贵不贵"])
def test_a_repair_price_never_starts_the_booking_form(assistant: Assistant, text: str) -> None:
    turn = _turn(assistant, new_sender("repair-price"), text)
    assert "repair_booking_form" not in turn["actions"], turn


def test_a_complaint_filed_after_the_ranking_ends_the_turn(assistant: Assistant) -> None:
    turn = _turn(assistant, new_sender("complaint-turn"), "honestly disappointed, the box of my buds arrived dented")
    assert "action_file_feedback" in turn["actions"], turn
    assert "action_fallback" not in turn["actions"], turn  # no rule knows the follow-up: the policy closes the turn


def test_a_comparison_names_both_products_and_the_spec_answer_covers_both() -> None:
    from bot.knowledge.products import ProductMatcher
    from bot.knowledge.specs import answer_spec

    kb = load_kb(KNOWLEDGE)
    matcher = ProductMatcher(kb.products)
    for question, lang in (("battery of 14 vs 14 pro", "en"), ("14和14pro电池差多少", "zh")):
        named = matcher.find(question).known
        assert named == ["phone_14", "phone_14_pro"], (question, named)
        answer = answer_spec([kb.products[p] for p in named], question, lang)
        assert answer is not None and answer.entry_id == "spec:phone_14+phone_14_pro:battery"
        assert "4800" in answer.text and "5000" in answer.text
    assert matcher.find("does the 14 pro last 14 hours?").known == ["phone_14_pro"]  # a quantity, not a phone


# A question the NLU reads as a flow's intent (a person, the fan tier, order status) is asked of the knowledge
# base first: an FAQ entry that is clearly right answers it; anything else still runs the flow.
@pytest.mark.parametrize("text, entry", [
    ("how do I get an invoice", "invoice"),                 # human_handoff at ~0.7, no "talk to a human" cue
    ("how can I join the MilletOS beta?", "os_beta"),       # ask_tier
])
def test_a_question_read_as_a_flow_gets_the_clear_answer(assistant: Assistant, text: str, entry: str) -> None:
    turn = _turn(assistant, new_sender("guarded"), text)
    assert _answered(turn) == entry, turn
    assert "action_handoff" not in turn["actions"] and "action_explain_tier" not in turn["actions"], turn


@pytest.mark.parametrize("text, action", [
    ("转人工", "action_handoff"),
    ("talk to a human", "action_handoff"),
    ("is there a person I can chat with?", "action_handoff"),  # the intent alone, but sure of it
    ("where is my order?", "order_form"),                        # no FAQ entry is clearly right
])
def test_requests_and_unanswered_flow_questions_still_run_the_flow(assistant: Assistant, text: str, action: str) -> None:
    turn = _turn(assistant, new_sender("guarded-flow"), text)
    assert action in turn["actions"], turn
    assert _answered(turn) is None, turn


def test_the_escalation_policy_yields_only_an_unsure_intent_on_a_question() -> None:
    from rasa.shared.core.events import ActionExecuted, UserUttered

    from bot.handoff.policy import EscalationPolicy
    from bot.handoff.rules import Escalation

    by_intent = Escalation("explicit_request", "Asked for a person", 20, False, "intent human_handoff (0.68)")
    by_keyword = Escalation("explicit_request", "Asked for a person", 20, False, "talk to a human")

    def message(text: str, confidence: float) -> Any:
        return _tracker(ActionExecuted("action_listen"),
                        UserUttered(text, intent={"name": "human_handoff", "confidence": confidence}))

    yields = EscalationPolicy._yields_to_answer_path
    assert yields(message("how do I get an invoice", 0.68), by_intent)
    assert not yields(message("how do I get an invoice", 0.95), by_intent)      # sure: hand off
    assert not yields(message("can I talk to a human?", 0.68), by_keyword)      # asked in so many words
    assert not yields(message("I want to talk to your manager", 0.68), by_intent)  # not a question
    also = Escalation("explicit_request", "Asked for a person", 20, False, "intent human_handoff (0.68)", ("anger",))
    assert not yields(message("how do I get an invoice", 0.68), also)


@pytest.mark.parametrize("text", ["耳机支持aptX吗", "do the buds 5 support aptX?", "耳机能当助听器用不"])
def test_a_question_about_something_the_kb_never_mentions_is_not_guessed(assistant: Assistant, text: str) -> None:
    turn = _turn(assistant, new_sender("unknown-term"), text)
    assert turn["responses"] == ["utter_product_unsure"], turn  # not a "did you mean" with unrelated entries
    assert [k["outcome"] for k in turn["kb"]] == ["unsure"], turn


@pytest.mark.parametrize("text, entries", [
    ("手环9 多少钱？有粉色的吗", ["spec:band_9:price", "spec:band_9:colours"]),
    ("how long is shipping? and can I return it if I don't like it?", ["shipping_time", "returns_7day"]),
])
def test_every_question_of_a_message_gets_its_answer(assistant: Assistant, text: str, entries: List[str]) -> None:
    turn = _turn(assistant, new_sender("multi"), text)
    assert [k["entry"] for k in turn["kb"] if k.get("outcome") == "answer"] == entries, turn
    assert len(turn["texts"]) == 2, turn


@pytest.mark.parametrize("text, entry", [
    ("what does the powre bank cost", "spec:power_bank_20000:price"),
    ("buds 5 pirce?", "spec:buds_5:price"),
])
def test_two_swapped_letters_still_get_the_answer(assistant: Assistant, text: str, entry: str) -> None:
    assert _answered(_turn(assistant, new_sender("typo"), text)) == entry


@pytest.mark.parametrize("text, confidence, offered", [
    ("the courier was late again and nobody told me", 0.55, True),  # a statement: worth filing
    ("烫得握不住了 这正常吗", 0.93, True),  # a question the NLU is sure is a complaint
    ("how heavy is the band, is it ok to sleep in", 0.6, False),  # a question it merely leans that way on
    ("快充头要另外买不", 0.45, False),
])
def test_an_answered_question_is_offered_as_feedback_only_when_it_is_one(text: str, confidence: float,
                                                                         offered: bool) -> None:
    from rasa_sdk import Tracker

    from bot.actions.product import _sounds_like_feedback
    from bot.knowledge.answering import load_answering
    from bot.settings import load_settings

    latest = {"text": text, "intent": {"name": "complain", "confidence": confidence}, "entities": []}
    tracker = Tracker("s", {}, latest, [], False, None, {}, "action_listen")
    assert _sounds_like_feedback(tracker, load_answering(load_settings().home / "knowledge")) is offered


@pytest.mark.parametrize("text, intent, confidence, answer_path", [
    ("my update is stuck, help", "feedback_unsubscribe", 0.45, True),  # leaning is not saying: never unsubscribe
    ("stop sending me feedback news", "feedback_unsubscribe", 0.93, False),  # said clearly: its rule runs
    ("/feedback_unsubscribe", "feedback_unsubscribe", 1.0, False),  # a button
    ("这周末深圳会下雨不", "find_service_centre", 0.5, True),
    ("/share_photo", "share_photo", 1.0, False),  # a picture, sent by the channel as a payload
    ("right bud went silent, left still fine", "goodbye", 0.52, True),  # small talk the NLU only leans towards
    ("bye, thanks a lot!", "goodbye", 0.95, False),  # said clearly: its rule says bye
    ("你好", "greet", 0.99, False),
    ("promo code for my first order", "request_fcode", 0.98, True),  # no F-code named: the answer path
    ("我想要 F 码", "request_fcode", 0.95, False),  # named: its rule grants one
    ("early access code please", "request_fcode", 0.9, False),
    ("need a vat invoice for my company", "book_repair", 0.8, True),  # no repair named
    ("my screen cracked, book a repair", "book_repair", 0.9, False),
    ("14 pro launch date", "restock_alert", 0.7, True),
    ("tell me when the 14 pro is back", "restock_alert", 0.9, False),
    ("going on safari next month, hows the zoom on the pro", "feedback_status", 0.6, True),
    ("any update on FB3", "feedback_status", 0.9, False),
    ("你们老板是谁", "bot_challenge", 0.9, True),  # not about the bot: the answer path
    ("你是机器人吗", "bot_challenge", 0.99, False),
    ("who are you", "bot_challenge", 0.95, False),
])
def test_a_flow_that_needs_a_clear_word_runs_only_on_one(text: str, intent: str, confidence: float,
                                                         answer_path: bool) -> None:
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.answer_path_policy import ANSWER_ACTION, AnswerPathPolicy

    tracker = DialogueStateTracker.from_events("s", [
        ActionExecuted("action_listen"),
        UserUttered(text, intent={"name": intent, "confidence": confidence}),
    ])
    decided = AnswerPathPolicy._decide(tracker)
    assert (decided == ANSWER_ACTION) is answer_path, decided


@pytest.mark.parametrize("text, form", [("能取消订单吗 还没发货", "cancel_order_form"),
                                        ("can i cancel my order if it hasnt shipped yet?", "cancel_order_form")])
def test_a_question_about_a_task_the_nlu_is_sure_of_is_not_answered_by_another_tasks_entry(
        assistant: Assistant, text: str, form: str) -> None:
    """cancel_order at 0.98 and the change-address entry at 0.62 (they share "还没发货"): the cancel form starts, it
    asks which order; the FAQ answer about changing the address would answer another question."""
    turn = _turn(assistant, new_sender("task-question"), text)
    assert form in turn["actions"], turn
    assert not any(kb.get("entry") == "shipping_change_address" for kb in turn["kb"] if kb), turn


def test_a_fault_of_the_fans_own_device_is_not_filed_as_product_feedback(assistant: Assistant) -> None:
    """complain 0.72, repair_warranty second (0.21): a black spot on a month-old screen is a service case; it was
    filed as FB1 with "you're the first to tell us"."""
    turn = _turn(assistant, new_sender("own-fault"), "手机屏幕右上角有块黑斑 刚买一个月")
    assert "action_file_feedback" not in turn["actions"], turn
    assert not any("FB" in t for t in turn["texts"]), turn


def test_a_message_of_questions_only_is_answered_without_an_offer_to_file_it(assistant: Assistant) -> None:
    """The NLU is sure "耳机降噪效果咋样 地铁上能用不" is a complaint (0.9): nothing in it is said, both halves ask."""
    turn = _turn(assistant, new_sender("questions-only"), "耳机降噪效果咋样 地铁上能用不")
    assert _answered(turn) == "buds_anc" and "utter_offer_feedback" not in turn["responses"], turn

