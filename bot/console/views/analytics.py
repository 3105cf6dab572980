"""Console: the analytics page (figures + bar charts as inline SVG) and its CSV export.

`GET /analytics?days=30` or `?since=YYYY-MM-DD&until=YYYY-MM-DD` (UTC, both days included);
`GET /analytics.csv` with the same arguments; `GET /api/analytics` the JSON. Trainer role.
Definitions of every figure: bot/analytics/_report.py and docs/participation.md.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from sanic import Blueprint, response
from sanic.request import Request

from bot.analytics import compute_report, report_csv
from bot.console.auth import require_role
from bot.console.layout import render

blueprint = Blueprint("console_analytics")
nav = [{"label": "Analytics", "path": "/analytics", "roles": ["trainer"]}]

MAX_DAYS = 366


def _day(raw: Optional[str]) -> Optional[float]:
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def _period(request: Request) -> Tuple[float, float, str]:
    until = _day(request.args.get("until"))
    end = until + 86400 if until else time.time()
    since = _day(request.args.get("since"))
    if since is None:
        try:
            days = min(MAX_DAYS, max(1.0, float(request.args.get("days") or 30)))
        except ValueError:
            days = 30.0
        since = end - days * 86400
    query = request.query_string or ""
    return since, end, query


def _bars(rows: List[Tuple[str, float]], width: int = 420, bar: int = 22) -> Dict[str, Any]:
    """Geometry for a horizontal bar chart drawn by the template as SVG."""
    top = max([v for _, v in rows] + [1])
    label_w = 150
    out = []
    for i, (label, value) in enumerate(rows):
        out.append({"label": label, "value": value, "y": i * (bar + 6),
                    "w": round((width - label_w - 40) * (value / top), 1), "x": label_w})
    return {"rows": out, "height": max(1, len(rows)) * (bar + 6), "width": width, "bar": bar}


@blueprint.get("/analytics")
@require_role("trainer")
async def page(request: Request) -> Any:
    start, end, query = _period(request)
    report = compute_report(start, end, request.app.ctx.redis)
    charts = {
        "reasons": _bars([(r["reason"], r["count"]) for r in report["escalations_by_reason"]]),
        "status": _bars(list(report["feedback_by_status"].items())),
        "csat": _bars([(f"{k} ★", v) for k, v in report["csat"]["distribution"].items()]),
        "answers": _bars([("thumbs up", report["answers"]["up"]), ("thumbs down", report["answers"]["down"])]),
    }
    return render(request, "participation/analytics.html", title="Analytics", r=report, charts=charts,
                  query=query, since=time.strftime("%Y-%m-%d", time.gmtime(start)),
                  until=time.strftime("%Y-%m-%d", time.gmtime(end - 1)))


@blueprint.get("/analytics.csv")
@require_role("trainer")
async def csv_export(request: Request) -> Any:
    start, end, _ = _period(request)
    body = report_csv(compute_report(start, end, request.app.ctx.redis))
    name = f"canyu-report-{time.strftime('%Y%m%d', time.gmtime(start))}-{time.strftime('%Y%m%d', time.gmtime(end - 1))}.csv"
    return response.text(body, content_type="text/csv; charset=utf-8",
                         headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/api/analytics")
@require_role("trainer")
async def api(request: Request) -> Any:
    start, end, _ = _period(request)
    return response.json(compute_report(start, end, request.app.ctx.redis))
