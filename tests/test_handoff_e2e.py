"""Human handoff end to end: real Rasa (two instances), real action server, real Redis, the console in a
real headless Chromium.

Uses the shared `assistant` once config.yml has the EscalationPolicy and credentials.yml our REST
channel; until then it trains the same model with the policy added (into var/handoff-test/) and runs
its own stack.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests

from bot.cli.console import add_user
from bot.runner import Stack, free_port
from bot.settings import load_settings
from tests.browser import chromium, submit_login, wait_for
from tests.harness import Assistant, new_sender

HOME = load_settings().home
ARTIFACTS = HOME / "tests" / "artifacts"
AGENT, AGENT_PW = "lin", "lin-Handoff-Pass-1"
AGENT2, AGENT2_PW = "mei", "mei-Handoff-Pass-2"
POLICY = "bot.handoff.policy.EscalationPolicy"
CHANNEL = "connectors.rest.RestInput"


def _settings(data_dir: Path, redis_url: Optional[str] = None, actions_port: Optional[int] = None) -> Any:
    s = load_settings()
    return replace(s, data_dir=data_dir, redis_url=redis_url, rasa_port=free_port(),
                   actions_port=actions_port or free_port(), console_port=free_port())


def _own_model() -> Path:
    from bot.training import train

    config = (HOME / "config.yml").read_text(encoding="utf-8")
    if POLICY not in config:
        config = config.rstrip() + f"\n  - name: {POLICY}\n"
    folder = HOME / "var" / "handoff-test"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yml").write_text(config, encoding="utf-8")
    return train(HOME, config="var/handoff-test/config.yml", out=folder / "models").model


def _own_credentials(folder: Path) -> Path:
    if CHANNEL in (HOME / "credentials.yml").read_text(encoding="utf-8"):
        return HOME / "credentials.yml"
    lines = [l for l in (HOME / "credentials.yml").read_text(encoding="utf-8").splitlines() if l.strip() != "rest:"]
    path = folder / "credentials.yml"
    path.write_text("\n".join(lines + [f"{CHANNEL}:", ""]), encoding="utf-8")
    return path


class Deployment:
    """One or two Rasa instances on one Redis, an action server and the console."""

    def __init__(self, main: Assistant, second: Assistant, owned: List[Stack]) -> None:
        self.main, self.second, self.owned = main, second, owned

    def say(self, sender: str, text: str, via: Optional[Assistant] = None) -> List[Dict[str, Any]]:
        return (via or self.main).say(sender, text)

    def outbox(self, sender: str, wait: float = 10.0, via: Optional[Assistant] = None) -> List[Dict[str, Any]]:
        return (via or self.main).outbox(sender, wait)


@pytest.fixture(scope="module")
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    owned: List[Stack] = []
    ready = POLICY in (HOME / "config.yml").read_text() and CHANNEL in (HOME / "credentials.yml").read_text()
    folder = tmp_path_factory.mktemp("handoff")
    token = "t" + os.urandom(12).hex()
    try:
        if ready:
            main: Assistant = request.getfixturevalue("assistant")
            model, credentials, token = main.stack.model, main.stack.credentials, main.token
        else:
            model, credentials = _own_model(), _own_credentials(folder)
            stack = Stack(settings=_settings(folder / "one"), model=model, credentials=credentials, rasa_token=token)
            owned.append(stack)
            stack.start()
            main = Assistant(stack)
        second_stack = Stack(
            settings=_settings(folder / "two", redis_url=main.redis_url, actions_port=main.stack.settings.actions_port),
            model=model, credentials=credentials, rasa_token=token, with_actions=False, with_console=False,
        )
        owned.append(second_stack)
        second_stack.start()
        add_user(AGENT, "agent", AGENT_PW, redis=main.redis)
        add_user(AGENT2, "agent", AGENT2_PW, redis=main.redis)
        yield Deployment(main, Assistant(second_stack), owned)
    finally:
        for stack in reversed(owned):
            stack.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium("1600,1000") as driver:
        yield driver


def shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"handoff-{name}.png"))


def queue_senders(driver: Any) -> List[str]:
    from selenium.webdriver.common.by import By

    return [r.get_attribute("data-sender") for r in driver.find_elements(By.CSS_SELECTOR, "#queue tr.queue-row")]


def transcript_texts(driver: Any) -> List[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#transcript .msg .text")]


def open_row(driver: Any, sender: str, button: str) -> None:
    from selenium.webdriver.common.by import By

    row = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, f'tr.queue-row[data-sender="{sender}"]'),
                   what=f"{sender} in the console")
    row.find_element(By.CSS_SELECTOR, f"button.{button}").click()


def test_handoff_end_to_end_in_the_browser(deployment: Deployment, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    user = new_sender("rest-user")
    replies = deployment.say(user, "转人工")
    assert replies and "转" in "".join(m.get("text", "") for m in replies) or replies, replies
    console = deployment.main.console_url

    submit_login(browser, console, AGENT, "wrong-password-1", "/agent")
    wait_for(lambda: browser.find_element(By.ID, "login-error").text, what="the login error")
    assert "/login" in browser.current_url
    submit_login(browser, console, AGENT, AGENT_PW, "/agent")
    wait_for(lambda: browser.current_url.endswith("/agent"), what="the queue page")

    open_row(browser, user, "claim")
    wait_for(lambda: "转人工" in transcript_texts(browser), what="the transcript")
    reply_box = wait_for(lambda: browser.find_element(By.ID, "reply-text").is_displayed() and
                         browser.find_element(By.ID, "reply-text"), what="the reply box")
    shot(browser, "claimed")
    history = wait_for(lambda: [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#context-history li")
                                if "Handoff" in li.text], what="the user's history in the context")
    assert any("queued" in h for h in history), history  # this very handoff, as the history records it
    reply_box.send_keys("你好，我是林，人工客服。我来帮你看看。")
    browser.find_element(By.ID, "reply-send").click()

    received = deployment.outbox(user)
    if len(received) < 2:  # the intro went out on claim, the reply may come a moment later
        received += deployment.outbox(user)
    # the claim told the user who is there ("我是lin，接下来我来帮你。"), then the agent's own words
    assert [m["text"] for m in received] == [f"我是{AGENT}，接下来我来帮你。", "你好，我是林，人工客服。我来帮你看看。"]
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#transcript .msg.agent"), what="the agent's reply")

    assert deployment.say(user, "我的耳机左边没声音") == []  # the bot stays silent
    wait_for(lambda: "我的耳机左边没声音" in transcript_texts(browser), what="the user's message, live")
    shot(browser, "live")

    wait_for(lambda: browser.find_element(By.ID, "resolve"), what="the resolve button").click()
    asked = deployment.outbox(user)
    assert asked and [b["title"] for b in asked[0].get("buttons", [])] == ["1", "2", "3", "4", "5"], asked
    thanks = deployment.say(user, asked[0]["buttons"][4]["payload"])
    assert thanks and thanks[0].get("text"), thanks
    again = deployment.say(user, "你好")
    assert again and again[0].get("text"), "the bot answers again after the handoff"

    events = deployment.main.tracker(user)["events"]
    agent_events = [e for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("agent") == AGENT]
    assert [e["text"] for e in agent_events] == [f"我是{AGENT}，接下来我来帮你。", "你好，我是林，人工客服。我来帮你看看。"]
    assert any(e["event"] == "user" and e.get("text") == "我的耳机左边没声音" for e in events)
    assert deployment.main.redis.lrange("canyu:csat:log", 0, -1)


def test_urgent_safety_message_and_vip_jump_the_queue(deployment: Deployment, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    normal, vip, urgent = new_sender("normal"), new_sender("vip"), new_sender("urgent")
    deployment.say(normal, "talk to a human please")
    deployment.main.redis.set(f"canyu:tier:{vip}", "vip")
    deployment.say(vip, "转人工")
    time.sleep(0.2)
    replies = deployment.say(urgent, "My power bank is swelling and smells like smoke")
    assert "unplug" in replies[0]["text"].lower(), replies
    submit_login(browser, deployment.main.console_url, AGENT, AGENT_PW, "/agent")
    order = wait_for(lambda: (lambda s: s if {urgent, vip, normal} <= set(s) else None)(queue_senders(browser)),
                     what="the three users in the queue")
    assert order.index(urgent) < order.index(vip) < order.index(normal)
    row = browser.find_element(By.CSS_SELECTOR, f'tr.queue-row[data-sender="{urgent}"]')
    assert "URGENT" in row.text and "Safety" in row.text
    shot(browser, "urgent-first")


def test_user_html_shows_as_text_in_the_console(deployment: Deployment, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    user = new_sender("xss")
    deployment.say(user, "转人工")
    evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> 你好'
    assert deployment.say(user, evil) == []
    submit_login(browser, deployment.main.console_url, AGENT, AGENT_PW, "/agent")
    open_row(browser, user, "open")
    wait_for(lambda: evil in transcript_texts(browser), what="the HTML shown as text")
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "#transcript img") == []
    assert browser.find_elements(By.CSS_SELECTOR, "#transcript script") == []
    shot(browser, "xss-as-text")


def test_two_rasa_instances_honour_one_handoff(deployment: Deployment) -> None:
    user = new_sender("two")
    one, two = deployment.main, deployment.second
    assert two.say(user, "hi")  # both answer before the handoff
    assert one.say(user, "转人工")
    assert two.say(user, "hello? anyone there") == []
    assert one.say(user, "still waiting") == []
    assert two.say(user, "what is the battery of the Millet Phone 14") == []
    texts = [e.get("text") for e in two.tracker(user)["events"] if e["event"] == "user"]
    assert texts[-3:] == ["hello? anyone there", "still waiting", "what is the battery of the Millet Phone 14"]
    assert deployment.main.redis.hget(f"canyu:handoff:{user}", "state") == "queued"


def test_a_new_rasa_session_does_not_unpause_a_waiting_conversation(deployment: Deployment) -> None:
    user = new_sender("session")
    assert deployment.say(user, "转人工")
    requests.post(f"{deployment.main.url}/conversations/{user}/tracker/events", params={"token": deployment.main.token},
                  json=[{"event": "session_started"}], timeout=60).raise_for_status()  # as when the session expires
    again = deployment.say(user, "还要等多久？")
    assert len(again) == 1 and "排队" in again[0]["text"], again
    assert deployment.say(user, "好的", via=deployment.second) == []
    assert deployment.main.redis.hget(f"canyu:handoff:{user}", "state") == "queued"


def test_no_agent_timeout_tells_the_user_and_keeps_the_queue(deployment: Deployment) -> None:
    user = new_sender("slow")
    deployment.say(user, "I want to talk to a human")
    r = deployment.main.redis
    key = f"canyu:handoff:{user}"
    queued_at = float(r.hget(key, "queued_at") or 0)
    r.hset(key, "queued_at", f"{queued_at - 3600:.3f}")  # as if nobody took it for an hour
    notice = deployment.outbox(user, wait=20)
    assert notice and "this chat" in notice[0]["text"], notice
    assert r.hget(key, "state") == "queued" and r.hget(key, "timeout_notified")
    assert deployment.outbox(user, wait=6) == []  # told once


def test_notes_transfer_and_perks(deployment: Deployment) -> None:
    import re

    user = new_sender("perk")
    deployment.say(user, "退款被拒了，凭什么")
    deployment.main.redis.sadd("canyu:perk_pool:sorry_coupon", "SORRY-0001")
    url = deployment.main.console_url
    s = requests.Session()
    page = s.get(url + "/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    s.post(url + "/login", data={"username": AGENT, "password": AGENT_PW, "csrf_token": token})
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', s.get(url + "/agent").text).group(1)  # type: ignore[union-attr]
    h = {"X-CSRF-Token": csrf}
    base = f"{url}/api/conversations/{user}"
    assert s.post(base + "/reply", json={"text": "hi"}, headers=h).status_code == 409  # claim first
    assert s.post(base + "/claim", json={}, headers=h).status_code == 200
    assert s.post(base + "/claim", json={}, headers=h).status_code == 409
    assert s.post(base + "/note", json={"text": "refund case R-77"}, headers=h).status_code == 200
    grant = s.post(base + "/perk", json={"pool": "sorry_coupon"}, headers=h)
    assert grant.status_code == 200 and grant.json()["grant"]["code"] == "SORRY-0001"
    got = [m["text"] for m in deployment.outbox(user)]
    assert got[0] == f"我是{AGENT}，接下来我来帮你。", got  # told on claim who is there
    assert any("SORRY-0001" in t and "20" in t for t in got[1:]), got
    assert s.post(base + "/perk", json={"pool": "sorry_coupon"}, headers=h).status_code == 409  # pool empty
    ctx = s.get(base + "/context").json()
    assert ctx["record"]["rule"] == "refund_dispute" and ctx["notes"][0]["text"] == "refund case R-77"
    assert ctx["perks_granted"][0]["code"] == "SORRY-0001" and ctx["language"] == "zh"
    assert s.post(base + "/transfer", json={"to": AGENT2}, headers=h).status_code == 200
    assert s.post(base + "/reply", json={"text": "hi"}, headers=h).status_code == 403  # not mine any more
    assert deployment.main.redis.hget(f"canyu:handoff:{user}", "agent") == AGENT2


def test_no_secret_in_logs(deployment: Deployment) -> None:
    token = deployment.main.token
    for stack in [deployment.main.stack, deployment.second.stack]:
        for child in stack.children.values():
            text = child.log.read_text(errors="replace") if child.log and child.log.exists() else ""
            assert AGENT_PW not in text and AGENT2_PW not in text and token not in text, child.name
