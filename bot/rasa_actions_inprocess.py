"""Custom actions run inside the Rasa process (`CANYU_ACTIONS=inprocess`), not over HTTP.

Why: over HTTP every custom action call costs both processes: Rasa writes the request and reads
the answer with aiohttp, the action server (Sanic, rasa_sdk) parses the tracker's JSON, runs the action and
writes the answer; a form's turn makes two such calls. That was ~8% of Rasa's CPU at c=16 (the request and the
answer, bench/profile_rasa.py) and most of the action server's 4–7 ms per message that were not the actions.

How: the `action-inprocess` patch wraps `EndpointConfig.request` (above the `action-keepalive` transport of
bot/rasa_patches.py) for the calls that carry an `ActionCall` only: the call goes to rasa_sdk's `ActionExecutor`
holding our action package (`bot.actions`, registered with one `AppContext` as bot/actions/server.py does),
on one event loop in its own thread (`canyu-actions`), so an action that blocks (Redis, the knowledge base)
holds that loop, as it held the action server's, and not Rasa's. What the action sees and what Rasa gets back
are the values the HTTP path gives:
- the action reads the call's JSON parsed by ujson (as Sanic parses it): the tracker's state per call, each event
  once (its JSON, the one the HTTP path sends, parsed when first sent and kept on the event: parsing every event
  of the conversation on every call was ~1 ms per message), the domain once per digest; events and domain are
  shared between calls (as the action server's `DomainCache` shares the domain): actions read them;
- its answer goes through JSON (ujson out, `json.loads` in, as Sanic and aiohttp do) before Rasa validates it;
- a rejection is a 400 with rasa_sdk's body, an unknown action a 404 and any other error a 500 with the
  server's body, as `ClientResponseError`, so `RemoteAction.run` raises what it raises for the action server.

The executor is built and warmed (bot/warmup.py's `warm_actions`: Redis, the knowledge index, a question per
language) in the `canyu-actions` thread as soon as the patch is installed, while Rasa loads its model; Rasa's
server starts listening once both are done (`load_agent_on_start` wrapped), so it is ready only when warm.
`bot run` with one Rasa server runs this mode and starts no action server (bot/runner.py `runs_action_servers`).
Only with `CANYU_RASA_SPEEDUPS` on (the patch sits on its transport); `http` (unset, in a Rasa process started
otherwise, and `bot run`'s layout of several servers) keeps every call on the wire.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import logging
import threading
from concurrent.futures import Future
from typing import Any, Callable, Coroutine, Dict, Mapping, Optional

import ujson

from bot.rasa_action_body import ActionCall, dumps, event_json

__all__ = ["ExecutorFactory", "InProcessActions", "event_dict", "install_inprocess_actions", "running",
           "stop_inprocess_actions"]

logger = logging.getLogger(__name__)

ExecutorFactory = Callable[[], Coroutine[Any, Any, Any]]
"""Builds (and warms) the rasa_sdk `ActionExecutor` on the actions' loop."""
_RUNNER = "_canyu_runner"
_EVENT_DICT = "_canyu_dict"


def event_dict(event: Any) -> Dict[str, Any]:
    """The event as the action server parses it (its JSON, `event_json`, read by ujson), made once per event
    object and shared by the calls that send it: actions read the tracker's event dicts, none writes them
    (rasa_sdk's `Tracker` appends to its own list, which is new per call)."""
    kept = event.__dict__.get(_EVENT_DICT)
    if kept is not None and kept[0] == id(event):
        found: Dict[str, Any] = kept[1]
        return found
    made: Dict[str, Any] = ujson.loads(event_json(event))
    event.__dict__[_EVENT_DICT] = (id(event), made)
    return made


def _payload(body: ActionCall) -> Dict[str, Any]:
    """The call without the domain, as the action server parses it: the tracker's state from its JSON, the
    events each parsed once (`event_dict`; a body whose events were made into dicts: all from its JSON)."""
    events = body._events
    if events is None:
        whole: Dict[str, Any] = ujson.loads(body.lean)
        return whole
    state = {k: v for k, v in body["tracker"].items() if k != "events"}
    payload: Dict[str, Any] = ujson.loads(dumps({**{k: v for k, v in body.items() if k not in ("domain", "tracker")},
                                                 "tracker": state}))
    payload["tracker"]["events"] = [event_dict(event) for event in events]
    return payload


