"""A whole conversation in English over the Telegram channel, through the real Rasa server and actions,
with a handoff to a human agent whose reply reaches the user through the (fake) Bot API."""

from __future__ import annotations

import asyncio
import os
import re
import time

import pytest

from bot.console.app import register_env_senders
from bot.context import build_context
from tests.fakes.rasa_channels import TelegramUser, channels_assistant
from tests.fakes.telegram import update_message

LATIN = re.compile(r"[A-Za-z]{3,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    return channels_assistant(tmp_path_factory)


def test_english_conversation_with_handoff_and_agent_reply(stack):
    user = TelegramUser(stack)
    hello = user.say("/start")
    assert hello and LATIN.search(hello[0]) and not CJK.search(" ".join(hello)), hello
    answer = user.say("how long does the 14 pro battery last?")
    assert answer and LATIN.search(" ".join(answer)), answer
    handoff = user.say("talk to a human")
    assert handoff and not CJK.search(" ".join(handoff)), handoff
    print("\n[telegram] /start ->", hello, "\n[telegram] battery ->", answer, "\n[telegram] human ->", handoff)
    methods = [c["method"] for c in stack.telegram.calls if str(c["params"].get("chat_id")) == str(user.chat_id)]
    assert "sendChatAction" in methods

    from bot.followups import config_from_env
    from bot.handoff.service import HandoffService
    from bot.handoff.store import HandoffStore
    from bot.rasa_client import RasaClient

    redis = stack.assistant.redis
    record = HandoffStore(redis).get(user.sender_id)
    assert record is not None, "the handoff request did not reach the queue"
    tracker = stack.assistant.tracker(user.sender_id)
    assert tracker["latest_input_channel"] == "telegram" and tracker["paused"] is True

    ctx = build_context({**os.environ, **stack.env, "REDIS_URL": stack.assistant.redis_url}, redis=redis)
    register_env_senders(ctx)  # what the console's create_app does: senders built from its context's environment
    service = HandoffService(HandoffStore(redis), RasaClient(stack.url, stack.assistant.token), ctx.outbound,
                             followups=config_from_env(ctx.env), texts=ctx.texts)
    reply = "Hi, I'm Lin from Millet support. Let me look at that for you."
    report = asyncio.run(service.reply(record, "Lin", reply))
    assert (report.channel, report.sent) == ("telegram", 1)
    assert user.texts()[-1] == reply

    # Resolving asks for a rating; its buttons are an inline keyboard and a press goes back into Rasa.
    rating = asyncio.run(service.resolve(HandoffStore(redis).get(user.sender_id), "Lin"))
    assert any(m.get("buttons") for m in rating), rating
    deadline = time.monotonic() + 10
    while not user.last_keyboard() and time.monotonic() < deadline:
        time.sleep(0.1)
    keyboard = user.last_keyboard()
    assert keyboard, "rating buttons were not sent as an inline keyboard"
    pressed = keyboard[-1]["callback_data"]
    thanks = user.press(pressed)
    assert thanks and LATIN.search(thanks[0]), thanks
    print("[telegram] agent reply ->", user.texts()[-len(thanks) - 2:], "\n[telegram] pressed", pressed, "->", thanks)
    events = stack.assistant.tracker(user.sender_id)["events"]
    assert [e for e in events if e.get("event") == "user"][-1]["text"] == pressed
    assert "answerCallbackQuery" in [c["method"] for c in stack.telegram.calls]


def test_update_delivered_twice_through_rasa_gets_one_reply(stack):
    user = TelegramUser(stack)
    user.say("hi")
    update = update_message(next(TelegramUser._ids), user.chat_id, "Does the Millet Band 9 have GPS?")
    before = len(user.texts())
    assert user.post(update).status_code == 200
    assert user.post(update).status_code == 200
    deadline = time.monotonic() + 60
    while len(user.texts()) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(4)
    tracker = stack.assistant.tracker(user.sender_id)
    texts = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert texts.count("Does the Millet Band 9 have GPS?") == 1
    assert len(user.texts()) > before


def test_wrong_secret_token_is_403_on_the_real_server(stack):
    user = TelegramUser(stack)
    resp = user.post(update_message(1, user.chat_id, "hi"), secret="nope")
    assert resp.status_code == 403
