"""The action server: `python -m bot.actions.server --port N` (started as `python -m bot.child bot.actions.server …`).

It serves rasa_sdk's HTTP API (`GET /health`, `GET /actions`, `POST /webhook`, deflate bodies included, with the
same bodies and status codes as `rasa_sdk.endpoint`; and keeps the domain Rasa sent, so that Rasa's later calls
can leave it out: `X-Canyu-Domain`, bot/rasa_action_domain.py) and takes rasa_sdk's command-line flags, but it is a
composition root: it builds ONE `AppContext` for the process and registers every `Action` subclass of the
`bot.actions` modules as an instance, `cls(ctx)` for a `WithContext` subclass and `cls()` otherwise. rasa_sdk's own
server can only call `cls()`, which is why actions used to reach for module-level singletons.

It starts warm (bot/warmup.py): before the socket opens, it pings Redis, builds the knowledge index, opens the order
backend and answers a Chinese and an English question in-process, so `/health` answers only once the first real
call costs what the hundredth does; what it warmed goes to `<data dir>/run/warm/<pid>.json` for `bot run`'s `/ready`.

`--auto-reload` is refused: reloading would re-register classes through rasa_sdk, without the context.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import zlib
from types import ModuleType
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Union

from bot.actions._context import WithContext
from bot.rasa_action_domain import HEADER as DOMAIN_HEADER, DomainCache, DomainUnknown

if TYPE_CHECKING:
    from rasa_sdk.executor import ActionExecutor
    from sanic import Sanic

    from bot.context import AppContext

__all__ = ["ACTIONS_PACKAGE", "create_app", "main", "register_actions"]

logger = logging.getLogger(__name__)

ACTIONS_PACKAGE = "bot.actions"
DEFAULT_HOST = "0.0.0.0"
APP_NAME = "canyu_actions"
_SKIPPED_PREFIXES = ("rasa_core.", "rasa.", "rasa_sdk.", "rasa_core_sdk.")


def _action_classes(package: str) -> List[type]:
    """The concrete `Action` subclasses defined in `package` and its modules (rasa_sdk's discovery order)."""
    from rasa_sdk import utils
    from rasa_sdk.interfaces import Action

    return [cls for cls in utils.all_subclasses(Action)
            if (cls.__module__ == package or cls.__module__.startswith(package + "."))
            and not cls.__module__.startswith(_SKIPPED_PREFIXES) and not inspect.isabstract(cls)]


def register_actions(executor: "ActionExecutor", ctx: "AppContext",
                     package: Union[str, ModuleType] = ACTIONS_PACKAGE) -> List[str]:
    """Import `package` with its modules and register each action class as an instance; return the names."""
    executor._import_submodules(package)
    name = package if isinstance(package, str) else package.__name__
    for cls in _action_classes(name):
        executor.register_action(cls(ctx) if issubclass(cls, WithContext) else cls())
    return list(executor.actions)


def create_app(ctx: "AppContext", package: Union[str, ModuleType] = ACTIONS_PACKAGE,
               cors_origins: Union[str, List[str], None] = "*", name: str = APP_NAME, warm: bool = False) -> "Sanic":
    """The Sanic app serving the actions of `package` with `ctx` (rasa_sdk's `create_app`, with a context); with
    `warm`, it warms up before it listens (`bot.warmup.warm_actions`; the server's `main` asks for it)."""
    from rasa_sdk import utils
    from rasa_sdk.endpoint import configure_cors
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
    from sanic import Sanic, response
    from sanic.request import Request
    from sanic.response import HTTPResponse

    app = Sanic(name, configure_logging=False)
    configure_cors(app, cors_origins)
    executor = ActionExecutor()
    register_actions(executor, ctx, package)
    domains = DomainCache()  # Rasa sends the domain once, not with every call (bot/rasa_action_domain.py)

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        """Ping endpoint to check if the server is running and well."""
        return response.json({"status": "ok"}, status=200)

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        """Run the action Rasa asks for."""
        if request.headers.get("Content-Encoding") == "deflate":
            action_call = json.loads(zlib.decompress(request.body))
        else:
            action_call = request.json
        if action_call is None:
            return response.json({"error": "Invalid body request"}, status=400)
        try:
            ack = domains.complete(action_call, request.headers.get(DOMAIN_HEADER))
        except DomainUnknown as e:
            return response.json({"error": str(e)}, status=409)
        utils.check_version_compatibility(action_call.get("version"))
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as e:
            logger.debug(e)
            return response.json({"error": e.message, "action_name": e.action_name}, status=400)
        except ActionNotFoundException as e:
            logger.error(e)
            return response.json({"error": e.message, "action_name": e.action_name}, status=404)
        return response.json(result, status=200, headers={DOMAIN_HEADER: ack} if ack else None)

    @app.get("/actions")
    async def actions(_: Request) -> HTTPResponse:
        """List all registered actions."""
        return response.json([{"name": k} for k in executor.actions.keys()], status=200)

    @app.exception(Exception)  # type: ignore[no-untyped-call]
    async def exception_handler(request: Request, exception: Exception) -> HTTPResponse:
        logger.error(msg=f"Exception occurred during execution of request {request}", exc_info=exception)
        return response.json({"error": str(exception), "request_body": request.json}, status=500)

    if warm:
        @app.before_server_start
        async def warm_up(_app: Sanic, _loop: Any) -> None:
            from bot.warmup import freeze_heap, warm_actions

            report = await warm_actions(ctx, executor)
            await report.step("gc_freeze", lambda: asyncio.to_thread(freeze_heap))
            report.write(ctx.settings.data_dir)

    @app.after_server_stop
    async def close_context(_app: Sanic, _loop: Any) -> None:
        ctx.close()

    return app


def _parser() -> argparse.ArgumentParser:
    from rasa_sdk.endpoint import create_argument_parser

    parser: argparse.ArgumentParser = create_argument_parser()
    parser.prog = "python -m bot.actions.server"
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Build the context, register the actions and serve them (rasa_sdk's flags; `--actions` defaults to bot.actions)."""
    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
    from rasa_sdk.endpoint import create_ssl_context
    from rasa_sdk.plugin import plugin_manager

    from bot.context import build_context

    args = _parser().parse_args(argv)
    if args.auto_reload:
        raise SystemExit("--auto-reload is not supported by bot.actions.server (actions are built with a context); "
                         "restart the server instead")
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel,
                                 args.logging_config_file)
    utils.update_sanic_log_level()
    ctx = build_context()
    logger.info("Starting action endpoint server...")
    app = create_app(ctx, args.actions or ACTIONS_PACKAGE, cors_origins=args.cors, warm=True)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = ctx.env.get("SANIC_HOST", DEFAULT_HOST)
    logger.info(f"Action endpoint is up and running on {'https' if ssl_context else 'http'}://{host}:{args.port}")
    app.run(host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
