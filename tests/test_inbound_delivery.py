"""At-least-once in, exactly-once out (issue 16): platform messages survive a crash of the process that took
them, redeliveries never produce a second answer, and no failure gives a silent empty reply.

Real parts: a real Redis per module (and one we stop), our channels in a real Sanic server (ChannelHost) in
front of the fake WeChat/Telegram servers, and the real assistant (Rasa, actions, Redis) for readiness and
REST. A "crash" is a process that stops without its shutdown hooks: its tasks are cancelled and its server
closed, nothing released, like `kill -9` (the leases it held must expire).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import time
import uuid
from typing import Any, List, Optional

import pytest
import redis as redislib
import requests
import xmltodict

from bot import metrics
from connectors._inbound import InboundStore
from connectors._rest_auth import RestAuth
from connectors._wechat_protocol import sign
from connectors.rest import RestInput
from connectors.telegram import TelegramConfig, TelegramInput
from connectors.wechat import WeChatConfig, WeChatInput
from tests.fakes.channel_host import ChannelHost, ScriptedAgent, channel_context
from tests.fakes.telegram import FakeTelegram, update_message
from tests.fakes.wechat import FakeWeChat

TOKEN = "canyuInboundToken"
SECRET = "canyu-inbound-secret"
LEASE = 2.0
_ids = itertools.count(int(time.time()) % 100000 * 1000 + 500)


class HangingAgent(ScriptedAgent):
    """Takes the message and never answers (the process will be killed while it works)."""

    async def handle_message(self, message: Any) -> None:
        self.received.append(message)
        await asyncio.sleep(3600)


class FailingAgent(ScriptedAgent):
    """Rasa raising (a broken tracker store, a bug) on the first `failures` messages, then echoing."""

    def __init__(self, failures: int = 1) -> None:
        super().__init__()
        self.failures = failures

    async def handle_message(self, message: Any) -> None:
        if self.failures > 0:
            self.failures -= 1
            self.received.append(message)
            raise RuntimeError("tracker store unavailable")
        await super().handle_message(message)


def crash(host: ChannelHost) -> None:
    """Stop the host like `kill -9`: no shutdown hooks, every task cancelled, the port closed."""
    loop = host.loop
    assert loop is not None

    async def die() -> None:
        host._server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    asyncio.run_coroutine_threadsafe(die(), loop).result(10)
    host._thread.join(10)  # type: ignore[union-attr]
    host.loop = None


def count(metric: Any, *labels: str) -> float:
    """A counter's value in this process (the channels run in the test process)."""
    return float(metric.labels(*labels)._value.get())


def wait_for(predicate: Any, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.fixture(scope="module")
def redis_client(redis_server):
    return redislib.Redis.from_url(redis_server.url, decode_responses=True)


# the state machine ------------------------------------------------------------------------------------------
def test_claim_states_on_real_redis(redis_client):
    a = InboundStore(redis_client, "test:" + uuid.uuid4().hex[:6], lease=1.0)
    b = InboundStore(redis_client, a.channel, lease=1.0)  # another process
    first = a.claim("m1", {"text": "hi"})
    assert (first.state, first.attempt, first.payload) == ("mine", 1, {"text": "hi"})
    assert b.claim("m1").state == "busy"  # a redelivery while a live processor works
    assert b.finish("m1", [{"text": "not mine"}]) is None and b.fail("m1") is False
    time.sleep(1.1)  # a crashed processor: its lease expires, the next claim takes it over
    taken = b.claim("m1")
    assert (taken.state, taken.attempt, taken.payload) == ("mine", 2, {"text": "hi"})
    assert a.renew("m1") is False and a.finish("m1", [{"text": "late"}]) is None  # the old owner lost it
    assert b.save_reply("m1", [{"text": "hello"}]) and b.finish("m1", [{"text": "hello"}]) == "passive"
    again = a.claim("m1")
    assert (again.state, again.reply, again.late) == ("answered", [{"text": "hello"}], False)
    assert "m1" not in a.due()


def test_fail_releases_for_a_retry_and_gives_up_after_max_attempts(redis_client):
    s = InboundStore(redis_client, "test:" + uuid.uuid4().hex[:6], lease=5.0, max_attempts=2, retry_after=0)
    assert s.claim("m2", {"text": "x"}).mine
    assert s.fail("m2", "rasa")
    assert s.due() == ["m2"]
    assert s.claim("m2").attempt == 2
    assert s.fail("m2", "rasa")
    assert s.claim("m2").state == "failed" and s.due() == []


def test_late_mark_turns_a_passive_finish_into_a_late_send(redis_client):
    s = InboundStore(redis_client, "test:" + uuid.uuid4().hex[:6])
    assert s.claim("m3", {}).mine
    assert s.mark_late("m3").state == "late"  # the HTTP request was answered `success` meanwhile
    assert s.finish("m3", [{"text": "a"}]) == "late"  # not answered yet: it must be sent first
    assert s.get("m3")["state"] == "processing"
    assert s.finish("m3", [{"text": "a"}], late=True) == "late"
    claim = s.claim("m3")
    assert (claim.state, claim.late) == ("answered", True)


def test_record_then_claim_and_recovery_sees_only_overdue(redis_client):
    s = InboundStore(redis_client, "test:" + uuid.uuid4().hex[:6], lease=0.5)
    assert s.record("7", {"update_id": 7}) is True
    assert s.record("7", {"update_id": 7}) is False  # Telegram's second delivery
    assert s.due() == []  # just acknowledged: its processor is about to claim it
    time.sleep(0.6)
    assert s.due() == ["7"]  # …but it never did (crash after the 200)
    claim = s.claim("7")
    assert claim.mine and claim.payload == {"update_id": 7}


# WeChat ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wechat():
    fake = FakeWeChat()
    fake.start()
    yield fake
    fake.stop()


def wechat_host(fake: FakeWeChat, redis_client: Any, agent: Any, **changes: Any) -> ChannelHost:
    cfg = WeChatConfig(token=TOKEN, app_id=fake.app_id, app_secret=fake.secret, api_base=fake.url + "/cgi-bin/",
                       lease=LEASE, **changes)
    host = ChannelHost(WeChatInput(cfg, channel_context(redis_client)), agent)
    host.start()
    return host


def text_xml(openid: str, content: str, msg_id: int) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_canyu]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def push(host: ChannelHost, xml: str, timeout: float = 30) -> requests.Response:
    ts, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**9)
    params = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "x"}
    return requests.post(host.url + "/webhooks/wechat/webhook", params=params, data=xml.encode("utf-8"),
                         timeout=timeout)


