"""Durable outbound delivery (bot.outbound, bot.delivery) with real parts: a real Redis, the fake WeChat and
Telegram servers on loopback (told to fail), our real senders, the real console process, the real REST route.

Each test fails on the old direct sending: a failed send was raised and forgotten, `deliver_pending` popped
before sending, a crashed sender lost the rest, an idempotency key was unknown, the outbox read was destructive.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest
import redis as redislib
import requests
from prometheus_client import REGISTRY
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery import Delivery, DeliveryQueue, DeliverySettings, DeliveryWorker, SenderRegistry
from bot.outbound import Outbound
from bot.settings import QUIET_ENV
from connectors._telegram_send import Pacer, TelegramSender
from connectors._wechat_api import WeChatApi
from connectors._wechat_send import WeChatSender
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wechat import FakeWeChat

REPO = Path(__file__).resolve().parents[1]
ENV = {"CANYU_DELIVERY_MAX_TRIES": "3", "CANYU_DELIVERY_BACKOFF_S": "0.2", "CANYU_DELIVERY_VISIBILITY_S": "3",
       "CANYU_DELIVERY_POLL_S": "0.1"}
SETTINGS = DeliverySettings.from_env(ENV)
_chats = itertools.count(7_100_000)


@pytest.fixture(scope="module")
def red(redis_server: Any) -> Iterator["redislib.Redis[str]"]:
    r = redislib.Redis.from_url(redis_server.url, decode_responses=True)
    yield r
    r.close()


@pytest.fixture(scope="module")
def run() -> Iterator[Callable[..., Any]]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@pytest.fixture(scope="module")
def tg() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(chat_interval=0.05)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def wx() -> Iterator[FakeWeChat]:
    fake = FakeWeChat()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def registry() -> SenderRegistry:
    """This test's sender registry (a process's `AppContext.senders`)."""
    return SenderRegistry()


@pytest.fixture
def out(red: Any, registry: SenderRegistry) -> Outbound:
    """What a process's context hands its callers (`ctx.outbound`): the test's Redis, senders and settings."""
    return Outbound(red, registry, SETTINGS)


def worker(red: Any, registry: SenderRegistry) -> DeliveryWorker:
    return DeliveryWorker(red, registry, SETTINGS)


@pytest.fixture
def senders(red: Any, tg: FakeTelegram, wx: FakeWeChat, run: Callable[..., Any],
            registry: SenderRegistry) -> Iterator[Dict[str, Any]]:
    """Our real senders against the fakes, registered the way a channel registers them."""
    bot = Bot(tg.token, base_url=f"{tg.url}/bot", request=HTTPXRequest(connection_pool_size=8))
    telegram = TelegramSender(bot, Pacer(chat_interval=0.05), red)
    wechat = WeChatSender(WeChatApi(wx.app_id, wx.secret, red, wx.url + "/cgi-bin/", backoff=0.01), red)
    registry.register("telegram", telegram)
    registry.register("wechat", wechat)
    yield {"telegram": telegram, "wechat": wechat}
    run(bot.shutdown())


def counted(channel: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("canyu_deliveries_total", {"channel": channel, "outcome": outcome}) or 0.0


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_failed_send_is_retried_and_lands_once(red, run, tg, senders, out, registry):
    chat = next(_chats)
    sid = f"telegram:{chat}"
    sent, retried = counted("telegram", "sent"), counted("telegram", "retried")
    tg.fail_http(times=5)  # one attempt makes 4 calls (the pacer's own network retries): the first attempt fails
    report = run(out.send_to_user(sid, ["your repair is done", "pick it up at the store"]))
    assert report == Delivery("telegram", 0, 2)
    queue = DeliveryQueue(red, "telegram", SETTINGS)
    assert queue.depths()["retry"] == 1 and tg.texts(chat) == []
    assert run(worker(red, registry).drain(timeout=60))
    assert tg.texts(chat) == ["your repair is done", "pick it up at the store"]
    assert queue.depths() == {"queued": 0, "processing": 0, "retry": 0, "dead": 0}
    assert counted("telegram", "retried") - retried == 2 and counted("telegram", "sent") - sent == 2


def test_deliver_pending_with_a_failure_loses_nothing(red, run, wx, senders, out, registry):
    openid = "oPend" + uuid.uuid4().hex[:12]
    sid = f"wechat:{openid}"
    out.record_inbound(sid, "wechat", now=time.time() - 49 * 3600)
    assert run(out.send_to_user(sid, ["退款已到账", "有问题随时找我们"])) == Delivery("wechat", 0, 2)
    out.record_inbound(sid, "wechat")  # the user writes again
    wx.fail_http(times=3)  # WeChat answers 500 to every call of the first attempt
    report = run(out.deliver_pending(sid))
    assert report == Delivery("wechat", 0, 2) and wx.texts(openid) == []
    assert red.llen(f"canyu:pending:{sid}") == 0  # moved, not lost: the item waits for its retry
    assert run(worker(red, registry).drain(timeout=30))
    assert wx.texts(openid) == ["退款已到账", "有问题随时找我们"]


def test_a_retry_resumes_after_the_last_message_that_went_out(red, run, wx, senders, out, registry):
    openid = "oPart" + uuid.uuid4().hex[:12]
    sid = f"wechat:{openid}"
    out.record_inbound(sid, "wechat")
    # the second message's calls fail: the first went out and is not sent again
    original = senders["wechat"].api.send_text
    calls = []

    def flaky(user: str, text: str) -> Any:
        calls.append(text)
        if text == "second" and calls.count("second") == 1:
            wx.fail_http(times=3)
        return original(user, text)

    senders["wechat"].api.send_text = flaky
    try:
        report = run(out.send_to_user(sid, ["first", "second", "third"]))
        assert report == Delivery("wechat", 1, 2)
        assert run(worker(red, registry).drain(timeout=30))
    finally:
        senders["wechat"].api.send_text = original
    assert wx.texts(openid) == ["first", "second", "third"]


def test_the_same_idempotency_key_twice_delivers_once(red, run, tg, senders, out):
    chat = next(_chats)
    sid = f"telegram:{chat}"

    async def twice() -> Any:
        return await asyncio.gather(*[out.send_to_user(sid, ["Agent Lin: refund approved"],
                                                            idempotency_key=f"reply:{chat}:1") for _ in range(2)])

    first, second = run(twice())
    assert first == second == Delivery("telegram", 1, 0)
    again = run(out.send_to_user(sid, ["Agent Lin: refund approved"],
                                      idempotency_key=f"reply:{chat}:1"))
    assert again == first
    time.sleep(0.3)
    assert tg.texts(chat) == ["Agent Lin: refund approved"]
    rest = f"rest:{uuid.uuid4().hex[:10]}"
    for _ in range(2):
        assert run(out.send_to_user(rest, ["hi"], idempotency_key="k-" + rest)) == \
            Delivery("rest", 0, 1)
    assert [m["text"] for m in out.read_outbox(rest, "0")] == ["hi"]


CRASHING_SENDER = textwrap.dedent("""
    import asyncio, os, sys
    import redis
    from telegram import Bot
    from telegram.request import HTTPXRequest
    from bot.delivery import DeliverySettings, SenderRegistry
    from bot.outbound import Outbound
    from connectors._telegram_send import Pacer, TelegramSender

    r = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    bot = Bot(os.environ["TG_TOKEN"], base_url=os.environ["TG_API"] + "/bot", request=HTTPXRequest())
    senders = SenderRegistry()
    senders.register("telegram", TelegramSender(bot, Pacer(chat_interval=3.0), r))
    out = Outbound(r, senders, DeliverySettings.from_env(os.environ))
    asyncio.run(out.send_to_user(sys.argv[1], ["one", "two", "three"]))
