"""EscalationPolicy on real Rasa trackers and the real domain (no server needed)."""

from __future__ import annotations

import os
from typing import Any, Iterator, List

import pytest

from bot.settings import load_settings

rasa_events = pytest.importorskip("rasa.shared.core.events")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The policy reads the handoff state from REDIS_URL: give it a Redis of its own."""
    from bot.storage import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("policy-redis")).start()
    old = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = server.url
    try:
        yield server.url
    finally:
        if old is None:
            os.environ.pop("REDIS_URL", None)
        else:
            os.environ["REDIS_URL"] = old
        server.stop()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Any:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.domain import Domain

    from bot.handoff.policy import EscalationPolicy

    domain = Domain.load(str(load_settings().home / "responses"))
    storage = LocalModelStorage(tmp_path_factory.mktemp("policy"))
    policy = EscalationPolicy.create(EscalationPolicy.get_default_config(), storage, Resource("escalation"),
                                     ExecutionContext(GraphSchema({}), "test"))
    return policy, domain


def predict(setup: Any, events: List[Any], sender: str = "policy-test") -> str:
    from rasa.shared.core.trackers import DialogueStateTracker

    policy, domain = setup
    tracker = DialogueStateTracker.from_events(sender, events, domain.slots)
    prediction = policy.predict_action_probabilities(tracker, domain)
    if prediction.max_confidence == 0:
        return ""
    return domain.action_names_or_texts[prediction.max_confidence_index]


def user(text: str, intent: str = "chitchat", confidence: float = 0.9) -> Any:
    return rasa_events.UserUttered(text, intent={"name": intent, "confidence": confidence})


def listen() -> Any:
    return rasa_events.ActionExecuted("action_listen")


def test_predicts_handoff_for_safety_and_requests(setup: Any) -> None:
    assert predict(setup, [listen(), user("我的充电宝鼓包了", "ask_product", 0.4)]) == "action_handoff"
    assert predict(setup, [listen(), user("talk to a human", "human_handoff", 0.95)]) == "action_handoff"
    assert predict(setup, [listen(), user("多久发货", "shipping", 0.9)]) == ""


def test_frustration_on_a_question_goes_to_the_answer_first(setup: Any) -> None:
    """escalation.yml `answer_first`: a frustrated question is answered (the action hands off when it cannot);
    frustration without a question, or with anger or an order number too, hands off at once."""
    assert predict(setup, [listen(), user("气死 刚买三天就降了两百 能退差价不", "complain", 0.7)]) == \
        "action_answer_product"
    assert predict(setup, [listen(), user("this is ridiculous, how long does shipping take?", "shipping")]) == \
        "action_answer_product"
    assert predict(setup, [listen(), user("气死我了", "complain")]) == "action_handoff"
    assert predict(setup, [listen(), user("气死 你们就是骗子 能退差价不", "complain")]) == "action_handoff"
    numbered = rasa_events.UserUttered("wtf where is order M2026110501??", intent={"name": "order_status", "confidence": 0.9},
                                       entities=[{"entity": "order_number", "value": "M2026110501"}])
    assert predict(setup, [listen(), numbered]) == "action_handoff"


def test_priority_beats_rule_policy(setup: Any) -> None:
    from rasa.core.constants import RULE_POLICY_PRIORITY

    from bot.handoff.policy import ESCALATION_POLICY_PRIORITY

    assert setup[0].priority == ESCALATION_POLICY_PRIORITY > RULE_POLICY_PRIORITY


def test_only_right_after_a_user_message(setup: Any) -> None:
    events = [listen(), user("转人工"), rasa_events.ActionExecuted("utter_greet")]
    assert predict(setup, events) == ""


def test_two_misses_in_a_row(setup: Any) -> None:
    first = [listen(), user("asdf", "nlu_fallback", 0.3), rasa_events.ActionExecuted("action_fallback"),
             rasa_events.BotUttered("say it another way?"), listen()]
    assert predict(setup, first[:2]) == ""
    assert predict(setup, first + [user("qwer", "nlu_fallback", 0.3)]) == "action_handoff"


def test_typed_rating_after_the_question_and_listen_after_storing(setup: Any) -> None:
    asked = [listen(), rasa_events.ConversationResumed(), rasa_events.ActionExecuted("action_ask_rating"),
             rasa_events.BotUttered("rate?"), listen()]
    assert predict(setup, asked + [user("4", "nlu_fallback", 0.2)]) == "action_store_rating"
    assert predict(setup, [listen(), user("4", "nlu_fallback", 0.2)]) == ""  # no question asked: not a rating
    stored = asked + [user("五星", "nlu_fallback", 0.2), rasa_events.ActionExecuted("action_store_rating")]
    assert predict(setup, stored) == "action_listen"


def test_a_new_session_keeps_the_handoff(setup: Any, redis_url: str) -> None:
    waiting = [listen(), user("转人工"), rasa_events.ActionExecuted("action_handoff"), rasa_events.ConversationPaused(),
               rasa_events.SessionStarted(), rasa_events.ActionExecuted("action_session_start"), listen(),
               user("还在吗", "greet", 0.9)]
    assert predict(setup, waiting) == "action_handoff"
    import redis as redis_lib

    redis = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    fresh = [listen(), user("还在吗", "greet", 0.9)]
    assert predict(setup, fresh, sender="queued-elsewhere") == ""
    redis.hset("canyu:handoff:queued-elsewhere", mapping={"state": "queued"})  # tracker lost the pause
    assert predict(setup, fresh, sender="queued-elsewhere") == "action_handoff"
    resumed = waiting[:4] + [rasa_events.ConversationResumed(), listen(), user("你好", "greet", 0.9)]
    assert predict(setup, resumed) == ""


def test_an_unsure_rating_intent_yields_to_the_rules(setup: Any) -> None:
    """The csat intent below RATING_SURE on a message that meets a rule hands off (not "reply 1 to 5"); a sure
    rating in words, or an unsure one that meets no rule, is stored as before."""
    assert predict(setup, [listen(), user("呵呵 服务真好 三天没人理我", "csat", 0.45)]) == "action_handoff"
    assert predict(setup, [listen(), user("人工客服这次服务我打5分", "csat", 0.95)]) == "action_store_rating"
    assert predict(setup, [listen(), user("客服给4分吧", "csat", 0.5)]) == "action_store_rating"


@pytest.mark.parametrize("text", [
    "link 7KQ4M-9XDPH", "link 7kq4m-9xdph", "绑定 7KQ4M-9XDPH", "绑定7kq4m9xdph", "我的绑定码是 h3k9p 2wq8z",
    "关联一下这个码 M4N7Q-R2X5T", "connect with M4N7Q R2X5T", "my code is h3k9p-2wq8z pls link", "code: 22222-2222A",
    "LINK 7KQ4M - 9XDPH", "pls link me, code 7KQ4M9XDPH", "用这个绑定 k7q4m-9xdph 谢谢", "redeem 7KQ4M-9XDPH",
])
@pytest.mark.parametrize("intent", ["link_identity", "nlu_fallback", "order_status", "csat", "human_handoff", "greet"])
def test_a_link_code_with_a_link_word_links_whatever_the_nlu_says(setup: Any, text: str, intent: str) -> None:
    """A code in the current format (bot.fans.create_link_code) with a word of linking goes to action_link_identity
    by rule: the NLU's examples cannot cover every code (a "link <code>" once got "please rephrase")."""
    for confidence in (0.3, 0.95):
        assert predict(setup, [listen(), user(text, intent, confidence)]) == "action_link_identity"
    assert predict(setup, [listen(), user(text, intent), rasa_events.ActionExecuted("action_link_identity")]) == \
        "action_listen"


