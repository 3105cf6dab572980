"""Console: call-backs a team lead owes users after a 1–2 rating (bot/followups/_callbacks.py).

Page: `GET /callbacks` (agents and admins see it): the open call-backs, soonest due first, each with the user,
the rating, the handoff it was about (reason, what the user said, the agent), the time the user was promised
and whether it is overdue; and the last ones done. A lead (the admin role) marks one done:
`POST /callbacks/done` (form: `sender_id`, `note`, the CSRF field). JSON: `GET /api/callbacks`,
`POST /api/callbacks/done` (`X-CSRF-Token` header; JSON `{sender_id, note}`).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List
from urllib.parse import quote

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.auth import require_role
from bot.console.layout import render
from bot.errors import DataError
from bot.followups import CallbackStore, config_from_env

blueprint = Blueprint("console_callbacks")
nav = [{"label": "Call-backs", "path": "/callbacks", "roles": ["agent"]}]


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts)) if ts else ""


def _callbacks(request: Request) -> CallbackStore:
    """The call-backs on the console's Redis, with the follow-up settings of its context's environment."""
    return CallbackStore(request.app.ctx.redis, config_from_env(request.app.ctx.context.env))


def _rows(request: Request) -> List[Dict[str, Any]]:
    rows = []
    for cb in _callbacks(request).open_list():
        summary = cb["summary"] or {}
        rows.append({**cb, "due": _when(cb["due_at"]), "opened": _when(cb["opened_at"]),
                     "reason": summary.get("reason") or summary.get("rule") or "",
                     "cue": summary.get("cue") or "", "handled_by": summary.get("resolved_by") or cb["agent"]})
    return rows


def _done(request: Request, sender_id: str, note: str) -> Dict[str, Any]:
    user = request.ctx.user
    return _callbacks(request).done(sender_id, getattr(user, "name", "lead"), note)


@blueprint.get("/callbacks")
@require_role("agent")
async def page(request: Request) -> Any:
    user = request.ctx.user
    return render(request, "followups/callbacks.html", title="Call-backs", rows=_rows(request),
                  can_close=user.has_role("lead"), message=request.args.get("msg") or "",
                  error=request.args.get("err") or "")


@blueprint.post("/callbacks/done")
@require_role("lead")
async def done_form(request: Request) -> Any:
    sender_id = (request.form.get("sender_id") or "").strip()
    try:
        _done(request, sender_id, (request.form.get("note") or "").strip())
    except DataError as exc:
        return response.redirect("/callbacks?err=" + quote(str(exc)))
    return response.redirect("/callbacks?msg=" + quote(f"call-back to {sender_id} marked done"))


@blueprint.get("/api/callbacks")
@require_role("agent")
async def api_list(request: Request) -> Any:
    return response.json({"open": _rows(request)})


@blueprint.post("/api/callbacks/done")
@require_role("lead")
async def api_done(request: Request) -> Any:
    body = request.json if isinstance(request.json, dict) else {}
    try:
        record = _done(request, str(body.get("sender_id") or ""), str(body.get("note") or ""))
    except DataError as exc:
        return response.json({"error": str(exc)}, status=404)
    return response.json({"ok": True, "callback": record})