""")


def test_a_crash_mid_send_is_requeued_and_delivered_once(red, run, tg, senders, redis_server, registry):
    chat = next(_chats)
    sid = f"telegram:{chat}"
    queue = DeliveryQueue(red, "telegram", SETTINGS)
    env = dict(os.environ, **QUIET_ENV, **ENV, REDIS_URL=redis_server.url, TG_TOKEN=tg.token, TG_API=tg.url,
               PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_SENDER, sid], env=env, cwd=str(REPO))
    try:
        def first_saved() -> bool:
            items = [json.loads(v) for v in red.hvals(queue.items_key)]
            return any(i["sender"] == sid and i["sent"] == 1 for i in items)

        wait_for(first_saved, timeout=60)  # "one" went out and its progress is saved; "two" waits 3 s for pacing
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert tg.texts(chat) == ["one"]
    assert queue.depths()["processing"] >= 1  # stranded with its lease
    assert run(worker(red, registry).drain(timeout=60))
    assert tg.texts(chat) == ["one", "two", "three"]


SECRET = "console-secret-for-delivery-tests-0123"
ADMIN_PW = "root-Secret-Pass-3"


@pytest.fixture(scope="module")
def console(redis_server: Any, wx: FakeWeChat, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real console process, with WeChat settings pointing at the fake (its senders come from the env)."""
    from bot.cli.console import add_user
    from tests.harness import lone_console

    client = redislib.Redis.from_url(redis_server.url, decode_responses=True)
    add_user("root", "admin", ADMIN_PW, redis=client)
    add_user("lin", "agent", ADMIN_PW, redis=client)
    log = tmp_path_factory.mktemp("console") / "console.log"
    with lone_console(redis_server.url, log, 90, **ENV, CANYU_CONSOLE_SECRET=SECRET, WECHAT_APP_ID=wx.app_id,
                      WECHAT_APP_SECRET=wx.secret, WECHAT_API_BASE=wx.url + "/cgi-bin/") as url:
        yield url


