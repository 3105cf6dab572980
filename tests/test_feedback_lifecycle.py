"""The whole feedback lifecycle over the real stack (Rasa, actions, Redis) and the fake WeChat and Telegram servers.

An idea filed over REST (English) and voted on from Telegram and WeChat (Chinese) goes planned → in beta →
shipped; a second one is declined. Every voice hears each step once, in its language, on its channel: the REST
outbox, the Telegram Bot API, and WeChat, whose 48-hour window is closed, only when the user writes again.
Two trainers' `notify` racing send one message each. Unsubscribing (a button, or words in zh and en) is
honoured by the next send. The weekly digest goes to subscribers only, once per week each, with two job
runners and a rerun (the clock is injected).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
import requests

from bot.feedback import (
    FeedbackStore,
    beta_signups,
    digest_subscribers,
    notify_status,
    send_weekly_digest,
    wants_news,
    week_of,
)
from bot.texts import Texts
from tests.fakes.rasa_channels import ChannelsStack, TelegramUser, WeChatUser, platform_env
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wechat import FakeWeChat

REPO = Path(__file__).resolve().parents[1]
TEXTS = Texts(REPO / "responses")  # the checkout's bot texts
CJK = re.compile(r"[\u4e00-\u9fff]")
FCODE = re.compile(r"F-[A-Z2-9]{8}")
CREDENTIALS = "connectors.rest.RestInput:\nconnectors.wechat.WeChatInput:\nconnectors.telegram.TelegramInput:\n"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.harness import start_assistant

    folder = Path(tmp_path_factory.mktemp("lifecycle"))
    (folder / "credentials.yml").write_text(CREDENTIALS, encoding="utf-8")
    wechat, telegram = FakeWeChat(), FakeTelegram()
    wechat.start()
    telegram.start()
    env = platform_env(wechat, telegram)
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


def bot_cli(stack: Any, *args: str, wait: bool = True) -> Any:
    env = dict(os.environ, **stack.env, REDIS_URL=stack.assistant.redis_url, PYTHONPATH=str(REPO),
               RASA_TELEMETRY_ENABLED="false")
    cmd = [sys.executable, "-m", "bot.cli", *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=str(REPO), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=120)


def rest_user() -> str:
    return f"life-{uuid.uuid4().hex[:8]}"


def say(stack: Any, sender: str, text: str) -> List[Dict[str, Any]]:
    return stack.assistant.say(sender, text)


def outbox(stack: Any, sender: str) -> List[Dict[str, Any]]:
    return stack.assistant.outbox(sender)


def wait_for(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def close_window(red: Any, sender_id: str) -> None:
    red.hset(f"canyu:user:{sender_id}", "last_inbound", f"{time.time() - 3 * 86400:.3f}")


def pending_texts(red: Any, sender_id: str) -> List[str]:
    return [json.loads(m).get("text", "") for m in red.lrange(f"canyu:pending:{sender_id}", 0, -1)]


def file_new(stack: Any, sender: str, text: str) -> Any:
    """File `text` as a new item; returns (its id, the bot's replies)."""
    store = FeedbackStore(stack.assistant.redis, use_vectors=False)
    before = {i.id for i in store.all()}
    replies = say(stack, sender, text)
    new = {i.id for i in store.all()} - before
    if not new and "feedback too?" in " ".join(m.get("text", "") for m in replies):
        replies = say(stack, sender, "yes")  # the answer path answered first and offered to file it (bot.actions.offers)
        new = {i.id for i in store.all()} - before
    assert len(new) == 1, (text, replies)
    return new.pop(), replies


def payloads(messages: List[Dict[str, Any]]) -> List[str]:
    return [b["payload"] for m in messages for b in (m.get("buttons") or [])]


def test_every_status_reaches_every_author_and_voter_once(stack: Any) -> None:
    red = stack.assistant.redis
    store = FeedbackStore(red, use_vectors=False)
    author = rest_user()
    item_id, filed = file_new(stack, author, "I wish the Band 9 showed a sleep score right on the watch face")
    assert "/feedback_digest_subscribe" in payloads(filed), filed  # the digest is offered once, in the voice
    tg, wx = TelegramUser(stack), WeChatUser(stack)
    assert any(item_id in t for t in tg.say(f"给 {item_id} 投一票")), tg.texts()
    assert any(item_id in t for t in wx.say(f"投 {item_id} 一票")), wx.api_texts()
    assert store.get(item_id).count == 3
    close_window(red, wx.sender_id)
    from bot.fans import add_codes

    add_codes("band9-sleep-beta", count=5, title_en="the Band 9 sleep beta", red=red)

    # planned: two trainers notify at the same moment; each voice is told once
    assert bot_cli(stack, "feedback", "set-status", item_id, "planned", "--no-notify").returncode == 0
    racers = [bot_cli(stack, "feedback", "notify", item_id, wait=False) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in racers]
    assert all(p.returncode == 0 for p in racers), outs
    told = 0
    for out, _ in outs:
        told += int(re.search(r"sent to (\d+), waiting for next contact (\d+)", out).group(1))
        told += int(re.search(r"waiting for next contact (\d+)", out).group(1))
    assert told == 3, outs
    planned_en = wait_for(lambda: outbox(stack, author), "the planned message in the REST outbox")
    assert len(planned_en) == 1 and "is planned" in planned_en[0]["text"] and not CJK.search(planned_en[0]["text"])
    assert f'/feedback_unsubscribe{{"feedback_id": "{item_id}"}}' in payloads(planned_en), planned_en
    wait_for(lambda: any("排进计划" in t for t in tg.texts()), "the planned message on Telegram")
    assert len(store.told(item_id, "planned")) == 3

    # in beta: an F-code for the verified identities, a sign-up button for the REST user
    store.set_status(item_id, "in_beta", campaign="band9-sleep-beta")
    report = asyncio.run(notify_status(store, item_id, texts=TEXTS))
    assert sorted(report.sent + report.queued) == sorted([f"rest:{author}", tg.sender_id, wx.sender_id]), report
    beta_en = outbox(stack, author)
    assert len(beta_en) == 1 and "in beta" in beta_en[0]["text"] and not FCODE.search(beta_en[0]["text"]), beta_en
    join = [p for p in payloads(beta_en) if p.startswith("/feedback_beta_signup")]
    assert join, beta_en
    signed = " ".join(m.get("text", "") for m in say(stack, author, join[0]))
    assert item_id in signed and f"rest:{author}" in beta_signups(red, item_id), signed
    beta_tg = wait_for(lambda: [t for t in tg.texts() if "内测" in t and FCODE.search(t)], "the Telegram F-code")
    assert len(beta_tg) == 1, tg.texts()

    # shipped (the CLI path trainers use)
    shipped = bot_cli(stack, "feedback", "set-status", item_id, "shipped", "--release", "Band 9 firmware 3.1",
                      "--release-zh", "手环 9 固件 3.1")
    assert shipped.returncode == 0 and "shipped message sent to" in shipped.stdout, shipped.stdout + shipped.stderr
    shipped_en = outbox(stack, author)
    assert len(shipped_en) == 1 and "Band 9 firmware 3.1" in shipped_en[0]["text"], shipped_en
    wait_for(lambda: any("手环 9 固件 3.1" in t for t in tg.texts()), "the shipped message on Telegram")
    tg_news = [t for t in tg.texts() if item_id in t and ("排进计划" in t or "内测" in t or "3.1" in t)]
    assert len(tg_news) == 3 and all(CJK.search(t) for t in tg_news), tg.texts()

    # WeChat: nothing went out while the window was closed; all three arrive, in Chinese, when the user writes
    assert not any("排进计划" in t or "内测" in t or "3.1" in t for t in wx.api_texts()), wx.api_texts()
    waiting = pending_texts(red, wx.sender_id)
    assert len(waiting) == 3 and FCODE.search(waiting[1]), waiting
    wx.say("你好", expect_reply=True)
    arrived = wait_for(lambda: [t for t in wx.api_texts() if "手环 9 固件 3.1" in t], "the WeChat backlog")
    assert len(arrived) == 1
    news = [t for t in wx.api_texts() if item_id in t and ("排进计划" in t or "内测" in t or "3.1" in t)]
    assert len(news) == 3 and all(CJK.search(t) for t in news), wx.api_texts()
    assert red.llen(f"canyu:pending:{wx.sender_id}") == 0

    # again, from anywhere: nobody hears anything twice
    again = bot_cli(stack, "feedback", "notify", item_id)
    assert "already told 3" in again.stdout, again.stdout
    assert outbox(stack, author) == []

    out = bot_cli(stack, "analytics", "--days", "1", "--json")
    figures = json.loads(out.stdout)["status_messages"]
    for status in ("planned", "in_beta", "shipped"):
        assert figures[status]["share"] == 100.0 and figures[status]["told"] >= 3, figures


def test_declined_carries_the_reason_and_what_to_do_instead(stack: Any) -> None:
    red = stack.assistant.redis
    store = FeedbackStore(red, use_vectors=False)
    author = rest_user()
    item_id, _ = file_new(stack, author, "Please add a headphone jack to the 14 Pro")
    tg = TelegramUser(stack)
    tg.say(f"给 {item_id} 投一票")
    refused = bot_cli(stack, "feedback", "set-status", item_id, "declined", "--reason", "there is no room left")
    assert refused.returncode != 0 and "--instead" in refused.stderr, refused.stderr
    done = bot_cli(stack, "feedback", "set-status", item_id, "declined", "--reason",
                   "the battery fills the room a jack needs", "--reason-zh", "电池占了耳机孔的空间",
                   "--instead", "the USB-C adapter in the box works with any wired headphones",
                   "--instead-zh", "盒子里的 USB-C 转接头可以接任何有线耳机")
    assert done.returncode == 0, done.stderr
    en = outbox(stack, author)
    assert len(en) == 1 and "the battery fills the room" in en[0]["text"] and "USB-C adapter" in en[0]["text"], en
    zh = wait_for(lambda: [t for t in tg.texts() if "电池占了耳机孔的空间" in t], "the declined message on Telegram")
    assert len(zh) == 1 and "USB-C 转接头" in zh[0], zh
    assert store.told(item_id, "declined").keys() == {f"rest:{author}", tg.sender_id}


def test_unsubscribe_from_one_item_and_from_everything(stack: Any) -> None:
    red = stack.assistant.redis
    store = FeedbackStore(red, use_vectors=False)
    user = rest_user()
    one, _ = file_new(stack, user, "I'd love an always-on display option for the Band 9 at night")
    two, _ = file_new(stack, user, "Please make the Buds 5 case support reverse wireless charging")

    # a button on the news: no more about this item
    store.set_status(one, "planned")
    assert asyncio.run(notify_status(store, one, texts=TEXTS)).queued == [f"rest:{user}"]  # REST news waits in the outbox
    news = outbox(stack, user)
    stop_one = [p for p in payloads(news) if one in p and p.startswith("/feedback_unsubscribe")]
    assert stop_one, news
    reply = " ".join(m.get("text", "") for m in say(stack, user, stop_one[0]))
    assert one in reply and "no more news" in reply.lower(), reply
    store.set_status(one, "in_beta", signup="https://beta.example.com/band9")
    assert asyncio.run(notify_status(store, one, texts=TEXTS)).unsubscribed == [f"rest:{user}"]
    late = rest_user()  # joins while it is in beta: told at once in the chat, never pushed it again
    voted = " ".join(m.get("text", "") for m in say(stack, late, f"+1 {one}"))
    assert "https://beta.example.com/band9" in voted, voted
    assert f"rest:{late}" in asyncio.run(notify_status(store, one, texts=TEXTS)).skipped and outbox(stack, late) == []
    store.set_status(two, "planned")
    assert asyncio.run(notify_status(store, two, texts=TEXTS)).queued == [f"rest:{user}"]
    assert [two in m["text"] for m in outbox(stack, user)] == [True]

    # in words, English: no more of anything (the digest included)
    say(stack, user, "/feedback_digest_subscribe")
    assert any(s.sender_id == f"rest:{user}" for s in digest_subscribers(red))
    stop = " ".join(m.get("text", "") for m in say(stack, user, "stop sending me feedback updates"))
    assert "no more feedback news" in stop.lower(), stop
    store.set_status(two, "shipped", release="Buds 5 firmware 1.2")
    assert asyncio.run(notify_status(store, two, texts=TEXTS)).unsubscribed == [f"rest:{user}"]
    assert outbox(stack, user) == []
    assert not any(s.sender_id == f"rest:{user}" for s in digest_subscribers(red))

    # in words, Chinese
    tg = TelegramUser(stack)
    tg.say(f"给 {two} 投一票")
    stopped = " ".join(tg.say("别再给我发反馈进展了"))
    assert "不再发给你" in stopped, tg.texts()


def test_weekly_digest_once_per_subscriber_even_with_two_runners(stack: Any, monkeypatch: Any) -> None:
    from bot.feedback import digest_job, digest_weeks
    from bot.jobs import JobRunner

    red = stack.assistant.redis
    store = FeedbackStore(red, use_vectors=False)
    reader, tg, wx, bystander = rest_user(), TelegramUser(stack), WeChatUser(stack), rest_user()
    item_id, _ = file_new(stack, reader, "The Buds 5 app should play a loud beep so I can find a lost earbud")
    say(stack, bystander, f"+1 {item_id}")  # a voice, not a subscriber: no digest
    assert "订好了" in " ".join(tg.say("订阅每周更新"))
    assert any("订好了" in t for t in wx.say("每周更新发给我"))
    subscribed = " ".join(m.get("text", "") for m in say(stack, reader, "/feedback_digest_subscribe"))
    assert "You're in" in subscribed, subscribed
    again = " ".join(m.get("text", "") for m in say(stack, reader, "send me the weekly update"))
    assert "already subscribed" in again, again
    close_window(red, wx.sender_id)
    outbox(stack, reader)
    outbox(stack, bystander)
    store.set_status(item_id, "shipped", release="Buds app 4.0")
    asyncio.run(notify_status(store, item_id, texts=TEXTS))
    outbox(stack, reader)
    outbox(stack, bystander)

    # the clock: the digest is due two minutes after the change, and we are five minutes after it
    changed = time.time()
    due_at = time.gmtime(changed + 120)
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[due_at.tm_wday]
    schedule = f"{weekday} {due_at.tm_hour:02d}:{due_at.tm_min:02d}"
    clock = [changed + 300]
    week, due = week_of(clock[0], (due_at.tm_wday, due_at.tm_hour, due_at.tm_min))
    assert due <= clock[0]
    early = asyncio.run(send_weekly_digest(red, now=changed, schedule=schedule, texts=TEXTS))
    assert not early.due and early.sent == [] and early.queued == []

    async def two_runners() -> List[List[str]]:
        key = f"canyu:test:digest-leader:{uuid.uuid4().hex[:6]}"
        runners = [JobRunner(red, [digest_job(red, schedule, texts=TEXTS, clock=lambda: clock[0])], key=key, owner=f"r{n}") for n in (1, 2)]
        ran = await asyncio.gather(*(r.tick() for r in runners))
        leader = next(r for r in runners if r.leading)
        await asyncio.to_thread(leader.lock.release)  # the leader goes away; the other one takes over and runs
        follower = next(r for r in runners if r is not leader)
        ran.append(await follower.tick())
        return ran

    ran = asyncio.run(two_runners())
    assert sum(1 for names in ran[:2] if names) == 1 and ran[2] == ["feedback-digest"], ran
    rerun = asyncio.run(send_weekly_digest(red, now=clock[0] + 3600, schedule=schedule, texts=TEXTS))
    assert rerun.due and rerun.sent == [] and rerun.queued == [] and len(rerun.skipped) >= 3, rerun

    mine = [m for m in outbox(stack, reader) if "You asked, we shipped" in m.get("text", "")]
    assert len(mine) == 1 and "Buds app 4.0" in mine[0]["text"], mine
    assert outbox(stack, bystander) == []
    digest_tg = wait_for(lambda: [t for t in tg.texts() if "📣 因为你们说了" in t], "the digest on Telegram")
    time.sleep(1.5)
    assert len([t for t in tg.texts() if "📣 因为你们说了" in t]) == 1 and "Buds app 4.0" in digest_tg[0]
    assert "2 位米粉" in digest_tg[0], digest_tg  # the reader and the bystander asked
    assert len([t for t in pending_texts(red, wx.sender_id) if "📣 因为你们说了" in t]) == 1
    record = next(w for w in digest_weeks(red) if w["week"] == week)
    assert record["sent"] + record["queued"] >= 3 and item_id in [i["id"] for i in record["items"]], record

    # next week: nothing changed in its seven days, so nothing is sent
    quiet = asyncio.run(send_weekly_digest(red, now=clock[0] + 7 * 86400, schedule=schedule, texts=TEXTS))
    assert quiet.due and quiet.items == 0 and quiet.sent == [] and quiet.queued == []

    # the button on the digest stops the weekly note only; item news keeps coming
    stop = [p for p in payloads(mine) if p.startswith("/feedback_unsubscribe")]
    stopped = " ".join(m.get("text", "") for m in say(stack, reader, stop[0]))
    assert "no more weekly notes" in stopped.lower(), stopped
    assert not any(s.sender_id == f"rest:{reader}" for s in digest_subscribers(red))
    assert wants_news(red, f"rest:{reader}", item_id)
    words = " ".join(tg.say("每周更新别发了"))
    assert "每周更新不再发了" in words, tg.texts()


def test_the_digest_job_is_a_deployment_job(stack: Any) -> None:
    from bot.deployment_jobs import deployment_jobs

    names = [job.name for job in deployment_jobs(stack.assistant.redis, stack.assistant.url, None,
                                                      settings=stack.assistant.ctx.settings)]
    assert "feedback-digest" in names and "handoff-timeouts" in names


def test_the_console_changes_a_status_and_shows_who_was_told_and_the_digest(stack: Any, tmp_path: Path) -> None:
    from bot.cli.console import add_user
    from tests.harness import lone_console

    red = stack.assistant.redis
    store = FeedbackStore(red, use_vectors=False)
    author = rest_user()
    item_id, _ = file_new(stack, author, "The 14 Pro camera app needs a manual focus slider for macro shots")
    add_user("tess", "trainer", "lifecycle-pass-123", redis=red)
    with lone_console(stack.assistant.redis_url, tmp_path / "console.log", CANYU_DIGEST_SCHEDULE="off") as url:
        s = requests.Session()
        login = s.get(url + "/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        s.post(url + "/login", data={"username": "tess", "password": "lifecycle-pass-123", "csrf_token": token})
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', s.get(url + "/feedback").text).group(1)
        bad = s.post(f"{url}/api/feedback/{item_id}/status", json={"status": "declined", "reason": "no room"},
                     headers={"X-CSRF-Token": csrf})
        assert bad.status_code == 400 and "instead" in bad.json()["error"], bad.text
        ok = s.post(f"{url}/api/feedback/{item_id}/status", json={"status": "planned"},
                    headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200 and ok.json()["queued"] + ok.json()["sent"] == 1, ok.text
        told = outbox(stack, author)
        assert len(told) == 1 and "is planned" in told[0]["text"], told
        page = s.get(url + "/feedback").text
        assert '<span class="told-planned">planned 1/1</span>' in page
        assert "shipped 3/3" in page and 'id="digest-weeks"' in page  # the first test's item, the digest weeks
        digest = s.get(url + "/api/feedback/digest").json()
        sent_weeks = [w for w in digest["weeks"] if w["items"] and w["sent"] + w["queued"] >= 3]
        assert digest["subscribers"] == 1 and len(sent_weeks) == 1, digest  # two stopped it; the empty week sent none
        analytics = s.get(url + "/analytics?days=1").text
        assert 'id="told-share-planned">100.0%' in analytics, analytics[-3000:]
    assert store.told(item_id, "planned").keys() == {f"rest:{author}"}
