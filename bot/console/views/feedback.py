"""Console: feedback items (set a status → every voice is told), who was told what, the weekly digest's
figures, and the "shipped because you asked" list.

Pages (trainer role; admins see all): `GET /feedback` (items, told per status, digest weeks),
`POST /feedback/<id>/status` (form, CSRF field), `GET /feedback/shipped` (public list + weekly post text).
JSON: `GET /api/feedback`, `POST /api/feedback/<id>/status {"status", "release", "release_zh", "reason",
"reason_zh", "instead", "instead_zh", "campaign", "signup"}`, `GET /api/feedback/digest` (the weeks).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict
from urllib.parse import quote

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.auth import require_role
from bot.console.layout import render
from bot.errors import CanyuError
from bot.feedback import (
    ANNOUNCED,
    STATUSES,
    FeedbackStore,
    beta_signups,
    digest_subscribers,
    digest_text,
    digest_weeks,
    notify_status,
    shipped_since,
)

logger = logging.getLogger(__name__)

blueprint = Blueprint("console_feedback")
_EXTRA = ("reason_zh", "instead", "instead_zh", "campaign", "signup")
nav = [{"label": "Feedback", "path": "/feedback", "roles": ["trainer"]},
       {"label": "Shipped", "path": "/feedback/shipped", "roles": ["trainer", "agent"]}]


def _store(request: Request) -> FeedbackStore:
    return FeedbackStore(request.app.ctx.redis, use_vectors=False)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts)) if ts else ""


async def _apply(request: Request, item_id: str, data: Dict[str, Any]) -> Dict[str, Any]:
    store = _store(request)
    extra = {k: str(data.get(k) or "") for k in _EXTRA}
    item = store.set_status(item_id, str(data.get("status") or ""), reason=str(data.get("reason") or ""),
                            release=str(data.get("release") or ""), release_zh=str(data.get("release_zh") or ""),
                            by=request.ctx.user.name, **extra)
    result: Dict[str, Any] = {"id": item.id, "status": item.status, "count": item.count}
    if item.status in ANNOUNCED:
        report = await notify_status(store, item.id, request.app.ctx.context.outbound.send_to_user,
                                     texts=request.app.ctx.context.texts)
        result.update(sent=len(report.sent), queued=len(report.queued), already=len(report.skipped),
                      unsubscribed=len(report.unsubscribed), failed=len(report.failed))
    return result


def _told(store: FeedbackStore, item_id: str) -> Dict[str, int]:
    """How many voices were told each status the item reached."""
    return {s: len(store.told(item_id, s)) for s in ANNOUNCED if store.told(item_id, s)}


@blueprint.get("/feedback")
@require_role("trainer")
async def page(request: Request) -> Any:
    store = _store(request)
    wanted = request.args.get("status") or ""
    items = store.all(wanted or None)
    rows = [{"item": i, "told": len(store.told(i.id, i.status)) if i.status in ANNOUNCED else 0,
             "told_all": _told(store, i.id), "beta": len(beta_signups(store.red, i.id)), "created": _when(i.created)}
            for i in sorted(items, key=lambda i: (-i.count, i.created))]
    weeks = digest_weeks(store.red)
    for week in weeks:
        week["date"] = _when(week["due"])
    return render(request, "participation/feedback.html", title="Feedback", rows=rows, statuses=STATUSES,
                  wanted=wanted, message=request.args.get("msg") or "", error=request.args.get("err") or "",
                  weeks=weeks, subscribers=len(digest_subscribers(store.red)))


@blueprint.post("/feedback/<item_id>/status")
@require_role("trainer")
async def set_status_form(request: Request, item_id: str) -> Any:
    form = {k: request.form.get(k) for k in ("status", "reason", "release", "release_zh", *_EXTRA)}
    try:
        result = await _apply(request, item_id, form)
    except CanyuError as exc:
        return response.redirect("/feedback?err=" + quote(str(exc)))
    msg = f"{result['id']} is now {result['status']}"
    if "sent" in result:
        msg += f"; told {result['sent']} now, {result['queued']} at their next message, {result['already']} before"
        if result["unsubscribed"]:
            msg += f", {result['unsubscribed']} unsubscribed"
    return response.redirect("/feedback?msg=" + quote(msg))


@blueprint.get("/feedback/shipped")
@require_role("trainer", "agent")
async def shipped(request: Request) -> Any:
    store = _store(request)
    items = shipped_since(store)
    return render(request, "participation/shipped.html", title="Shipped because you asked",
                  items=[{"item": i, "date": _when(i.shipped_at)} for i in items],
                  digest_en=digest_text(store, "en", days=7), digest_zh=digest_text(store, "zh", days=7))


@blueprint.get("/api/feedback")
@require_role("trainer")
async def api_list(request: Request) -> Any:
    store = _store(request)
    return response.json({"items": [dict(i.to_dict(), told=_told(store, i.id), beta=beta_signups(store.red, i.id))
                                    for i in store.all(request.args.get("status") or None)]})


@blueprint.get("/api/feedback/digest")
@require_role("trainer")
async def api_digest(request: Request) -> Any:
    red = request.app.ctx.redis
    return response.json({"subscribers": len(digest_subscribers(red)), "weeks": digest_weeks(red)})


@blueprint.post("/api/feedback/<item_id>/status")
@require_role("trainer")
async def api_status(request: Request, item_id: str) -> Any:
    data = request.json if isinstance(request.json, dict) else {}
    try:
        return response.json(await _apply(request, item_id, data))
    except CanyuError as exc:
        return response.json({"error": str(exc)}, status=400)
