"""Escalation rules (escalation.yml) and the handoff state machine on a real (embedded) Redis."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ConfigError
from bot.fans import load_rules, rules_path
from bot.handoff.perks import NoCodesLeft, PerkStore
from bot.handoff.rules import Turn, assess, config_path, load_config, parse_config, parse_rating, turns_from_events
from bot.handoff.store import QUEUED, WITH_AGENT, HandoffStore
from bot.settings import load_settings
from bot.storage import EmbeddedRedis

CONFIG = load_config(config_path(load_settings()))
FAN_RULES = load_rules(rules_path(load_settings()))


@pytest.fixture(scope="module")
def redis_client(redis_server: EmbeddedRedis) -> object:
    import redis

    return redis.Redis.from_url(redis_server.url, decode_responses=True)


@pytest.fixture
def store(redis_client: Any) -> HandoffStore:
    redis_client.flushdb()  # type: ignore[attr-defined]
    return HandoffStore(redis_client, CONFIG, fan_rules=FAN_RULES)


def one(text: str, intent: str = "chitchat", confidence: float = 0.9) -> Any:
    return assess([Turn(text, intent, confidence)], CONFIG)


@pytest.mark.parametrize("text", ["转人工", "我要人工客服", "能帮我转人工吗", "talk to a human", "Can I speak to a person?",
                                  "human agent please", "人工"])
def test_explicit_requests_escalate(text: str) -> None:
    found = one(text)
    assert found is not None and found.rule == "explicit_request", text


def test_human_handoff_intent_escalates_without_keyword() -> None:
    found = one("can someone from your team help", intent="human_handoff", confidence=0.8)
    assert found is not None and found.rule == "explicit_request" and "human_handoff" in found.cue


@pytest.mark.parametrize("text", ["我的充电宝鼓包了", "手机充电时冒烟了", "耳机着火了", "手被烫伤了", "电池有点鼓起来",
                                  "my power bank is swelling", "the phone started smoking", "it caught fire",
                                  "I burned my hand on the charger", "my kid got injured", "the buds hurt my ears", "the battery looks puffy and bulging",
                                  "后盖被电池顶起来一条缝", "屏幕被撑起来了 鼓得厉害", "the back cover is popping off",
                                  "充电宝充着充着鼓起来了 吓死我了", "powerbank got all puffy and the case cracked open"])
def test_safety_is_urgent_and_first(text: str) -> None:
    found = one(text)
    assert found is not None and found.rule == "safety" and found.urgent and found.priority == 100, text


def test_safety_wins_over_other_rules() -> None:
    found = one("转人工！！！手机冒烟了")
    assert found is not None and found.rule == "safety"
    assert "explicit_request" in found.also and "frustration" in found.also


@pytest.mark.parametrize("text", ["你们这什么破手机，垃圾", "真垃圾", "垃圾客服", "this is useless",
                                  "you people are idiots", "What a scam", "worst service ever", "this is trash"])
def test_anger_escalates(text: str) -> None:
    found = one(text)
    assert found is not None and found.rule == "anger", text


def test_a_keyword_inside_a_code_of_letters_and_digits_is_no_keyword() -> None:
    """A link code typed by a calm user ("link WTF27-SCAM7") holds no frustration or anger; the words alone do."""
    for text in ("link WTF27-SCAM7", "my code is 9DAMN-4FUCK", "link 2WTF3-ANGR7"):
        assert one(text, "link_identity") is None, text
    for text, rule in (("wtf is this", "frustration"), ("wtf!!! where is my order", "frustration"),
                       ("what a scam.", "anger"), ("真的wtf", "frustration")):
        found = one(text)
        assert found is not None and found.rule == rule, text


@pytest.mark.parametrize("text, rule", [("别跟我扯机器人了 叫个真人来", "explicit_request"),
                                        ("你们卖翻新机冒充新机！！必须给个说法", "anger"),
                                        ("u charged me twice for the same order, i want my money back", "refund_dispute"),
                                        ("支付宝扣了两次钱", "refund_dispute"),
                                        ("同一笔订单被扣款两回 赶紧退一笔", "refund_dispute"),
                                        ("my bank shows two payments for one order", "refund_dispute"),
                                        ("support keeps ignoring me, im filing a complaint", "anger"),
                                        ("total rip off, you lied to me about the delivery date", "anger"),
                                        ("收了钱不发货 就是骗钱 我要去工商局", "anger"),
                                        ("the charger sparked when i plugged it in", "safety")])
def test_everyday_escalation_wordings(text: str, rule: str) -> None:
    found = one(text)
    assert found is not None and found.rule == rule, text


@pytest.mark.parametrize("text", ["no headphone jack right? my old wired earphones r useless then",
                                  "the manual is useless without pictures lol"])
def test_useless_about_the_users_own_things_is_not_anger(text: str) -> None:
    assert one(text) is None, text


@pytest.mark.parametrize("text", ["you are useless", "ur bot is useless", "useless", "useless customer service"])
def test_useless_about_us_is_anger(text: str) -> None:
    found = one(text)
    assert found is not None and found.rule == "anger", text


@pytest.mark.parametrize("text", ["退款被拒了", "你们凭什么不给退", "退货申请被拒绝", "my refund was denied",
                                  "they refused to refund me", "I'll file a chargeback"])
def test_refund_disputes_escalate(text: str) -> None:
    found = one(text)
    assert found is not None and found.rule == "refund_dispute", text


@pytest.mark.parametrize("text", ["怎么申请退货", "how do I return my phone", "多久发货", "我是米粉发烧友",
                                  "does the Millet Phone 14 support fast charging", "Fire up the camera quickly?",
                                  "订单 M2026110501 到哪了", "hi", "怎么清理垃圾文件", "屏幕滚动有点卡",
                                  "does the 14 Pro screen get burn-in?", "how do I empty the trash in Gallery",
                                  "will charging overnight hurt the battery", "what is the worst case battery life",
                                  "how long does a refund take to arrive", "退款多久到账",
                                  "refund hasnt arrived, how long does it usually take?", "can i pay in two payments"])
def test_ordinary_messages_do_not_escalate(text: str) -> None:
    assert one(text) is None, text


def test_two_low_confidence_turns_in_a_row() -> None:
    low = Turn("asdf qwer", "nlu_fallback", 0.3)
    fine = Turn("多久发货", "shipping", 0.9)
    assert assess([low], CONFIG) is None
    assert assess([fine, low], CONFIG) is None
    found = assess([low, Turn("zxcv", "chitchat", 0.2)], CONFIG)
    assert found is not None and found.rule == "low_confidence"
    assert assess([low, Turn("/greet", "greet", 0.1)], CONFIG) is None  # button payloads never count


def test_turns_stop_at_resume() -> None:
    events = [
        {"event": "user", "text": "???", "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.3}}},
        {"event": "resume"},
        {"event": "user", "text": "!!", "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.3}}},
    ]
    turns = turns_from_events(events)
    assert [t.text for t in turns] == ["!!"]
    assert assess(turns, CONFIG) is None


def test_a_turn_the_knowledge_base_answered_is_not_a_miss() -> None:
    low = {"event": "user", "text": "??", "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.3}}}
    answered = [low, {"event": "slot", "name": "kb_entry", "value": "faq/battery-life"}, dict(low, text="!!")]
    assert assess(turns_from_events(answered), CONFIG) is None
    missed = [low, {"event": "slot", "name": "kb_entry", "value": None}, dict(low, text="!!")]
    found = assess(turns_from_events(missed), CONFIG)
    assert found is not None and found.rule == "low_confidence"


def test_config_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rule 'x': pattern"):
        parse_config({"rules": [{"name": "x", "patterns": ["(unclosed"]}]})
    with pytest.raises(ConfigError, match="needs a 'name'"):
        parse_config({"rules": [{"priority": 3}]})
    bad = tmp_path / "escalation.yml"
    bad.write_text("rules:\n  - name: a\n    keywords: [a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"escalation.yml:\d+: not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize("text,value", [("5", 5), ("4星", 4), ("五星", 5), ("3 stars", 3), ("⭐⭐", 2), ("给5分", 5),
                                        ("rating: 1", 1), ("6", None), ("M2026110501", None), ("12", None)])
def test_parse_rating(text: str, value: object) -> None:
    assert parse_rating(text) == value


def test_queue_orders_by_priority_then_wait(store: HandoffStore) -> None:
    normal = one("转人工")
    urgent = one("充电宝冒烟了")
    store.enqueue("early", normal, now=1000.0)  # type: ignore[arg-type]
    store.enqueue("vip", normal, tier="vip", now=1002.0)  # type: ignore[arg-type]
    store.enqueue("later", normal, now=1001.0)  # type: ignore[arg-type]
    store.enqueue("fire", urgent, now=1003.0)  # type: ignore[arg-type]
    assert [r.sender_id for r in store.waiting()] == ["fire", "vip", "early", "later"]
    assert store.get("vip").priority == 20 + 15  # type: ignore[union-attr]
    assert store.ahead_of("later") == 3


def test_claim_is_atomic_and_resolve_ends_it(store: HandoffStore) -> None:
    store.enqueue("u", one("转人工"))  # type: ignore[arg-type]
    results = []
    threads = [threading.Thread(target=lambda n=n: results.append((n, store.claim("u", n)))) for n in ("a", "b", "c", "d")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, ok in results if ok]
    assert len(winners) == 1
    record = store.get("u")
    assert record is not None and record.state == WITH_AGENT and record.agent == winners[0]
    assert store.waiting() == [] and [r.sender_id for r in store.active(winners[0])] == ["u"]
    assert not store.transfer("u", "zed", from_agent="not-the-owner")
    assert store.transfer("u", "zed", from_agent=winners[0]) and store.get("u").agent == "zed"  # type: ignore[union-attr]
    store.add_note("u", "zed", "<b>private</b>")
    assert store.notes("u")[0]["text"] == "<b>private</b>"
    assert store.resolve("u", "zed") is not None
    assert store.get("u") is None and store.active() == []
    assert [h["what"] for h in store.history("u")] == ["queued", "claimed", "transferred", "resolved"]
    entry = store.record_rating("u", 4)
    assert entry["agent"] == "zed" and entry["rating"] == 4


def test_fan_tier_boost_from_fans_yml(store: HandoffStore) -> None:
    from bot.fans import grant_tier

    grant_tier("fan-1", "beta_tester", by="test", red=store.redis, rules=FAN_RULES)
    tier, boost = store.tier_and_boost("fan-1")
    assert tier == "beta_tester" and boost == 30
    store.redis.set("canyu:tier:vip-1", "vip")
    assert store.tier_and_boost("vip-1") == ("vip", 15)


def test_enqueue_twice_keeps_one_entry_and_raises_priority(store: HandoffStore) -> None:
    store.enqueue("u", one("转人工"), now=10.0)  # type: ignore[arg-type]
    store.enqueue("u", one("手机冒烟了"), now=20.0)  # type: ignore[arg-type]
    record = store.get("u")
    assert record is not None and record.state == QUEUED and record.rule == "safety" and record.queued_at == 10.0
    assert len(store.waiting()) == 1


def test_timeout_notice_is_due_once(store: HandoffStore) -> None:
    store.enqueue("slow", one("转人工"), now=0.0)  # type: ignore[arg-type]
    store.enqueue("fresh", one("转人工"))  # type: ignore[arg-type]
    due = store.due_for_timeout_notice()
    assert [r.sender_id for r in due] == ["slow"]
    assert store.due_for_timeout_notice() == []
    assert store.get("slow").state == QUEUED  # type: ignore[union-attr]  # still in the queue


def test_wait_estimate_uses_agents_online(store: HandoffStore) -> None:
    store.enqueue("a", one("转人工"))  # type: ignore[arg-type]
    store.enqueue("b", one("转人工"))  # type: ignore[arg-type]
    assert store.estimate_minutes("b") is None  # nobody online: no number is promised
    store.heartbeat("lin")
    assert store.estimate_minutes("b") == 2 * 4
    store.heartbeat("mei")
    assert store.estimate_minutes("b") == 4


def test_perks_are_one_time_codes(store: HandoffStore) -> None:
    perks = PerkStore(store.redis)
    assert perks.add_codes("sorry_coupon", ["A1", "A2", "A1"]) == 2
    first = perks.grant("sorry_coupon", "u", "lin")
    second = perks.grant("sorry_coupon", "v", "lin")
    assert {first["code"], second["code"]} == {"A1", "A2"}
    with pytest.raises(NoCodesLeft):
        perks.grant("sorry_coupon", "w", "lin")
    assert perks.add_codes("sorry_coupon", ["A1"]) == 0  # a granted code never returns to the pool
    assert perks.grants("u")[0]["agent"] == "lin"


@pytest.mark.parametrize("text, rule", [
    ("充电的时候有股焦味", "safety"), ("the charger smells like burning", "safety"),
    ("真人呢 转客服", "explicit_request"), ("get me someone who can actually help", "explicit_request"),
    ("再不处理我就打12315", "anger"), ("i'm fed up with this phone", "frustration"), ("气死我了！！！", "frustration"),
    ("退款申请被驳回了", "refund_dispute"), ("where is my refund, it's been two weeks", "refund_dispute"),
])
def test_everyday_wordings_of_each_rule(text: str, rule: str) -> None:
    found = one(text)
    assert found is not None and found.rule == rule, (text, found)


@pytest.mark.parametrize("text", ["价钱呢", "are you a human?", "let me talk to you about the band"])
def test_words_near_a_rule_that_are_not_it(text: str) -> None:
    found = one(text)
    assert found is None or found.rule not in ("refund_dispute", "explicit_request"), (text, found)
