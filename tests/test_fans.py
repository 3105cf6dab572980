"""Fan profiles, tier rules, identity links and early-access codes on a real (embedded) Redis."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest
import redis

from bot.errors import DataError
from bot.fans import (
    AlreadyRedeemed,
    LinkError,
    NotEligible,
    PoolEmpty,
    add_codes,
    create_link_code,
    explain_status,
    find_link_code,
    grant_code,
    grant_tier,
    has_privilege,
    identities,
    priority_for,
    profile_id,
    queue_note,
    redeem_code,
    redeem_link_code,
    redemptions,
    status_of,
    tier_of,
)
from bot.fans._rules import load_rules, parse_rules, rules_path
from bot.feedback import FeedbackStore
from bot.settings import load_settings
from bot.storage import EmbeddedRedis

REPO = Path(__file__).resolve().parents[1]
RULES = load_rules(rules_path(load_settings()))
"""The fan tiers of this checkout (fans.yml), as a composition root hands them down."""


@pytest.fixture
def red(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    return client


def _user_events(red: "redis.Redis[str]", sender: str, n: int, day: float) -> None:
    for i in range(n):
        red.xadd("canyu:events", {"event": json.dumps({"event": "user", "sender_id": sender, "text": "hi",
                                                        "timestamp": day + i})})


def test_tiers_follow_the_rules(red: "redis.Redis[str]") -> None:
    newbie, chatty, idea, tester = "wechat:oNewbie", "telegram:1001", "wechat:oIdea", "telegram:1002"
    assert priority_for(newbie, red, RULES) == ("newcomer", 0)
    _user_events(red, chatty, 25, time.time())
    assert tier_of(chatty, red, RULES) == "fan"
    store = FeedbackStore(red, use_vectors=False)
    item = store.file(idea, "Band 9 needs dark mode", kind="suggestion", language="en").item
    assert status_of(idea, red, RULES).reason == "feedback"
    store.set_status(item.id, "shipped", release="Band 9 firmware 2.0")
    status = status_of(idea, red, RULES)
    assert status.tier.id == "core_fan" and status.reason == "shipped_feedback"
    assert item.id in explain_status(idea, "en", red, rules=RULES) and "core fan" in explain_status(idea, "en", red, rules=RULES)
    assert "核心米粉" in explain_status(idea, "zh", red, rules=RULES)
    grant_tier(tester, "beta_tester", by="lin", red=red, rules=RULES)
    assert priority_for(tester, red, RULES) == ("beta_tester", 30)
    assert has_privilege(tester, "beta_answers", red, RULES) and not has_privilege(newbie, "beta_answers", red, RULES)
    assert "beta tester" in queue_note(tester, "en", red, rules=RULES) and "内测用户" in queue_note(tester, "zh", red, rules=RULES)
    assert queue_note(newbie, "en", red, rules=RULES) == ""
    why = explain_status(tester, "en", red, rules=RULES)
    assert "beta tester" in why and "ahead in the queue" in why


def test_unverified_identities_earn_no_tier_and_hear_why(red: "redis.Redis[str]") -> None:
    _user_events(red, "rest:chatty", 25, time.time())
    _user_events(red, "legacy-chatty", 25, time.time())
    FeedbackStore(red, use_vectors=False).file("rest:idea", "Band 9 needs dark mode", kind="suggestion", language="en")
    for sender in ("rest:chatty", "legacy-chatty", "rest:idea"):
        status = status_of(sender, red, RULES)
        assert (status.tier.id, status.reason) == ("newcomer", "unverified"), sender
    assert status_of("rest:chatty", red, RULES).stats["messages"] == 0
    assert "WeChat or Telegram" in explain_status("rest:idea", "en", red, rules=RULES)
    assert "微信或 Telegram" in explain_status("rest:idea", "zh", red, rules=RULES)
    grant_tier("rest:vip", "beta_tester", by="lin", red=red, rules=RULES)  # staff may still queue someone ahead
    assert priority_for("rest:vip", red, RULES) == ("beta_tester", 30)
    assert has_privilege("rest:vip", "priority_queue", red, RULES) and not has_privilege("rest:vip", "beta_answers", red, RULES)
    why = explain_status("rest:vip", "en", red, rules=RULES)
    assert "ahead in the queue" in why and "beta builds" not in why and "early-access" not in why, why


def test_rule_errors_name_file_and_line() -> None:
    bad = "tiers:\n  - id: fan\n    any:\n      - karma: 3\n    default: true\nprivileges: {}\n"
    with pytest.raises(DataError) as err:
        parse_rules(bad, file="fans.yml")
    assert "fans.yml:4" in str(err.value) and "karma" in str(err.value)
    with pytest.raises(DataError):
        parse_rules("tiers:\n  - id: fan\n    queue_boost: 1\nprivileges: {}\n")


def test_link_two_identities_with_a_one_time_code(red: "redis.Redis[str]") -> None:
    store = FeedbackStore(red, use_vectors=False)
    store.file("telegram:42", "14 Pro battery drains fast", language="en")
    code = create_link_code("wechat:oAbC", red)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}", code), code
    typed = code.lower().replace("-", " ")  # case and separator do not matter
    assert redeem_link_code("telegram:42", typed, red) == "wechat:oAbC"
    assert profile_id("telegram:42", red) == "wechat:oAbC"
    assert identities("wechat:oAbC", red) == ["telegram:42", "wechat:oAbC"]
    assert [i.id for i in store.items_of("wechat:oAbC")] == ["FB1"]
    again = store.file("wechat:oAbC", "14 Pro 掉电快", language="zh")
    assert again.outcome == "already" and again.item.count == 1
    with pytest.raises(LinkError):
        redeem_link_code("telegram:99", code, red)


@pytest.mark.parametrize("text, code", [
    ("link 7KQ4M-9XDPH", "7KQ4M9XDPH"),
    ("绑定 7kq4m 9xdph", "7KQ4M9XDPH"),
    ("绑定7KQ4M9XDPH", "7KQ4M9XDPH"),
    ("my link code is 7kq4m - 9xdph", "7KQ4M9XDPH"),
    ("link 482913", "482913"),  # an old-style code fails instead of asking for a new one
    ("link my accounts", None),
    ("these two accounts are both me", None),
    ("link my WeChat and Telegram", None),
])
def test_a_code_is_found_in_the_message(text: str, code: Optional[str]) -> None:
    assert find_link_code(text) == code


def test_fcode_granted_once_and_redeemed_once(red: "redis.Redis[str]") -> None:
    codes = add_codes("band9-launch", count=2, title_en="the Band 9 launch", red=red)
    assert len(codes) == 2
    with pytest.raises(NotEligible):
        grant_code("wechat:oNewbie", "band9-launch", red, rules=RULES)
    grant_tier("wechat:oTester", "beta_tester", red=red, rules=RULES)
    first = grant_code("wechat:oTester", "band9-launch", red, rules=RULES)
    again = grant_code("wechat:oTester", "band9-launch", red, rules=RULES)
    assert first.new and not again.new and again.code == first.code
    record = redeem_code(first.code, "M2026110501", red)
    assert record["profile"] == "wechat:oTester"
    with pytest.raises(AlreadyRedeemed) as err:
        redeem_code(first.code.lower(), "M2026110502", red)
    assert err.value.redeemed_by == "M2026110501"
    assert len(redemptions(red)) == 1
    grant_tier("telegram:7", "beta_tester", red=red, rules=RULES)
    grant_code("telegram:7", "band9-launch", red, rules=RULES)
    grant_tier("telegram:8", "core_fan", red=red, rules=RULES)
    with pytest.raises(PoolEmpty):
        grant_code("telegram:8", "band9-launch", red, rules=RULES)


def _bot(url: str, *args: str) -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, REDIS_URL=url, PYTHONPATH=str(REPO), RASA_TELEMETRY_ENABLED="false")
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=str(REPO), env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_lists_shows_and_ships(redis_server: EmbeddedRedis, red: "redis.Redis[str]") -> None:
    store = FeedbackStore(red, use_vectors=False)
    item = store.file("rest:cli", "Band 9 needs dark mode", kind="suggestion", language="en").item
    listed = _bot(redis_server.url, "feedback", "list")
    assert listed.returncode == 0 and f"{item.id}\tnew\t1 voice(s)" in listed.stdout, listed.stderr
    refused = _bot(redis_server.url, "feedback", "set-status", item.id, "declined")
    assert refused.returncode == 2 and "needs a reason" in refused.stderr
    shipped = _bot(redis_server.url, "feedback", "set-status", item.id, "shipped", "--release", "Band 9 firmware 2.0")
    # a REST user's messages wait in their outbox until the client fetches them
    assert shipped.returncode == 0 and "waiting for next contact 1" in shipped.stdout, shipped.stderr
    assert json.loads(red.lpop("canyu:outbox:rest:cli"))["text"].startswith("You asked for it")
    assert "[told: shipped]" in _bot(redis_server.url, "feedback", "show", item.id).stdout
    shown = _bot(redis_server.url, "fans", "show", "rest:cli").stdout  # shipped, but not a verified identity
    assert "tier newcomer (queue boost 0) because unverified" in shown and '"shipped_feedback": 1' in shown, shown
    report = _bot(redis_server.url, "analytics", "--days", "1")
    assert "told it shipped         100.0%" in report.stdout, report.stdout + report.stderr
