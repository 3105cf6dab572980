"""Console: the trainer page — the review inbox grouped by similarity, actions on a group, the week's charts.

Pages and API (trainer role; admins too):
- `GET  /trainer`                      the page (groups are loaded by static/trainer.js)
- `GET  /api/trainer/groups`           {"groups": [...biggest first], "intents": [...], "reasons": [...]}; syncs the
                                       inbox first; `?reason=rephrased&reason=marked_wrong` keeps only those reasons
- `GET  /api/trainer/answers`          {"answers": [...]}: the last knowledge answers (`?limit=`, default 20), newest
                                       first, with question, answer text, entry, kind, confidence, reasons filed
- `POST /api/trainer/wrong`            {"answer": id, "note": "…"} -> {"item": {...}}: the trainer marks an answer
                                       wrong; its question joins the inbox (reason `marked_wrong`, by = the trainer)
- `POST /api/trainer/assign`           {"items": [ids], "intent": "x"} -> {"file", "diff", "added"}
- `POST /api/trainer/draft`            {"items": [ids]} -> {"file", "id"}
- `POST /api/trainer/dismiss`          {"items": [ids]} -> {"dismissed": n}
- `POST /api/trainer/retrain`          train from the project files and load the model into Rasa
- `GET  /trainer/charts/<name>.png`    unanswered | escalations | ratings (the `bot report` charts, last 7 days)
The project folder is `CANYU_HOME` (bot.settings); Rasa is `RASA_URL` / `RASA_TOKEN` (console settings).
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from typing import Any, Callable, List

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.auth import require_role
from bot.console.layout import render
from bot.errors import CanyuError

blueprint = Blueprint("console_trainer")
nav = [{"label": "Training", "path": "/trainer", "roles": ["trainer"]}]

_CHARTS = {"unanswered", "escalations", "ratings"}
_ITEM_FIELDS = ("id", "text", "reasons", "intent", "guess", "confidence", "reply", "channel", "ts", "answer", "signals",
                "comment", "escalation", "status")
_retrain_lock = asyncio.Lock()


def _home(request: Request) -> str:
    """The project the console works on: its context's `CANYU_HOME`."""
    return str(request.app.ctx.context.settings.home)


def _review(request: Request) -> Any:
    from bot.trainer.review import Review

    return Review(request.app.ctx.redis, _home(request))


async def _blocking(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))


def _ids(request: Request) -> List[str]:
    body = request.json or {}
    ids = body.get("items")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise CanyuError("send `items`: the list of message ids of the group")
    return ids


def _error(exc: Exception, status: int = 400) -> Any:
    return response.json({"error": str(exc)}, status=status)


@blueprint.get("/trainer")
@require_role("trainer")
async def page(request: Request) -> Any:
    return render(request, "trainer/review.html", title="Training", path="/trainer")


@blueprint.get("/api/trainer/groups")
@require_role("trainer")
async def groups(request: Request) -> Any:
    from bot.trainer.inbox import REASONS

    review = _review(request)
    reasons = [r for value in request.args.getlist("reason") or [] for r in value.split(",") if r]
    try:
        found = await _blocking(functools.partial(review.groups, reasons=reasons or None))
    except CanyuError as exc:
        return _error(exc)
    intents = await _blocking(review.known_intents)
    slim = [{"id": g["id"], "label": g["label"], "size": g["size"], "reasons": g["reasons"], "intents": g["intents"],
             "items": [{k: i.get(k) for k in _ITEM_FIELDS} for i in g["items"]]} for g in found]
    return response.json({"groups": slim, "intents": intents, "reasons": list(REASONS)})


@blueprint.get("/api/trainer/answers")
@require_role("trainer")
async def answers(request: Request) -> Any:
    try:
        limit = max(1, min(int(request.args.get("limit") or 20), 200))
    except ValueError:
        return _error(CanyuError("`limit` is a number of answers"))
    found = await _blocking(functools.partial(_review(request).recent_answers, limit))
    return response.json({"answers": [
        {"id": a["id"], "question": (a.get("question") or {}).get("text"), "question_id": (a.get("question") or {}).get("id"),
         "text": a.get("text"), "entry": a.get("entry"), "kind": a.get("kind"), "confidence": a.get("confidence"),
         "sender": a.get("sender"), "ts": a.get("ts"), "reasons": a.get("reasons") or [], "status": a.get("status")}
        for a in found]})


@blueprint.post("/api/trainer/wrong")
@require_role("trainer")
async def wrong(request: Request) -> Any:
    body = request.json or {}
    answer_id, note = body.get("answer"), body.get("note") or ""
    try:
        if not isinstance(answer_id, str) or not answer_id:
            raise CanyuError("send `answer`: the id of the answer that was wrong")
        if not isinstance(note, str):
            raise CanyuError("`note` is text")
        item = await _blocking(_review(request).mark_wrong, answer_id, request.ctx.user.name, note)
    except CanyuError as exc:
        return _error(exc)
    return response.json({"item": {k: item.get(k) for k in _ITEM_FIELDS}})


@blueprint.post("/api/trainer/assign")
@require_role("trainer")
async def assign(request: Request) -> Any:
    intent = str((request.json or {}).get("intent") or "").strip()
    try:
        ids = _ids(request)
        if not intent:
            raise CanyuError("pick the intent these messages mean")
        result = await _blocking(_review(request).assign, ids, intent, request.ctx.user.name)
    except CanyuError as exc:
        return _error(exc)
    return response.json(result)


@blueprint.post("/api/trainer/draft")
@require_role("trainer")
async def draft(request: Request) -> Any:
    try:
        result = await _blocking(_review(request).draft_kb, _ids(request), request.ctx.user.name)
    except CanyuError as exc:
        return _error(exc)
    return response.json(result)


@blueprint.post("/api/trainer/dismiss")
@require_role("trainer")
async def dismiss(request: Request) -> Any:
    try:
        n = await _blocking(_review(request).dismiss, _ids(request), request.ctx.user.name)
    except CanyuError as exc:
        return _error(exc)
    return response.json({"dismissed": n})


@blueprint.post("/api/trainer/retrain")
@require_role("trainer")
async def retrain(request: Request) -> Any:
    if _retrain_lock.locked():
        return response.json({"error": "a retrain is already running; wait for it"}, status=409)
    settings = request.app.ctx.settings
    async with _retrain_lock:
        try:
            result = await _blocking(_review(request).retrain_and_reload, settings.rasa_url, settings.rasa_token)
        except CanyuError as exc:
            return _error(exc, status=500)
    return response.json(result)


@blueprint.get("/trainer/charts/<name:str>")
@require_role("trainer")
async def chart(request: Request, name: str) -> Any:
    stem = name[:-4] if name.endswith(".png") else name
    if stem not in _CHARTS:
        return response.json({"error": f"no chart {name!r}; use one of {sorted(_CHARTS)}"}, status=404)
    from bot.trainer.report import build_report, write_report

    def _draw() -> bytes:
        report = build_report(request.app.ctx.redis, _home(request), days=7)
        with tempfile.TemporaryDirectory(prefix="canyu-chart-") as tmp:
            paths = write_report(report, tmp)
            with open(paths[stem], "rb") as fh:
                return fh.read()

    data = await _blocking(_draw)
    return response.raw(data, content_type="image/png", headers={"Cache-Control": "no-store"})
