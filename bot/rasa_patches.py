"""The one place where Canyu changes Rasa's behaviour in its own server process (installed by `bot.child`).

**Custom actions survive an action-server restart.** Rasa 3.6 logs "Failed to run custom action … Bot will
continue, but the actions events are lost" when the action server cannot be reached, and the user gets no
answer at all. When `bot run` restarts a crashed action server that takes a few seconds. So a call that failed
to *connect* (or whose connection broke) is tried again, with a growing pause (0.5 s, 1 s, 2 s … at most 5 s),
for up to `CANYU_ACTION_RETRY_S` seconds (default 60; 0 turns this off). Only if the action server stays away
longer does the user get `utter_action_unavailable` ("something went wrong on my side…"), never silence.

A broken connection may mean the action had started; our actions are safe to run again (answers, lookups,
and writes keyed by the user or the item), which is why a retry is acceptable here.

**Less work per message** (issue 17's profile: ~39% of Rasa's CPU validating action-server responses with
jsonschema, `check_schema` alone 22%; ~13% in `all_subclasses` resolving event classes). With
`CANYU_RASA_SPEEDUPS` on (the default; `0` gives Rasa's own code paths back):
- every action-server response is still validated against Rasa's own response schema, but by a validator built
  once (the schema is checked once, not per response), after a fast exact check of the common responses
  (bot/rasa_action_result.py); a malformed response is rejected with the same
  `jsonschema.ValidationError` and message as Rasa's. `CANYU_ACTION_VALIDATION=off` skips validation entirely,
  for an action server you trust (ours); the default is `on`.
- `Event.resolve_by_type` looks the event name up in a map built once from the same subclass walk Rasa does
  (first class wins, as in Rasa). Event classes are defined at import time; a name not in the map rebuilds it
  once, so a class imported later is still found, and unknown names fall through to Rasa's own code.

- calls to the action server (`action-keepalive`): Rasa opens a new HTTP connection for every custom action
  and JSON-encodes the whole domain (~74 KB here, the same dict every time) and every event of the session into
  every request. The body is now made by bot/rasa_action_body.py (the domain's JSON once per domain, each event's
  JSON once per event, the rest by ujson: the JSON of the same values), the domain is left out once the action
  server said it keeps it (bot/rasa_action_domain.py: `X-Canyu-Domain`; a 409 from a server without it sends
  the call again with it), and calls go over one kept-alive session per action endpoint and event loop (idle
  connections dropped after `KEEPALIVE_S`, under the action server's own 5 s). A connection the action
  server closed meanwhile fails like any connection error, so the retry above sends the call again.
- RulePolicy's rules prepared once, indexed by their newest previous action (`rule-lookup`, bot/rasa_rule_lookup.py);
  the order dask chose on a graph's first run replayed (`graph-plans`, bot/rasa_graph_runner.py); the policies'
  states replayed once per turn, then extended (`past-states`, bot/rasa_past_states.py).
- MemoizationPolicy's key compressed once per state sequence (`memo-keys`, bot/rasa_memo_keys.py); the lock's
  clean-up in the last save's append script (`lock-release`, bot/rasa_lock_release.py).
- the NLU in one worker thread while other messages are in (`nlu-thread`, bot/rasa_nlu_thread.py).
- custom actions in this process (`action-inprocess`, bot/rasa_actions_inprocess.py; `CANYU_ACTIONS=inprocess`,
  which `bot run` sets for one Rasa server; unset: `http`): rasa_sdk's executor on our actions in a thread.
- the GIL's switch interval (`gil-switch`, bot/rasa_gil.py; `CANYU_GIL_SWITCH_MS`, default 1 ms; `off`: 5 ms).
- the garbage collector's thresholds (`gc-thresholds`, bot/rasa_gc.py; `CANYU_GC_THRESHOLDS`, opt-in), and its
  survivors frozen after each full collection (`gc-refreeze`, `CANYU_GC_REFREEZE`, default on).
- at most K messages in the processor at once, the rest queued (`admission`, bot/rasa_admission.py).
- trackers (bot/rasa_tracker_patches.py): Rasa's fail-safe store makes new ones through ours (`store-init`), and
  `init_copy` copies slots without `copy.copy`'s protocol look-ups (`tracker-copy`).
The same switch chooses the appending tracker store (bot/stores.py) and the event broker's writer thread
(bot/event_broker.py), so `CANYU_RASA_SPEEDUPS=0` is the stock baseline of bench/throughput.py.

Patched: `rasa.core.actions.action.RemoteAction.run` (wrapped, not replaced),
`RemoteAction._validate_action_result` and `rasa.shared.core.events.Event.resolve_by_type` (replaced),
`RulePolicy._get_possible_keys`, `FailSafeTrackerStore.init_tracker`, `DaskGraphRunner.run`,
`DialogueStateTracker.init_copy`, `Domain.states_for_tracker_history`, `MemoizationPolicy._create_feature_key`,
`MessageProcessor.parse_message` (replaced), `RemoteAction._action_call_format`,
`rasa.utils.endpoints.EndpointConfig.request` (wrapped once more by `action-inprocess`) and `.session` (wrapped:
they change only calls that carry an `ActionCall`), `MessageProcessor.handle_message` (wrapped: counted for the
NLU thread, marked for `lock-release`, gated by `admission`), `.save_tracker` (wrapped: inside a message, it arms
the lock's release by the save); the originals are kept in `_ORIGINALS`. `installed()` tells whether the retry is
installed, `active()` which patches are; the Rasa log names them on the first custom action. The switches
(bot/speedups.py) are read from the environment `install(env)` is given (the process's `Settings.env`).

Patches change classes, so they are process-wide by nature: `_ORIGINALS` and `_ACTIVE` record what is installed,
and `_SESSIONS` / `_DOMAIN_JSON` are caches of the installed transport; `uninstall()` resets all four.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

import aiohttp

from bot.errors import ConfigError
from bot.rasa_action_body import ActionCall, DomainJson, action_call, encode_action_call as encode_call
from bot.rasa_action_domain import HEADER, ack_tracer, acknowledged, asks_for_the_domain, forget_ack
from bot.rasa_action_result import plainly_valid
from bot.rasa_actions_inprocess import install_inprocess_actions, stop_inprocess_actions
from bot.rasa_admission import install_admission
from bot.rasa_gc import install_gc, restore_gc
from bot.rasa_gil import install_gil_switch, restore_gil_switch
from bot.rasa_graph_runner import install_graph_plans
from bot.rasa_lock_release import install_lock_release
from bot.rasa_memo_keys import install_memo_keys
from bot.rasa_nlu_thread import install_nlu_thread
from bot.rasa_past_states import install_past_states
from bot.rasa_rule_lookup import install_rule_lookup
from bot.rasa_tracker_patches import install_failsafe_init, install_init_copy
from bot.speedups import actions_in_process, max_inflight, nlu_thread_enabled, speedups_enabled, validation_enabled

__all__ = ["active", "encode_action_call", "install", "installed", "uninstall", "retry_seconds", "speedups_enabled",
           "validation_enabled", "ActionCall", "UNAVAILABLE_RESPONSE"]

logger = logging.getLogger(__name__)

UNAVAILABLE_RESPONSE = "utter_action_unavailable"
_MARK = "_canyu_retrying"
_ORIGINALS: Dict[str, Callable[..., Any]] = {}
"""Rasa's methods that a patch replaced: a process-wide registry (patches change classes); reset with uninstall()."""
_ACTIVE: List[str] = []
"""The names of the installed patches: a process-wide registry; reset with uninstall()."""
def active() -> List[str]:
    """The patches installed in this process, e.g. `["action-retry", "compiled-validation", "event-class-cache"]`."""
    return list(_ACTIVE)


