"""The participation loop end to end: real Rasa, real actions, real Redis, fake WeChat and Telegram servers.

Two users complain about the same thing in two languages and land on one item; the item ships; each
voice hears about it exactly once, on their own channel, in their own language (REST outbox, Telegram Bot
API, and WeChat after the 48-hour window closed: at their next message). A beta tester goes ahead of a
newcomer in the agent queue and the bot says why; an early-access code is granted once and redeemed once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bot.feedback import FeedbackStore
from tests.fakes.rasa_channels import TELEGRAM_SECRET, WECHAT_TOKEN, ChannelsStack, TelegramUser, WeChatUser
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wechat import FakeWeChat

REPO = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
CREDENTIALS = "connectors.rest.RestInput:\nconnectors.wechat.WeChatInput:\nconnectors.telegram.TelegramInput:\n"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.harness import start_assistant

    folder = Path(tmp_path_factory.mktemp("participation"))
    (folder / "credentials.yml").write_text(CREDENTIALS, encoding="utf-8")
    wechat, telegram = FakeWeChat(), FakeTelegram()
    wechat.start()
    telegram.start()
    env = {
        "WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_APP_ID": wechat.app_id, "WECHAT_APP_SECRET": wechat.secret,
        "WECHAT_API_BASE": wechat.url + "/cgi-bin/", "TELEGRAM_TOKEN": telegram.token,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET, "TELEGRAM_API_BASE": telegram.url, "TELEGRAM_MODE": "webhook",
    }
    try:
        assistant = start_assistant(folder / "data", credentials=folder / "credentials.yml", env=env,
                                    with_console=False)
    except Exception:
        wechat.stop()
        telegram.stop()
        raise
    try:
        yield ChannelsStack(assistant, wechat, telegram, env)
    finally:
        assistant.stop()
        wechat.stop()
        telegram.stop()


def bot_cli(stack: Any, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **stack.env, REDIS_URL=stack.assistant.redis_url, PYTHONPATH=str(REPO),
               RASA_TELEMETRY_ENABLED="false")
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=str(REPO), env=env, capture_output=True,
                          text=True, timeout=120)


def rest_say(stack: Any, sender: str, text: str) -> List[str]:
    return [m.get("text", "") for m in stack.assistant.say(sender, text)]


def outbox(stack: Any, sender: str) -> List[Dict[str, Any]]:
    return stack.assistant.outbox(sender)


def test_two_languages_one_item_shipped_message_once_on_each_channel(stack: Any) -> None:
    red = stack.assistant.redis
    store = FeedbackStore(red, use_vectors=False)
    alice = f"rest-alice-{int(time.time())}"
    first = rest_say(stack, alice, "Honestly disappointed: my Millet Phone 14 Pro battery drains really fast")
    items = store.all()
    assert len(items) == 1, (first, items)
    item_id = items[0].id
    assert any(item_id in t for t in first), first

    tg = TelegramUser(stack)
    second = tg.say("14 Pro 掉电也太快了吧，很失望")
    assert any(item_id in t and CJK.search(t) for t in second), second
    assert any("1 位" in t for t in second), second  # one other said the same
    assert len(store.all()) == 1 and store.get(item_id).count == 2

    wx = WeChatUser(stack)
    third = wx.say("14pro 电池掉电好快，一天要充两三次，太坑了")
    assert any(item_id in t for t in third), third
    assert store.get(item_id).count == 3
    # the user's 48-hour WeChat window closes
    red.hset(f"canyu:user:{wx.sender_id}", "last_inbound", f"{time.time() - 3 * 86400:.3f}")

    status = rest_say(stack, alice, "what happened to my feedback?")
    assert any(item_id in t and "received" in t for t in status), status

    done = bot_cli(stack, "feedback", "set-status", item_id, "shipped", "--release", "MilletOS 2.3 this Friday",
                   "--release-zh", "本周五的 MilletOS 2.3")
    assert done.returncode == 0, done.stderr
    again = bot_cli(stack, "feedback", "notify", item_id)
    assert again.returncode == 0 and "already told 3" in again.stdout, again.stdout + again.stderr

    en = outbox(stack, alice)
    assert len(en) == 1 and "MilletOS 2.3 this Friday" in en[0]["text"] and "3 fans" in en[0]["text"], en
    assert not CJK.search(en[0]["text"])
    assert outbox(stack, alice) == []

    deadline = time.monotonic() + 20
    while not any("MilletOS 2.3" in t for t in tg.texts()) and time.monotonic() < deadline:
        time.sleep(0.2)
    shipped_tg = [t for t in tg.texts() if "MilletOS 2.3" in t]
    assert len(shipped_tg) == 1 and "本周五" in shipped_tg[0] and "3 位" in shipped_tg[0], tg.texts()

    assert not any("MilletOS 2.3" in t for t in wx.api_texts()), "sent while the WeChat window was closed"
    assert red.llen(f"canyu:pending:{wx.sender_id}") == 1
    wx.say("你好", expect_reply=True)
    deadline = time.monotonic() + 20
    while not any("MilletOS 2.3" in t for t in wx.api_texts()) and time.monotonic() < deadline:
        time.sleep(0.2)
    shipped_wx = [t for t in wx.api_texts() if "MilletOS 2.3" in t]
    assert len(shipped_wx) == 1 and CJK.search(shipped_wx[0]), wx.api_texts()
    wx.say("谢谢")
    time.sleep(1)
    assert len([t for t in wx.api_texts() if "MilletOS 2.3" in t]) == 1

    status = rest_say(stack, alice, "any news on my suggestion?")
    assert any("shipped in MilletOS 2.3 this Friday" in t for t in status), status
    digest = bot_cli(stack, "feedback", "digest")
    assert "Shipped because you asked" in digest.stdout and "3 fans asked" in digest.stdout, digest.stdout


def test_late_voices_on_a_shipped_item_are_told_at_once_and_close_calls_are_asked(stack: Any) -> None:
    red = stack.assistant.redis
    store = FeedbackStore(red, use_vectors=False)
    shipped = store.all("shipped")[0]
    late = f"rest-late-{int(time.time())}"
    reply = " ".join(rest_say(stack, late, "so disappointed, my 14 Pro battery drains super fast lately"))
    assert shipped.id in reply and "already fixed in MilletOS 2.3 this Friday" in reply, reply
    assert bot_cli(stack, "feedback", "notify", shipped.id).returncode == 0
    assert outbox(stack, late) == []

    unsure = f"rest-unsure-{int(time.time())}"
    asked = stack.assistant.say(unsure, "I'm annoyed that my phone battery dies quickly and gets hot")
    buttons = [b for m in asked for b in (m.get("buttons") or [])]
    assert len(buttons) == 2 and shipped.id in buttons[0]["payload"], asked
    before = len(store.all())
    different = " ".join(rest_say(stack, unsure, buttons[1]["payload"]))
    assert len(store.all()) == before + 1, different
    new_item = store.get(re.search(r"FB\d+", different).group(0))
    assert new_item.count == 1 and new_item.kind == "complaint" and new_item.id != shipped.id


def test_beta_tester_goes_first_and_is_told_why(stack: Any) -> None:
    from bot.handoff.store import HandoffStore

    red = stack.assistant.redis
    newbie, tester = f"rest:newbie-{int(time.time())}", f"rest:tester-{int(time.time())}"
    granted = bot_cli(stack, "fans", "grant", tester, "beta_tester", "--by", "lin")
    assert granted.returncode == 0, granted.stderr
    why = " ".join(rest_say(stack, tester, "why do I get priority?"))
    assert "beta tester" in why and "ahead in the queue" in why, why
    newbie_told = " ".join(rest_say(stack, newbie, "I want to talk to a human agent please"))
    tester_told = " ".join(rest_say(stack, tester, "I want to talk to a human agent please"))
    assert "ahead of the regular queue" in tester_told, tester_told  # the handoff message says why
    assert "ahead of the regular queue" not in newbie_told, newbie_told
    order = [r.sender_id for r in HandoffStore(red).waiting()]
    assert newbie in order and tester in order, order
    assert order.index(tester) < order.index(newbie), order
    assert HandoffStore(red).get(tester).tier == "beta_tester"
    plain = " ".join(rest_say(stack, f"rest-new2-{int(time.time())}", "what's my tier?"))
    assert "newcomer" in plain, plain


def test_early_access_code_granted_once_redeemed_once(stack: Any) -> None:
    added = bot_cli(stack, "fans", "fcodes", "add", "band9-launch", "--count", "3", "--title-en", "the Band 9 launch",
                    "--title-zh", "手环 9 首发")
    assert added.returncode == 0, added.stderr
    fan = TelegramUser(stack)  # F-codes go to WeChat and Telegram identities only (bot.fans.is_verified_identity)
    bot_cli(stack, "fans", "grant", fan.sender_id, "beta_tester")
    first = " ".join(fan.say("can I get an F-code?"))
    code = re.search(r"F-[A-Z2-9]{8}", first)
    assert code, first
    second = " ".join(fan.say("give me an early-access code"))
    assert code.group(0) in second and "already" in second, second
    newbie = " ".join(TelegramUser(stack).say("can I get an F-code?"))
    assert not re.search(r"F-[A-Z2-9]{8}", newbie) and "core fans" in newbie, newbie
    web = " ".join(rest_say(stack, f"rest-nofcode-{int(time.time())}", "can I get an F-code?"))
    assert not re.search(r"F-[A-Z2-9]{8}", web) and "WeChat or Telegram" in web, web
    ok = bot_cli(stack, "fans", "redeem", code.group(0), "--by", "M2026110501")
    assert ok.returncode == 0, ok.stderr
    twice = bot_cli(stack, "fans", "redeem", code.group(0), "--by", "M2026110502")
    assert twice.returncode == 2 and "already redeemed by M2026110501" in twice.stderr, twice.stderr


def test_votes_identity_link_and_thumbs_down_comment(stack: Any) -> None:
    red = stack.assistant.redis
    store = FeedbackStore(red, use_vectors=False)
    stamp = int(time.time())
    author, voter = WeChatUser(stack), f"rest-voter-{stamp}"  # linking takes WeChat or Telegram identities
    filed = " ".join(author.say("I wish the Band 9 had a dark mode for night time"))
    item_id = re.search(r"FB\d+", filed).group(0)
    assert store.get(item_id).kind == "suggestion", filed
    voted = " ".join(rest_say(stack, voter, f"+1 {item_id}"))
    assert item_id in voted and "2 votes" in voted, voted
    pressed = " ".join(rest_say(stack, voter, '/vote{"feedback_id":"%s"}' % item_id))
    assert "already" in pressed and store.get(item_id).count == 2, pressed

    # one person on two channels: a code from WeChat, sent from Telegram
    code_reply = " ".join(author.say("link my accounts"))
    code = re.search(r"\b([2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5})\b", code_reply).group(1)
    tg = TelegramUser(stack)
    linked = " ".join(tg.say(f"link {code}"))
    assert "Linked" in linked, linked
    mine = " ".join(tg.say("what happened to my feedback?"))
    assert item_id in mine, mine
    again = " ".join(tg.say(f"+1 {item_id}"))
    assert "already" in again and store.get(item_id).count == 2, again

    # 👎 after an answer asks what was missing and files the comment
    rater = f"rest:rater-{stamp}"
    asked = " ".join(rest_say(stack, rater, '/rate_answer{"rating":"down"}'))
    assert "What was missing" in asked, asked
    before = {i.id for i in store.all()}
    thanks = " ".join(rest_say(stack, rater, "it never said how long the Buds 5 battery lasts with noise cancelling on"))
    new_ids = {i.id for i in store.all()} - before
    assert len(new_ids) == 1 and new_ids.pop() in thanks, thanks
    ratings = red.xrange("canyu:analytics:ratings")
    assert any(f["sender_id"] == rater and f["value"] == "down" and f["kind"] == "answer" for _, f in ratings)
    up = " ".join(rest_say(stack, rater, '/rate_answer{"rating":"up"}'))
    assert "Glad" in up, up


def test_report_over_the_real_event_stream(stack: Any) -> None:
    """`bot analytics` reads what the real event broker wrote during the conversations above."""
    import json as _json

    out = bot_cli(stack, "analytics", "--days", "1", "--json")
    assert out.returncode == 0, out.stderr
    report = _json.loads(out.stdout)
    assert report["conversations"] >= 8
    assert report["escalated"] >= 2 and report["containment_pct"] < 100
    assert report["feedback_by_status"]["shipped"] >= 1
    shipped = report["shipped_messages"]
    assert shipped["voices"] >= 3 and shipped["told"] == shipped["voices"] and shipped["share"] == 100.0
    assert report["answers"]["down"] >= 1 and report["answers"]["up"] >= 1
    csv_out = bot_cli(stack, "analytics", "--days", "1", "--csv", "-")
    assert csv_out.stdout.startswith("section,name,value") and "containment_pct" in csv_out.stdout
