"""Console: `GET /metrics`, the Prometheus page of the whole stack (`bot.metrics.render`).

Every process of the stack (Rasa, action server, console, `bot run`) counts into the shared
`PROMETHEUS_MULTIPROC_DIR`; this page adds them all up and appends the gauges read from Redis at scrape
time (handoffs waiting, queue depths, dead letters, `canyu_redis_up`). No log-in: scrapers are machines.
Set `CANYU_METRICS_TOKEN` to require `Authorization: Bearer <token>` (401 otherwise); without it, keep the
console port on a private interface or firewall `/metrics` (docs/operations.md, "Metrics").
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any, Mapping

from sanic import Blueprint, Sanic, response
from sanic.request import Request

from bot import metrics

__all__ = ["blueprint", "setup", "metrics_token", "TOKEN_VARIABLE"]

TOKEN_VARIABLE = "CANYU_METRICS_TOKEN"

blueprint = Blueprint("console_metrics")


def metrics_token(env: Mapping[str, str]) -> str:
    """The bearer token `/metrics` requires ("" = none), from `env` (the console's `Settings.env`)."""
    return (env.get(TOKEN_VARIABLE) or "").strip()


def setup(app: Sanic) -> None:
    env = app.ctx.context.env
    if not hasattr(app.ctx, "metrics_token"):
        app.ctx.metrics_token = metrics_token(env)
    if not hasattr(app.ctx, "metrics_env"):  # where every process counts: PROMETHEUS_MULTIPROC_DIR
        app.ctx.metrics_env = env


def _authorized(request: Request) -> bool:
    expected = getattr(request.app.ctx, "metrics_token", "")
    if not expected:
        return True
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@blueprint.get("/metrics")
async def scrape(request: Request) -> Any:
    if not _authorized(request):
        return response.text("metrics need Authorization: Bearer <CANYU_METRICS_TOKEN>\n", status=401,
                             headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    page = await asyncio.get_running_loop().run_in_executor(None, metrics.render, request.app.ctx.redis,
                                                             request.app.ctx.metrics_env)
    return response.raw(page, content_type=metrics.CONTENT_TYPE)
