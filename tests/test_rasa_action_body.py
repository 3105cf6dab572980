"""The body of an action-server call (bot/rasa_action_body.py) and the domain sent once (bot/rasa_action_domain.py):
the same JSON values as Rasa's, each event's JSON made once, and the domain left out only for a server that keeps it.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any, Dict, List, Optional, Tuple

import pytest
from aiohttp import web

from bot import rasa_patches
from bot.rasa_action_body import action_call, event_json
from bot.rasa_action_domain import HEADER, DomainCache, DomainUnknown, domain_digest
from tests.test_rasa_patches import serve_webhook

DOMAIN = {"slots": {"kb_entry": {"type": "any", "mappings": [{"type": "custom"}]},
                    "order_number": {"type": "text", "mappings": [{"type": "custom"}]}},
          "forms": {"order_form": {"required_slots": ["order_number"]}},
          "actions": ["action_x", "validate_order_form"],
          "responses": {"utter_greet": [{"text": "你好 hello \"quoted\" a/b"}]}}


def _domain() -> Any:
    from rasa.shared.core.domain import Domain

    return Domain.from_dict(copy.deepcopy(DOMAIN))


def _tracker(domain: Any) -> Any:
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker("rest:body", domain.slots)
    for event in [ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=1.1),
                  ActionExecuted("action_listen", timestamp=1.2),
                  UserUttered("我的订单 where\u2028is it?", {"name": "order_status", "confidence": 0.93},
                              [{"entity": "x", "value": "é", "start": 0, "end": 1}],
                              {"intent_ranking": [{"name": "order_status", "confidence": 0.93}]},
                              timestamp=1.3, input_channel="rest", message_id="m1", metadata={"k": [1, 2.5]}),
                  ActionExecuted("order_form", timestamp=1.4), ActiveLoop("order_form", timestamp=1.5),
                  SlotSet("requested_slot", "order_number", timestamp=1.6),
                  BotUttered("单号是？", {"buttons": None}, {"utter_action": "utter_ask"}, timestamp=1.7),
                  SlotSet("kb_entry", {"a": [1, None, True]}, timestamp=1.8)]:
        tracker.update(event)
    return tracker


def test_the_body_holds_rasas_values_and_each_event_is_encoded_once() -> None:
    from rasa.core.actions.action import RemoteAction

    rasa_patches.uninstall()
    domain = _domain()
    tracker = _tracker(domain)
    action = RemoteAction("action_x", None)
    rasas = action._action_call_format(tracker, domain)
    cache: Dict[int, Any] = {}
    call = action_call(action, tracker, domain, cache)
    assert json.loads(call.encoded) == json.loads(json.dumps(rasas))
    assert call.encoded.isascii()
    lean = json.loads(call.lean)
    assert "domain" not in lean and lean == json.loads(json.dumps({k: v for k, v in rasas.items() if k != "domain"}))
    assert call.digest == domain_digest(rasas["domain"])
    assert dict(call.full()) == rasas
    first = [event_json(e) for e in tracker.events]
    assert all(event_json(e) is text for e, text in zip(tracker.events, first, strict=True))  # kept, not made again
    assert action_call(action, tracker, domain, cache).encoded == call.encoded
    copied = copy.deepcopy(tracker.events[3])
    copied.text = "changed"
    assert json.loads(event_json(copied))["text"] == "changed"  # a copy makes its own


def test_the_domain_cache_keeps_only_a_verified_domain_and_refuses_an_unknown_one() -> None:
    cache = DomainCache(size=2)
    digest = domain_digest(DOMAIN)
    assert digest and cache.complete({"domain": copy.deepcopy(DOMAIN)}, "0" * 64) is None  # not its digest
    with pytest.raises(DomainUnknown):
        cache.complete({"tracker": {}}, digest)
    assert cache.complete({"domain": copy.deepcopy(DOMAIN)}, digest) == digest
    lean: Dict[str, Any] = {"tracker": {}}
    assert cache.complete(lean, digest) == digest and lean["domain"] == DOMAIN
    assert cache.complete({"tracker": {}}, None) is None  # no header: Rasa's way
    for n in range(2):
        other = {**DOMAIN, "n": n}
        assert cache.complete({"domain": other}, domain_digest(other)) == domain_digest(other)
    with pytest.raises(DomainUnknown):  # the oldest of three went
        cache.complete({"tracker": {}}, digest)


async def _calls(keeps: bool, restart_after: Optional[int] = None, n: int = 3) -> Tuple[List[Dict[str, Any]],
                                                                                        List[Any]]:
    """`n` RemoteAction.run calls to a server that keeps domains (`keeps`, as bot/actions/server.py does) or not;
    the parsed bodies the server got, completed with its kept domain, and the events of each call. The server
    restarts (forgets its domains) after call `restart_after`."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.utils.endpoints import EndpointConfig

    seen: List[Dict[str, Any]] = []
    raw: List[bool] = []
    state = {"cache": DomainCache()}

    async def webhook(request: web.Request) -> web.Response:
        call = json.loads(await request.read())
        had = "domain" in call
        ack = None
        if keeps:
            try:
                ack = state["cache"].complete(call, request.headers.get(HEADER))
            except DomainUnknown as exc:
                return web.json_response({"error": str(exc)}, status=409)
        seen.append(call)
        raw.append(had)
        return web.json_response({"events": [{"event": "slot", "name": "kb_entry", "value": call["domain"] != {}}]},
                                 headers={HEADER: ack} if ack else None)

    runner, port = await serve_webhook(webhook)
    domain = _domain()
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    events = []
    try:
        for i in range(n):
            tracker = _tracker(domain)
            out = await RemoteAction("action_x", endpoint).run(
                CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain)
            events.append([e.as_dict()["value"] for e in out])
            if restart_after == i:
                state["cache"] = DomainCache()
    finally:
        await runner.cleanup()
    return [dict(call, sent_domain=sent) for call, sent in zip(seen, raw, strict=True)], events


def _without_time(calls: List[Dict[str, Any]]) -> List[Any]:
    return [json.loads(json.dumps({k: v for k, v in call.items() if k != "sent_domain"})) for call in calls]


@pytest.mark.parametrize("restart", [None, 0])
def test_the_domain_goes_once_to_a_server_that_keeps_it_and_again_after_a_restart(restart: Optional[int]) -> None:
    rasa_patches.uninstall()
    rasas, rasa_events = asyncio.run(_calls(keeps=True, restart_after=restart))
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        ours, events = asyncio.run(_calls(keeps=True, restart_after=restart))
        plain, plain_events = asyncio.run(_calls(keeps=False))
    finally:
        rasa_patches.uninstall()
    assert events == rasa_events == plain_events == [[True]] * 3
    assert _without_time(ours) == _without_time(rasas)  # what the actions see: the same calls
    assert [c["sent_domain"] for c in rasas] == [True] * 3
    # the first call carries the domain; later ones not, but after a restart (409, then sent again with it)
    assert [c["sent_domain"] for c in ours] == ([True, False, False] if restart is None else [True, True, False])
    assert [c["sent_domain"] for c in plain] == [True] * 3  # a server that never acknowledges gets every domain
