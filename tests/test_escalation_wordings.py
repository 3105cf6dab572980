"""escalation.yml in the fans' words: each rule's everyday wordings, and the near misses that must stay answers.

The texts are written for this test (not copied from tests/conversations/): the rules judge the words alone.
"""

from __future__ import annotations

from typing import Optional

import pytest

from bot.handoff.rules import Escalation, Turn, assess, config_path, load_config
from bot.settings import load_settings

CONFIG = load_config(config_path(load_settings()))


def rule_of(text: str) -> Optional[Escalation]:
    return assess([Turn(text, "chitchat", 0.9)], CONFIG)


@pytest.mark.parametrize("text, rule", [
    # a person, in any words
    ("客服呢 出来说话", "explicit_request"), ("人工 快点", "explicit_request"), ("我不要跟机器人聊了", "explicit_request"),
    ("让你们工作人员联系我", "explicit_request"), ("麻烦回个电话给我", "explicit_request"),
    ("human please now", "explicit_request"), ("agent asap", "explicit_request"),
    ("i want a real human on this", "explicit_request"), ("need to speak to a manager", "explicit_request"),
    ("can u escalate this", "explicit_request"), ("pls call me back tonight", "explicit_request"),
    ("找个负责人来", "explicit_request"), ("转一下人工", "explicit_request"), ("人工客服？？", "explicit_request"),
    ("i dont want to talk to a bot", "explicit_request"), ("找个能做主的来", "explicit_request"),
    ("我不跟机器人聊", "explicit_request"), ("who is in charge of refunds there", "explicit_request"),
    # asked again, or nobody answered
    ("第二次找你们了", "repeated"), ("问了好几遍了", "repeated"), ("发了消息一直没人回", "repeated"),
    ("4th time messaging about this", "repeated"), ("i have asked three times", "repeated"),
    ("two days and no reply", "repeated"), ("still no answer from support", "repeated"), ("要我说几遍啊", "repeated"),
    ("emailed twice last week, still nothing", "repeated"), ("催了三天了", "repeated"),
    ("days of back and forth with support", "repeated"),
    # going public or to court
    ("我要去法院告你们", "threat"), ("等着收律师函吧", "threat"), ("我要在网上曝光你们", "threat"),
    ("去小红书挂你们", "threat"), ("going to warn everyone about this shop", "threat"),
    ("im taking you to small claims", "threat"), ("i will report you to trading standards", "threat"),
    ("这官司我打定了", "threat"), ("我去打12345", "threat"),
    ("让网友评评", "threat"), ("明天就发微博曝光", "threat"), ("expect a one star review", "threat"),
    # safety
    ("插头那里冒火花", "safety"), ("女儿把充电宝的小盖子吞了", "safety"), ("拔插头的时候被电到了", "safety"),
    ("耳朵戴完红肿起泡", "safety"), ("手机后壳鼓鼓的", "safety"), ("充电头有噼啪声", "safety"),
    ("my toddler may have swallowed the band's pin", "safety"), ("the charger hisses when plugged in", "safety"),
    ("got shocked by the usb port", "safety"), ("phone rocks on the table now, back is raised", "safety"),
    ("充电口有白烟", "safety"), ("充电宝冒了一股烟", "safety"),
    ("my 3 year old swallowed a clasp", "safety"), ("放在床头自己烧起来了", "safety"),
    # refunds: refused, charged twice; a late one said as a complaint
    ("咋扣了我2笔钱", "refund_dispute"), ("之前答应退 现在不认账", "refund_dispute"),
    ("they billed my visa card twice", "refund_dispute"), ("付了两次钱", "refund_dispute"),
    ("two duplicate charges on my statement", "refund_dispute"), ("客服答应退 结果又不给", "refund_dispute"),
    ("收了我两笔钱", "refund_dispute"), ("the charge shows up twice on my card", "refund_dispute"),
    ("退款被你们给撤销了", "refund_dispute"), ("they reversed my refund", "refund_dispute"),
    ("support said i'd get a refund, now they refuse", "refund_dispute"),
    ("退货被快递取走三天了 钱呢", "refund_dispute"),
    ("退款申请交了半个月了还没动静", "refund_late"), ("my refund is still not there", "refund_late"),
    # a refund demanded after repeated repairs, a return turned down, money wanted back
    ("返修两次了还是黑屏 给我换新", "refund_dispute"), ("this is the 4th time it broke after repair, refund me", "refund_dispute"),
    ("they denied my return for no reason", "refund_dispute"), ("i demand a full refund today", "refund_dispute"),
    ("just give me my money back", "refund_dispute"),
    # a refund on its way but late: answered first, a person offered
    ("退款两天了还没到账", "refund_late"), ("退货寄回去一周了 钱还没到", "refund_late"),
    # passed from one desk to the next
    ("售后和快递一直踢皮球", "anger"), ("妈的 又黑屏了", "anger"),
    # a swollen battery said far from its name, a skin reaction; a person asked for as a question
    ("the power bank was in my backpack all day and this morning it looks puffed up", "safety"),
    ("wore the band overnight and it gave me a red itchy rash", "safety"), ("戴耳机耳朵过敏了 又红又痒", "safety"),
    ("is there a real human on the other end?", "explicit_request"),
    ("my refund went through but then got reversed", "refund_dispute"),
    ("felt a small shock from the cable this morning", "safety"), ("售后态度太差了", "anger"),
    # anger, shouting
    ("这就是欺诈消费者", "anger"), ("你们迟早倒闭", "anger"),
    ("you guys are crooks", "anger"), ("totally useless", "anger"), ("thanks for nothing", "anger"),
    ("WHY IS NOBODY HELPING ME HERE", "frustration"),
])
def test_everyday_wordings(text: str, rule: str) -> None:
    found = rule_of(text)
    assert found is not None and found.rule == rule, (text, found)


