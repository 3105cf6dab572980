"""Console: outbound deliveries that failed for good (dead letters), and re-sending them (admin role).

Page: `GET /deliveries` (channel, user, text preview, reason, tries, time; a "Re-send" button per letter:
`POST /deliveries/<channel>/<id>/resend`, form with the CSRF field). JSON: `GET /api/deliveries` (dead letters
and queue depths), `POST /api/deliveries/<channel>/<id>/resend` (`X-CSRF-Token` header). A re-sent letter goes
back to its channel's queue with fresh tries and keeps what was already sent; the console's own delivery worker
(started here) or the Rasa server's sends it.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List
from urllib.parse import quote

from sanic import Blueprint, Sanic, response
from sanic.request import Request

from bot.console.auth import require_role
from bot.console.layout import render
from bot.delivery import CHANNELS, DeliveryQueue, DeliverySettings, DeliveryWorker, Item

blueprint = Blueprint("console_deliveries")
nav = [{"label": "Deliveries", "path": "/deliveries", "roles": ["admin"]}]

_PREVIEW = 120


def setup(app: Sanic) -> None:
    """Run a delivery worker in the console process (it has the channels' senders, `ctx.senders`)."""

    @app.after_server_start
    async def start_worker(app: Sanic, loop: Any) -> None:
        ctx = app.ctx.context
        app.ctx.delivery_worker = DeliveryWorker(ctx.redis, ctx.senders, DeliverySettings.from_env(ctx.env)).start()

    @app.before_server_stop
    async def stop_worker(app: Sanic, loop: Any) -> None:
        worker = getattr(app.ctx, "delivery_worker", None)
        if worker is not None:
            await worker.stop()


def _queue(request: Request, channel: str) -> DeliveryQueue:
    return DeliveryQueue(request.app.ctx.redis, channel, DeliverySettings.from_env(request.app.ctx.context.env))


def _preview(item: Item) -> str:
    texts = [str(m.get("text") or m.get("image") or m.get("attachment") or "") for m in item.messages[item.sent:]]
    text = " / ".join(t for t in texts if t)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def _row(item: Item) -> Dict[str, Any]:
    return {"id": item.id, "channel": item.channel, "user": item.sender, "preview": _preview(item),
            "messages": len(item.messages), "sent": item.sent, "reason": item.reason, "tries": item.tries,
            "dead_at": item.dead_at,
            "time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(item.dead_at)) if item.dead_at else ""}


def _letters(request: Request) -> List[Dict[str, Any]]:
    rows = [_row(item) for ch in CHANNELS for item in _queue(request, ch).dead_letters()]
    return sorted(rows, key=lambda r: -r["dead_at"])


def _resend(request: Request, channel: str, item_id: str) -> bool:
    return channel in CHANNELS and _queue(request, channel).resend(item_id) is not None


@blueprint.get("/deliveries")
@require_role("admin")
async def page(request: Request) -> Any:
    depths = {ch: _queue(request, ch).depths() for ch in CHANNELS}
    return render(request, "admin/deliveries.html", title="Deliveries", letters=_letters(request), depths=depths,
                  message=request.args.get("msg") or "", error=request.args.get("err") or "")


@blueprint.post("/deliveries/<channel>/<item_id>/resend")
@require_role("admin")
async def resend_form(request: Request, channel: str, item_id: str) -> Any:
    if not _resend(request, channel, item_id):
        return response.redirect("/deliveries?err=" + quote(f"no dead letter {item_id} on {channel}"))
    return response.redirect("/deliveries?msg=" + quote(f"{item_id} is queued again on {channel}"))


@blueprint.get("/api/deliveries")
@require_role("admin")
async def api_list(request: Request) -> Any:
    return response.json({"dead": _letters(request),
                          "queues": {ch: _queue(request, ch).depths() for ch in CHANNELS}})


@blueprint.post("/api/deliveries/<channel>/<item_id>/resend")
@require_role("admin")
async def api_resend(request: Request, channel: str, item_id: str) -> Any:
    if not _resend(request, channel, item_id):
        return response.json({"error": f"no dead letter {item_id} on {channel}"}, status=404)
    return response.json({"ok": True, "id": item_id, "channel": channel, "state": "queued"})
