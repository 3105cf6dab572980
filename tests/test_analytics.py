"""Analytics: figures from a seeded set of conversations, as data, CSV, and a page in real headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis
import requests

from bot.analytics import add_entry, compute_report, record_rating, report_csv, report_text
from bot.feedback import FeedbackStore
from bot.storage import EmbeddedRedis
from tests.browser import chromium, log_in, wait_for

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
NOW = time.time()
EXPECTED = {
    "conversations": 10, "containment_pct": 70.0, "escalation_pct": 30.0, "csat_avg": 3.67, "csat_satisfied": 66.7,
    "up_pct": 75.0, "shipped_share": 50.0,
}


def _event(red: Any, ts: float, **event: Any) -> None:
    event.setdefault("timestamp", ts)
    add_entry(red, "canyu:events", {"event": json.dumps(event, ensure_ascii=False)}, ts)


def seed(red: "redis.Redis[str]") -> None:
    """10 conversations in the last day (3 escalated, 3 unanswered questions), one 10 days old."""
    red.flushdb()
    _event(red, NOW - 10 * 86400, event="user", sender_id="old", text="hi", parse_data={"intent": {"name": "greet"}})
    _event(red, NOW - 10 * 86400 + 1, event="action", sender_id="old", name="action_handoff")
    t = NOW - 86400
    questions = {3: ("Can I pay with crypto?", "nlu_fallback"), 4: ("can I pay with  crypto?", "nlu_fallback"),
                 5: ("Does it work on Mars", "out_of_scope")}
    for i in range(10):
        sender = f"c{i}"
        text, intent = questions.get(i, ("how long does the 14 Pro take to charge", "ask_product"))
        t += 60
        _event(red, t, event="user", sender_id=sender, text=text, parse_data={"intent": {"name": intent}})
        _event(red, t + 1, event="action", sender_id=sender,
               name="action_fallback" if i == 5 else "action_answer_product")
        if i < 3:
            _event(red, t + 2, event="user", sender_id=sender, text="human please",
                   parse_data={"intent": {"name": "human_handoff"}})
            _event(red, t + 3, event="action", sender_id=sender, name="action_handoff")
            reason = "Angry customer" if i == 2 else "Asked for a person"
            red.rpush(f"canyu:handoff_log:{sender}", json.dumps({"what": "queued", "at": t + 3, "reason": reason}))
    for rating, at in ((5, NOW - 3000), (4, NOW - 2000), (2, NOW - 1000), (1, NOW - 20 * 86400)):
        red.rpush("canyu:csat:log", json.dumps({"sender_id": "c0", "rating": rating, "agent": "lin", "at": at}))
    for i, value in enumerate(["up", "up", "down", "up"]):
        record_rating(f"c{i + 5}", value, red=red, ts=NOW - 500 + i)
    store = FeedbackStore(red, use_vectors=False)
    shipped = store.file("c6", "Band 9 needs dark mode", kind="suggestion", language="en").item
    store.add_voice(shipped.id, "c7", "手环9 希望加深色模式", language="zh", how="matched")
    store.set_status(shipped.id, "shipped", release="Band 9 firmware 2.0")
    store.claim_notification(shipped.id, "c6")
    store.file("c8", "14 Pro camera photos are blurry at night", language="en")
    planned = store.file("c9", "Buds 5 disconnect from bluetooth all the time", language="en").item
    store.set_status(planned.id, "planned")


@pytest.fixture(scope="module")
def red(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    seed(client)
    return client


def test_report_figures_match_the_seeded_conversations(red: "redis.Redis[str]") -> None:
    r = compute_report(NOW - 7 * 86400, time.time() + 1, red)
    assert r["conversations"] == EXPECTED["conversations"]
    assert r["containment_pct"] == EXPECTED["containment_pct"] and r["contained"] == 7
    assert r["escalation_pct"] == EXPECTED["escalation_pct"]
    assert r["escalations_by_reason"][0] == {"reason": "Asked for a person", "count": 2, "pct_of_conversations": 20.0}
    assert r["csat"]["average"] == EXPECTED["csat_avg"] and r["csat"]["satisfied_pct"] == EXPECTED["csat_satisfied"]
    assert r["answers"] == {"up": 3, "down": 1, "up_pct": EXPECTED["up_pct"]}
    assert r["unanswered"] == [{"text": "Can I pay with crypto?", "count": 2}, {"text": "Does it work on Mars", "count": 1}]
    assert r["feedback_by_status"] == {"new": 1, "planned": 1, "in_beta": 0, "shipped": 1, "declined": 0}
    assert r["shipped_messages"] == {"shipped_items": 1, "voices": 2, "told": 1, "share": EXPECTED["shipped_share"]}
    older = compute_report(NOW - 30 * 86400, time.time() + 1, red)
    assert older["conversations"] == 11 and older["csat"]["ratings"] == 4
    rows = list(csv.reader(io.StringIO(report_csv(r))))
    assert ["summary", "containment_pct", "70.0"] in rows and ["unanswered", "Can I pay with crypto?", "2"] in rows
    assert "containment             70.0%" in report_text(r)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def console(redis_server: EmbeddedRedis, red: "redis.Redis[str]", tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from bot.cli.console import add_user

    add_user("tina", "trainer", "analytics-pass-123", redis=red)
    port = _free_port()
    env = dict(os.environ, REDIS_URL=redis_server.url, PYTHONPATH=str(REPO), CANYU_CONSOLE_SECRET="test-secret")
    log = open(tmp_path_factory.mktemp("console") / "console.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bot.console", "--port", str(port)], cwd=str(REPO), env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/login", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.3)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium("1280,1600") as driver:
        yield driver


def test_analytics_page_in_headless_chromium(console: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, console, "tina", "analytics-pass-123", next_path="/analytics")
    browser.get(console + "/analytics?days=7")
    text = lambda el_id: browser.find_element(By.ID, el_id).text.strip()  # noqa: E731
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "analytics.png"))
    assert text("conversations") == "10"
    assert text("containment") == "70.0%"
    assert text("escalation-rate") == "30.0%"
    assert text("csat-avg") == "3.67"
    assert text("csat-satisfied") == "66.7%"
    assert text("up-rate") == "75.0%"
    assert text("shipped-share").startswith("50.0%")
    bars = {b.get_attribute("data-label"): b.get_attribute("data-value")
            for b in browser.find_elements(By.CSS_SELECTOR, "#chart-reasons g.bar")}
    assert bars == {"Asked for a person": "2", "Angry customer": "1"}
    rect = browser.find_element(By.CSS_SELECTOR, "#chart-reasons g.bar rect")
    assert rect.size["width"] > 50  # drawn, not just present
    assert "Can I pay with crypto?" in text("unanswered")
    csv_href = browser.find_element(By.ID, "csv-link").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    exported = requests.get(csv_href, cookies=cookies, timeout=10)
    assert exported.status_code == 200 and "containment_pct,70.0" in exported.text

    browser.get(console + "/feedback")
    browser.save_screenshot(str(ARTIFACTS / "feedback.png"))
    table = browser.find_element(By.ID, "feedback-items").text
    assert "Band 9 needs dark mode" in table and "shipped" in table
    browser.get(console + "/feedback/shipped")
    assert "2 fans asked" in browser.find_element(By.ID, "digest-en").text
    assert "2 位米粉" in browser.find_element(By.ID, "digest-zh").text


def test_feedback_status_changes_from_the_console(console: str, browser: Any, red: "redis.Redis[str]") -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    browser.get(console + "/feedback")
    if "/login" in browser.current_url:
        log_in(browser, console, "tina", "analytics-pass-123", next_path="/feedback")
    store = FeedbackStore(red, use_vectors=False)
    item = next(i for i in store.all() if i.status == "new")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{item.id}"]')
    Select(row.find_element(By.NAME, "status")).select_by_value("in_beta")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: f"{item.id} is now in_beta" in browser.find_element(By.ID, "fb-message").text,
             what="the in_beta confirmation")
    assert store.get(item.id).status == "in_beta"
    assert store.history(item.id)[-1]["by"] == "tina"
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{item.id}"]')
    Select(row.find_element(By.NAME, "status")).select_by_value("declined")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: "needs a reason" in browser.find_element(By.ID, "fb-error").text, what="the missing-reason error")
    browser.save_screenshot(str(ARTIFACTS / "feedback-declined-error.png"))
