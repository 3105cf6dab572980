"""The agents' page and API: queue, claim (the user is told the agent's name), live transcript (SSE, with the
pictures users sent, served from `/api/media/{id}`), context pack, reply, notes, transfer, perks (pools and the
role's discretion), file as feedback, the agent's profile (display name, sign-off), resolve. Also takes part
in the deployment's background jobs (the no-agent timeout sweep, bot/jobs.py).

Personal data of the kinds in the console setting `mask` (`CANYU_CONSOLE_MASK`) is masked in the
transcript texts agents read (`bot.handoff.transcript`)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, Mapping, cast

from sanic import Blueprint, Sanic, response
from sanic.request import Request

from bot.console.auth import require_role
from bot.console.layout import render
from bot.console.users import UserStore
from bot.deployment_jobs import deployment_jobs
from bot.errors import CanyuError, DataError
from bot.followups import config_from_env
from bot.handoff.agents import AgentProfiles
from bot.handoff.discretion import PerkRefused, discretion_path, load_discretion
from bot.handoff.perks import NoCodesLeft, PerkStore
from bot.handoff.rules import config_path, load_config
from bot.handoff.service import HandoffService
from bot.handoff.store import WITH_AGENT, HandoffRecord, HandoffStore, ResolveInProgress
from bot.handoff.transcript import EVENTS_STREAM, intent_history, kb_history, transcript_items
from bot.jobs import JobRunner
from bot.media import MediaStore
from bot.memory import history_async
from bot.rasa_client import RasaClient

logger = logging.getLogger(__name__)

blueprint = Blueprint("console_agent")
nav = [{"label": "Queue", "path": "/agent", "roles": ["agent"]}]

MAX_REPLY = 4000
MAX_NOTE = 2000
SSE_HEARTBEAT_S = 15.0


def _store(request: Request) -> HandoffStore:
    return HandoffStore(request.app.ctx.redis, load_config(config_path(request.app.ctx.context.settings)))


def _service(request: Request) -> HandoffService:
    s, ctx = request.app.ctx.settings, request.app.ctx.context
    return HandoffService(_store(request), RasaClient(s.rasa_url, s.rasa_token), ctx.outbound,
                          followups=config_from_env(ctx.env), texts=ctx.texts)


def _error(message: str, status: int) -> Any:
    return response.json({"error": message}, status=status)


def _body(request: Request) -> Dict[str, Any]:
    return request.json if isinstance(request.json, dict) else {}


def _owned(request: Request, sender_id: str) -> Any:
    """The record if this agent holds the conversation (admins may act on any claimed one), else an error response."""
    record = _store(request).get(sender_id)
    user = request.ctx.user
    if record is None:
        return _error("this conversation is back with the bot", 409)
    if record.state != WITH_AGENT:
        return _error("claim the conversation first", 409)
    if record.agent != user.name and user.role != "admin":
        return _error(f"{record.agent} holds this conversation", 403)
    return record


@blueprint.get("/agent")
@require_role("agent")
async def agent_page(request: Request) -> Any:
    return render(request, "agent/queue.html", title="Queue")


@blueprint.get("/api/queue")
@require_role("agent")
async def queue(request: Request) -> Any:
    store = _store(request)
    store.heartbeat(request.ctx.user.name)
    waiting = [dict(r.as_dict(), position=i + 1) for i, r in enumerate(store.waiting())]
    active = [r.as_dict() for r in store.active()]
    return response.json({
        "me": request.ctx.user.name,
        "waiting": waiting,
        "mine": [a for a in active if a["agent"] == request.ctx.user.name],
        "others": [a for a in active if a["agent"] != request.ctx.user.name],
        "agents_online": store.agents_online(),
    })


@blueprint.post("/api/conversations/<sender_id>/claim")
@require_role("agent")
async def claim(request: Request, sender_id: str) -> Any:
    store = _store(request)
    if not store.claim(sender_id, request.ctx.user.name):
        record = store.get(sender_id)
        who = record.agent if record is not None and record.state == WITH_AGENT else ""
        return _error(f"{who} already took it" if who else "it is not in the queue any more", 409)
    logger.info("console: %s claimed %s", request.ctx.user.name, sender_id)
    record = store.get(sender_id)
    intro, problem = "", ""
    if record is not None:
        try:
            intro = await _service(request).introduce(record, request.ctx.user.name)
        except CanyuError as exc:  # claimed all the same; the agent can still write their own hello
            logger.error("console: intro to %s not delivered: %s", sender_id, exc)
            problem = f"claimed, but the intro was not delivered: {exc}"
    return response.json({"ok": True, "record": record.as_dict() if record else None, "intro": intro,
                          "warning": problem})


@blueprint.get("/api/media/<media_id>")
@require_role("agent")
async def media(request: Request, media_id: str) -> Any:
    """A picture a user sent (only images, as sniffed when it was kept; never rendered as anything else)."""
    found = MediaStore(request.app.ctx.redis).get(media_id)
    if found is None:
        return _error("no such picture (expired after CANYU_MEDIA_KEEP_DAYS, or never kept)", 404)
    data, content_type = found
    return response.raw(data, content_type=content_type, headers={
        "Cache-Control": "private, max-age=3600", "Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"})


@blueprint.route("/api/agent/profile", methods=["GET", "POST"])
@require_role("agent")
async def profile(request: Request) -> Any:
    """The name users are told on claim and the optional sign-off sent on resolve."""
    profiles = AgentProfiles(request.app.ctx.redis)
    if request.method == "POST":
        body = _body(request)
        try:
            saved = profiles.save(request.ctx.user.name, str(body.get("display") or ""), str(body.get("signoff") or ""))
        except DataError as exc:
            return _error(str(exc), 400)
        return response.json({"ok": True, "profile": saved.as_dict()})
    return response.json(profiles.get(request.ctx.user.name).as_dict())


@blueprint.post("/api/conversations/<sender_id>/feedback")
@require_role("agent")
async def file_feedback(request: Request, sender_id: str) -> Any:
    """File the user's words (picked in the transcript) as a feedback item with the user as its author."""
    body = _body(request)
    text, kind = str(body.get("text") or "").strip(), str(body.get("kind") or "complaint")
    if not text or len(text) > MAX_REPLY:
        return _error(f"pick or write the feedback: 1-{MAX_REPLY} characters", 400)
    if kind not in ("complaint", "suggestion"):
        return _error(f"kind is complaint or suggestion, not {kind!r}", 400)
    record = _owned(request, sender_id)
    if not isinstance(record, HandoffRecord):
        return record
    try:
        filed = await _service(request).file_feedback(record, request.ctx.user.name, text, kind)
    except CanyuError as exc:
        return _error(f"not filed: {exc}", 400)
    return response.json({"ok": True, **filed})


