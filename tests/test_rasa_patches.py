"""Canyu's Rasa speed-ups (bot/rasa_patches.py) change how fast Rasa works, never what it accepts or builds.

- action-server responses: the validator built once accepts and rejects exactly what Rasa's per-call
  `jsonschema.validate` does, with the same message, through the real `RemoteAction.run` path (a local HTTP
  server plays the action server) and for real responses of our action server;
- event classes: the cached look-up returns Rasa's class for every event type name;
- the real Rasa child runs with them (its log names them) and still answers.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import requests
from aiohttp import web

from bot import rasa_patches
from tests.harness import Assistant, new_sender, start_assistant

Payload = Dict[str, Any]

VALID: List[Payload] = [
    {},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "kb_entry", "value": "battery", "timestamp": None}],
     "responses": [{"text": "5000 mAh", "buttons": [], "elements": [], "custom": {}, "template": None,
                    "response": None, "image": None, "attachment": None}]},
    {"events": [{"event": "active_loop", "name": "order_form"}, {"event": "slot", "name": "requested_slot",
                                                                    "value": "order_number"}]},
    {"events": [{"event": "followup", "name": "action_listen"}, {"event": "reset_slots"}]},
    {"events": [{"event": "bot", "text": "hi", "data": {}, "metadata": {}}],
     "responses": [{"response": "utter_greet"}]},
]
MALFORMED: List[Payload] = [
    {"events": "not a list"},
    {"responses": {"text": "not a list"}},
    {"events": [{"event": "slot", "name": 5, "value": 1}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "kb_entry"}]},
    {"events": [5]},
    {"responses": ["not an object"]},
]


@pytest.fixture()
def patched() -> Iterator[None]:
    rasa_patches.uninstall()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        yield
    finally:
        rasa_patches.uninstall()


def _outcome(payload: Payload) -> Tuple[bool, str]:
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    try:
        RemoteAction("action_x", None)._validate_action_result(copy.deepcopy(payload))
        return True, ""
    except ValidationError as exc:
        return False, exc.message


def _both_ways(payload: Payload) -> Tuple[Tuple[bool, str], Tuple[bool, str]]:
    rasa_patches.uninstall()
    rasa_own = _outcome(payload)
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        assert "compiled-validation" in rasa_patches.active()
        return rasa_own, _outcome(payload)
    finally:
        rasa_patches.uninstall()


@pytest.mark.parametrize("payload", VALID + MALFORMED)
def test_the_compiled_validator_agrees_with_rasa(payload: Payload) -> None:
    rasa_own, ours = _both_ways(payload)
    assert ours == rasa_own
    assert rasa_own[0] == (payload in VALID), rasa_own


async def serve_webhook(handler: Any, port: int = 0) -> Tuple[web.AppRunner, int]:
    """A local action server: `handler` answers POST /webhook on 127.0.0.1 (`port` 0: a free one)."""
    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def _run_remote_action(payload: Payload) -> Tuple[str, Any]:
    """RemoteAction.run against a local server answering `payload`: ("events", […]) or ("error", message)."""
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    async def webhook(request: web.Request) -> web.Response:
        return web.json_response(payload)

    runner, port = await serve_webhook(webhook)
    domain = Domain.from_dict({"slots": {"kb_entry": {"type": "any", "mappings": [{"type": "custom"}]}},
                               "responses": {"utter_greet": [{"text": "hello"}]}})
    try:
        action = RemoteAction("action_x", EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
        tracker = DialogueStateTracker("rest:patches", domain.slots)
        try:
            events = await action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses),
                                      tracker, domain)
        except ValidationError as exc:
            return "error", exc.message
        return "events", [event.as_dict() for event in events]
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("payload", VALID + MALFORMED)
def test_remote_action_run_gives_the_same_events_or_the_same_error(payload: Payload) -> None:
    rasa_patches.uninstall()
    rasa_own = asyncio.run(_run_remote_action(copy.deepcopy(payload)))
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        ours = asyncio.run(_run_remote_action(copy.deepcopy(payload)))
    finally:
        rasa_patches.uninstall()
    strip = lambda outcome: (outcome[0], [{k: v for k, v in e.items() if k != "timestamp"} for e in outcome[1]]
                             if outcome[0] == "events" else outcome[1])  # noqa: E731
    assert strip(ours) == strip(rasa_own)
    assert (rasa_own[0] == "events") == (payload in VALID), rasa_own


def test_validation_off_accepts_what_rasa_rejects() -> None:
    rasa_patches.uninstall()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_ACTION_VALIDATION": "off"})
    try:
        assert "no-validation" in rasa_patches.active()
        assert _outcome(MALFORMED[0]) == (True, "")
    finally:
        rasa_patches.uninstall()


def test_the_switches_read_on_and_off_and_refuse_anything_else() -> None:
    from bot.errors import ConfigError

    assert rasa_patches.speedups_enabled({}) and rasa_patches.validation_enabled({})
    assert not rasa_patches.speedups_enabled({"CANYU_RASA_SPEEDUPS": "0"})
    assert not rasa_patches.validation_enabled({"CANYU_ACTION_VALIDATION": "off"})
    with pytest.raises(ConfigError, match="CANYU_RASA_SPEEDUPS='fast'"):
        rasa_patches.speedups_enabled({"CANYU_RASA_SPEEDUPS": "fast"})
    rasa_patches.uninstall()
    rasa_patches.install({"CANYU_RASA_SPEEDUPS": "0"})
    try:
        assert rasa_patches.active() == ["action-retry"]
    finally:
        rasa_patches.uninstall()


def _every_type_name() -> List[str]:
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    return sorted({cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)})


def test_the_event_class_cache_returns_rasas_class_for_every_event_type() -> None:
    from rasa.shared.core.events import Event

    names = _every_type_name()
    assert {"slot", "user", "bot", "action", "active_loop", "followup", "restart"} <= set(names)
    rasa_patches.uninstall()
    rasa_own = {name: Event.resolve_by_type(name) for name in names}
    unknown_default = Event.resolve_by_type("no_such_event", Event)
    topic = Event.resolve_by_type("topic")
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        assert "event-class-cache" in rasa_patches.active()
        assert {name: Event.resolve_by_type(name) for name in names} == rasa_own
        assert Event.resolve_by_type("no_such_event", Event) is unknown_default is Event
        assert Event.resolve_by_type("topic") is topic is None
        with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
            Event.resolve_by_type("no_such_event")
    finally:
        rasa_patches.uninstall()


def test_an_event_class_defined_after_install_is_still_found(patched: None) -> None:
    from rasa.shared.core.events import Event, SlotSet

    class LateEvent(SlotSet):
        type_name = "canyu_test_late_event"

    assert Event.resolve_by_type("canyu_test_late_event") is LateEvent
    assert Event.from_parameters({"event": "slot", "name": "a", "value": 1}) == SlotSet("a", 1)


async def _call_twice(restart_between: bool = False) -> Tuple[List[bytes], List[int], List[Any]]:
    """Two RemoteAction.run calls through one endpoint: the raw bodies the server got, the client ports it saw
    (one port: one kept-alive connection), and the events; `restart_between` restarts the server meanwhile."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    bodies: List[bytes] = []
    ports: List[int] = []

    async def webhook(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        ports.append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        return web.json_response(VALID[2])

    async def serve(port: int = 0) -> Tuple[web.AppRunner, int]:
        return await serve_webhook(webhook, port)

    runner, port = await serve()
    domain = Domain.from_dict({"slots": {"kb_entry": {"type": "any", "mappings": [{"type": "custom"}]}},
                               "responses": {"utter_greet": [{"text": "你好 hello"}]}})
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    tracker = DialogueStateTracker("rest:patches", domain.slots)
    tracker.update(UserUttered("电池多大 battery?", {"name": "ask", "confidence": 0.9}, timestamp=1.0))
    outcomes = []
    try:
        for i in range(2):
            if i and restart_between:
                await runner.cleanup()
                runner, _ = await serve(port)
            events = await RemoteAction("action_x", endpoint).run(
                CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain)
            outcomes.append([{k: v for k, v in e.as_dict().items() if k != "timestamp"} for e in events])
    finally:
        await runner.cleanup()
    return bodies, ports, outcomes


def test_action_calls_send_the_same_body_over_one_kept_connection() -> None:
    rasa_patches.uninstall()
    rasa_bodies, rasa_ports, rasa_events = asyncio.run(_call_twice())
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        assert "action-keepalive" in rasa_patches.active()
        bodies, ports, events = asyncio.run(_call_twice())
    finally:
        rasa_patches.uninstall()
    assert [json.loads(b) for b in bodies] == [json.loads(b) for b in rasa_bodies]
    assert json.loads(bodies[0])["domain"]["responses"]["utter_greet"]
    assert events == rasa_events
    assert rasa_ports[0] != rasa_ports[1]  # Rasa: a new connection per call
    assert ports[0] == ports[1]  # ours: the same one


def test_a_kept_connection_to_a_restarted_action_server_is_retried() -> None:
    rasa_patches.uninstall()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "10"})
    try:
        bodies, ports, events = asyncio.run(_call_twice(restart_between=True))
    finally:
        rasa_patches.uninstall()
    assert len(bodies) == 2 and events[0] == events[1] and events[0]


