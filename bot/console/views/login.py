"""Log-in, log-out and the home page."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from sanic import Blueprint, response
from sanic.request import Request

from bot.console import auth
from bot.console.layout import render
from bot.console.users import UserStore

blueprint = Blueprint("console_login")


def _safe_next(raw: str) -> str:
    parts = urlsplit(raw or "/")
    if parts.scheme or parts.netloc or not (raw or "/").startswith("/") or raw.startswith("//"):
        return "/"
    return raw or "/"


def _login_page(request: Request, error: str = "", username: str = "", status: int = 200) -> Any:
    source = request.form if request.method == "POST" else request.args
    nonce, token = auth.login_form_token(request)
    resp = render(request, "login.html", status=status, title="Log in", error=error, username=username,
                  next=_safe_next(source.get("next", "") or ""), login_token=token)
    auth.set_login_cookie(request, resp, nonce)
    return resp


def _throttled(request: Request, name: str, wait: int) -> Any:
    when = f"{wait} second{'s' if wait != 1 else ''}" if wait < 120 else f"{(wait + 59) // 60} minutes"
    resp = _login_page(request, f"Too many wrong passwords from this address. Wait {when}, then try again.",
                       name, status=429)
    resp.headers["Retry-After"] = str(wait)
    return resp


@blueprint.get("/login")
async def login_form(request: Request) -> Any:
    return _login_page(request)


@blueprint.post("/login")
async def login(request: Request) -> Any:
    form = request.form
    name = (form.get("username") or "").strip()
    password = form.get("password") or ""
    if not auth.check_login_form_token(request, form.get("csrf_token") or ""):
        return _login_page(request, "The form expired. Please try again.", name, status=403)
    wait = auth.login_retry_after(request, name)
    if wait:
        return _throttled(request, name, wait)
    slowdown = auth.login_slowdown(request, name)
    auth.note_login_attempt(request, name)  # counted as failed until the password proves right
    if slowdown:
        await asyncio.sleep(slowdown)
    user = await UserStore(request.app.ctx.redis).authenticate_async(name, password)
    if user is None:
        return _login_page(request, "Wrong name or password.", name, status=401)
    auth.note_login_success(request, name)
    resp = response.redirect(_safe_next(form.get("next") or "/"))
    auth.start_session(request, resp, user)
    return resp


@blueprint.post("/logout")
async def logout(request: Request) -> Any:
    if auth.current_user(request) is not None and not auth.check_csrf(request):
        return response.json({"error": "missing or wrong CSRF token"}, status=403)
    resp = response.redirect("/login")
    auth.end_session(request, resp)
    return resp


@blueprint.get("/")
@auth.require_role()
async def home(request: Request) -> Any:
    return render(request, "home.html", title="Home")
