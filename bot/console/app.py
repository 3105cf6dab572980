"""The console web app: `create_app()` builds a Sanic app and registers every view plug-in.

A plug-in is any module in `bot/console/views/` that exposes `blueprint` (a Sanic `Blueprint`) and/or
`setup(app)`; it may also expose `nav = [{"label": "Queue", "path": "/agent", "roles": ["agent"]}]` to add
menu entries. See docs/console.md.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any, Callable, Iterable, List, Optional

from sanic import Sanic, response
from sanic.request import Request

from bot.console.layout import STATIC_DIR, csp_nonce, make_environment
from bot.console.settings import ConsoleSettings, load_console_settings

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
    settings: Optional[ConsoleSettings] = None,
    redis: Any = None,
    views: Optional[Iterable[Any]] = None,
    name: str = APP_NAME,
) -> Sanic:
    """Build the console app. `views` defaults to every module in `bot/console/views/`."""
    settings = settings or load_console_settings()
    if redis is None:
        from bot.storage import connect_redis

        redis = connect_redis(settings.redis_url)
    app = Sanic(name)
    app.config.KEEP_ALIVE_TIMEOUT = 75
    app.config.RESPONSE_TIMEOUT = 3600  # live transcripts (SSE) stay open
    # Forwarding headers (client address, X-Forwarded-Proto) count only from proxies we were told about;
    # `bot.console.auth.client_ip` and the Secure cookie flag rely on this.
    app.config.PROXIES_COUNT = settings.proxies_count or None
    app.config.FORWARDED_SECRET = settings.forwarded_secret
    app.config.REAL_IP_HEADER = None
    app.ctx.settings = settings
    app.ctx.redis = redis
    app.ctx.jinja = make_environment()
    app.ctx.nav = []
    app.static("/static", str(STATIC_DIR), name="console_static")
    register_env_senders()

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


def register_env_senders() -> None:
    """Agent replies, notices and re-sent dead letters leave from this process: the senders of the installed
    channels (WeChat, Telegram: the `canyu.channels` entry points, bot/channels.py) are built from the
    environment (docs/channels.md) when first needed; without their settings the messages wait in the delivery
    queue for the Rasa server's worker."""
    from bot.channels import sender_factories
    from bot.outbound import register_sender

    for channel, factory in sender_factories().items():
        register_sender(channel, factory)


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
