"""The agent console: a Sanic web app for agents, trainers and admins, extended by view plug-ins.

Start it with `python -m bot.console --host 127.0.0.1 --port 5002` (`bot run` does). See docs/console.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sanic import Sanic

    from bot.context import AppContext

__all__ = ["create_app"]


def create_app(ctx: "AppContext", **kwargs: Any) -> "Sanic":
    """Build the console app around the process's context (see `bot.console.app.create_app`)."""
    from bot.console.app import create_app as _create_app

    return _create_app(ctx, **kwargs)