def test_the_encoded_call_is_the_json_of_the_same_values() -> None:
    domain = {"responses": {"utter_x": [{"text": "好的 \"ok\" a/b"}]}, "slots": {}}
    body = {"next_action": "action_x", "sender_id": "rest:é/1", "tracker": {"events": [{"text": "你好\u2028"}],
            "slots": {"kb_score": 0.1, "big": 2 ** 70, "none": None, "on": True, "list": (1, "a")}},
            "version": "3.6.21", "domain": domain}
    call = rasa_patches.encode_action_call(body)
    assert call == body and json.loads(call.encoded) == json.loads(json.dumps(body))
    assert call.encoded.isascii()  # non-ASCII escaped, as json.dumps does
    assert rasa_patches.encode_action_call(body).encoded == call.encoded  # the domain's JSON reused
    without = {k: v for k, v in body.items() if k != "domain"}
    assert json.loads(rasa_patches.encode_action_call(without).encoded) == json.loads(json.dumps(without))
    alone = rasa_patches.encode_action_call({"domain": domain}).encoded
    assert json.loads(alone) == {"domain": domain}


def test_odd_values_are_encoded_or_refused_as_json_dumps_does() -> None:
    odd = {"tracker": {"slots": {1: "int key"}}, "version": "3.6.21"}
    assert json.loads(rasa_patches.encode_action_call(odd).encoded) == json.loads(json.dumps(odd))
    assert b'"nan":NaN' in rasa_patches.encode_action_call({"tracker": {"nan": float("nan")}}).encoded  # as json
    for bad in ({"tracker": {"b": b"bytes"}}, {"tracker": {"o": object()}}):
        with pytest.raises(TypeError):
            json.dumps(bad)
        with pytest.raises(TypeError):
            rasa_patches.encode_action_call(bad)