def login(url: str, name: str) -> "tuple[requests.Session, str]":
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(url + "/login").text).group(1)  # type: ignore
    s.post(url + "/login", data={"username": name, "password": ADMIN_PW, "csrf_token": token})
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', s.get(url + "/").text).group(1)  # type: ignore
    return s, csrf


def test_after_n_failures_a_dead_letter_that_the_console_resends(red, run, wx, senders, request, out, registry):
    openid = "oDead" + uuid.uuid4().hex[:12]
    sid = f"wechat:{openid}"
    out.record_inbound(sid, "wechat")
    dead, before = counted("wechat", "dead"), red.llen("canyu:delivery:wechat:dead")
    wx.fail_http(times=3 * 3)  # three attempts of three calls each: all answered 500
    assert run(out.send_to_user(sid, ["客服小林：你的换货已发出"])) == Delivery("wechat", 0, 1)
    assert run(worker(red, registry).drain(timeout=30))
    assert wx.texts(openid) == [] and counted("wechat", "dead") - dead == 1
    letters = [json.loads(x) for x in red.lrange("canyu:delivery:wechat:dead", before, -1)]
    assert len(letters) == 1 and letters[0]["sender"] == sid and letters[0]["tries"] == 3
    assert "HTTP 500" in letters[0]["reason"], letters[0]
    from bot import metrics

    page = metrics.render(red).decode()
    assert f'canyu_delivery_dead_letters{{channel="wechat"}} {float(before + 1)}' in page, page
    assert 'canyu_delivery_queue_depth{channel="wechat",state="retry"} 0.0' in page

    console = request.getfixturevalue("console")  # started now: its worker must not take part in the failures
    agent, _ = login(console, "lin")
    assert agent.get(console + "/api/deliveries").status_code == 403
    s, csrf = login(console, "root")
    listed = s.get(console + "/api/deliveries").json()
    mine = [d for d in listed["dead"] if d["user"] == sid]
    assert mine and mine[0]["preview"] == "客服小林：你的换货已发出" and mine[0]["tries"] == 3 and mine[0]["reason"]
    assert "客服小林：你的换货已发出" in s.get(console + "/deliveries").text
    path = f"/api/deliveries/wechat/{mine[0]['id']}/resend"
    assert s.post(console + path, json={}).status_code == 403  # no CSRF token
    assert s.post(console + path, json={}, headers={"X-CSRF-Token": csrf}).status_code == 200
    wait_for(lambda: wx.texts(openid) == ["客服小林：你的换货已发出"], timeout=30)  # the console's worker sent it
    assert s.post(console + path, json={}, headers={"X-CSRF-Token": csrf}).status_code == 404  # not dead any more
    time.sleep(1.0)
    assert wx.texts(openid) == ["客服小林：你的换货已发出"]
    assert not [d for d in s.get(console + "/api/deliveries").json()["dead"] if d["user"] == sid]


