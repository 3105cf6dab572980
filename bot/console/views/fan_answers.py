"""Console: fan-written answers — a trainer approves (after editing), rejects, or removes a credit.

Pages and API (trainer role; admins too):
- `GET  /fan-answers`                          the page: this week's figures, answers waiting, published answers
- `POST /fan-answers/<id>/approve|reject|uncredit`   the page's forms (then back to the page with a message)
- `GET  /api/fan_answers`                      {"pending": [...], "recent": [...], "stats": {...}}
- `POST /api/fan_answers/<id>/approve`         {"answer": {en, zh}, "questions": {en: [..], zh: [..]},
                                                "name": {en, zh}, "products": [..]} -> the published proposal
- `POST /api/fan_answers/<id>/reject`          {"reason": "…"} -> the proposal
- `POST /api/fan_answers/<id>/remove_credit`   -> the proposal (the answer stays, without the fan's name)
Approving writes `knowledge/faq/fan_answers.yml` (KB reload, no retraining) and tells the fan, thanked, on
their channel; a rejection tells them kindly, with the reason.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, Dict, List
from urllib.parse import quote

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.auth import require_role
from bot.console.layout import render
from bot.errors import CanyuError

blueprint = Blueprint("console_fan_answers")
nav = [{"label": "Fan answers", "path": "/fan-answers", "roles": ["trainer"]}]


def _fans(request: Request) -> Any:
    from bot.fan_answers import FanAnswers

    return FanAnswers.of(request.app.ctx.redis, request.app.ctx.context.settings)


async def _blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


def _lines(text: Any) -> List[str]:
    if isinstance(text, list):
        return [str(t).strip() for t in text if str(t).strip()]
    return [t.strip() for t in str(text or "").splitlines() if t.strip()]


def _pair(value: Any) -> Dict[str, str]:
    if isinstance(value, str):
        return {"en": value.strip(), "zh": value.strip()}
    value = value if isinstance(value, dict) else {}
    return {k: str(value.get(k) or "").strip() for k in ("en", "zh")}


async def _approve(request: Request, proposal_id: str, data: Dict[str, Any]) -> Dict[str, Any]:
    from bot.fan_answers import POINTS_PER_ANSWER, tell_fan

    raw_questions = data.get("questions")
    questions: Dict[str, Any] = raw_questions if isinstance(raw_questions, dict) else {}
    published: Dict[str, Any] = await _blocking(
        _fans(request).approve, proposal_id, request.ctx.user.name, answer=_pair(data.get("answer")),
        questions={k: _lines(questions.get(k)) for k in ("en", "zh")}, name=_pair(data.get("name")),
        products=_lines(data.get("products")))
    published["told"] = await tell_fan(published, POINTS_PER_ANSWER, request.app.ctx.context.outbound,
                                       request.app.ctx.context.texts)
    return published


async def _reject(request: Request, proposal_id: str, data: Dict[str, Any]) -> Dict[str, Any]:
    from bot.fan_answers import tell_fan

    rejected: Dict[str, Any] = await _blocking(_fans(request).reject, proposal_id, request.ctx.user.name, str(data.get("reason") or ""))
    rejected["told"] = await tell_fan(rejected, 0, request.app.ctx.context.outbound, request.app.ctx.context.texts)
    return rejected


async def _uncredit(request: Request, proposal_id: str, data: Dict[str, Any]) -> Dict[str, Any]:
    uncredited: Dict[str, Any] = await _blocking(_fans(request).remove_credit, proposal_id, request.ctx.user.name)
    return uncredited


_ACTIONS = {"approve": _approve, "reject": _reject, "remove_credit": _uncredit, "uncredit": _uncredit}


@blueprint.get("/fan-answers")
@require_role("trainer")
async def page(request: Request) -> Any:
    fans = _fans(request)
    await _blocking(fans.drop_orphan_credits)
    return render(request, "fan_answers/page.html", title="Fan answers", pending=fans.pending(),
                  recent=[p for p in fans.recent() if p.get("status") != "proposed"], stats=fans.stats(7),
                  msg=request.args.get("msg", ""), err=request.args.get("err", ""))


@blueprint.post("/fan-answers/<proposal_id>/<action>")
@require_role("trainer")
async def form(request: Request, proposal_id: str, action: str) -> Any:
    handler = _ACTIONS.get(action)
    if handler is None:
        return response.redirect("/fan-answers?err=" + quote(f"unknown action {action!r}"))
    f = request.form
    data = {"answer": {"en": f.get("answer_en"), "zh": f.get("answer_zh")},
            "questions": {"en": f.get("questions_en"), "zh": f.get("questions_zh")},
            "name": {"en": f.get("name_en"), "zh": f.get("name_zh")}, "products": f.get("products"),
            "reason": f.get("reason")}
    try:
        result = await handler(request, proposal_id, data)
    except CanyuError as exc:
        return response.redirect("/fan-answers?err=" + quote(str(exc)))
    return response.redirect("/fan-answers?msg=" + quote(f"{proposal_id} is now {result['status']}"))


@blueprint.get("/api/fan_answers")
@require_role("trainer")
async def api_list(request: Request) -> Any:
    fans = _fans(request)
    return response.json({"pending": fans.pending(), "recent": fans.recent(), "stats": fans.stats(7)})


@blueprint.post("/api/fan_answers/<proposal_id>/<action>")
@require_role("trainer")
async def api_action(request: Request, proposal_id: str, action: str) -> Any:
    handler = _ACTIONS.get(action)
    if handler is None:
        return response.json({"error": f"unknown action {action!r}; use approve, reject or remove_credit"}, status=404)
    data = request.json if isinstance(request.json, dict) else {}
    try:
        return response.json(await handler(request, proposal_id, data))
    except CanyuError as exc:
        return response.json({"error": str(exc)}, status=400)