# --- the real assistant -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    assistant = start_assistant(tmp_path_factory.mktemp("patches") / "data", with_console=False,
                                env={"CANYU_ACTIONS": "http"})  # the tests below ask its action server
    try:
        yield assistant
    finally:
        assistant.stop()


def test_the_real_rasa_runs_with_the_patches_and_still_answers(real: Assistant) -> None:
    replies = real.say(new_sender(), "how big is the 14 pro battery")
    assert "mAh" in " ".join(r.get("text") or "" for r in replies), replies
    assert ("canyu rasa patches: action-retry, compiled-validation, event-class-cache, action-keepalive"
            in real.log("rasa"))


def _actions_url(assistant: Assistant) -> str:
    return f"http://127.0.0.1:{assistant.stack.settings.actions_port}/webhook"


def _real_response(assistant: Assistant, sender: str, action: str) -> Payload:
    """What our action server answers Rasa for `action` on `sender`'s conversation (Rasa's own request body)."""
    params = {"token": assistant.token, "include_events": "ALL"}
    tracker = requests.get(f"{assistant.url}/conversations/{sender}/tracker", params=params, timeout=60).json()
    domain = requests.get(f"{assistant.url}/domain", params={"token": assistant.token},
                          headers={"Accept": "application/json"}, timeout=60).json()
    body = {"next_action": action, "sender_id": sender, "tracker": tracker, "domain": domain, "version": "3.6"}
    response = requests.post(_actions_url(assistant), data=json.dumps(body), timeout=120)
    response.raise_for_status()
    return response.json()


def test_real_action_server_responses_are_judged_as_rasa_judges_them(real: Assistant) -> None:
    responses: List[Payload] = []
    for text, action in (("how big is the 14 pro battery", "action_answer_product"),
                         ("where is my order", "action_order_status"),
                         ("asdfgh qwerty", "action_fallback")):
        sender = new_sender()
        real.say(sender, text)
        responses.append(_real_response(real, sender, action))
    assert any(r.get("events") for r in responses) and any(r.get("responses") for r in responses), responses
    broken: Optional[Payload] = None
    for response in responses:
        rasa_own, ours = _both_ways(response)
        assert rasa_own == ours == (True, ""), response
        broken = copy.deepcopy(response)
        broken.setdefault("events", []).append({"event": "slot", "name": None})
        rasa_own, ours = _both_ways(broken)
        assert not rasa_own[0] and ours == rasa_own, broken


def test_quieting_rasa_in_process_leaves_the_environment_of_later_stacks_alone(monkeypatch: Any) -> None:
    """Rasa's logging set-up writes LOG_LEVEL into os.environ; every stack started later would log nothing below
    WARNING (and this file's marker test would see no INFO line)."""
    from bot.training import quiet_rasa_logs

    monkeypatch.delenv("LOG_LEVEL", raising=False)
    quiet_rasa_logs()
    assert "LOG_LEVEL" not in os.environ
