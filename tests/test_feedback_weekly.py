"""The digest and the status news on a real (embedded) Redis, without Rasa: many subscribers and racing senders,
the schedule's errors, the invite's fall-backs. Messages go through the real `send_to_user` (REST outbox,
Telegram delivery queue)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List

import pytest
import redis

from bot.delivery import DeliveryQueue
from bot.errors import ConfigError, DataError
from bot.feedback import FeedbackStore, notify_status, send_weekly_digest, subscribe_digest, unsubscribe, week_of
from bot.feedback._weekly import parse_schedule
from bot.outbound import Outbound
from bot.storage import EmbeddedRedis
from bot.texts import Texts

SCHEDULE = "mon 00:00"
TEXTS = Texts(Path(__file__).resolve().parents[1] / "responses")  # the checkout's bot texts


@pytest.fixture
def red(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    return client


def digests(red: Any, sender: str) -> List[str]:
    return [m["text"] for m in Outbound(red).read_outbox(sender, "0") if "You asked, we shipped" in m.get("text", "")]


def test_the_schedule_is_checked_with_the_bad_value_shown() -> None:
    assert parse_schedule("fri 02:00") == (4, 2, 0) and parse_schedule("off") is None
    for bad in ("friday 25:00", "sometime", "fri 2"):
        with pytest.raises(ConfigError) as err:
            parse_schedule(bad)
        assert repr(bad) in str(err.value) and "fri 02:00" in str(err.value)
    week, due = week_of(datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc).timestamp(), (4, 2, 0))
    assert week == "2026-W49" and time.gmtime(due)[:5] == (2026, 12, 4, 2, 0)


def test_racing_digests_reach_each_of_many_subscribers_once(red: "redis.Redis[str]") -> None:
    store = FeedbackStore(red, use_vectors=False)
    item = store.create("Band 9 needs a stopwatch", sender_id="rest:first", kind="suggestion")
    store.set_status(item.id, "shipped", release="Band 9 firmware 2.2")
    readers = [f"rest:reader-{n}" for n in range(60)]
    for n, sender in enumerate(readers):
        subscribe_digest(red, sender, "zh" if n % 3 == 0 else "en")
    subscribe_digest(red, "telegram:77", "zh")
    unsubscribe(red, readers[0])  # from everything: the digest too
    now = time.time() + 7 * 86400

    async def race() -> List[Any]:
        return await asyncio.gather(*(send_weekly_digest(red, now=now, schedule=SCHEDULE, texts=TEXTS) for _ in range(4)))

    reports = asyncio.run(race())
    assert sum(len(r.sent) + len(r.queued) for r in reports) == 60, reports  # 59 REST readers + Telegram
    assert digests(red, readers[0]) == []
    for sender in readers[1:]:
        texts = [m["text"] for m in Outbound(red).read_outbox(sender, "0") if "📣" in m.get("text", "")]
        assert len(texts) == 1 and "Band 9 firmware 2.2" in texts[0], (sender, texts)
    assert any("因为你们说了" in m["text"] for m in Outbound(red).read_outbox(readers[3], "0"))
    assert DeliveryQueue(red, "telegram").depths()["queued"] == 1  # waits for a process with a Telegram sender
    again = asyncio.run(send_weekly_digest(red, now=now + 3600, schedule=SCHEDULE, texts=TEXTS))
    assert again.sent == [] and again.queued == [] and len(again.skipped) == 60


def test_racing_status_news_tell_each_voice_once(red: "redis.Redis[str]") -> None:
    store = FeedbackStore(red, use_vectors=False)
    item = store.create("Buds 5 need a low-latency game mode", sender_id="rest:v0", kind="suggestion")
    for n in range(1, 80):
        store.add_voice(item.id, f"rest:v{n}", how="vote")
    store.set_status(item.id, "planned")
    started = time.perf_counter()

    async def race() -> List[Any]:
        return await asyncio.gather(*(notify_status(store, item.id, texts=TEXTS) for _ in range(3)))

    reports = asyncio.run(race())
    assert sum(len(r.queued) for r in reports) == 80 and sum(len(r.skipped) for r in reports) == 160
    for n in range(80):
        assert len(Outbound(red).read_outbox(f"rest:v{n}", "0")) == 1
    assert time.perf_counter() - started < 30


def test_beta_invites_fall_back_and_declining_needs_what_to_do_instead(red: "redis.Redis[str]") -> None:
    from bot.fans import add_codes

    store = FeedbackStore(red, use_vectors=False)
    item = store.create("MilletOS needs app lock", sender_id="telegram:1", kind="suggestion")
    store.add_voice(item.id, "telegram:2", how="vote", language="zh")
    store.add_voice(item.id, "rest:web", how="vote")
    add_codes("os-beta", codes=["F-AAAABBBB"], red=red)  # one code for three voices
    store.set_status(item.id, "in_beta", campaign="os-beta", signup="https://beta.example.com/os")
    report = asyncio.run(notify_status(store, item.id, texts=TEXTS))
    assert len(report.queued) == 3
    web = Outbound(red).read_outbox("rest:web", "0")[0]["text"]
    assert "https://beta.example.com/os" in web and "F-" not in web
    granted = {s: red.get(f"canyu:fans:fgrant:os-beta:{s}") for s in ("telegram:1", "telegram:2")}
    assert sorted(map(str, granted.values())) == ["F-AAAABBBB", "None"], granted  # the second: the sign-up link
    with pytest.raises(DataError) as err:
        store.set_status(item.id, "declined", reason="too slow on older phones")
    assert "--instead" in str(err.value)
