"""Routing between flows, answers and a person on fresh wordings (issue 14, helper E): a stock question is answered
(only wanting to be told starts the restock form), "are you hiring" is no question about the bot, and displeasure,
asking again and safety said in passing reach a person (escalation.yml). No server needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.handoff.rules import Turn, assess, load_config
from bot.knowledge.answering import asks_for_restock_alert, lacks_flow_words, wants_to_be_told

ESCALATION = Path(__file__).resolve().parents[1] / "escalation.yml"


def _decide(text: str, intent: str, confidence: float = 0.9) -> Any:
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.answer_path_policy import AnswerPathPolicy

    events = [ActionExecuted("action_listen"), UserUttered(text, intent={"name": intent, "confidence": confidence})]
    return AnswerPathPolicy._decide(DialogueStateTracker.from_events("routing-unit", events))


@pytest.mark.parametrize("text", ["band 9 in stock or nah", "power bank restocked yet", "buds 5 sold out", "14pro有现货没",
                                  "手环9 还有货", "is the 14 pro back in stock yet"])
def test_a_stock_question_goes_to_the_answer_not_the_restock_form(text: str) -> None:
    assert not wants_to_be_told(text)
    assert _decide(text, "restock_alert", 0.95) == "action_answer_product"


def test_an_update_that_is_available_awaits_no_stock() -> None:
    from bot.knowledge.answering import lacks_flow_words

    assert lacks_flow_words("restock_alert", "got an update available popup, where do i install it")
    assert not lacks_flow_words("restock_alert", "is the pink band available again")


@pytest.mark.parametrize("text", ["到货了通知我一声", "有货了提醒我", "pro到货了跟我说一声", "ping me when the band is back",
                                  "notify me when it restocks", "let me know when the 14 pro is back in stock",
                                  "add me to the waitlist for the pro", "hmu when the buds restock", "/restock_alert"])
def test_wanting_to_be_told_starts_the_restock_form(text: str) -> None:
    assert wants_to_be_told(text)
    assert _decide(text, "restock_alert", 0.95) is None  # the rules start restock_alert_form


@pytest.mark.parametrize("text, alert", [("pls add me to the waitlist for the pro in sky blue", True),
                                         ("天青蓝的pro有货了麻烦在这叫我一声", True), ("14pro老是缺货 啥时候补", False),
                                         ("got an 'update available' notification but idk where to install it", False),
                                         ("为啥我排队能优先 我是啥会员级别", False)])
def test_a_restock_alert_asked_for_in_its_own_words_goes_to_its_form(text: str, alert: bool) -> None:
    """Whatever the NLU says (a suggestion, nlu_fallback): the answer path, which starts the restock form."""
    assert asks_for_restock_alert(text) is alert
    assert (_decide(text, "suggest_feature", 0.6) == "action_answer_product") is alert


@pytest.mark.parametrize("text, bot", [("are you hiring", False), ("are u guys open on sunday", False),
                                       ("are you a bot", True), ("r u real", True), ("are you?", True)])
def test_are_you_asks_about_the_bot_only_when_nothing_else_follows(text: str, bot: bool) -> None:
    assert lacks_flow_words("bot_challenge", text) is not bot


@pytest.mark.parametrize("text, rule", [
    ("同一个问题我已经反映三次了", "repeated"), ("这都第二回了 还是没解决", "repeated"),
    ("been chasing this for two weeks now", "repeated"), ("i've been asking since monday", None),
    ("你们就这么对待用户的？", "frustration"), ("真无语 等了半个月", "frustration"), ("呵呵 好服务", "frustration"),
    ("i'm done with millet", "frustration"), ("the way you treat people is appalling", "frustration"),
    ("great, another delay", "frustration"), ("thanks for nothing", "anger"),
    ("闻到一股焦糊的味道 是充电器的问题吗", "safety"), ("电池那块裂了 还能用吗", "safety"),
    ("my dog bit the power bank, the battery is dented", "safety"), ("btw it smells like burning plastic when charging", "safety"),
    ("this is my third message about it", "repeated"), ("we keep asking and get nothing", "repeated"),
    ("服了 你们到底干什么吃的", "frustration"), ("thanks a lot, still nothing on my repair", "frustration"),
    ("叫个专业的同事来处理", "explicit_request"), ("你们是做什么的", None), ("我第二次买米粒了", None),
    ("how much to fix a cracked screen", None), ("电池能用几年", None), ("thanks a lot", None), ("great, thanks!", None),
    ("第二次买米粒了 有优惠吗", None), ("backpacking for a week, how many charges", None),
    ("充电的时候充电口冒了一下烟 吓死我了", "safety"), ("got zapped touching the charger, is that normal?", "safety"),
    ("耳机戴着突然特别烫 耳朵都红了 有点怕", "safety"), ("付款时银行卡被划走两笔 订单就一个", "refund_dispute"),
    ("客服热线是多少 想直接打电话", "explicit_request"), ("whats your customer service number", "explicit_request"),
    ("耳机戴久了耳朵红红的正常吗", None), ("划走一笔就够了", None),
    ("got a little zap from the power bank when i plugged it in", "safety"),
    ("说好三天到账 结果你们把退款撤销了", "refund_dispute"), ("投诉了三天 客服一点动静都没有", "repeated"),
    ("手环突然不震了 来消息一点动静都没有", None),  # the band gives no sign of a message: a fault, not us ignoring them
])
def test_fresh_wordings_of_a_reason_to_hand_off(text: str, rule: Any) -> None:
    found = assess([Turn(text=text, intent="chitchat", confidence=0.9)], load_config(ESCALATION))
    assert (found.rule if found else None) == rule, text


@pytest.mark.parametrize("text, lacks", [("你们公司是哪里的 总部在深圳吗", True), ("深圳", False), ("我在北京朝阳", False),
                                         ("I live in Guangzhou", False), ("上海有服务中心吗", False),
                                         ("any place in shanghai i can walk in to get my phone looked at today", False),
                                         ("I'm in Chengdu, where can I fix my phone", False)])
def test_a_service_centre_is_asked_for_by_a_place_to_go_or_a_city_alone(text: str, lacks: bool) -> None:
    assert lacks_flow_words("find_service_centre", text) is lacks, text