@pytest.mark.parametrize("text", [
    "link my accounts", "link 482913", "绑定 订单 2345678923", "hello there 7KQ4M-9XDPH", "link ABCDE-FGHJK",
    "order M2026110501 link", "绑定 1234567890", "7KQ4M-9XDPH",
])
def test_no_code_or_no_link_word_leaves_it_to_the_nlu(setup: Any, text: str) -> None:
    assert predict(setup, [listen(), user(text, "link_identity", 0.95)]) == ""


@pytest.mark.parametrize("text", ["求个F码 米粒14pro的", "给我整一个 f码", "pls gimme an fcode for the next drop",
                                  "can i get an F-code for the band 9 launch", "any f codes left?"])
@pytest.mark.parametrize("intent", ["ask_product", "nlu_fallback", "request_fcode", "suggest_feature"])
def test_an_fcode_asked_for_by_name_gets_the_fcode_flow_whatever_the_nlu_says(setup: Any, text: str,
                                                                               intent: str) -> None:
    """No KB entry is about F-codes and the NLU reads some such requests as product questions: the name decides."""
    assert predict(setup, [listen(), user(text, intent, 0.9)]) == "action_grant_fcode"
    assert predict(setup, [listen(), user(text, intent), rasa_events.ActionExecuted("action_grant_fcode")]) == \
        "action_listen"


@pytest.mark.parametrize("text", ["F码是什么", "what is an f-code", "promo code for my first order?", "求个优惠码"])
def test_what_an_fcode_is_or_another_code_is_left_to_the_nlu(setup: Any, text: str) -> None:
    assert predict(setup, [listen(), user(text, "request_fcode", 0.95)]) == ""


def test_an_fcode_with_anger_or_a_person_asked_for_goes_to_a_person(setup: Any) -> None:
    assert predict(setup, [listen(), user("F码 转人工", "human_handoff")]) == "action_handoff"


def test_a_link_code_with_a_safety_word_still_goes_to_a_person(setup: Any) -> None:
    assert predict(setup, [listen(), user("link 7KQ4M-9XDPH my phone is smoking", "link_identity")]) == "action_handoff"


def test_the_current_code_format_is_what_create_link_code_shows() -> None:
    from bot.fans._links import _display, _new_code
    from bot.knowledge.answering import carries_link_code

    for _ in range(200):
        code = _display(_new_code())
        assert carries_link_code(f"link {code}") and carries_link_code(f"绑定 {code.lower().replace('-', '')}"), code
