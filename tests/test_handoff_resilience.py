"""Resolving a handoff while Rasa is down: a clear error, the record stays, and the retry works.

A stack of its own (embedded Redis, action server, Rasa, console), because the test stops its Rasa server.
"""

from __future__ import annotations

import asyncio
import re
import socket
from typing import Any, Iterator, Tuple

import pytest
import requests

from bot.cli.console import add_user
from bot.followups import config_from_env
from bot.handoff.service import HandoffService
from bot.handoff.store import WITH_AGENT, HandoffStore, ResolveInProgress
from bot.rasa_client import RasaClient
from tests.harness import Assistant, new_sender, start_assistant

AGENT, AGENT_PW = "ru", "ru-Resilience-Pass-1"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    running = start_assistant(tmp_path_factory.mktemp("handoff-resilience"))
    try:
        add_user(AGENT, "agent", AGENT_PW, redis=running.redis)
        yield running
    finally:
        running.stop()


def _login(url: str) -> Tuple[requests.Session, dict]:
    s = requests.Session()
    page = s.get(url + "/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = s.post(url + "/login", data={"username": AGENT, "password": AGENT_PW, "csrf_token": token},
               allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303), r.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', s.get(url + "/agent", timeout=10).text).group(1)  # type: ignore[union-attr]
    return s, {"X-CSRF-Token": csrf}


def _handed_off(own: Assistant) -> str:
    """A new user asks for a person; returns the id the server keeps (the REST channel may namespace it)."""
    sender = new_sender("resil")
    own.say(sender, "talk to a human please")
    store = HandoffStore(own.redis)
    found = [r.sender_id for r in store.waiting() if r.sender_id == sender or r.sender_id.endswith(":" + sender)]
    assert len(found) == 1, f"{sender} is not in the handoff queue: {[r.sender_id for r in store.waiting()]}"
    assert own.tracker(found[0])["paused"] is True
    return found[0]


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_resolve_with_rasa_down_keeps_the_record_and_the_retry_works(own: Assistant) -> None:
    user = _handed_off(own)
    session, headers = _login(own.console_url)
    base = f"{own.console_url}/api/conversations/{user}"
    claimed = session.post(base + "/claim", json={}, headers=headers, timeout=10)
    assert claimed.status_code == 200, claimed.text

    rasa = f"rasa-{own.stack.settings.rasa_port}"
    own.stack.stop_child(rasa)
    try:
        failed = session.post(base + "/resolve", json={}, headers=headers, timeout=30)
        assert failed.status_code == 502, failed.text
        record = HandoffStore(own.redis).get(user)
        assert record is not None and record.state == WITH_AGENT and record.agent == AGENT, record
        assert "stays with you" in failed.json()["error"] and "try Resolve again" in failed.json()["error"]
        assert not own.redis.exists(f"canyu:handoff_resolving:{user}"), "a failed resolve must not block the retry"
    finally:
        own.restart()  # Rasa back; the conversation is still paused, since it was never resumed
    assert own.tracker(user)["paused"] is True

    done = session.post(base + "/resolve", json={}, headers=headers, timeout=120)
    assert done.status_code == 200, done.text
    assert done.json()["asked"] >= 1
    assert HandoffStore(own.redis).get(user) is None
    tracker = own.tracker(user)
    assert tracker["paused"] is False
    asked = [e for e in tracker["events"] if e.get("event") == "action" and e.get("name") == "action_ask_rating"]
    assert len(asked) == 1, "the rating question is asked once"

    again = session.post(base + "/resolve", json={}, headers=headers, timeout=30)
    assert again.status_code == 404 and "already resolved" in again.json()["error"], again.text
    assert own.say(user, "hello"), "the bot answers again after the handoff"


def test_service_resolve_retries_after_a_failure_and_refuses_a_concurrent_one(own: Assistant) -> None:
    user = _handed_off(own)
    store = HandoffStore(own.redis)
    assert store.claim(user, AGENT)
    down = HandoffService(store, RasaClient(_closed_port_url(), own.token, timeout=5),
                          followups=config_from_env(own.ctx.env), texts=own.ctx.texts)
    with pytest.raises(Exception) as failure:
        asyncio.run(down.resolve(store.get(user), AGENT))  # type: ignore[arg-type]
    assert "Rasa API" in str(failure.value) and "is Rasa running" in str(failure.value)
    assert store.get(user) is not None and own.tracker(user)["paused"] is True

    up = HandoffService(store, RasaClient(own.url, own.token), followups=config_from_env(own.ctx.env), texts=own.ctx.texts)
    record = store.get(user)

    async def two_at_once() -> Any:
        return await asyncio.gather(up.resolve(record, AGENT), up.resolve(record, AGENT),  # type: ignore[arg-type]
                                    return_exceptions=True)

    results = asyncio.run(two_at_once())
    assert sum(isinstance(r, ResolveInProgress) for r in results) == 1, results
    assert sum(isinstance(r, list) and len(r) >= 1 for r in results) == 1, results
    assert store.get(user) is None and own.tracker(user)["paused"] is False
    resolved = [e for e in store.history(user) if e["what"] == "resolved"]
    assert len(resolved) == 1
    assert store.resolve(user, AGENT) is None  # already gone: nothing changes
    assert len([e for e in store.history(user) if e["what"] == "resolved"]) == 1