def passive(resp: requests.Response) -> Optional[str]:
    return None if resp.text in ("success", "") else xmltodict.parse(resp.text)["xml"]["Content"]


def test_wechat_redelivery_on_another_instance_gets_the_same_passive_reply(wechat, redis_client):
    """Two Rasa instances share Redis; WeChat's retry reaches the second while the first still works."""
    slow = ScriptedAgent(delay=1.5)
    other = ScriptedAgent()
    a, b = wechat_host(wechat, redis_client, slow), wechat_host(wechat, redis_client, other)
    before = [count(m, "wechat") for m in (metrics.MESSAGES_RECEIVED, metrics.MESSAGES_ANSWERED,
                                           metrics.MESSAGES_REDELIVERED)]
    try:
        user = "o" + uuid.uuid4().hex[:27]
        xml = text_xml(user, "Band 9 支持 NFC 吗", next(_ids))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            first = pool.submit(push, a, xml)
            time.sleep(0.3)
            retry = pool.submit(push, b, xml)
            replies = [passive(first.result()), passive(retry.result())]
        assert replies == ["echo: Band 9 支持 NFC 吗"] * 2  # whichever WeChat listens to has the answer
        assert len(slow.received) == 1 and other.received == []
        time.sleep(0.5)
        assert wechat.texts(user) == []  # and nothing more through the customer-service API
        after = [count(m, "wechat") for m in (metrics.MESSAGES_RECEIVED, metrics.MESSAGES_ANSWERED,
                                              metrics.MESSAGES_REDELIVERED)]
        assert [x - y for x, y in zip(after, before, strict=False)] == [1, 1, 1]
    finally:
        a.stop()
        b.stop()


def test_wechat_crash_between_dedupe_and_reply_is_redelivered_and_answered_once(wechat, redis_client):
    """The instance that took delivery 1 dies mid-processing; WeChat's deliveries 2 and 3 reach another."""
    hung = HangingAgent()
    a = wechat_host(wechat, redis_client, hung, passive_deadline=1.0)
    user = "o" + uuid.uuid4().hex[:27]
    xml = text_xml(user, "我的订单到哪了", next(_ids))
    first = push(a, xml)
    assert first.text == "success" and len(hung.received) == 1
    crash(a)
    survivor = ScriptedAgent()
    b = wechat_host(wechat, redis_client, survivor, passive_deadline=1.0)
    try:
        answers: List[str] = []
        for _ in range(2):  # WeChat's retries, ~5 s apart in reality
            answers += [t for t in [passive(push(b, xml))] if t]
            time.sleep(LEASE)
        assert wait_for(lambda: len(survivor.received) == 1)
        time.sleep(1.0)
        answers += wechat.texts(user)
        assert len(survivor.received) == 1
        assert answers in (["echo: 我的订单到哪了"], ["echo: 我的订单到哪了"] * 2)
        assert wechat.texts(user) in ([], ["echo: 我的订单到哪了"])  # one answer went out: passive or late
        if wechat.texts(user):
            assert answers == ["echo: 我的订单到哪了"]
    finally:
        b.stop()


