"""Start warm: every process on the message path runs its first answer before it says it is up.

Measured on a fresh stack (bench/first_message.py), the first message after ready took 3–6 s where the next
hundred took 20–70 ms: the Rasa server loaded its two sentence models (imports of torch, transformers and
sentence_transformers included) and jieba's dictionary on that message, and the action server was still
building its knowledge-base index in a background thread. Each process now does that work, and one whole
answer, before it listens:

- **the Rasa server** (`attach_rasa`, called by the REST channel's `blueprint()` in connectors/rest.py, because
  the channels are where our code meets Rasa's Sanic app): a Sanic listener that runs right after Rasa's own
  `load_agent_on_start`, before the server socket opens. For a Chinese and an English throwaway sender it reads
  the tracker store and takes and frees a lock (the stores' scripts and connections), runs the session start on
  the action server, parses a question (the NLU graph: both encoders, jieba, the classifier, the dask runner),
  predicts the next action (the policy graph, the escalation policy's Redis read), runs `action_answer_product`
  (the kept-alive session, the domain's JSON, the response validator) and renders a response; it also reads an
  empty outbox through the REST channel's context (its Redis client, the thread pool). Nothing is saved: the
  trackers live in memory, no event reaches the broker, the lock key goes with the lock store's own clean-up and
  the session start's "seen" mark is deleted (`forget`); the action server counts the calls in
  `canyu_actions_total`.
- **the action server** (`warm_actions`, a `before_server_start` listener of bot/actions/server.py): Redis PING,
  the knowledge service's index, the order backend, the bot texts, then the session start (its lazy imports) and
  `action_answer_product` in-process on a Chinese and an English throwaway tracker (the encoders, jieba and the
  retriever's first query run); the "seen" marks are deleted after.

Last, each freezes its heap (`freeze_heap`): everything loaded so far is left out of the cyclic garbage collector's
full collections, which otherwise paused the process for 650-700 ms now and then.

So a server that answers is warm: `GET /webhooks/rest/ready`, Rasa's `/status` and the action server's
`/health` cannot answer before the warm-up is done. A part that fails is logged and reported, never fatal
(the process serves, as it did before). Each process writes what it warmed, with the milliseconds each part
took, to `<data dir>/run/warm/<pid>.json` (`WarmReport.write`); `bot.runner.Stack.ready()` (the supervisor's
`/ready`) shows it per child under `checks.<name>.warm`, and says "no warm-up report" in the detail of a server
that answers without one (a Rasa server without the REST channel: it still serves, cold).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Mapping, Optional

from bot import keys
from bot.knowledge.answering import ANSWER_ACTION

if TYPE_CHECKING:
    import redis
    from rasa.core.agent import Agent
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa_sdk.executor import ActionExecutor
    from sanic import Blueprint, Sanic

    from bot.context import AppContext

__all__ = ["WarmReport", "attach_rasa", "warm_rasa", "warm_actions", "forget", "report_path", "read_report",
           "freeze_heap", "WARM_TEXTS", "WARM_ACTION", "ACTION_TIMEOUT_S", "SENDER_PREFIX"]

logger = logging.getLogger(__name__)

WARM_TEXTS: Mapping[str, str] = MappingProxyType({"zh": "请问这款手机支持快充吗", "en": "does this phone support fast charging"})
"""Questions the warm-up asks (not in any bench or test script, so no test answer comes from a cache)."""
WARM_ACTION = ANSWER_ACTION
"""The custom action of the answer path: the one most first messages run."""
ACTION_TIMEOUT_S = 30.0
"""How long the Rasa server's warm-up waits for one action-server call (the server may still be starting); after
one call fails, the others are skipped, so an absent action server delays the Rasa server's start by this much."""
SESSION_START = "action_session_start"
"""What every first message of a new sender runs first (ours: bot/actions/memory.py)."""
SENDER_PREFIX = "canyu-warmup-"