@blueprint.post("/api/conversations/<sender_id>/discretion")
@require_role("agent")
async def discretion(request: Request, sender_id: str) -> Any:
    """A goodwill credit, a priority repair or a gift, within the limits of the agent's role (logged)."""
    body = _body(request)
    record = _owned(request, sender_id)
    if not isinstance(record, HandoffRecord):
        return record
    user = request.ctx.user
    try:
        config = load_discretion(discretion_path(request.app.ctx.context.env))
        entry = await _service(request).grant_discretion(record, user.name, user.role, str(body.get("kind") or ""),
                                                         body.get("amount") or 0, str(body.get("gift") or ""),
                                                         config=config)
    except PerkRefused as exc:
        logger.info("console: %s (%s) refused a perk for %s: %s", user.name, user.role, sender_id, exc.reason)
        return _error(exc.reason, 403)
    except CanyuError as exc:
        return _error(f"not granted: {exc}", 400)
    logger.info("console: %s granted %s to %s", user.name, entry["kind"], sender_id)
    return response.json({"ok": True, "grant": entry})


@blueprint.post("/api/conversations/<sender_id>/reply")
@require_role("agent")
async def reply(request: Request, sender_id: str) -> Any:
    text = str(_body(request).get("text") or "").strip()
    if not text or len(text) > MAX_REPLY:
        return _error(f"write a reply of 1-{MAX_REPLY} characters", 400)
    record = _owned(request, sender_id)
    if not isinstance(record, HandoffRecord):
        return record
    try:
        delivery = await _service(request).reply(record, request.ctx.user.name, text)
    except CanyuError as exc:
        logger.error("console: reply to %s failed: %s", sender_id, exc)
        return _error(f"not delivered: {exc}", 502)
    return response.json({"ok": True, "channel": delivery.channel, "sent": delivery.sent, "queued": delivery.queued})


