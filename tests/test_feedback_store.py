"""Feedback items on a real (embedded) Redis: matching across languages, voices, statuses, notifying once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import redis

from bot.errors import DataError
from bot.feedback import FeedbackStore, digest_text, normalize_id, notify_shipped
from bot.storage import EmbeddedRedis
from bot.texts import Texts

TEXTS = Texts(Path(__file__).resolve().parents[1] / "responses")  # the checkout's bot texts


@pytest.fixture(scope="module")
def red(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    return redis.Redis.from_url(redis_server.url, decode_responses=True)


@pytest.fixture
def store(red: "redis.Redis[str]") -> FeedbackStore:
    red.flushdb()
    return FeedbackStore(red)


def test_two_languages_land_on_one_item(store: FeedbackStore) -> None:
    first = store.file("rest:alice", "battery drains fast on 14 Pro", language="en", channel="rest")
    second = store.file("telegram:42", "14 Pro 掉电快", language="zh", channel="telegram")
    assert first.outcome == "new"
    assert second.outcome == "joined"
    assert second.item.id == first.item.id
    assert second.item.count == 2 and second.others == 1
    assert second.item.title("zh") == "14 Pro 掉电快"
    assert second.item.title("en") == "battery drains fast on 14 Pro"


def test_english_paraphrase_joins_and_different_problem_does_not(store: FeedbackStore) -> None:
    first = store.file("u1", "My 14 Pro battery dies really quickly", language="en")
    again = store.file("u2", "the battery on my 14 pro drains so fast", language="en")
    other = store.file("u3", "14 Pro camera photos are blurry at night", language="en")
    band = store.file("u4", "Band 9 battery drains fast", language="en")
    assert again.item.id == first.item.id
    assert other.outcome == "new" and other.item.id != first.item.id
    assert band.outcome == "new" and band.item.id not in (first.item.id, other.item.id)


def test_one_person_counts_once(store: FeedbackStore) -> None:
    store.file("u1", "Please add dark mode to Band 9", kind="suggestion", language="en")
    again = store.file("u1", "band 9 dark mode please!!", kind="suggestion", language="en")
    assert again.outcome == "already" and again.item.count == 1
    item, added = store.add_voice(again.item.id, "u2", how="vote")
    assert added and item.count == 2
    _, added = store.add_voice(again.item.id, "u2", how="vote")
    assert not added


def test_status_rules_and_history(store: FeedbackStore) -> None:
    item = store.file("u1", "Buds 5 disconnect from bluetooth", language="en").item
    with pytest.raises(DataError):
        store.set_status(item.id, "declined")
    with pytest.raises(DataError):
        store.set_status(item.id, "shipped")
    with pytest.raises(DataError):
        store.set_status(item.id, "someday")
    store.set_status(item.id, "planned")
    store.set_status(item.id, "beta")
    done = store.set_status(item.id, "shipped", release="Buds firmware 1.4")
    assert done.status == "shipped" and done.shipped_at > 0
    assert [h["status"] for h in store.history(item.id)] == ["new", "planned", "in_beta", "shipped"]
    assert normalize_id("fb 7") == "FB7" and normalize_id("#12") == "FB12" and normalize_id("hello") is None


def test_shipped_message_goes_once_in_each_language(store: FeedbackStore) -> None:
    item = store.file("alice", "battery drains fast on 14 Pro", language="en", channel="rest").item
    store.file("telegram:42", "14 Pro 掉电快", language="zh", channel="telegram")
    sent: List[Dict[str, Any]] = []

    async def fake_send(sender_id: str, messages: List[Dict[str, Any]], channel: Optional[str] = None, redis: Any = None,
                        **kwargs: Any) -> Any:
        sent.append({"to": sender_id, "channel": channel, "text": messages[0]["text"]})

    store.set_status(item.id, "shipped", release="MilletOS 2.3 this Friday", release_zh="本周五的 MilletOS 2.3")
    report = asyncio.run(notify_shipped(store, item.id, send=fake_send, texts=TEXTS))
    again = asyncio.run(notify_shipped(store, item.id, send=fake_send, texts=TEXTS))
    assert sorted(report.sent) == ["alice", "telegram:42"] and again.sent == [] and len(again.skipped) == 2
    by_user = {m["to"]: m for m in sent}
    assert "MilletOS 2.3 this Friday" in by_user["alice"]["text"] and "2 fans" in by_user["alice"]["text"]
    assert "本周五的 MilletOS 2.3" in by_user["telegram:42"]["text"] and "2 位" in by_user["telegram:42"]["text"]
    assert by_user["telegram:42"]["channel"] == "telegram"


def test_failed_send_is_retried_next_time(store: FeedbackStore) -> None:
    item = store.file("bob", "Band 9 needs dark mode", language="en", kind="suggestion").item
    store.set_status(item.id, "shipped", release="Band 9 firmware 2.0")

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("network down")

    assert asyncio.run(notify_shipped(store, item.id, send=broken, texts=TEXTS)).failed
    calls: List[str] = []

    async def ok(sender_id: str, messages: List[str], **kwargs: Any) -> Any:
        calls.append(sender_id)

    assert asyncio.run(notify_shipped(store, item.id, send=ok, texts=TEXTS)).sent == ["bob"]
    assert calls == ["bob"]


def test_digest_lists_shipped_items(store: FeedbackStore) -> None:
    assert "Nothing new" in digest_text(store, "en")
    item = store.file("u1", "Band 9 needs dark mode", language="en", kind="suggestion").item
    store.add_voice(item.id, "u2")
    store.set_status(item.id, "shipped", release="Band 9 firmware 2.0")
    text = digest_text(store, "en")
    assert "Band 9 needs dark mode" in text and "2 fans" in text and "Band 9 firmware 2.0" in text
    assert "2 位米粉" in digest_text(store, "zh")


def test_a_close_call_is_asked_not_guessed(store: FeedbackStore) -> None:
    first = store.file("u1", "battery drains fast on 14 Pro", language="en").item
    close = store.file("u2", "my phone battery dies quickly and gets hot", language="en")
    assert close.outcome == "ask" and close.candidate.id == first.id and close.item is None
    assert store.get(first.id).count == 1  # nothing filed until the user answers
    paraphrase = store.file("u3", "please add a night theme to the band app", kind="suggestion", language="en")
    joined = store.file("u4", "Band 9 needs dark mode", kind="suggestion", language="en")
    assert joined.outcome == "joined" and joined.item.id == paraphrase.item.id


def test_public_surfaces_are_complete() -> None:
    import bot.analytics
    import bot.fans
    import bot.feedback

    for module in (bot.feedback, bot.fans, bot.analytics):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, f"{module.__name__}.__all__ names missing attributes: {missing}"
        public = {n for n in vars(module) if not n.startswith("_") and not hasattr(getattr(module, n), "__path__")
                  and getattr(getattr(module, n), "__module__", module.__name__).startswith(module.__name__)}
        assert public <= set(module.__all__) | {"annotations"}, public - set(module.__all__)
