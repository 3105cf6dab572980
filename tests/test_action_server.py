"""The action server (`python -m bot.actions.server`): one context, actions registered as instances, and rasa_sdk's
HTTP API (the same bodies and status codes as `rasa_sdk.endpoint`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import requests
from rasa_sdk.executor import ActionExecutor

from bot.actions.server import register_actions
from bot.runner import free_port
from bot.settings import QUIET_ENV

HOME = Path(__file__).resolve().parent.parent
PACKAGE = "canyu_test_actions"
ACTIONS = '''
from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from bot.actions._context import WithContext


class ActionWithContext(WithContext, Action):
    def name(self):
        return "action_with_context"

    def run(self, dispatcher, tracker, domain):
        return [SlotSet("seen", self.ctx.env.get("CANYU_TEST_MARK", "?"))]


class ActionPlain(Action):
    def name(self):
        return "action_plain"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="plain")
        return []
'''


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("actions")
    (folder / PACKAGE).mkdir()
    (folder / PACKAGE / "__init__.py").write_text("", encoding="utf-8")
    (folder / PACKAGE / "things.py").write_text(ACTIONS, encoding="utf-8")
    return folder


def _call(action: str) -> Dict[str, Any]:
    return {"next_action": action, "sender_id": "rest:t", "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": "rest:t", "slots": {}, "latest_message": {}, "events": [], "paused": False,
                        "followup_action": None, "active_loop": {}, "latest_action_name": None}}


def test_actions_are_registered_as_instances_with_the_context(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(package))
    ctx = object()
    executor = ActionExecutor()
    names = register_actions(executor, ctx, PACKAGE)  # type: ignore[arg-type]
    assert {"action_with_context", "action_plain"} <= set(names)
    assert executor.actions["action_with_context"].__self__.ctx is ctx
    assert not hasattr(executor.actions["action_plain"].__self__, "ctx")


@pytest.fixture(scope="module")
def server(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, **QUIET_ENV, "PYTHONPATH": os.pathsep.join([str(package), str(HOME)]),
           "CANYU_TEST_MARK": "from-the-context", "CANYU_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    log = tmp_path_factory.mktemp("log") / "actions.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot.child", "bot.actions.server", "--port", str(port),
                                    "--actions", PACKAGE], cwd=HOME, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(url + "/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_health_and_the_list_of_actions(server: str) -> None:
    assert requests.get(server + "/health", timeout=5).json() == {"status": "ok"}
    names = {a["name"] for a in requests.get(server + "/actions", timeout=5).json()}
    assert names == {"action_with_context", "action_plain"}


def test_an_action_runs_with_the_servers_context_also_from_a_deflated_body(server: str) -> None:
    answer = requests.post(server + "/webhook", json=_call("action_with_context"), timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"] == [{"event": "slot", "timestamp": None, "name": "seen",
                                        "value": "from-the-context"}]
    body = zlib.compress(json.dumps(_call("action_plain")).encode())
    answer = requests.post(server + "/webhook", data=body, timeout=10,
                           headers={"Content-Encoding": "deflate", "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert [m["text"] for m in answer.json()["responses"]] == ["plain"]


def test_errors_have_rasa_sdks_bodies_and_codes(server: str) -> None:
    missing = requests.post(server + "/webhook", json=_call("action_nobody_has"), timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"error": "No registered action found for name 'action_nobody_has'.",
                              "action_name": "action_nobody_has"}
    empty = requests.post(server + "/webhook", data="null", headers={"Content-Type": "application/json"}, timeout=10)
    assert empty.status_code == 400 and empty.json() == {"error": "Invalid body request"}


def test_the_domain_is_kept_by_its_digest_so_that_later_calls_can_leave_it_out(server: str) -> None:
    from bot.rasa_action_domain import DOMAIN_UNKNOWN, HEADER, domain_digest

    domain = {"responses": {"utter_x": [{"text": "好的"}]}, "slots": {}}
    digest = domain_digest(domain)
    assert digest
    lean = _call("action_plain")
    del lean["domain"]
    unknown = requests.post(server + "/webhook", json=lean, headers={HEADER: digest}, timeout=10)
    assert unknown.status_code == 409 and DOMAIN_UNKNOWN in unknown.json()["error"]
    wrong = requests.post(server + "/webhook", json={**lean, "domain": domain}, headers={HEADER: "0" * 64}, timeout=10)
    assert wrong.status_code == 200 and HEADER not in wrong.headers  # not the domain's digest: not kept
    full = requests.post(server + "/webhook", json={**lean, "domain": domain}, headers={HEADER: digest}, timeout=10)
    assert full.status_code == 200 and full.headers[HEADER] == digest
    again = requests.post(server + "/webhook", json=lean, headers={HEADER: digest}, timeout=10)
    assert again.status_code == 200 and again.headers[HEADER] == digest
    assert again.json() == full.json()
    plain = requests.post(server + "/webhook", json=_call("action_plain"), timeout=10)
    assert plain.status_code == 200 and HEADER not in plain.headers  # rasa_sdk's exchange without the header