@dataclass
class WarmReport:
    """What one process warmed: milliseconds per part, and the parts that failed (name -> why)."""

    process: str
    parts: Dict[str, float] = field(default_factory=dict)
    failed: Dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    async def step(self, name: str, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run one part, timed; a failure is logged and recorded, not raised."""
        began = time.perf_counter()
        try:
            result = await work()
        except Exception as exc:  # a cold part must not keep the process from serving
            self.failed[name] = f"{type(exc).__name__}: {exc}"[:300]
            logger.warning("warm-up of %s failed: %s", name, self.failed[name], exc_info=True)
            return None
        self.parts[name] = round((time.perf_counter() - began) * 1000, 1)
        return result

    def as_dict(self) -> Dict[str, Any]:
        return {"process": self.process, "pid": os.getpid(), "at": time.time(),
                "ms": round((time.perf_counter() - self.started) * 1000, 1), "parts": self.parts,
                "failed": self.failed}

    def write(self, data_dir: Path) -> Path:
        """Write the report where `read_report` finds it; log one line."""
        path = report_path(data_dir, os.getpid())
        path.parent.mkdir(parents=True, exist_ok=True)
        body = self.as_dict()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        logger.info("canyu warm-up of the %s done in %.0f ms: %s%s", self.process, body["ms"],
                    ", ".join(f"{k} {v:.0f} ms" for k, v in self.parts.items()),
                    f"; FAILED: {self.failed}" if self.failed else "")
        return path


def report_path(data_dir: Path, pid: int) -> Path:
    return Path(data_dir) / "run" / "warm" / f"{pid}.json"


def read_report(data_dir: Path, pid: int) -> Optional[Dict[str, Any]]:
    """The warm-up report of process `pid` (None: it has not finished its warm-up, or never ran one)."""
    try:
        body = json.loads(report_path(data_dir, pid).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) and body.get("pid") == pid else None


def _sender() -> str:
    return f"{SENDER_PREFIX}{uuid.uuid4().hex[:12]}"


# --- the Rasa server -------------------------------------------------------------------------------------------
def attach_rasa(bp: "Blueprint", ctx: "AppContext") -> None:
    """Make the Rasa server that registers `bp` warm up after its agent loads and before it listens.

    Rasa registers `load_agent_on_start` after the channels' blueprints, and Sanic runs `before_server_start`
    listeners in order, so the warm-up is registered from `main_process_start` (which runs before them all,
    while listeners can still be added): it then comes right after Rasa's own."""

    async def register(app: "Sanic", _loop: Any) -> None:
        if getattr(app.ctx, "canyu_warm_up", False):  # several channels may ask: one warm-up per server
            return
        app.ctx.canyu_warm_up = True
        app.register_listener(partial(_rasa_listener, ctx=ctx), "before_server_start")

    bp.listener("main_process_start")(register)


async def _rasa_listener(app: "Sanic", _loop: Any, ctx: "AppContext") -> None:
    agent = getattr(app.ctx, "agent", None)
    if agent is None or not agent.is_ready():
        logger.info("canyu warm-up skipped: no agent loaded in this Sanic app")
        return
    report = await warm_rasa(agent, ctx)
    await report.step("gc_freeze", _sync(freeze_heap))
    report.write(ctx.settings.data_dir)


async def warm_rasa(agent: "Agent", ctx: "AppContext") -> WarmReport:
    """One answer's worth of work on `agent` per language, for throwaway senders, saving nothing but what is
    cleaned up after (see the module docstring); `ctx` is the channel's context (its Redis client)."""
    from rasa.core.actions.action import action_for_name_or_text
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    report = WarmReport("rasa")
    processor = agent.processor
    assert processor is not None  # is_ready() said so
    domain, endpoint = processor.domain, processor.action_endpoint
    senders: List[str] = []
    await report.step("redis", _sync(ctx.redis.ping))
    await report.step("channel", lambda: asyncio.to_thread(ctx.outbound.read_outbox, _sender()))

    async def run_action(name: str, tracker: DialogueStateTracker) -> None:
        if any(part.startswith(("session_start_", "action_")) for part in report.failed):
            raise TimeoutError("skipped: the action server did not answer an earlier warm-up call")
        action = action_for_name_or_text(name, domain, endpoint)
        try:
            events = await asyncio.wait_for(action.run(CollectingOutputChannel(), processor.nlg, tracker, domain),
                                            ACTION_TIMEOUT_S)
        except asyncio.TimeoutError:
            # cause dropped: wait_for's TimeoutError says nothing more than this message
            raise TimeoutError(f"the action server did not answer {name} within {ACTION_TIMEOUT_S:.0f} s") from None
        for event in events:
            tracker.update(event, domain)

    for language, text in WARM_TEXTS.items():
        senders.append(_sender())
        tracker = DialogueStateTracker(senders[-1], domain.slots)

        async def stores(sender: str = senders[-1]) -> None:
            await agent.tracker_store.retrieve(sender)
            async with agent.lock_store.lock(sender):
                pass

        await report.step(f"stores_{language}", stores)
        await report.step(f"session_start_{language}", partial(run_action, SESSION_START, tracker))
        parsed = await report.step(f"nlu_{language}", partial(agent.parse_message, text))
        if parsed is None:
            continue
        tracker.update(UserUttered(text, parsed.get("intent"), parsed.get("entities"), parsed))
        if "language" in {slot.name for slot in domain.slots}:
            tracker.update(SlotSet("language", language))
        await report.step(f"policies_{language}", _sync(partial(processor.predict_next_with_tracker, tracker)))
        if WARM_ACTION in domain.action_names_or_texts:
            await report.step(f"action_{language}", partial(run_action, WARM_ACTION, tracker))
        if "utter_greet" in domain.responses:
            await report.step(f"responses_{language}", partial(processor.nlg.generate, "utter_greet", tracker, "rest"))
    await report.step("cleanup", _sync(partial(forget, ctx.redis, senders)))
    return report


def freeze_heap() -> None:
    """Collect once, then move every object alive now (the models, the graph, the index: about 800,000 objects)
    out of the cyclic garbage collector's sight (`gc.freeze`). A full collection walked them all: 650-700 ms on
    this machine, a pause that landed on whatever message was in flight (and, before a ticket was taken, let a
    later message of the same sender overtake it on another server). After the freeze it takes a few ms. Objects
    freed by reference counting still go; only cycles among the frozen objects are never collected."""
    gc.collect()
    gc.freeze()


def forget(red: "redis.Redis[str]", senders: List[str]) -> int:
    """Delete what a warm-up's throwaway senders left in Redis: the session start's "seen" mark
    (bot/memory/_seen.py; a warm-up sender is never a linked identity, so its profile is itself)."""
    return int(red.delete(*[keys.MEMORY_SEEN_PREFIX + sender for sender in senders])) if senders else 0


def _sync(work: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return work()

    return run


# --- the action server -----------------------------------------------------------------------------------------
def _action_tracker(sender: str, language: str, text: str) -> Dict[str, Any]:
    """A throwaway sender's tracker as Rasa sends it, after one question in `language`."""
    latest = {"text": text, "intent": {"name": "ask_product", "confidence": 1.0},
              "intent_ranking": [{"name": "ask_product", "confidence": 1.0}],
              "entities": [{"entity": "language", "value": language}]}
    return {"sender_id": sender, "slots": {"language": language}, "latest_message": latest,
            "events": [{"event": "action", "name": "action_listen"},
                       {"event": "user", "text": text, "parse_data": latest}],
            "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"}


async def warm_actions(ctx: "AppContext", executor: "ActionExecutor") -> WarmReport:
    """The action server's parts, then a new session and a question per language run in-process, before the
    server listens (the session start's "seen" marks of the throwaway senders are deleted after)."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    report = WarmReport("actions")
    await report.step("redis", _sync(ctx.redis.ping))
    await report.step("knowledge_index", lambda: asyncio.to_thread(lambda: ctx.knowledge.retriever()))
    await report.step("order_backend", _sync(lambda: ctx.orders))
    await report.step("texts", _sync(lambda: ctx.texts))
    senders: List[str] = []
    for language, text in WARM_TEXTS.items():
        senders.append(_sender())
        tracker = Tracker.from_dict(_action_tracker(senders[-1], language, text))
        for name in (SESSION_START, WARM_ACTION):
            run = executor.actions.get(name)
            if run is None:
                continue

            async def call(run: Callable[..., Any] = run, tracker: Tracker = tracker) -> Any:
                result = run(CollectingDispatcher(), tracker, {})
                return await result if asyncio.iscoroutine(result) else result

            await report.step(f"{name}_{language}", call)
    await report.step("cleanup", _sync(partial(forget, ctx.redis, senders)))
    return report