@pytest.mark.parametrize("text", [
    # complaint words in plain questions, and words of a rule in another sense
    "退款一般几天到", "how do i file a warranty claim", "保修怎么申请", "换屏人工费多少", "人工智能拍照怎么开",
    "充电了一下就满了", "耳机有滋滋声 正常吗", "earbuds make a hissing sound in quiet rooms", "手机能拦截诈骗电话吗",
    "怎么屏蔽欺诈短信", "how do i post it on instagram from the gallery", "夜景曝光怎么调", "贴膜起泡了怎么办",
    "小孩戴手环安全吗", "screen no response after update", "how do i tell everyone in the group", "充电两次就没电了",
    "第二次买米粒了 有老客户优惠吗", "the pro is the third phone i bought from you", "镜头凸起会磨损吗",
    "does the band show who is calling me", "is the band safe for kids", "有人吗", "anyone there?",
    "refund hasnt arrived yet, how many days does it take?", "my NFC and GPS work fine",
    "有烟花模式吗", "玩游戏发烧起来了", "相机要怎么调曝光", "退货要7天还是15天", "屏幕上的HD是什么意思", "可以分两次支付吗",
    "i ordered buds 5 last week still nothing", "find the person who delivered it?", "手环能不能显示12345步",
    "wiped it back and forth still scratches", "an order shows up twice in my app list", "手环一点消息都没有提醒",
    "我收了两次短信验证码", "退款申请怎么取消", "can i cancel my refund request",
    "给爸妈的手机选哪款", "我妈的手机能升级吗", "how do i get my money back if i return it",
    "got a rash of spam calls lately, can the 14 block them", "is the band strap hypoallergenic",
    "这手机续航太差了 有办法吗",  # the battery, not the service
])
def test_near_misses_stay_answers(text: str) -> None:
    found = rule_of(text)
    assert found is None, (text, found)


def test_a_late_refund_asked_as_a_question_is_answered_first() -> None:
    """refund_late is answer_first: alone, the EscalationPolicy sends a question to the answer path."""
    found = rule_of("refund still not in my account, normal?")
    assert found is not None and found.rule == "refund_late" and found.answer_first
    both = rule_of("refund still not in my account wtf")  # with frustration: two rules, a person at once
    assert both is not None and not both.answer_first
