"""The shared page layout: Jinja2 templates (autoescaped) with `base.html` around every page.

    from bot.console.layout import render
    return render(request, "review/inbox.html", title="Review", items=items)

Templates live in `bot/console/templates/` (put a plug-in's own templates in a sub-folder named after it)
and extend `base.html`, filling `{% block content %}` (and optionally `{% block scripts %}`). Inline
`<script>` tags must carry `nonce="{{ csp_nonce }}"`: the Content-Security-Policy blocks every other
inline script. Every page gets `user`, `csrf_token`, `csp_nonce` and `nav` (the menu built from the
plug-ins' `nav` entries that this user's role may see).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Dict, List

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import response
from sanic.request import Request

from bot.console.auth import csrf_token, current_user

__all__ = ["TEMPLATES_DIR", "STATIC_DIR", "make_environment", "render", "csp_nonce"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def make_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def csp_nonce(request: Request) -> str:
    """The per-request nonce that inline scripts need (also sent in the CSP header)."""
    if not hasattr(request.ctx, "csp_nonce"):
        request.ctx.csp_nonce = secrets.token_urlsafe(16)
    return request.ctx.csp_nonce  # type: ignore[no-any-return]


def _nav_for(request: Request) -> List[Dict[str, str]]:
    user = current_user(request)
    if user is None:
        return []
    items = []
    for entry in request.app.ctx.nav:
        roles = entry.get("roles") or ()
        if not roles or user.has_role(*roles):
            items.append({"label": entry["label"], "path": entry["path"]})
    return items


def render(request: Request, template: str, status: int = 200, **context: Any) -> Any:
    """Render `template` with the shared context and return an HTML response."""
    env: Environment = request.app.ctx.jinja
    shared = {
        "user": current_user(request),
        "csrf_token": csrf_token(request),
        "csp_nonce": csp_nonce(request),
        "nav": _nav_for(request),
        "path": request.path,
    }
    shared.update(context)
    return response.html(env.get_template(template).render(**shared), status=status)