def retry_seconds(env: Mapping[str, str]) -> float:
    """`CANYU_ACTION_RETRY_S` (default 60; 0: no retry)."""
    raw = env.get("CANYU_ACTION_RETRY_S", "").strip() or "60"
    try:
        value = float(raw)
    except ValueError:
        # cause dropped: the message quotes the bad value and the reason
        raise ConfigError(
            f"CANYU_ACTION_RETRY_S={raw!r} is not a number of seconds; use e.g. 60 (0: no retry)") from None
    if value < 0:
        raise ConfigError(f"CANYU_ACTION_RETRY_S={raw!r} must be 0 or more seconds")
    return value


def _unreachable(exc: BaseException) -> bool:
    """Rasa wraps a failed connection in a RasaException whose cause is aiohttp's ClientConnectionError."""
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, (aiohttp.ClientConnectionError, asyncio.TimeoutError))


def installed() -> bool:
    from rasa.core.actions.action import RemoteAction

    return bool(getattr(RemoteAction.run, _MARK, False))


def install(env: Mapping[str, str]) -> None:
    """Install every patch `env` (the process's `Settings.env`) asks for (idempotent)."""
    if installed():
        return
    budget = retry_seconds(env)
    speedups, validate = speedups_enabled(env), validation_enabled(env)
    _install_retry(budget)
    _ACTIVE.append("action-retry")
    if not validate:
        _install_validation(skip=True)
        _ACTIVE.append("no-validation")
    elif speedups:
        _install_validation(skip=False)
        _ACTIVE.append("compiled-validation")
    if speedups:
        _install_event_cache()
        _ACTIVE.append("event-class-cache")
        _install_action_transport()
        _ACTIVE.append("action-keepalive")
        for name, patch in (("rule-lookup", install_rule_lookup), ("store-init", install_failsafe_init),
                            ("graph-plans", install_graph_plans), ("tracker-copy", install_init_copy),
                            ("past-states", install_past_states), ("memo-keys", install_memo_keys)):
            patch(_ORIGINALS)
            _ACTIVE.append(name)
        if nlu_thread_enabled(env):
            install_nlu_thread(_ORIGINALS)
            _ACTIVE.append("nlu-thread")
        install_lock_release(_ORIGINALS)  # after nlu-thread, which keeps the `handle_message` it finds
        _ACTIVE.append("lock-release")
        if install_gil_switch(env):
            _ACTIVE.append("gil-switch")
        _ACTIVE.extend(install_gc(env))
        if install_admission(_ORIGINALS, max_inflight(env)):  # last: the outermost `handle_message`
            _ACTIVE.append("admission")
        if actions_in_process(env):
            install_inprocess_actions(_ORIGINALS, env)
            _ACTIVE.append("action-inprocess")
    elif actions_in_process(env):
        logger.warning("CANYU_ACTIONS=inprocess needs CANYU_RASA_SPEEDUPS on; custom actions go over HTTP")


