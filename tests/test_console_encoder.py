"""The agent console loads no sentence model itself: where `CANYU_ENCODER_URL` names the host's encoder (`bot run`,
deploy/), `bot.console.__main__.use_host_encoder` makes that encoder the process's, so the helpers that encode
without settings (the trainer's review grouping here; feedback matching when an agent files a user's words) ask it
for vectors, as the action server does.

Real processes: `bot encoder`, the console (`python -m bot.console`) on an embedded Redis, a trainer logged in
through the login form; whether torch is in the console is read from `/proc/<pid>/maps`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import redis
import requests

from bot.encoder_service import HEALTH_PATH
from bot.keys import EVENTS_STREAM
from bot.runner import free_port
from bot.storage import EmbeddedRedis
from tests.harness import lone_console

HOME = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000.0
QUESTIONS = ["can I pay with paypal", "do you accept paypal payments", "paypal payment possible?", "支持花呗分期吗"]


def _health(port: int) -> Dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=5) as response:
        return dict(json.loads(response.read()))


def _requests_served(port: int) -> int:
    return int(_health(port)["requests"])


@pytest.fixture(scope="module")
def encoder_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("console-encoder")
    port = free_port()
    env = {**os.environ, "CANYU_DATA_DIR": str(folder), "CANYU_EMBEDDING_CACHE": "off", "PYTHONPATH": str(HOME)}
    env.pop("CANYU_ENCODER_URL", None)
    with open(folder / "encoder.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "encoder", "--port", str(port)], cwd=HOME,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (folder / "encoder.log").read_text(encoding="utf-8")[-2000:]
            try:
                _health(port)
                break
            except OSError:
                assert time.monotonic() < deadline, "the encoder did not answer within 180 s"
                time.sleep(0.3)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _console_pid(url: str) -> int:
    """The pid of the console process listening at `url` (`python -m bot.console … --port PORT`)."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                words = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"bot.console" in words and port.encode() in words:
                return int(entry.name)
    raise AssertionError(f"no console process on port {port}")


def _has_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text(errors="replace")


def _login(url: str, name: str, password: str) -> requests.Session:
    session = requests.Session()
    found = re.search(r'name="csrf_token" value="([^"]+)"', session.get(url + "/login").text)
    assert found
    answer = session.post(url + "/login", data={"username": name, "password": password, "csrf_token": found.group(1)},
                          allow_redirects=False)
    assert answer.status_code in (302, 303), answer.text
    return session


def test_the_trainers_review_groups_with_the_host_encoder_and_no_torch_in_the_console(
        tmp_path: Path, encoder_port: int) -> None:
    from bot.cli.console import add_user

    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        client: "redis.Redis[str]" = redis.Redis.from_url(server.url, decode_responses=True)
        add_user("tina", "trainer", "tina-Secret-Pass-1", redis=client)
        for i, text in enumerate(QUESTIONS):  # questions the NLU missed: the review inbox files them
            event = {"event": "user", "sender_id": f"u{i}", "timestamp": T0 + i, "text": text, "input_channel": "rest",
                     "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.2}, "entities": [],
                                    "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.2}]}}
            client.xadd(EVENTS_STREAM, {"event": json.dumps(event, ensure_ascii=False)})
        before = _requests_served(encoder_port)
        with lone_console(server.url, tmp_path / "console.log",
                          CANYU_ENCODER_URL=f"tcp://127.0.0.1:{encoder_port}") as url:
            groups = _login(url, "tina", "tina-Secret-Pass-1").get(url + "/api/trainer/groups").json()["groups"]
            grouped = sorted(item["text"] for group in groups for item in group["items"])
            assert grouped == sorted(QUESTIONS), groups
            assert _requests_served(encoder_port) > before, "the English questions were not encoded by the encoder"
            assert not _has_torch(_console_pid(url)), "the console loaded torch itself"
        client.close()
    finally:
        server.stop()


FILE_FEEDBACK = """
import json, sys
import redis
from bot.console.__main__ import use_host_encoder
from bot.context import build_context
from bot.feedback import FeedbackStore

ctx = build_context()
use_host_encoder(ctx)
store = FeedbackStore(redis.Redis.from_url(ctx.settings.redis_url, decode_responses=True))
first = store.file("u1", "the battery drains overnight on the watch", kind="complaint", ask_when_unsure=False)
second = store.file("u2", "my watch battery is empty every morning", kind="complaint", ask_when_unsure=False)
print(json.dumps({"torch": "torch" in sys.modules, "items": [first.item.id, second.item.id]}))
"""


def test_feedback_an_agent_files_is_matched_with_the_host_encoder(tmp_path: Path, encoder_port: int) -> None:
    """What the console does when an agent files a user's words (bot/handoff/service.py: FeedbackStore.file, English
    text matched with sentence vectors), in a process set up as the console's composition root sets it up."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        env = {**os.environ, "REDIS_URL": server.url, "CANYU_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(HOME),
               "CANYU_ENCODER_URL": f"tcp://127.0.0.1:{encoder_port}"}
        before = _requests_served(encoder_port)
        done = subprocess.run([sys.executable, "-c", FILE_FEEDBACK], cwd=HOME, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["torch"] is False, "filing feedback loaded torch in the process"
        assert _requests_served(encoder_port) > before, "the feedback texts were not encoded by the encoder"
        assert result["items"][0] == result["items"][1], "the paraphrase joins the first item (vectors from the encoder)"
    finally:
        server.stop()