class InProcessActions:
    """rasa_sdk's `ActionExecutor` on an event loop of its own thread; `call` runs an `ActionCall` on it from
    Rasa's loop and answers what the action server would have."""

    def __init__(self, factory: ExecutorFactory) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="canyu-actions", daemon=True)
        self._thread.start()
        self._executor: Future[Any] = asyncio.run_coroutine_threadsafe(factory(), self._loop)
        self._domains: Dict[str, Any] = {}

    async def call(self, body: ActionCall) -> Any:
        """The answer of the action `body` names, as Rasa's `EndpointConfig.request` returns the server's."""
        payload = _payload(body)
        if body.digest:
            domain = self._domains.get(body.digest)
            if domain is None:  # once per domain (a new model brings a new one); the last few are kept
                if len(self._domains) >= 4:
                    self._domains.clear()
                domain = self._domains[body.digest] = ujson.loads(body.encoded).get("domain")
            payload["domain"] = domain
        elif body.encoded != body.lean:
            payload = ujson.loads(body.encoded)
        done = asyncio.run_coroutine_threadsafe(self._run(payload), self._loop)
        text: str = await asyncio.wrap_future(done)
        return json.loads(text)

    async def _run(self, payload: Dict[str, Any]) -> str:
        """On the actions' loop: the JSON the action server would answer, or the `ClientResponseError` Rasa's
        request raises for its error status."""
        from rasa.utils.endpoints import ClientResponseError
        from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

        try:
            executor = await asyncio.wrap_future(self._executor)
            result = await executor.run(payload)
        except ActionExecutionRejection as e:
            logger.debug(e)
            # cause dropped: Rasa reads the 400's body, as from the action server
            raise ClientResponseError(400, "Bad Request",
                                      ujson.dumps({"error": e.message, "action_name": e.action_name})) from None
        except ActionNotFoundException as e:
            logger.error(e)
            # cause dropped: Rasa reads the 404's status, as from the action server
            raise ClientResponseError(404, "Not Found",
                                      ujson.dumps({"error": e.message, "action_name": e.action_name})) from None
        except Exception as e:  # the action server's exception handler: logged, a 500
            logger.error("Exception occurred during execution of action %r", payload.get("next_action"), exc_info=e)
            raise ClientResponseError(500, "Internal Server Error", ujson.dumps({"error": str(e)})) from e
        text: str = ujson.dumps(result)
        return text

    async def ready(self) -> None:
        """Wait until the executor is built and warm (a failed build is logged by the calls it fails)."""
        try:
            await asyncio.wrap_future(self._executor)
        except Exception:  # every call answers 500 then, with the error logged
            logger.exception("in-process actions: the action package could not be built")

    def stop(self) -> None:
        """Stop the actions' loop (its thread ends); calls after this fail."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


def _our_actions(env: Mapping[str, str]) -> ExecutorFactory:
    """Our action package with a context of its own (`plugin_context`, as Rasa's other plug-ins of ours build
    theirs: settings from this process's environment, the one bot.child hands to the patches), warmed as the
    action server warms up."""

    async def build() -> Any:
        from rasa_sdk.executor import ActionExecutor

        from bot.actions.server import register_actions
        from bot.plugin_context import plugin_context
        from bot.warmup import warm_actions

        ctx = plugin_context()
        atexit.register(ctx.close)
        executor = ActionExecutor()
        names = register_actions(executor, ctx)
        try:
            await warm_actions(ctx, executor)
        except Exception:  # a cold first call is slower, not wrong
            logger.warning("in-process actions: the warm-up failed; serving cold", exc_info=True)
        logger.info("in-process actions ready: %d actions", len(names))
        return executor

    return build


def install_inprocess_actions(originals: Dict[str, Callable[..., Any]], env: Mapping[str, str],
                              factory: Optional[ExecutorFactory] = None) -> InProcessActions:
    """Wrap `EndpointConfig.request` so that action calls run in this process (`factory`: our action package);
    Rasa's own method is in `originals` already (the `action-keepalive` transport put it there)."""
    from rasa.utils.endpoints import EndpointConfig

    runner = InProcessActions(factory or _our_actions(env))
    request = EndpointConfig.request
    originals.setdefault("EndpointConfig.request", request)

    async def inprocess_request(self: Any, method: str = "post", subpath: Optional[str] = None,
                                content_type: Optional[str] = "application/json", compress: bool = False,
                                **kwargs: Any) -> Any:
        body = kwargs.get("json")
        if not isinstance(body, ActionCall):
            return await request(self, method, subpath, content_type, compress, **kwargs)
        return await runner.call(body)

    setattr(inprocess_request, _RUNNER, runner)
    EndpointConfig.request = inprocess_request
    _ready_before_listening(runner)
    return runner


def _ready_before_listening(runner: InProcessActions) -> None:
    """Rasa's server listens once its model is loaded (`rasa.core.run.load_agent_on_start`, before the server
    starts); it now also waits for the actions' build and warm-up, which ran meanwhile: so the first message
    after ready costs what the next ones do, as with a warmed action server."""
    import rasa.core.run as rasa_run

    load = rasa_run.load_agent_on_start

    @functools.wraps(load)
    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await load(*args, **kwargs)
        await runner.ready()
        return agent

    setattr(load_agent_on_start, _RUNNER, load)
    rasa_run.load_agent_on_start = load_agent_on_start


def running() -> Optional[InProcessActions]:
    """The runner the installed patch calls, if any (kept on the patched `EndpointConfig.request`)."""
    from rasa.utils.endpoints import EndpointConfig

    runner: Optional[InProcessActions] = getattr(EndpointConfig.request, _RUNNER, None)
    return runner


def stop_inprocess_actions() -> None:
    """Stop the installed runner; bot/rasa_patches.py's `uninstall` calls this first, then puts Rasa's `request`
    back."""
    import rasa.core.run as rasa_run

    runner = running()
    if runner is not None:
        runner.stop()
    rasa_run.load_agent_on_start = getattr(rasa_run.load_agent_on_start, _RUNNER, rasa_run.load_agent_on_start)
