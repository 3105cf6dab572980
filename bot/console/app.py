"""The console web app: `create_app(ctx)` builds a Sanic app and registers every view plug-in.

The console process's composition root (`python -m bot.console`, bot/console/__main__.py) builds one
`AppContext` and hands it to `create_app`, which keeps it as `app.ctx.context`; views take what they need from
the request's app: `request.app.ctx.context` (its `redis`, `async_redis`, `outbound`, `senders`, `env`),
`request.app.ctx.redis` (the same sync client, for the many views that only need Redis) and
`request.app.ctx.settings` (the console's settings, read from the context's environment).

A plug-in is any module in `bot/console/views/` that exposes `blueprint` (a Sanic `Blueprint`) and/or
`setup(app)`; it may also expose `nav = [{"label": "Queue", "path": "/agent", "roles": ["agent"]}]` to add
menu entries. See docs/console.md.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional

from sanic import Sanic, response
from sanic.request import Request

from bot.console.layout import STATIC_DIR, csp_nonce, make_environment
from bot.console.settings import ConsoleSettings, load_console_settings

if TYPE_CHECKING:
    from bot.context import AppContext

__all__ = ["create_app", "discover_views", "register_env_senders"]

logger = logging.getLogger(__name__)
APP_NAME = "canyu_console"


def discover_views() -> List[Any]:
    """Import every module of `bot.console.views` (sorted by name)."""
    import bot.console.views as package

    modules = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return modules


def _security_headers(request: Request, resp: Any) -> None:
    nonce = csp_nonce(request)
    resp.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    )
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        resp.headers.setdefault("Cache-Control", "no-store")


def create_app(
    ctx: "AppContext",
    settings: Optional[ConsoleSettings] = None,
    views: Optional[Iterable[Any]] = None,
    name: str = APP_NAME,
) -> Sanic:
    """Build the console app around the process's context `ctx` (its Redis clients, senders, environment).
    `settings` default to the console settings in `ctx.env`; `views` to every module in `bot/console/views/`."""
    settings = settings or load_console_settings(ctx.env)
    app = Sanic(name)
    app.config.KEEP_ALIVE_TIMEOUT = 75
    app.config.RESPONSE_TIMEOUT = 3600  # live transcripts (SSE) stay open
    # Forwarding headers (client address, X-Forwarded-Proto) count only from proxies we were told about;
    # `bot.console.auth.client_ip` and the Secure cookie flag rely on this.
    app.config.PROXIES_COUNT = settings.proxies_count or None
    app.config.FORWARDED_SECRET = settings.forwarded_secret
    app.config.REAL_IP_HEADER = None
    app.ctx.context = ctx
    app.ctx.settings = settings
    app.ctx.redis = ctx.redis
    app.ctx.jinja = make_environment()
    app.ctx.nav = []
    app.static("/static", str(STATIC_DIR), name="console_static")
    register_env_senders(ctx)

    @app.get("/health")
    async def health(request: Request) -> Any:
        try:
            request.app.ctx.redis.ping()
        except Exception:
            return response.json({"status": "redis unreachable"}, status=503)
        return response.json({"status": "ok"})

    app.register_middleware(_security_headers, "response")

    for module in discover_views() if views is None else views:
        register_view(app, module)
    return app


def register_env_senders(ctx: "AppContext") -> None:
    """Agent replies, notices and re-sent dead letters leave from this process: the senders of the installed
    channels (WeChat, Telegram: the `canyu.channels` entry points, bot/channels.py) go into `ctx.senders`, built
    from the context's environment (docs/channels.md) when first needed; without their settings the messages
    wait in the delivery queue for the Rasa server's worker."""
    from bot.channels import register_channel_senders

    register_channel_senders(ctx)


def register_view(app: Sanic, module: Any) -> None:
    """Register one plug-in module: its `blueprint`, its `setup(app)`, its `nav` entries."""
    blueprint = getattr(module, "blueprint", None)
    if blueprint is not None:
        app.blueprint(blueprint)
    setup: Optional[Callable[[Sanic], None]] = getattr(module, "setup", None)
    if setup is not None:
        setup(app)
    for entry in getattr(module, "nav", []) or []:
        app.ctx.nav.append(dict(entry))
    logger.debug("console: registered view %s", getattr(module, "__name__", module))
