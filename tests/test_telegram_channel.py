"""The Telegram channel over real HTTP: our Sanic blueprint, PTB, real Redis, the fake Bot API server.

The bot behind the channel is a scripted echo agent (timing control); tests/test_telegram_rasa.py runs
the channel in front of the real Rasa server.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Any, Dict

import pytest
import redis as redislib
import requests

from bot.delivery import Delivery
from connectors._telegram_send import Pacer, split_message
from connectors.telegram import TelegramConfig, TelegramInput
from tests.fakes.channel_host import ChannelHost, ScriptedAgent, channel_context
from tests.fakes.telegram import FakeTelegram, update_callback, update_message

SECRET = "canyu-secret_token-123"
_ids = itertools.count(int(time.time()) % 100000 * 1000)
_chats = itertools.count(7000)


@pytest.fixture(scope="module")
def redis_url(redis_server):
    return redis_server.url


@pytest.fixture(scope="module")
def fake():
    f = FakeTelegram()
    f.start()
    yield f
    f.stop()


@pytest.fixture(scope="module")
def host(fake, redis_url):
    r = redislib.Redis.from_url(redis_url, decode_responses=True)
    cfg = TelegramConfig(token=fake.token, secret_token=SECRET, api_base=fake.url,
                         webhook_url="https://bot.example.com/webhooks/telegram/webhook")
    h = ChannelHost(TelegramInput(cfg, channel_context(r)), ScriptedAgent())
    h.start()
    yield h
    h.stop()


@pytest.fixture
def agent(host, fake):
    host.agent.delay, host.agent.reply, host.agent.buttons = 0.0, None, None
    host.agent.received.clear()
    fake.chat_interval, fake.overall_rate = 1.0, 30
    return host.agent


def post(host: ChannelHost, update: Dict[str, Any], secret: Any = SECRET) -> requests.Response:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    return requests.post(host.url + "/webhooks/telegram/webhook", json=update, headers=headers, timeout=10)


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_startup_registers_the_webhook_with_its_secret(host, fake):
    assert wait_for(lambda: fake.webhook.get("url"))
    assert fake.webhook == {"url": "https://bot.example.com/webhooks/telegram/webhook", "secret_token": SECRET}
    assert "getMe" in fake.methods()


def test_message_gets_reply_with_typing_first(host, agent, fake):
    chat = next(_chats)
    assert post(host, update_message(next(_ids), chat, "hello")).status_code == 200
    assert wait_for(lambda: fake.texts(chat) == ["echo: hello"])
    methods = [c["method"] for c in fake.calls if str(c["params"].get("chat_id")) == str(chat)]
    assert methods.index("sendChatAction") < methods.index("sendMessage")
    assert agent.received[0].sender_id == f"telegram:{chat}" and agent.received[0].input_channel == "telegram"


def test_update_sent_twice_gets_one_reply(host, agent, fake):
    chat, uid = next(_chats), next(_ids)
    agent.delay = 0.3
    first = post(host, update_message(uid, chat, "where is my order"))
    second = post(host, update_message(uid, chat, "where is my order"))
    assert (first.status_code, second.status_code) == (200, 200)
    time.sleep(1.5)
    assert fake.texts(chat) == ["echo: where is my order"]
    assert len(agent.received) == 1


@pytest.mark.parametrize("secret", ["wrong-secret", None, ""])
def test_wrong_or_missing_secret_token_is_403(host, agent, fake, secret):
    chat = next(_chats)
    resp = post(host, update_message(next(_ids), chat, "hi"), secret=secret)
    assert resp.status_code == 403
    time.sleep(0.3)
    assert agent.received == [] and fake.texts(chat) == []


def test_start_command_greets_in_the_users_language(host, agent):
    upd = update_message(next(_ids), next(_chats), "/start")
    upd["message"]["from"]["language_code"] = "zh-hans"
    post(host, upd)
    assert wait_for(lambda: agent.received)
    assert agent.received[0].text == '/greet{"language": "zh"}'


def test_a_photo_reaches_rasa_as_a_payload(host, agent, fake):
    """A picture is not dropped with a canned reply: it reaches Rasa as `/share_photo` (the media in metadata),
    so during a handoff the agent sees it and otherwise the bot answers it (tests/test_handoff_media.py)."""
    chat = next(_chats)
    upd = update_message(next(_ids), chat, "")
    del upd["message"]["text"]
    upd["message"]["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    post(host, upd)
    assert wait_for(lambda: len(agent.received) == 1)
    assert agent.received[0].text.startswith("/share_photo") and "media" in (agent.received[0].metadata or {})


def test_long_reply_split_at_4096(host, agent, fake):
    chat = next(_chats)
    agent.reply = ("Millet Phone 14 charges fully in about 38 minutes. " * 60 + "\n\n") * 4
    fake.chat_interval = 0.05
    host.channel.sender.pacer = Pacer(chat_interval=0.05)
    try:
        post(host, update_message(next(_ids), chat, "tell me everything"))
        assert wait_for(lambda: len(fake.texts(chat)) >= 3)
        time.sleep(0.5)
        parts = fake.texts(chat)
        assert all(len(p) <= 4096 for p in parts) and len(parts) == len(split_message(agent.reply))
        assert " ".join(parts).split() == agent.reply.split()
    finally:
        host.channel.sender.pacer = Pacer()


def test_buttons_become_inline_keyboard_and_presses_come_back(host, agent, fake):
    chat = next(_chats)
    long_payload = '/order_status{"order_number": "M2026110501", "note": "' + "x" * 80 + '"}'
    agent.buttons = [{"title": "Talk to a human", "payload": "/human_handoff"},
                     {"title": "Track order", "payload": long_payload}]
    post(host, update_message(next(_ids), chat, "help"))
    assert wait_for(lambda: fake.messages(chat))
    markup = fake.messages(chat)[0]["reply_markup"]
    data = [row[0]["callback_data"] for row in markup["inline_keyboard"]]
    assert data[0] == "/human_handoff" and data[1].startswith("cb:") and len(data[1].encode()) <= 64
    agent.buttons = None
    host.channel.sender.pacer = Pacer(chat_interval=0.05)
    fake.chat_interval = 0.05
    try:
        post(host, update_callback(next(_ids), chat, data[0]))
        post(host, update_callback(next(_ids), chat, data[1]))
        assert wait_for(lambda: len(agent.received) == 3)
    finally:
        host.channel.sender.pacer = Pacer()
    assert [m.text for m in agent.received[1:]] == ["/human_handoff", long_payload]
    assert fake.methods().count("answerCallbackQuery") >= 2


def test_hundred_messages_to_one_chat_are_paced_none_lost(host, fake):
    """Scaled clock: the fake allows one message per 50 ms per chat, the pacer keeps to it."""
    chat = next(_chats)
    fake.chat_interval = 0.05
    host.channel.sender.pacer = Pacer(chat_interval=0.05)
    rejected_before = len(fake.rejected)
    try:
        msgs = [f"message {i}" for i in range(100)]
        started = time.monotonic()
        report = host.run(host.channel.outbound.send_to_user(f"telegram:{chat}", msgs), timeout=120)
        elapsed = time.monotonic() - started
    finally:
        host.channel.sender.pacer = Pacer()
    assert report == Delivery("telegram", 100, 0)
    assert fake.texts(chat) == msgs
    assert len(fake.rejected) == rejected_before  # not a single 429
    assert elapsed >= 99 * 0.05


def test_forced_429s_are_retried_after_retry_after_and_nothing_is_lost(host, fake):
    chat = next(_chats)
    fake.chat_interval = 0.05
    pacer = host.channel.sender.pacer = Pacer(chat_interval=0.05)
    fake.force_429(times=2, retry_after=1)
    try:
        msgs = [f"burst {i}" for i in range(10)]
        started = time.monotonic()
        host.run(host.channel.outbound.send_to_user(f"telegram:{chat}", msgs), timeout=60)
        elapsed = time.monotonic() - started
    finally:
        host.channel.sender.pacer = Pacer()
    assert fake.texts(chat) == msgs and pacer.retries == 2
    assert elapsed >= 2.0  # waited retry_after (1 s) twice


def test_real_rate_one_message_per_second_per_chat(host, fake):
    chat = next(_chats)
    rejected_before = len(fake.rejected)
    started = time.monotonic()
    host.run(host.channel.outbound.send_to_user(f"telegram:{chat}", ["one", "two", "three", "four"]), timeout=60)
    elapsed = time.monotonic() - started
    assert fake.texts(chat) == ["one", "two", "three", "four"]
    assert len(fake.rejected) == rejected_before and elapsed >= 3.0


def test_overall_rate_30_per_second_across_chats(host, fake):
    chats = [next(_chats) for _ in range(75)]
    rejected_before = len(fake.rejected)
    started = time.monotonic()

    async def fan_out() -> None:
        import asyncio

        await asyncio.gather(*[host.channel.outbound.send_to_user(f"telegram:{c}", ["hi"])
                               for c in chats])

    host.run(fan_out(), timeout=60)
    elapsed = time.monotonic() - started
    assert all(fake.texts(c) == ["hi"] for c in chats)
    assert len(fake.rejected) == rejected_before and elapsed >= 2.0


def test_polling_mode(redis_url):
    fake = FakeTelegram(token="999:POLLING_token")
    fake.start()
    fake.webhook = {"url": "https://old.example.com/hook"}
    r = redislib.Redis.from_url(redis_url, decode_responses=True)
    cfg = TelegramConfig(token=fake.token, api_base=fake.url, mode="polling", polling_timeout=1)
    agent = ScriptedAgent()
    h = ChannelHost(TelegramInput(cfg, channel_context(r)), agent)
    h.start()
    try:
        fake.push_update(update_message(1, 55, "hello from polling"))
        fake.push_update(update_message(2, 55, "second"))
        assert wait_for(lambda: fake.texts(55) == ["echo: hello from polling", "echo: second"], 20)
        assert "deleteWebhook" in fake.methods() and "getUpdates" in fake.methods()
        assert [m.text for m in agent.received] == ["hello from polling", "second"]
    finally:
        h.stop()
        fake.stop()


def test_config_from_env_and_credentials():
    env = {"TELEGRAM_TOKEN": "1:abc", "TELEGRAM_SECRET_TOKEN": "s", "TELEGRAM_MODE": "polling",
           "TELEGRAM_API_BASE": "http://127.0.0.1:9/"}
    cfg = TelegramConfig.load({"webhook_url": "https://x/hook"}, env)
    assert (cfg.token, cfg.mode, cfg.api_base, cfg.webhook_url, cfg.bot_id) == (
        "1:abc", "polling", "http://127.0.0.1:9", "https://x/hook", "1")
    assert "abc" not in repr(cfg)
    assert not TelegramConfig.load(None, {}).enabled
    assert dataclasses.replace(cfg, token="").enabled is False


@pytest.mark.skipif(not __import__("os").environ.get("CANYU_SLOW_TESTS"), reason="takes 100 s; set CANYU_SLOW_TESTS=1")
def test_hundred_messages_to_one_chat_at_the_real_rate(host, fake):
    """Telegram's real limit (1 msg/s per chat, enforced by the fake): 100 messages, no 429, ~100 s."""
    chat = next(_chats)
    rejected_before = len(fake.rejected)
    msgs = [f"real-rate message {i}" for i in range(100)]
    started = time.monotonic()
    report = host.run(host.channel.outbound.send_to_user(f"telegram:{chat}", msgs), timeout=300)
    elapsed = time.monotonic() - started
    print(f"100 messages to one chat in {elapsed:.1f} s, 429s: {len(fake.rejected) - rejected_before}")
    assert report.sent == 100 and fake.texts(chat) == msgs
    assert len(fake.rejected) == rejected_before and 99 <= elapsed < 130