def uninstall() -> None:
    """Put Rasa's own methods back and forget the patches' caches (tests compare both ways in one process)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.policies.memoization import MemoizationPolicy
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    owners = {"RemoteAction": RemoteAction, "Event": Event, "EndpointConfig": EndpointConfig, "RulePolicy": RulePolicy,
              "FailSafeTrackerStore": FailSafeTrackerStore, "DaskGraphRunner": DaskGraphRunner,
              "DialogueStateTracker": DialogueStateTracker, "Domain": Domain, "MessageProcessor": MessageProcessor,
              "MemoizationPolicy": MemoizationPolicy}
    stop_inprocess_actions()  # first: it finds its runner on the patched `EndpointConfig.request`
    for key, original in _ORIGINALS.items():
        owner, _, name = key.partition(".")
        setattr(owners[owner], name, staticmethod(original) if key == "Event.resolve_by_type" else original)
    restore_gil_switch()
    restore_gc()
    _ORIGINALS.clear()
    _ACTIVE.clear()
    _SESSIONS.clear()
    _DOMAIN_JSON.clear()


def _install_retry(budget: float) -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.exceptions import RasaException

    original = RemoteAction.run
    _ORIGINALS["RemoteAction.run"] = original
    announced = False

    @functools.wraps(original)
    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        nonlocal announced
        if not announced:  # Rasa configures logging after install(): say it where the log shows it
            announced = True
            logger.info("canyu rasa patches: %s", ", ".join(_ACTIVE))
        deadline, pause = time.monotonic() + budget, 0.5
        while True:
            try:
                events: List[Any] = await original(self, output_channel, nlg, tracker, domain)
                return events
            except RasaException as exc:
                if not _unreachable(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    logger.error("action server unreachable for %.0f s; %s told to try again", budget,
                                 tracker.sender_id)
                    return await _apologise(output_channel, nlg, tracker)
                logger.warning("action %s: action server unreachable; retrying in %.1f s", self.name(), pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    setattr(run, _MARK, True)
    RemoteAction.run = run


async def _apologise(output_channel: Any, nlg: Any, tracker: Any) -> List[Any]:
    from rasa.core.actions.action import create_bot_utterance

    message = await nlg.generate(UNAVAILABLE_RESPONSE, tracker, output_channel.name())
    return [create_bot_utterance(message)] if message else []


def _install_validation(skip: bool) -> None:
    """Replace RemoteAction._validate_action_result: one validator built once, or none at all (`skip`)."""
    from jsonschema import ValidationError, validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    original = RemoteAction._validate_action_result
    _ORIGINALS["RemoteAction._validate_action_result"] = original
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    compiled = cls(schema)
    own_spec = RemoteAction.__dict__["action_response_format_spec"]

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        if type(self).__dict__.get("action_response_format_spec", own_spec) is not own_spec:
            valid: bool = original(self, result)  # a subclass with its own schema: Rasa's way
            return valid
        if skip or plainly_valid(result) or compiled.is_valid(result):
            return True
        error: ValidationError = best_match(compiled.iter_errors(result))
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result


def _event_classes() -> Dict[str, type]:
    """Event type name -> class, in the order Rasa's `resolve_by_type` tries them (the first one wins)."""
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    classes: Dict[str, type] = {}
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        classes.setdefault(cls.type_name, cls)
    return classes