def test_wechat_acknowledged_message_of_a_dead_instance_is_answered_late(wechat, redis_client):
    """`success` went out (WeChat will not retry), then the process died: the survivor's recovery sweep
    answers through the customer-service API, once."""
    hung = HangingAgent()
    a = wechat_host(wechat, redis_client, hung, passive_deadline=0.5)
    user = "o" + uuid.uuid4().hex[:27]
    assert push(a, text_xml(user, "退货怎么办", next(_ids))).text == "success"
    crash(a)
    survivor = ScriptedAgent()
    b = wechat_host(wechat, redis_client, survivor)
    try:
        assert wait_for(lambda: wechat.texts(user) == ["echo: 退货怎么办"], 20)
        time.sleep(LEASE * 1.5)
        assert wechat.texts(user) == ["echo: 退货怎么办"] and len(survivor.received) == 1
    finally:
        b.stop()


def test_wechat_failed_late_send_is_retried_and_lands_once(wechat, redis_client):
    """The answer missed the passive deadline; the customer-service API then fails twice (HTTP 500): the reply
    is sent again until it lands, and lands once."""
    host = wechat_host(wechat, redis_client, ScriptedAgent(), passive_deadline=0)
    try:
        user = "o" + uuid.uuid4().hex[:27]
        wechat.fail_http(2, 500)
        assert push(host, text_xml(user, "屏幕碎了怎么修", next(_ids))).text == "success"
        assert wait_for(lambda: wechat.texts(user) == ["echo: 屏幕碎了怎么修"], 60), wechat.texts(user)
        time.sleep(LEASE * 3)  # sweeps and retries that could still send it again
        assert wechat.texts(user) == ["echo: 屏幕碎了怎么修"]
    finally:
        host.stop()


def test_wechat_rasa_error_gives_an_apology_and_the_retry_processes_again(wechat, redis_client):
    agent = FailingAgent(failures=1)
    host = wechat_host(wechat, redis_client, agent)
    try:
        user = "o" + uuid.uuid4().hex[:27]
        xml = text_xml(user, "耳机怎么配对", next(_ids))
        assert "抱歉" in (passive(push(host, xml)) or "")
        assert passive(push(host, xml)) == "echo: 耳机怎么配对"  # released, not swallowed as a duplicate
    finally:
        host.stop()


def test_wechat_with_redis_down_answers_an_apology_not_silence(wechat, tmp_path):
    from bot.storage import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis").start()
    client = redislib.Redis.from_url(server.url, decode_responses=True, socket_timeout=1, socket_connect_timeout=1)
    agent = ScriptedAgent()
    host = wechat_host(wechat, client, agent)
    try:
        server.stop()
        resp = push(host, text_xml("o" + uuid.uuid4().hex[:27], "where is my order", next(_ids)))
        assert resp.status_code == 200 and (passive(resp) or "").startswith("Sorry")
        assert agent.received == []
    finally:
        host.stop()
        server.stop()


# Telegram --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def telegram():
    fake = FakeTelegram(token="424242:INBOUND-token")
    fake.start()
    yield fake
    fake.stop()


def telegram_host(fake: FakeTelegram, redis_client: Any, agent: Any) -> ChannelHost:
    cfg = TelegramConfig(token=fake.token, secret_token=SECRET, api_base=fake.url, lease=LEASE)
    host = ChannelHost(TelegramInput(cfg, channel_context(redis_client)), agent)
    host.start()
    return host


def post(host: ChannelHost, update: Any) -> requests.Response:
    return requests.post(host.url + "/webhooks/telegram/webhook", json=update,
                         headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=10)


def test_telegram_update_acknowledged_then_lost_is_processed_after_restart(telegram, redis_client):
    hung = HangingAgent()
    a = telegram_host(telegram, redis_client, hung)
    chat, uid = next(_ids), next(_ids)
    assert post(a, update_message(uid, chat, "where is my order")).status_code == 200
    assert wait_for(lambda: len(hung.received) == 1)
    crash(a)  # acknowledged with 200: Telegram will never send it again
    survivor = ScriptedAgent()
    b = telegram_host(telegram, redis_client, survivor)
    try:
        assert wait_for(lambda: telegram.texts(chat) == ["echo: where is my order"], 20)
        assert post(b, update_message(uid, chat, "where is my order")).status_code == 200  # a late duplicate
        time.sleep(LEASE * 1.5)
        assert telegram.texts(chat) == ["echo: where is my order"] and len(survivor.received) == 1
    finally:
        b.stop()


