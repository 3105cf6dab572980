"""The context of a Rasa plug-in (tracker store, lock store, event broker): Rasa builds these from endpoints.yml,
so each is a composition root and builds its own `AppContext` in its constructor, through `plugin_context`.

A `url` in endpoints.yml (`redis://…`, `unix://…`) wins over `REDIS_URL`; anything else there (Rasa passes its
default host name, or nothing) leaves the settings' Redis.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from bot.context import AppContext, build_context
from bot.settings import load_settings

__all__ = ["plugin_context"]


def plugin_context(url: Optional[str] = None) -> AppContext:
    """A context with settings read from the environment, and Redis at `url` when it is a Redis URL."""
    settings = load_settings()
    if url and "://" in url:
        settings = replace(settings, redis_url=url)
    return build_context(settings=settings)
