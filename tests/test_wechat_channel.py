"""The WeChat channel over real HTTP: our Sanic blueprint, real Redis, the fake WeChat API server.

The bot behind the channel is a scripted echo agent here so that timing can be forced (a 5.5 s answer);
tests/test_wechat_rasa.py runs the same channel in front of the real Rasa server.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
import uuid
from typing import Any, Dict, Optional

import pytest
import redis as redislib
import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto

from connectors._wechat_protocol import sign
from connectors.wechat import WeChatConfig, WeChatInput
from tests.fakes.channel_host import ChannelHost, ScriptedAgent, channel_context
from tests.fakes.wechat import FakeWeChat

TOKEN = "canyuWeChatToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture(scope="module")
def redis_url(redis_server):
    return redis_server.url


@pytest.fixture(scope="module")
def fake():
    f = FakeWeChat()
    f.start()
    yield f
    f.stop()


@pytest.fixture(scope="module")
def host(fake, redis_url):
    r = redislib.Redis.from_url(redis_url, decode_responses=True)
    cfg = WeChatConfig(token=TOKEN, app_id=fake.app_id, app_secret=fake.secret, api_base=fake.url + "/cgi-bin/")
    channel = WeChatInput(cfg, channel_context(r))
    h = ChannelHost(channel, ScriptedAgent())
    h.start()
    yield h
    h.stop()


@pytest.fixture
def agent(host):
    host.agent.delay, host.agent.reply, host.agent.buttons = 0.0, None, None
    host.agent.received.clear()
    return host.agent


@pytest.fixture
def configure(host):
    original = host.channel.config
    crypto = host.channel._crypto

    def apply(**changes: Any) -> WeChatConfig:
        host.channel.config = dataclasses.replace(original, **changes)
        host.channel._crypto = (WeChatCrypto(TOKEN, host.channel.config.encoding_aes_key, original.app_id)
                                if host.channel.config.encoding_aes_key else None)
        return host.channel.config

    yield apply
    host.channel.config = original
    host.channel._crypto = crypto


def text_xml(openid: str, content: str, msg_id: Optional[int] = None, to: str = "gh_canyu") -> str:
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or uuid.uuid4().int % 10**18}</MsgId></xml>")


def xml_of(openid: str, msg_type: str, extra: str = "") -> str:
    return (f"<xml><ToUserName><![CDATA[gh_canyu]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{extra}</xml>")


def push(host: ChannelHost, body: Any, *, ts: Optional[str] = None, signature: Optional[str] = None,
         crypto: Optional[WeChatCrypto] = None, timeout: float = 30) -> requests.Response:
    ts = ts or str(int(time.time()))
    nonce = str(uuid.uuid4().int % 10**9)
    params: Dict[str, str] = {"timestamp": ts, "nonce": nonce, "openid": "x"}
    if crypto is not None:
        envelope = crypto.encrypt_message(body, nonce, ts)
        params.update(encrypt_type="aes", msg_signature=xmltodict.parse(envelope)["xml"]["MsgSignature"])
        body = envelope
    params["signature"] = signature or sign(TOKEN, ts, nonce)
    data = body.encode("utf-8") if isinstance(body, str) else body
    return requests.post(host.url + "/webhooks/wechat/webhook", params=params, data=data, timeout=timeout)


def reply_content(resp: requests.Response) -> Optional[str]:
    if resp.text in ("success", ""):
        return None
    return xmltodict.parse(resp.text)["xml"]["Content"]


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


def test_url_verification(host):
    ts, nonce = str(int(time.time())), "123"
    ok = requests.get(host.url + "/webhooks/wechat/webhook", params={
        "signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "4375120948345356249"})
    assert (ok.status_code, ok.text) == (200, "4375120948345356249")
    bad = requests.get(host.url + "/webhooks/wechat/webhook", params={
        "signature": "0" * 40, "timestamp": ts, "nonce": nonce, "echostr": "x"})
    assert bad.status_code == 403


def test_text_gets_passive_reply(host, agent, fake):
    user = openid()
    resp = push(host, text_xml(user, "你好"))
    assert resp.status_code == 200 and reply_content(resp) == "echo: 你好"
    reply = xmltodict.parse(resp.text)["xml"]
    assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"]) == (user, "gh_canyu", "text")
    assert agent.received[0].sender_id == f"wechat:{user}" and agent.received[0].input_channel == "wechat"


def test_four_deliveries_of_one_msgid_give_exactly_one_reply(host, agent, fake):
    user, xml = openid(), None
    xml = text_xml(user, "订单到哪了", msg_id=7777000000000001)
    agent.delay = 0.5  # the retries arrive while the first delivery is still being answered
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        first = pool.submit(push, host, xml)
        time.sleep(0.1)
        retries = [pool.submit(push, host, xml) for _ in range(3)]
        responses = [first.result()] + [f.result() for f in retries]
    time.sleep(1.0)
    replies = [reply_content(r) for r in responses]
    assert [r.status_code for r in responses] == [200] * 4
    # every delivery WeChat may still be listening on gets the one recorded answer; processed once
    assert replies == ["echo: 订单到哪了"] * 4
    assert len(agent.received) == 1
    assert fake.texts(user) == []  # and nothing extra through the customer-service API


def test_slow_answer_says_success_then_arrives_via_customer_service_api(host, agent, fake, configure):
    user = openid()
    agent.delay = 5.5  # slower than WeChat's 5 s; the channel's own deadline is the default 4 s
    xml = text_xml(user, "我的订单 M2026110501 到哪了")
    started = time.monotonic()
    resp = push(host, xml)
    elapsed = time.monotonic() - started
    assert resp.status_code == 200 and resp.text == "success"
    assert 3.5 < elapsed < 4.8
    retry = push(host, xml)  # WeChat's retry after its 5 s timeout: acknowledged, not reprocessed
    assert retry.text == "success"
    assert wait_for(lambda: fake.texts(user) == ["echo: 我的订单 M2026110501 到哪了"], 10)
    assert len(agent.received) == 1
    assert any(t["touser"] == user and t["command"] == "Typing" for t in fake.typing)


@pytest.mark.parametrize("how", ["expire", "invalidate"])
def test_expired_token_is_refreshed_once_and_send_retried(host, agent, fake, configure, how):
    configure(passive_deadline=0.0)
    warm = openid()
    push(host, text_xml(warm, "warm up"))
    assert wait_for(lambda: fake.texts(warm) == ["echo: warm up"])
    (fake.expire_tokens if how == "expire" else fake.invalidate_tokens)()
    before = fake.token_requests
    calls_before = len(fake.calls)
    user = openid()
    push(host, text_xml(user, "hello"))
    assert wait_for(lambda: fake.texts(user) == ["echo: hello"])
    assert fake.token_requests == before + 1
    rejected = 42001 if how == "expire" else 40001
    calls = [c for c in fake.calls[calls_before:] if c["path"] in ("message/custom/send", "message/custom/typing")]
    sends = [c["result"]["errcode"] for c in calls if c["path"] == "message/custom/send"]
    # the first call after the expiry (the send, or the "typing…" sent beside it) is refused and the token
    # refreshed once; the send ends accepted, at most one try refused
    assert calls[0]["result"]["errcode"] == rejected
    assert sends in ([rejected, 0], [0])


def test_token_is_shared_not_fetched_per_message(host, agent, fake, configure):
    configure(passive_deadline=0.0)
    before = fake.token_requests
    users = [openid() for _ in range(5)]
    for u in users:
        push(host, text_xml(u, "hi"))
    assert wait_for(lambda: all(fake.texts(u) == ["echo: hi"] for u in users))
    assert fake.token_requests - before <= 1


def _no_processing(agent, redis_client, before: int) -> None:
    assert len(agent.received) == before


@pytest.mark.parametrize("case", ["forged", "replayed", "future", "bomb", "external_entity", "two_megabytes",
                                  "not_xml", "no_signature"])
def test_bad_pushes_are_rejected_with_4xx_and_not_processed(host, agent, case):
    user = openid()
    ts = str(int(time.time()))
    kwargs: Dict[str, Any] = {}
    body: Any = text_xml(user, "hi")
    if case == "forged":
        kwargs["signature"] = sign("not-our-token", ts, "1")
    elif case == "replayed":
        kwargs["ts"] = str(int(time.time()) - 301)
    elif case == "future":
        kwargs["ts"] = str(int(time.time()) + 400)
    elif case == "bomb":
        body = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>' + text_xml(user, "&c;"))
    elif case == "external_entity":
        body = '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + text_xml(user, "&e;")
    elif case == "two_megabytes":
        body = text_xml(user, "啊" * (700 * 1024))
    elif case == "not_xml":
        body = '{"MsgType": "text"}'
    resp = push(host, body, **kwargs) if case != "no_signature" else requests.post(
        host.url + "/webhooks/wechat/webhook", data=body.encode())
    assert 400 <= resp.status_code < 500, (case, resp.status_code, resp.text)
    assert agent.received == []
    assert not host.channel.redis.exists(f"canyu:user:wechat:{user}")


def test_safe_mode_roundtrip_and_plaintext_refused(host, agent, configure):
    cfg = configure(encoding_aes_key=AES_KEY)
    crypto = WeChatCrypto(TOKEN, AES_KEY, cfg.app_id)
    user = openid()
    resp = push(host, text_xml(user, "安全模式你好"), crypto=crypto)
    assert resp.status_code == 200
    env = xmltodict.parse(resp.text)["xml"]
    inner = crypto.decrypt_message(resp.text, env["MsgSignature"], env["TimeStamp"], env["Nonce"])
    assert xmltodict.parse(inner)["xml"]["Content"] == "echo: 安全模式你好"
    plain = push(host, text_xml(openid(), "plaintext while safe mode is on"))
    assert plain.status_code == 403
    wrong_app = WeChatCrypto(TOKEN, AES_KEY, "wx_someone_else")
    assert push(host, text_xml(openid(), "other appid"), crypto=wrong_app).status_code == 403
    assert len(agent.received) == 1


def test_non_text_messages_and_events(host, agent, fake):
    user = openid()
    image = push(host, xml_of(user, "image", f"<PicUrl><![CDATA[http://x/1.jpg]]></PicUrl>"
                                       f"<MediaId><![CDATA[m1]]></MediaId><MsgId>{uuid.uuid4().int % 10**18}</MsgId>"))
    assert reply_content(image).startswith("echo: /share_photo")  # a picture reaches Rasa as a payload (media)
    location = push(host, xml_of(user, "location", "<Location_X>39.9</Location_X><Location_Y>116.4</Location_Y>"
                                          f"<Scale>15</Scale><Label><![CDATA[北京]]></Label><MsgId>{uuid.uuid4().int % 10**18}</MsgId>"))
    assert reply_content(location).startswith("echo: /share_location")
    voice = push(host, xml_of(user, "voice", "<MediaId><![CDATA[v1]]></MediaId><Format><![CDATA[amr]]></Format>"
                                    f"<Recognition><![CDATA[耳机怎么配对]]></Recognition><MsgId>{uuid.uuid4().int % 10**18}</MsgId>"))
    assert reply_content(voice) == "echo: 耳机怎么配对"
    link = push(host, xml_of(user, "link", "<Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description>"
                                   f"<Url><![CDATA[http://x]]></Url><MsgId>{uuid.uuid4().int % 10**18}</MsgId>"))
    assert reply_content(link)
    subscribe = push(host, xml_of(user, "event", "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey>"))
    assert reply_content(subscribe).startswith("echo: /greet")
    unsubscribe = push(host, xml_of(user, "event", "<Event><![CDATA[unsubscribe]]></Event>"))
    assert unsubscribe.text == "success"
    assert [m.text.split("{")[0] for m in agent.received] == ["/share_photo", "/share_location", "耳机怎么配对",
                                                             "/greet"]
    photo = agent.received[0].metadata or {}
    assert "media" in photo and (agent.received[1].metadata or {}).get("location", {}).get("label") == "北京"


def test_long_answer_is_split_and_sent_through_the_api(host, agent, fake):
    user = openid()
    agent.reply = "\n\n".join(["小米手机14的电池容量是4610毫安时，正常使用一天没问题。" * 12] * 5)
    resp = push(host, text_xml(user, "电池"))
    assert resp.text == "success"
    assert wait_for(lambda: len(fake.texts(user)) >= 2)
    time.sleep(0.3)
    parts = fake.texts(user)
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "") == agent.reply.replace("\n", "")


def test_buttons_are_numbered_and_a_number_picks_one(host, agent):
    user = openid()
    agent.buttons = [{"title": "查订单", "payload": "/order_status"}, {"title": "找人工", "payload": "/human_handoff"}]
    resp = push(host, text_xml(user, "帮帮我"))
    assert reply_content(resp) == "echo: 帮帮我\n1. 查订单\n2. 找人工"
    agent.buttons = None
    push(host, text_xml(user, "2"))
    assert agent.received[-1].text == "/human_handoff"


def test_outbound_window_closed_queues_until_next_contact(host, agent, fake, configure):
    configure(passive_deadline=0.0)
    user = openid()
    sid = f"wechat:{user}"
    r = host.channel.redis
    host.channel.outbound.record_inbound(sid, "wechat", now=time.time() - 49 * 3600)
    report = host.run(host.channel.outbound.send_to_user(sid, ["客服小林：你的退款已经到账啦。"]))
    assert (report.channel, report.sent, report.queued) == ("wechat", 0, 1)
    assert fake.texts(user) == []
    push(host, text_xml(user, "谢谢"))  # the user's next message reopens the window
    assert wait_for(lambda: set(fake.texts(user)) == {"客服小林：你的退款已经到账啦。", "echo: 谢谢"})
    fake.close_window(user)  # WeChat itself refuses (45015): queue again, never drop
    report = host.run(host.channel.outbound.send_to_user(sid, ["still there?"]))
    assert (report.sent, report.queued) == (0, 1) and r.llen(f"canyu:pending:{sid}") == 1
    fake.open_window(user)


def test_outbound_rest_users_get_an_outbox(host):
    sid = "web-" + uuid.uuid4().hex[:8]
    report = host.run(host.channel.outbound.send_to_user(sid, ["Hi, this is Lin from support."]))
    assert (report.channel, report.queued) == ("rest", 1)
    got = host.channel.outbound.pop_outbox(sid)
    assert [{k: v for k, v in m.items() if k != "id"} for m in got] == [
        {"recipient_id": sid, "text": "Hi, this is Lin from support."}] and got[0]["id"]


def test_transient_error_is_retried(host, fake):
    user = openid()
    sid = f"wechat:{user}"
    host.channel.outbound.record_inbound(sid, "wechat")
    host.channel.sender.api.backoff = 0.05
    calls_before = len(fake.calls)
    fake.fail_next(-1)  # "system busy"
    report = host.run(host.channel.outbound.send_to_user(sid, ["稍等，我查一下。"]))
    assert (report.sent, report.queued) == (1, 0) and fake.texts(user) == ["稍等，我查一下。"]
    sends = [c["result"]["errcode"] for c in fake.calls[calls_before:] if c["path"] == "message/custom/send"]
    assert sends == [-1, 0]


def test_daily_quota_exhausted_queues_instead_of_dropping(host, fake):
    user = openid()
    sid = f"wechat:{user}"
    host.channel.outbound.record_inbound(sid, "wechat")
    fake.fail_next(45009)
    report = host.run(host.channel.outbound.send_to_user(sid, ["明天见"]))
    assert (report.sent, report.queued) == (0, 1) and fake.texts(user) == []
    report = host.run(host.channel.outbound.deliver_pending(sid))
    assert report.sent == 1 and fake.texts(user) == ["明天见"]


def test_only_one_instance_refreshes_the_token(host, fake, redis_url):
    """Eight 'processes' (separate clients, shared Redis) find no token at once: one fetch, not eight."""
    from connectors._wechat_api import WeChatApi

    host.channel.redis.delete(f"canyu:wechat:token:{fake.app_id}_access_token")
    fetches_before = len([c for c in fake.calls if c["path"] in ("token", "stable_token")])
    users = [openid() for _ in range(8)]

    def one(u: str) -> None:
        api = WeChatApi(fake.app_id, fake.secret, redislib.Redis.from_url(redis_url, decode_responses=True),
                        fake.url + "/cgi-bin/")
        api.send_text(u, "hi")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, users))
    fetches = [c for c in fake.calls if c["path"] in ("token", "stable_token")][fetches_before:]
    assert len(fetches) == 1
    assert all(fake.texts(u) == ["hi"] for u in users)
