"""Start warm (issue 17): a server that says it is ready has already loaded and run everything a message needs.

Over the real stack (the session's `assistant`): the readiness report names what each server warmed, no model
or dictionary is loaded after a server's warm-up (the loaders' own log lines, checked in each child's log, so
messages other tests sent count too), and the warm-up leaves nothing of its throwaway senders in Redis. The time
the first message takes belongs to bench/first_message.py, not here.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import List

import pytest

from bot import keys
from bot.runner import free_port
from bot.supervisor import HealthServer, Supervisor
from bot.warmup import SENDER_PREFIX, WarmReport, read_report, report_path
from tests.harness import Assistant, new_sender

LAZY_LOADS = ("Loading SentenceTransformer model", "Building prefix dict", "Loading model from cache")
"""What sentence_transformers and jieba log when they load a model or a dictionary."""
RASA_PARTS = {"redis", "channel", "cleanup", "gc_freeze"} | {f"{part}_{language}" for language in ("zh", "en") for part in
                                                  ("stores", "session_start", "nlu", "policies", "action")}
ACTIONS_PARTS = {"redis", "knowledge_index", "order_backend", "texts", "cleanup", "gc_freeze"} | {
    f"{action}_{language}" for language in ("zh", "en") for action in ("action_session_start", "action_answer_product")}


def _loads_after_warm_up(log: str, process: str) -> List[str]:
    """Lazy-load lines after the last warm-up of `process` in a child's log (restarts append to the same log)."""
    done = f"canyu warm-up of the {process} done"
    assert done in log, f"the {process} never reported its warm-up"
    after = log[log.rindex(done):]
    return [line for line in after.splitlines() if any(marker in line for marker in LAZY_LOADS)]


def test_ready_reports_what_each_server_warmed(assistant: Assistant) -> None:
    report = assistant.stack.ready()
    assert report["ready"], report
    checks = report["checks"]
    assert RASA_PARTS <= set(checks["rasa"]["warm"]), checks["rasa"]
    assert ACTIONS_PARTS <= set(checks["actions"]["warm"]), checks["actions"]
    for name in ("rasa", "actions"):
        assert "warm-up failed" not in checks[name]["detail"], checks[name]
        assert all(ms >= 0 for ms in checks[name]["warm"].values())
    assert "warm" not in checks["redis"]  # only the servers on the message path warm up


def test_bot_runs_ready_endpoint_shows_the_warm_up(assistant: Assistant) -> None:
    """`GET /ready` of `bot run`'s health server (the supervisor over this stack): same contract, plus `warm`."""
    server = HealthServer(Supervisor(assistant.stack), "127.0.0.1", free_port()).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/ready", timeout=30) as response:
            assert response.status == 200
            report = json.loads(response.read())
    finally:
        server.stop()
    assert set(report) == {"ready", "reasons", "children", "checks"} and report["ready"], report
    assert set(report["checks"]["rasa"]) == {"ok", "detail", "warm"}
    assert RASA_PARTS <= set(report["checks"]["rasa"]["warm"])
    assert ACTIONS_PARTS <= set(report["checks"]["actions"]["warm"])


def test_no_lazy_load_after_the_warm_up(assistant: Assistant) -> None:
    for text in ("请问充电宝能带上飞机吗", "can I bring the power bank on a plane"):
        assert assistant.say(new_sender("warm"), text), f"no answer to {text!r}"
    rasa = f"rasa-{assistant.stack.settings.rasa_port}"
    # the markers are what the loaders print; the torch model loads in the host's encoder (bot/encoder_service/)
    assert "Loading SentenceTransformer model" in assistant.log("encoder")
    assert _loads_after_warm_up(assistant.log("encoder"), "encoder") == []
    assert _loads_after_warm_up(assistant.log(rasa), "rasa") == []
    assert _loads_after_warm_up(assistant.log("actions"), "actions") == []


def test_the_warm_up_leaves_no_user_behind(assistant: Assistant) -> None:
    red = assistant.redis
    assert not list(red.scan_iter(match=f"*{SENDER_PREFIX}*", count=1000))
    events = red.xrange(keys.EVENTS_STREAM)
    assert not [e for _, e in events if SENDER_PREFIX in json.dumps(e)]


def test_a_report_is_read_back_only_for_its_own_process(tmp_path: Path) -> None:
    report = WarmReport("actions")

    async def part() -> int:
        return 1

    async def broken() -> int:
        raise OSError("no such file")

    assert asyncio.run(report.step("one", part)) == 1
    assert asyncio.run(report.step("two", broken)) is None  # logged and reported, never raised
    path = report.write(tmp_path)
    body = json.loads(path.read_text(encoding="utf-8"))
    assert set(body["parts"]) == {"one"} and body["failed"] == {"two": "OSError: no such file"}
    assert read_report(tmp_path, body["pid"]) == body
    assert read_report(tmp_path, body["pid"] + 1) is None
    report_path(tmp_path, 7).write_text(json.dumps({**body, "pid": 8}), encoding="utf-8")
    assert read_report(tmp_path, 7) is None  # a stale file of a reused pid name does not count


@pytest.mark.parametrize("process", ["rasa", "actions"])
def test_every_child_on_the_message_path_reports(assistant: Assistant, process: str) -> None:
    name = f"rasa-{assistant.stack.settings.rasa_port}" if process == "rasa" else "actions"
    child = assistant.stack.children[name]
    assert child.process is not None
    body = read_report(assistant.data_dir, child.process.pid)
    assert body is not None and body["process"] == process and not body["failed"], body