def test_the_rest_outbox_read_twice_with_one_cursor_gives_the_same_messages(red, redis_server, out):
    from connectors._rest_auth import RestAuth
    from connectors.rest import RestInput
    from tests.fakes.channel_host import ChannelHost, ScriptedAgent, channel_context

    host = ChannelHost(RestInput(RestAuth.load({}, {}), channel_context(red, REDIS_URL=redis_server.url)),
                       ScriptedAgent())
    url = host.start()
    try:
        user = "cursor-" + uuid.uuid4().hex[:8]
        sid = f"rest:{user}"
        for text in ("agent: hello", "agent: your refund is approved", "agent: anything else?"):
            asyncio.run(out.send_to_user(sid, [text]))
        box = f"{url}/webhooks/rest/outbox/{user}"
        first = requests.get(box, timeout=10).json()  # no cursor: what is new
        assert [m["text"] for m in first] == ["agent: hello", "agent: your refund is approved", "agent: anything else?"]
        assert all(m["id"] for m in first)
        cursor = first[0]["id"]  # the client kept only the first: it asks again from there, twice
        again = requests.get(box, params={"after": cursor}, timeout=10).json()
        assert again == requests.get(box, params={"after": cursor}, timeout=10).json() == first[1:]
        assert requests.get(box, params={"after": first[-1]["id"]}, timeout=10).json() == []
        assert requests.get(box, timeout=10).json() == []  # nothing new without a cursor either
        assert requests.get(box, params={"after": "x"}, timeout=10).status_code == 400
        reply = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": user, "message": "hi"}, timeout=10)
        assert [m["text"] for m in reply.json()] == ["echo: hi"]  # nothing new to ride along
        asyncio.run(out.send_to_user(sid, ["agent: one more thing"]))
        reply = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": user, "message": "ok"}, timeout=10)
        assert [m["text"] for m in reply.json()] == ["echo: ok", "agent: one more thing"]
    finally:
        host.stop()


def test_a_platform_refusing_connections_for_a_while_gets_the_message_once_it_is_back(red, run, registry, out):
    down = FakeTelegram(chat_interval=0.05)
    down.start()
    down.stop()  # nothing listens on its port now: connections are refused
    bot = Bot(down.token, base_url=f"{down.url}/bot", request=HTTPXRequest(connection_pool_size=4))
    registry.register("telegram", TelegramSender(bot, Pacer(chat_interval=0.05), red))
    try:
        chat = next(_chats)
        report = run(out.send_to_user(f"telegram:{chat}", ["we are back: your order shipped"]))
        assert report == Delivery("telegram", 0, 1)
        item = DeliveryQueue(red, "telegram", SETTINGS).get(red.zrange("canyu:delivery:telegram:retry", 0, 0)[0])
        assert item is not None and item.tries == 1 and "unreachable" in item.reason.lower(), item
        down.start()  # the platform is back, on the same address
        assert run(worker(red, registry).drain(timeout=60))
        assert down.texts(chat) == ["we are back: your order shipped"]
    finally:
        run(bot.shutdown())
        down.stop()


def test_a_users_queued_items_and_dead_letters_can_be_found_and_forgotten(red):
    queue = DeliveryQueue(red, "telegram", SETTINGS)
    sid, other = f"telegram:{next(_chats)}", f"telegram:{next(_chats)}"
    waiting = queue.create(sid, [{"text": "waiting"}], processing=False)
    dying = queue.create(sid, [{"text": "refused"}])
    queue.bury(dying, "Forbidden: bot was blocked by the user")
    kept = queue.create(other, [{"text": "someone else"}], processing=False)
    assert {i.id for i in queue.of_user(sid)} == {waiting.id, dying.id}
    assert queue.forget(sid) == 2 and queue.of_user(sid) == []
    assert sid not in json.dumps([red.lrange(queue.queue_key, 0, -1), red.hvals(queue.items_key),
                                  red.lrange(queue.dead_key, 0, -1)])
    assert [i.id for i in queue.of_user(other)] == [kept.id]
    queue.forget(other)


def test_a_refusal_for_good_is_a_dead_letter_at_once(red, run, tg, senders, out):
    from bot.errors import DeliveryError

    chat = next(_chats)
    sid = f"telegram:{chat}"
    before = red.llen("canyu:delivery:telegram:dead")
    tg.fail_http(times=1, status=403)  # Forbidden: the user blocked the bot; a retry cannot help
    with pytest.raises(DeliveryError) as refused:
        run(out.send_to_user(sid, ["your ticket was closed"]))
    assert refused.value.permanent and tg.texts(chat) == []
    letters = [json.loads(x) for x in red.lrange("canyu:delivery:telegram:dead", before, -1)]
    assert [(d["sender"], d["tries"]) for d in letters] == [(sid, 1)] and "Forbidden" in letters[0]["reason"]
    DeliveryQueue(red, "telegram", SETTINGS).forget(sid)