def _install_event_cache() -> None:
    """Replace Event.resolve_by_type by a dictionary look-up; misses rebuild once, then go to Rasa's code."""
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    _ORIGINALS["Event.resolve_by_type"] = original
    cache: Dict[str, type] = _event_classes()

    def resolve_by_type(type_name: str, default: Optional[type] = None) -> Optional[type]:
        nonlocal cache
        found = cache.get(type_name)
        if found is None:
            cache = _event_classes()
            found = cache.get(type_name)
        return found if found is not None else original(type_name, default)

    resolve_by_type.__doc__ = original.__doc__
    Event.resolve_by_type = staticmethod(resolve_by_type)


# ---------------------------------------------------------------- action-server calls: keep-alive, domain JSON once
KEEPALIVE_S = 2.0  # under the action server's own keep-alive (Sanic: 5 s), so it never closes one we reuse
_KEEP = "_canyu_keepalive"
_SESSIONS: Dict[int, Any] = {}
"""One kept-alive aiohttp session per action endpoint: a process-wide cache; reset with uninstall()."""
_DOMAIN_JSON: DomainJson = {}
"""The JSON and digest of the last domain sent (the same dict on every call): a process-wide cache; reset with
uninstall()."""


def encode_action_call(body: Dict[str, Any]) -> ActionCall:
    """The JSON aiohttp would send for `body` (bot/rasa_action_body.py), the domain's JSON kept in `_DOMAIN_JSON`."""
    return encode_call(body, _DOMAIN_JSON)


class _Kept:
    """`async with` over a session that stays open (Rasa's `request` closes the one `session()` gives it)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: Any) -> None:
        return None


def _kept_session(endpoint: Any) -> _Kept:
    """One open session per action endpoint and event loop: Rasa's headers, auth and timeout, kept-alive
    connections (a new TCP connection per action call cost both processes CPU)."""
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    session = _SESSIONS.get(id(endpoint))
    if session is None or session.closed or getattr(session, "_loop", loop) is not loop:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"]) \
            if endpoint.basic_auth else None
        session = aiohttp.ClientSession(headers=endpoint.headers, auth=auth,
                                        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                                        connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
                                        trace_configs=[ack_tracer(endpoint)])
        _SESSIONS[id(endpoint)] = session
    return _Kept(session)


def _install_action_transport() -> None:
    """`RemoteAction._action_call_format` returns an `ActionCall`; `EndpointConfig.request` sends its ready JSON
    over a kept-alive session (only for such calls: other endpoints keep Rasa's way)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig

    call_format, request, session = (RemoteAction._action_call_format, EndpointConfig.request,
                                     EndpointConfig.session)
    _ORIGINALS["RemoteAction._action_call_format"] = call_format
    _ORIGINALS["EndpointConfig.request"] = request
    _ORIGINALS["EndpointConfig.session"] = session

    def _action_call_format(self: Any, tracker: Any, domain: Any) -> Dict[str, Any]:
        return action_call(self, tracker, domain, _DOMAIN_JSON)

    async def keeping_request(self: Any, method: str = "post", subpath: Optional[str] = None,
                              content_type: Optional[str] = "application/json", compress: bool = False,
                              **kwargs: Any) -> Any:
        body = kwargs.get("json")
        if not isinstance(body, ActionCall):
            return await request(self, method, subpath, content_type, compress, **kwargs)
        if compress:
            kwargs["json"] = dict(body.full())
            return await request(self, method, subpath, content_type, compress, **kwargs)
        del kwargs["json"]
        setattr(self, _KEEP, True)
        if body.digest:
            kwargs["headers"] = {**kwargs.get("headers", {}), HEADER: body.digest}
            if acknowledged(self) == body.digest:  # the server keeps this domain: the body without it
                try:
                    return await request(self, method, subpath, content_type, compress, data=body.lean, **kwargs)
                except ClientResponseError as exc:
                    if not asks_for_the_domain(exc.status, exc.text):
                        raise
                    forget_ack(self)  # restarted, or another instance: send the domain again
        return await request(self, method, subpath, content_type, compress, data=body.encoded, **kwargs)

    def keeping_session(self: Any) -> Any:
        return _kept_session(self) if getattr(self, _KEEP, False) else session(self)

    RemoteAction._action_call_format = _action_call_format
    EndpointConfig.request = keeping_request
    EndpointConfig.session = keeping_session