@blueprint.post("/api/conversations/<sender_id>/note")
@require_role("agent")
async def note(request: Request, sender_id: str) -> Any:
    text = str(_body(request).get("text") or "").strip()
    if not text or len(text) > MAX_NOTE:
        return _error(f"write a note of 1-{MAX_NOTE} characters", 400)
    return response.json({"ok": True, "note": _store(request).add_note(sender_id, request.ctx.user.name, text)})


@blueprint.post("/api/conversations/<sender_id>/transfer")
@require_role("agent")
async def transfer(request: Request, sender_id: str) -> Any:
    to = str(_body(request).get("to") or "")
    target = UserStore(request.app.ctx.redis).get(to)
    if target is None or not target.has_role("agent"):
        return _error(f"no agent named {to!r}", 400)
    record = _owned(request, sender_id)
    if not isinstance(record, HandoffRecord):
        return record
    if not _store(request).transfer(sender_id, to, from_agent=record.agent):
        return _error("the conversation changed meanwhile; reload", 409)
    logger.info("console: %s transferred %s to %s", request.ctx.user.name, sender_id, to)
    return response.json({"ok": True})


@blueprint.post("/api/conversations/<sender_id>/perk")
@require_role("agent")
async def perk(request: Request, sender_id: str) -> Any:
    pool = str(_body(request).get("pool") or "")
    record = _owned(request, sender_id)
    if not isinstance(record, HandoffRecord):
        return record
    try:
        grant = await _service(request).grant_perk(record, request.ctx.user.name, pool)
    except NoCodesLeft as exc:
        return _error(str(exc), 409)
    except CanyuError as exc:
        return _error(str(exc), 400)
    logger.info("console: %s granted a %s perk to %s", request.ctx.user.name, pool, sender_id)
    return response.json({"ok": True, "grant": grant})


@blueprint.post("/api/conversations/<sender_id>/resolve")
@require_role("agent")
async def resolve(request: Request, sender_id: str) -> Any:
    if _store(request).get(sender_id) is None:
        return _error("already resolved: this conversation is back with the bot; nothing to do", 404)
    record = _owned(request, sender_id)
    if not isinstance(record, HandoffRecord):
        return record
    try:
        messages = await _service(request).resolve(record, request.ctx.user.name)
    except ResolveInProgress as exc:
        return _error(str(exc), 409)
    except CanyuError as exc:
        logger.error("console: resolving %s failed: %s", sender_id, exc)
        return _error(f"could not hand back to the bot: {exc}; the conversation stays with you, "
                      "try Resolve again", 502)
    logger.info("console: %s resolved %s", request.ctx.user.name, sender_id)
    return response.json({"ok": True, "asked": len(messages)})


@blueprint.get("/api/conversations/<sender_id>/context")
@require_role("agent")
async def context(request: Request, sender_id: str) -> Any:
    store = _store(request)
    record = store.get(sender_id)
    s = request.app.ctx.settings
    try:
        tracker = await RasaClient(s.rasa_url, s.rasa_token).tracker(sender_id)
    except CanyuError as exc:
        logger.error("console: tracker of %s unavailable: %s", sender_id, exc)
        tracker = {}
    config = store.config
    language = (record.language if record else None) or (tracker.get("slots") or {}).get("language") or "en"
    perks = PerkStore(store.redis)
    return response.json({
        "sender_id": sender_id,
        "record": record.as_dict() if record else None,
        "language": language,
        "channel": (record.channel if record else "") or tracker.get("latest_input_channel") or "",
        "tier": (record.tier if record else "") or store.tier_of(sender_id) or "standard",
        "intents": intent_history(tracker),
        "kb_entries": kb_history(tracker),
        "notes": store.notes(sender_id),
        "history": store.history(sender_id)[-20:],
        "memory": await history_async(store.redis, sender_id, request.app.ctx.context.orders),  # bot.memory
        "perks_granted": perks.grants(sender_id),
        "perk_pools": [{"pool": k, "label": str(v.get("label") or k), "left": perks.available(k)}
                       for k, v in config.perks.items()],
        "canned_replies": list(config.canned_replies.get(language) or []),
        "agents": [u.name for u in UserStore(store.redis).list() if u.has_role("agent")],
        "discretion": _discretion_of(request.ctx.user.role, request.app.ctx.context.env),
        "me": request.ctx.user.name,
    })


