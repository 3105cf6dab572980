"""Retention (privacy.yml) on a real Redis: expiries by last activity, streams trimmed by MINID, old feedback
text blanked with the counts kept, one sweeper per interval, and precise errors for a bad file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest
import redis as redis_lib

from bot.errors import ConfigError
from bot.privacy import FAMILIES, RETENTION_CLASSES, SWEEPS, RetentionPolicy, apply_retention, load_policy, parse_policy
from bot.privacy.inventory import RETENTION_KINDS
from bot.privacy.retention import SWEEP_LOCK, start_retention_thread, sweep_once

DAY = 86400
NOW = float(int(time.time()))  # "now" for the sweep; expiries are absolute, so it must be the real time
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def red(redis_server: Any) -> Iterator["redis_lib.Redis[str]"]:
    client = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()


def _tracker(red: Any, sender: str, last: float) -> str:
    key = f"canyu:tracker:{sender}"
    events = [{"event": "user", "timestamp": last - 60, "text": "hi"}, {"event": "bot", "timestamp": last, "text": "hello"}]
    red.set(key, json.dumps({"events": events, "name": sender}))
    return key


def policy(**days: Any) -> RetentionPolicy:
    values = {"trackers": 90, "events": 180, "handoff": 180, "outbox": 30, "feedback_text": 365}
    values.update(days)
    return RetentionPolicy(retention=values)


# ---------------------------------------------------------------- the sweep
def test_trackers_expire_by_their_last_event_and_old_ones_go_now(red: Any) -> None:
    fresh = _tracker(red, "rest:fresh", NOW - 10 * DAY)
    old = _tracker(red, "rest:old", NOW - 91 * DAY)
    red.hset("canyu:user:rest:fresh", mapping={"channel": "rest", "last_inbound": f"{NOW - 10 * DAY:.3f}"})
    report = apply_retention(red, policy(), now=NOW)
    assert not red.exists(old)
    # EXPIREAT: the key dies 90 days after its last event
    ttl = red.ttl(fresh)
    expected = int(NOW - 10 * DAY + 90 * DAY - time.time())
    assert abs(ttl - expected) <= 5, (ttl, expected)
    assert abs(red.ttl("canyu:user:rest:fresh") - expected) <= 5
    assert report["trackers"] == {"deleted": 1, "expiry_set": 1}


def test_null_days_keep_that_data(red: Any) -> None:
    key = _tracker(red, "rest:kept", NOW - 400 * DAY)
    apply_retention(red, policy(trackers=None), now=NOW)
    assert red.exists(key) and red.ttl(key) == -1


def test_event_and_rating_streams_are_trimmed_by_minid(red: Any) -> None:
    old_ms, new_ms = int((NOW - 181 * DAY) * 1000), int((NOW - 179 * DAY) * 1000)
    red.xadd("canyu:events", {"event": json.dumps({"sender_id": "rest:a", "text": "old"})}, id=f"{old_ms}-0")
    red.xadd("canyu:events", {"event": json.dumps({"sender_id": "rest:a", "text": "old too"})}, id=f"{old_ms}-1")
    red.xadd("canyu:events", {"event": json.dumps({"sender_id": "rest:a", "text": "new"})}, id=f"{new_ms}-0")
    red.xadd("canyu:analytics:ratings", {"sender_id": "rest:a", "value": "up"}, id=f"{old_ms}-0")
    red.xadd("canyu:analytics:ratings", {"sender_id": "rest:a", "value": "down"}, id=f"{new_ms}-0")
    report = apply_retention(red, policy(), now=NOW)
    assert [i for i, _ in red.xrange("canyu:events")] == [f"{new_ms}-0"]
    assert [f["value"] for _, f in red.xrange("canyu:analytics:ratings")] == ["down"]
    assert report["events"] == {"trimmed": 2} and report["answer_ratings"] == {"trimmed": 1}


def test_old_review_items_go_and_old_csat_ratings_lose_their_author(red: Any) -> None:
    red.hset("canyu:review:items", mapping={
        "1-0": json.dumps({"id": "1-0", "text": "old question", "sender": "rest:a", "ts": NOW - 200 * DAY}),
        "2-0": json.dumps({"id": "2-0", "text": "new question", "sender": "rest:a", "ts": NOW - 5 * DAY})})
    red.zadd("canyu:review:open", {"1-0": NOW - 200 * DAY, "2-0": NOW - 5 * DAY})
    red.rpush("canyu:csat:log", json.dumps({"sender_id": "rest:a", "rating": 5, "agent": "lin", "at": NOW - 200 * DAY}),
              json.dumps({"sender_id": "rest:b", "rating": 2, "agent": "lin", "at": NOW - DAY}))
    apply_retention(red, policy(), now=NOW)
    assert list(red.hkeys("canyu:review:items")) == ["2-0"] and red.zrange("canyu:review:open", 0, -1) == ["2-0"]
    log = [json.loads(x) for x in red.lrange("canyu:csat:log", 0, -1)]
    assert log == [{"rating": 5, "agent": "lin", "at": NOW - 200 * DAY},
                   {"sender_id": "rest:b", "rating": 2, "agent": "lin", "at": NOW - DAY}]


def test_handoff_logs_notes_and_grants_expire_after_their_last_entry_unless_open(red: Any) -> None:
    entry = lambda at: json.dumps({"what": "queued", "at": at})  # noqa: E731
    red.rpush("canyu:handoff_log:rest:old", entry(NOW - 300 * DAY), entry(NOW - 181 * DAY))
    red.rpush("canyu:handoff_log:rest:recent", entry(NOW - 300 * DAY), entry(NOW - 30 * DAY))
    red.rpush("canyu:handoff_notes:rest:recent", json.dumps({"agent": "lin", "text": "calls back", "at": NOW - 30 * DAY}))
    red.rpush("canyu:perk_grants:rest:old", json.dumps({"pool": "p", "code": "C1", "at": NOW - 200 * DAY}))
    red.rpush("canyu:handoff_log:rest:open", entry(NOW - 400 * DAY))
    red.hset("canyu:handoff:rest:open", mapping={"state": "queued"})
    red.lpush("canyu:handoff_resolved", json.dumps({"sender_id": "rest:old", "resolved_at": NOW - 200 * DAY}),
              json.dumps({"sender_id": "rest:recent", "resolved_at": NOW - 20 * DAY}))
    apply_retention(red, policy(), now=NOW)
    assert not red.exists("canyu:handoff_log:rest:old") and not red.exists("canyu:perk_grants:rest:old")
    expected = int(NOW - 30 * DAY + 180 * DAY - time.time())
    assert abs(red.ttl("canyu:handoff_log:rest:recent") - expected) <= 5
    assert abs(red.ttl("canyu:handoff_notes:rest:recent") - expected) <= 5
    assert red.exists("canyu:handoff_log:rest:open") and red.ttl("canyu:handoff_log:rest:open") == -1
    assert [json.loads(x)["sender_id"] for x in red.lrange("canyu:handoff_resolved", 0, -1)] == ["rest:recent"]


def test_outboxes_expire_from_the_first_sweep_that_saw_them(red: Any) -> None:
    red.rpush("canyu:outbox:rest:a", json.dumps({"recipient_id": "rest:a", "text": "agent reply"}))
    red.rpush("canyu:pending:wechat:oX", json.dumps({"recipient_id": "wechat:oX", "text": "later"}))
    apply_retention(red, policy(), now=NOW)
    assert abs(red.ttl("canyu:outbox:rest:a") - 30 * DAY) <= 5
    assert abs(red.ttl("canyu:pending:wechat:oX") - 30 * DAY) <= 5
    red.expire("canyu:outbox:rest:a", 1000)  # the clock runs on: a later sweep does not restart it
    apply_retention(red, policy(), now=NOW)
    assert red.ttl("canyu:outbox:rest:a") <= 1000


def test_dead_letters_older_than_the_outbox_limit_go(red: Any) -> None:
    from bot.delivery._queue import DeliveryQueue

    queue = DeliveryQueue(red, "telegram")
    old, new = (queue.create(f"telegram:{n}", [{"text": f"hello {n}"}]) for n in (1, 2))
    queue.bury(old, "HTTP 403")
    queue.bury(new, "HTTP 403")
    dead = red.lrange("canyu:delivery:telegram:dead", 0, -1)
    red.lset("canyu:delivery:telegram:dead", 0, json.dumps(dict(json.loads(dead[0]), dead_at=NOW - 31 * DAY)))
    red.lset("canyu:delivery:telegram:dead", 1, json.dumps(dict(json.loads(dead[1]), dead_at=NOW - 29 * DAY)))
    apply_retention(red, policy(), now=NOW)
    assert [item.sender for item in queue.dead_letters(limit=0)] == ["telegram:2"]


def test_old_feedback_text_is_blanked_and_the_counts_stay(red: Any) -> None:
    from bot.feedback import FeedbackStore

    store = FeedbackStore(red, use_vectors=False)
    item = store.create("the band 9 strap zorbleoldtext breaks", sender_id="rest:old", kind="complaint")
    store.add_voice(item.id, "rest:new", "band 9 strap snapped after a week", how="matched")
    raw = red.hget(f"canyu:feedback:voices:{item.id}", "rest:old")
    red.hset(f"canyu:feedback:voices:{item.id}", "rest:old", json.dumps(dict(json.loads(raw), ts=NOW - 400 * DAY)))
    report = apply_retention(red, policy(), now=NOW)
    voices = {v.sender_id: v for v in store.voices(item.id)}
    assert voices["rest:old"].text == "" and voices["rest:new"].text == "band 9 strap snapped after a week"
    assert store.get(item.id).count == 2
    assert report["feedback"] == {"text_blanked": 1}
    assert apply_retention(red, policy(), now=NOW).get("feedback") is None  # nothing left to blank


def test_short_lived_keys_missing_their_expiry_get_it(red: Any) -> None:
    red.hset("canyu:otp:rest:a", mapping={"order": "M2026110501", "tries": 0})
    red.set("canyu:wechat:buttons:wechat:oX", "[]", ex=100)
    apply_retention(red, policy(), now=NOW)
    assert 590 <= red.ttl("canyu:otp:rest:a") <= 600
    assert red.ttl("canyu:wechat:buttons:wechat:oX") <= 100


def test_one_sweeper_per_interval(red: Any) -> None:
    _tracker(red, "rest:old", time.time() - 100 * DAY)
    assert sweep_once(red, policy()) is not None
    assert not red.exists("canyu:tracker:rest:old")
    assert 0 < red.ttl(SWEEP_LOCK) <= 570
    _tracker(red, "rest:old", time.time() - 100 * DAY)
    assert sweep_once(red, policy()) is None  # another process swept a moment ago
    assert red.exists("canyu:tracker:rest:old")


def test_the_thread_sweeps_at_once_and_stops(red: Any, redis_server: Any) -> None:
    key = _tracker(red, "rest:old", time.time() - 100 * DAY)
    stop = threading.Event()
    thread = start_retention_thread(red, policy(), stop=stop)
    deadline = time.monotonic() + 10
    while red.exists(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not red.exists(key) and red.exists(SWEEP_LOCK)
    assert thread.daemon
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_every_family_has_a_known_retention_kind_and_every_kind_a_sweep() -> None:
    assert {f.retention for f in FAMILIES} <= set(RETENTION_KINDS)
    assert set(SWEEPS) == set(RETENTION_CLASSES)
    assert all(f.ttl_seconds for f in FAMILIES if f.retention == "ttl")


# ---------------------------------------------------------------- the file
def test_the_repo_file_is_valid_and_says_the_defaults() -> None:
    loaded = load_policy(REPO / "privacy.yml")
    assert dict(loaded.retention) == {"trackers": 90, "events": 180, "handoff": 180, "outbox": 30, "feedback_text": 365}
    assert loaded.interval_minutes == 10


def test_a_missing_file_means_the_defaults(tmp_path: Path) -> None:
    loaded = load_policy(tmp_path / "privacy.yml")
    assert loaded.days("trackers") == 90 and "not found" in loaded.source


@pytest.mark.parametrize("text, message", [
    ("retention:\n  trackers: 90\n  events: ninety\n",
     "x.yml:3: retention.events: 'ninety' is not a whole number of days; write e.g. 90, or null to keep until erased"),
    ("retention:\n  tracker: 90\n",
     "x.yml:2: retention.tracker: unknown kind of data; known kinds: trackers, events, handoff, outbox, feedback_text"),
    ("retention:\n  outbox: 0\n", "x.yml:2: retention.outbox: 0 days is out of range; write a number from 1 to 36500"),
    ("retention:\n  outbox: 2.5\n", "x.yml:2: retention.outbox: 2.5 is not a whole number of days"),
    ("retention: 90\n", "x.yml:1: retention: expected a mapping of kind: days, got 90"),
    ("retension:\n  trackers: 90\n", "x.yml:1: retension: unknown key; known keys: version, retention, sweep"),
    ("sweep:\n  interval_minutes: 0\n", "x.yml:2: sweep.interval_minutes: 0 is not a number of minutes between 1 and 1440"),
    ("retention:\n  trackers: [90\n", "x.yml:3: not valid YAML"),
])
def test_a_bad_file_names_the_file_line_key_and_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, source="x.yml")
    assert message in str(caught.value), str(caught.value)


def test_the_cli_sweeps_and_refuses_a_bad_file(redis_server: Any, red: Any, tmp_path: Path) -> None:
    key = _tracker(red, "rest:old", time.time() - 100 * DAY)
    env = dict(os.environ, REDIS_URL=redis_server.url, PYTHONPATH=str(REPO))
    bad = tmp_path / "privacy.yml"
    bad.write_text("retention:\n  trackers: -3\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "bot.cli", "privacy", "sweep", "--config", str(bad)], cwd=str(REPO),
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and f"{bad}:2: retention.trackers: -3 days is out of range" in run.stderr, run.stderr
    assert red.exists(key)
    run = subprocess.run([sys.executable, "-m", "bot.cli", "privacy", "sweep"], cwd=str(REPO), env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "trackers: deleted 1" in run.stdout, run.stdout + run.stderr
    assert not red.exists(key)


def test_the_public_surface_and_the_shared_key_names() -> None:
    import bot.privacy
    from bot import keys
    from bot.analytics._records import RATINGS_STREAM
    from bot.event_broker import EVENTS_STREAM
    from bot.followups._store import DUE_KEY
    from bot.privacy import inventory
    from bot.trainer.inbox import ANSWERS, ITEMS, OPEN

    public = {n for n, v in vars(bot.privacy).items() if not n.startswith("_") and not isinstance(v, ModuleType)}
    assert public == set(bot.privacy.__all__)
    assert (inventory.EVENTS_STREAM, inventory.RATINGS_STREAM) == (EVENTS_STREAM, RATINGS_STREAM)
    assert (inventory.REVIEW_ITEMS, inventory.REVIEW_OPEN, inventory.REVIEW_ANSWERS) == (ITEMS, OPEN, ANSWERS)
    assert keys.FOLLOWUPS_DUE == DUE_KEY
    assert (keys.REVIEW_ITEMS, keys.REVIEW_OPEN, keys.REVIEW_ANSWERS) == (ITEMS, OPEN, ANSWERS)
