"""Custom actions in the Rasa process (`CANYU_ACTIONS=inprocess`, bot/rasa_actions_inprocess.py) give Rasa what
the action server gives it over HTTP: the same events and responses, the same errors.

The same rasa_sdk executor answers both ways: behind a local HTTP server that does what our action server does
(rasa_sdk's status codes and bodies), and in-process.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Tuple

import pytest
import requests
from aiohttp import web
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from bot import rasa_actions_inprocess, rasa_patches
from bot.errors import ConfigError
from bot.speedups import actions_in_process
from tests.test_rasa_patches import serve_webhook


class ActionEcho(Action):  # type: ignore[misc]
    """Reads the tracker and the domain: a slot from the latest text, an answer naming the domain's responses."""

    def name(self) -> str:
        return "action_echo"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Any]:
        dispatcher.utter_message(text=f"{tracker.latest_message.get('text')} / {sorted(domain.get('responses', {}))}",
                                 buttons=[{"title": "是", "payload": "/affirm"}])
        dispatcher.utter_message(response="utter_greet", name="电池")
        return [SlotSet("kb_entry", (tracker.latest_message.get("text"), len(tracker.events))),
                {"event": "followup", "name": "action_listen"}]


class ActionReject(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_reject"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Any]:
        raise ActionExecutionRejection("action_reject", "nothing to validate")


class ActionBoom(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_boom"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Any]:
        raise RuntimeError("broken action")


def _executor() -> ActionExecutor:
    executor = ActionExecutor()
    for action in (ActionEcho(), ActionReject(), ActionBoom()):
        executor.register_action(action)
    return executor


async def _answer(executor: ActionExecutor, request: web.Request) -> web.Response:
    """What bot/actions/server.py answers (rasa_sdk's statuses and bodies)."""
    try:
        result = await executor.run(await request.json())
    except ActionExecutionRejection as e:
        return web.json_response({"error": e.message, "action_name": e.action_name}, status=400)
    except ActionNotFoundException as e:
        return web.json_response({"error": e.message, "action_name": e.action_name}, status=404)
    except Exception as e:
        return web.json_response({"error": str(e)}, status=500)
    return web.json_response(result)


async def _run(names: List[str]) -> List[Tuple[str, Any]]:
    """RemoteAction.run of each action named, twice (the second call without the domain over HTTP):
    ("events", their dicts without timestamps) or ("error", the exception's type and message)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    executor = _executor()

    async def webhook(request: web.Request) -> web.Response:
        return await _answer(executor, request)

    runner, port = await serve_webhook(webhook)
    domain = Domain.from_dict({"slots": {"kb_entry": {"type": "any", "mappings": [{"type": "custom"}]}},
                               "responses": {"utter_greet": [{"text": "你好 {name}"}]}})
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    tracker = DialogueStateTracker("rest:inprocess", domain.slots)
    tracker.update(UserUttered("电池多大 battery?", {"name": "ask", "confidence": 0.9}, timestamp=1.0))
    outcomes: List[Tuple[str, Any]] = []
    try:
        for name in names:
            try:
                events = await RemoteAction(name, endpoint).run(
                    CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain)
            except Exception as exc:
                outcomes.append(("error", (type(exc).__name__, str(exc).split(" Error:")[0])))
                continue
            outcomes.append(("events", [{k: v for k, v in e.as_dict().items() if k != "timestamp"}
                                        for e in events]))
    finally:
        await runner.cleanup()
    return outcomes


async def _factory() -> Any:
    return _executor()


NAMES = ["action_echo", "action_echo", "action_reject", "action_boom", "action_nobody_knows", "action_echo"]


def test_in_process_actions_give_the_events_and_errors_of_the_http_path() -> None:
    rasa_patches.uninstall()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        over_http = asyncio.run(_run(NAMES))
        rasa_actions_inprocess.install_inprocess_actions(rasa_patches._ORIGINALS, {}, _factory)
        in_process = asyncio.run(_run(NAMES))
    finally:
        rasa_patches.uninstall()
    assert in_process == over_http
    kinds = [kind for kind, _ in over_http]
    assert kinds == ["events", "events", "error", "error", "error", "events"]
    echo = over_http[0][1]
    assert echo[0]["text"] == "电池多大 battery? / ['utter_greet']" and echo[1]["text"] == "你好 电池"
    assert {"event": "slot", "name": "kb_entry", "value": ["电池多大 battery?", 1]} in echo  # a tuple comes as a list
    assert over_http[2][1][0] == "ActionExecutionRejection"


def test_the_switch_installs_the_patch_and_uninstall_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa_actions_inprocess, "_our_actions", lambda env: _factory)
    rasa_patches.uninstall()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_ACTIONS": "inprocess"})
    try:
        assert "action-inprocess" in rasa_patches.active()
        runner = rasa_actions_inprocess.running()
        assert runner is not None and asyncio.run(_run(["action_echo"]))[0][0] == "events"
    finally:
        rasa_patches.uninstall()
    assert rasa_actions_inprocess.running() is None and not runner._thread.is_alive()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_ACTIONS": "inprocess", "CANYU_RASA_SPEEDUPS": "0"})
    try:  # the stock baseline keeps HTTP
        assert "action-inprocess" not in rasa_patches.active() and rasa_actions_inprocess.running() is None
    finally:
        rasa_patches.uninstall()


def test_the_actions_switch_reads_http_and_inprocess_only() -> None:
    assert not actions_in_process({}) and not actions_in_process({"CANYU_ACTIONS": "HTTP"})
    assert actions_in_process({"CANYU_ACTIONS": " inprocess "})
    with pytest.raises(ConfigError, match="CANYU_ACTIONS='grpc'"):
        actions_in_process({"CANYU_ACTIONS": "grpc"})


def test_the_payload_is_the_parsed_json_of_the_http_body_and_events_are_parsed_once() -> None:
    import ujson
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet as RasaSlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa_action_body import action_call

    domain = Domain.from_dict({"slots": {"kb_entry": {"type": "any", "mappings": [{"type": "custom"}]}},
                               "responses": {"utter_greet": [{"text": "你好"}]}})
    tracker = DialogueStateTracker("rest:payload", domain.slots)
    for event in (UserUttered("电池多大 battery/mAh?", {"name": "ask", "confidence": 0.9},
                              [{"entity": "product", "value": "X1", "start": 0, "end": 2}], timestamp=1.0),
                  ActionExecuted("action_echo", timestamp=2.0), BotUttered("5000 mAh", {"buttons": None}, timestamp=3.0),
                  RasaSlotSet("kb_entry", ("a", 1.5), timestamp=4.0)):
        tracker.update(event)
    call = action_call(RemoteAction("action_echo", None), tracker, domain, {})
    payload = rasa_actions_inprocess._payload(call)
    assert payload == ujson.loads(call.lean)
    again = rasa_actions_inprocess._payload(action_call(RemoteAction("action_echo", None), tracker, domain, {}))
    events, kept = again["tracker"]["events"], payload["tracker"]["events"]
    assert again == payload and len(events) == 4 and all(a is b for a, b in zip(events, kept, strict=True))
    assert again["tracker"]["events"] is not payload["tracker"]["events"]  # a new list per call


# --- the real assistant, both ways --------------------------------------------------------------------------


def _conversation_outline(assistant: Any, sender: str, lines: List[str]) -> List[Any]:
    """What the assistant decided on `lines`: intents, actions, slots, loops (texts of responses with several
    variants are picked at random, so they are left out) and whether each message got an answer."""
    answered = [bool(assistant.say(sender, line)) for line in lines]
    outline: List[Any] = [answered]
    for event in assistant.tracker(sender)["events"]:
        kind = event.get("event")
        if kind == "user":
            outline.append(("user", (event.get("parse_data") or {}).get("intent", {}).get("name")))
        elif kind in ("action", "slot", "active_loop", "followup"):
            value = event.get("value") if kind == "slot" else None
            outline.append((kind, event.get("name"), None if event.get("name") in _VOLATILE_SLOTS else value))
    return outline


_VOLATILE_SLOTS = {"session_started_at", "last_seen"}
_FORMS = [["where is my order", "M2026110505", "thanks"], ["我的订单到哪了", "M2026110501", "谢谢"]]


def test_the_real_assistant_decides_the_same_with_actions_in_process(tmp_path: Any) -> None:
    from bench.load import script
    from tests.harness import new_sender, start_assistant

    outlines: Dict[str, List[Any]] = {}
    for mode in ("http", "inprocess"):
        assistant = start_assistant(tmp_path / mode, with_console=False, env={"CANYU_ACTIONS": mode})
        try:
            outlines[mode] = [_conversation_outline(assistant, new_sender(f"inproc{i}"), lines)
                              for i, lines in enumerate([script("rest", i, 10) for i in range(4)] + _FORMS)]
            if mode == "inprocess":
                assert "action-inprocess" in assistant.log("rasa")
                # no action server started, and the REST channel's readiness does not ask for one
                assert not any(name.startswith("actions") for name in assistant.stack.children)
                ready = requests.get(assistant.url + "/webhooks/rest/ready", timeout=30)
                assert ready.status_code == 200, ready.text
                assert assistant.stack.ready()["ready"], assistant.stack.ready()
        finally:
            assistant.stop()
    assert outlines["inprocess"] == outlines["http"]
    steps = [step for outline in outlines["http"] for step in outline[1:]]
    assert any(step[0] == "active_loop" and step[1] for step in steps), steps  # a form ran
    assert any(step[0] == "action" and step[1] == "action_answer_product" for step in steps), steps


def test_rasa_listens_only_once_the_actions_are_ready_and_uninstall_puts_its_loader_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa.core.run as rasa_run

    order: List[str] = []

    async def load(*args: Any) -> str:
        order.append("model")
        return "agent"

    async def slow_factory() -> Any:
        await asyncio.sleep(0.2)
        order.append("actions")
        return _executor()

    rasa_patches.uninstall()
    monkeypatch.setattr(rasa_run, "load_agent_on_start", load)
    monkeypatch.setattr(rasa_actions_inprocess, "_our_actions", lambda env: slow_factory)
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_ACTIONS": "inprocess"})
    try:
        assert asyncio.run(rasa_run.load_agent_on_start("model.tar.gz", None, None, "app", "loop")) == "agent"
        assert order == ["model", "actions"]  # the server's before-start listener waited for the actions
    finally:
        rasa_patches.uninstall()
    assert rasa_run.load_agent_on_start is load