def test_telegram_reprocessing_after_a_partial_send_sends_only_the_rest(telegram, redis_client):
    """A processor recorded a two-message reply, sent the first and died: the rest goes, Rasa is not asked."""
    agent = ScriptedAgent()
    chat, uid = next(_ids), next(_ids)
    dead = InboundStore(redis_client, f"telegram:{telegram.token.split(':')[0]}", lease=0.2)
    assert dead.record(str(uid), update_message(uid, chat, "tell me about the Band 9"))
    assert dead.claim(str(uid)).mine
    assert dead.save_reply(str(uid), [{"text": "The Band 9 has NFC."}, {"text": "Anything else?"}])
    assert dead.sent(str(uid), 1)
    time.sleep(0.3)  # …and its process is gone
    host = telegram_host(telegram, redis_client, agent)
    try:
        assert wait_for(lambda: telegram.texts(chat) == ["Anything else?"], 15)
        time.sleep(0.5)
        assert telegram.texts(chat) == ["Anything else?"] and agent.received == []
    finally:
        host.stop()


def test_telegram_webhook_refuses_to_acknowledge_what_it_cannot_record(telegram, tmp_path):
    from bot.storage import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis").start()
    client = redislib.Redis.from_url(server.url, decode_responses=True, socket_timeout=1, socket_connect_timeout=1)
    host = telegram_host(telegram, client, ScriptedAgent())
    try:
        server.stop()
        resp = post(host, update_message(next(_ids), next(_ids), "hi"))
        assert resp.status_code == 503  # Telegram delivers it again later
    finally:
        host.stop()
        server.stop()


# REST and readiness -----------------------------------------------------------------------------------------
def test_rest_rasa_failure_is_503_with_an_apology_in_the_users_language(redis_server, redis_client):
    agent = FailingAgent(failures=2)
    failed, answered = count(metrics.MESSAGES_FAILED, "rest", "rasa"), count(metrics.MESSAGES_ANSWERED, "rest")
    ctx = channel_context(redis_client, REDIS_URL=redis_server.url)
    host = ChannelHost(RestInput(RestAuth.load({}, ctx.env), ctx), agent)
    host.start()
    try:
        url = host.url + "/webhooks/rest/webhook"
        zh = requests.post(url, json={"sender": "u1", "message": "我的订单到哪了"}, timeout=30)
        en = requests.post(url, json={"sender": "u1", "message": "where is my order"}, timeout=30)
        ok = requests.post(url, json={"sender": "u1", "message": "hi"}, timeout=30)
    finally:
        host.stop()
    assert zh.status_code == 503 and zh.json()["error"] and "抱歉" in zh.json()["messages"][0]["text"]
    assert en.status_code == 503 and en.json()["messages"][0]["text"].startswith("Sorry")
    assert (ok.status_code, ok.json()) == (200, [{"recipient_id": "rest:u1", "text": "echo: hi"}])
    assert count(metrics.MESSAGES_FAILED, "rest", "rasa") - failed == 2
    assert count(metrics.MESSAGES_ANSWERED, "rest") - answered == 1


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from tests.fakes.rasa_channels import channels_assistant

    return channels_assistant(tmp_path_factory)


def test_ready_and_rest_with_redis_down_on_the_real_assistant(stack):
    assistant = stack.assistant
    url = assistant.url
    assert requests.get(url + "/webhooks/rest/ready", timeout=30).status_code == 200
    server = assistant.stack.redis
    server.stop()
    try:
        ready = requests.get(url + "/webhooks/rest/ready", timeout=30)
        assert ready.status_code == 503 and "redis" in ready.json()["failing"]
        resp = requests.post(url + "/webhooks/rest/webhook", json={"sender": "down", "message": "我的订单到哪了"},
                             headers=assistant.rest_headers, timeout=60)
        assert resp.status_code == 503, resp.text  # never 200 []
        assert "抱歉" in resp.json()["messages"][0]["text"]
    finally:
        server.start()
    assert wait_for(lambda: requests.get(url + "/webhooks/rest/ready", timeout=30).status_code == 200, 30)
    assert assistant.say("rest:after-redis", "hi")


def test_ready_fails_while_the_action_server_is_down(stack):
    assistant = stack.assistant
    runner = assistant.stack
    plan = {c.name: c for c in runner._plan()}
    runner.stop_child("actions")
    try:
        ready = requests.get(assistant.url + "/webhooks/rest/ready", timeout=30)
        assert ready.status_code == 503 and list(ready.json()["failing"]) == ["actions"]
    finally:
        runner.start_child(plan["actions"])
        runner.wait_healthy(plan["actions"])
    assert requests.get(assistant.url + "/webhooks/rest/ready", timeout=30).status_code == 200