def _discretion_of(role: str, env: Mapping[str, str]) -> Dict[str, Any]:
    try:
        config = load_discretion(discretion_path(env))
    except CanyuError as exc:
        return {"error": str(exc)}
    limits = config.limits(role)
    return {"credit_max": limits.credit_max, "credit_daily": limits.credit_daily,
            "priority_repair": limits.priority_repair,
            "gifts": [{"gift": g, "label": config.gifts[g]["en"]} for g in limits.gifts]}


@blueprint.get("/api/conversations/<sender_id>/events")
@require_role("agent")
async def events(request: Request, sender_id: str) -> Any:
    """Server-sent events: the transcript so far, then every new event of this conversation, live."""
    s = request.app.ctx.settings
    live = request.app.ctx.context.async_redis  # the process's asyncio client (XREAD blocks 1 s, under its timeout)
    try:
        latest = await live.xrevrange(EVENTS_STREAM, count=1)
        last_id = latest[0][0] if latest else "0-0"
        try:
            tracker = await RasaClient(s.rasa_url, s.rasa_token).tracker(sender_id)
        except CanyuError as exc:
            logger.error("console: tracker of %s unavailable: %s", sender_id, exc)
            tracker = {}
        past = tracker.get("events") or []
        seen = {(e.get("event"), e.get("timestamp")) for e in past}
        resp = await request.respond(content_type="text/event-stream",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        mask = s.mask
        for item in transcript_items(past, mask):
            await resp.send(f"data: {json.dumps(item, ensure_ascii=False)}\n\n")
        await resp.send(": live\n\n")
        idle = 0.0
        while not cast(Any, request.transport).is_closing():
            batch = await live.xread({EVENTS_STREAM: last_id}, count=200, block=1000)
            if not batch:
                idle += 1.0
                if idle >= SSE_HEARTBEAT_S:
                    await resp.send(": ping\n\n")
                    idle = 0.0
                continue
            idle = 0.0
            fresh = []
            for entry_id, fields in batch[0][1]:
                last_id = entry_id
                try:
                    event = json.loads(fields.get("event") or "{}")
                except ValueError:
                    continue
                if event.get("sender_id") != sender_id or (event.get("event"), event.get("timestamp")) in seen:
                    continue
                fresh.append(event)
            for item in transcript_items(fresh, mask):
                await resp.send(f"data: {json.dumps(item, ensure_ascii=False)}\n\n")
        await resp.eof()
    except (asyncio.CancelledError, ConnectionError):
        pass
    return None


def setup(app: Sanic) -> None:
    """Take part in the deployment's background jobs while the console is up (bot/jobs.py): the console's
    runner competes with `bot run`'s and any other console's for one Redis lease, so the no-agent timeout
    sweep runs once per deployment, also in a stack without `bot run`."""

    @app.after_server_start
    async def start_jobs(app: Sanic, _loop: Any) -> None:
        s = app.ctx.settings
        jobs = deployment_jobs(app.ctx.redis, s.rasa_url, s.rasa_token, app.ctx.context.outbound,
                               settings=app.ctx.context.settings)
        runner = JobRunner(app.ctx.redis, jobs)
        app.ctx.job_stop = asyncio.Event()
        app.ctx.job_task = asyncio.ensure_future(runner.run(app.ctx.job_stop))

    @app.before_server_stop
    async def stop_jobs(app: Sanic, _loop: Any) -> None:
        stop, task = getattr(app.ctx, "job_stop", None), getattr(app.ctx, "job_task", None)
        if stop is not None and task is not None:
            stop.set()  # the runner gives the lease back, so another process leads at its next tick
            try:
                await asyncio.wait_for(task, 5.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
