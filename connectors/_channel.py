"""What the chat-platform input channels share: their settings reader, a lazy Redis client and
background tasks that are kept until they finish (so none is garbage-collected mid-flight)."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Awaitable, Mapping, Optional, Set

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint

from bot.errors import ConfigError
from bot.storage import connect_redis

__all__ = ["Settings", "PlatformInput", "platform_channels"]

logger = logging.getLogger(__name__)


class Settings:
    """A channel's settings: a `credentials.yml` key overrides its environment variable; empty means unset."""

    def __init__(self, credentials: Optional[Mapping[str, Any]], env: Optional[Mapping[str, str]]) -> None:
        self._credentials = {k: v for k, v in (credentials or {}).items() if v not in (None, "")}
        self._env = os.environ if env is None else env

    def text(self, key: str, var: str, default: str = "") -> str:
        """The credentials key `key`, else the environment variable `var`, else `default` (stripped)."""
        return str(self._credentials.get(key, self._env.get(var) or default)).strip()

    def number(self, key: str, var: str, default: float, unit: str = "") -> float:
        """Like `text`, as a number; a precise `ConfigError` naming the variable when it is not one."""
        raw = self.text(key, var, str(default))
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a number{unit}; use e.g. {default}") from None


class PlatformInput(InputChannel):
    """Base of the WeChat and Telegram input channels."""

    def __init__(self, redis: Any = None) -> None:
        self._redis_client = redis
        self._tasks: Set["asyncio.Task[Any]"] = set()

    @property
    def redis(self) -> Any:
        """The shared Redis (`bot.storage.connect_redis`), connected on first use."""
        if self._redis_client is None:
            self._redis_client = connect_redis()
        return self._redis_client

    def announce(self, bp: Blueprint) -> None:
        """Tell the server this platform is enabled (the REST channel then requires authentication)."""

        @bp.listener("before_server_start")
        async def _announce(app: Any, loop: Any) -> None:
            if not hasattr(app.ctx, "platform_channels"):
                app.ctx.platform_channels = set()
            app.ctx.platform_channels.add(self.name())

    async def _recover(self) -> None:
        """Take over this channel's messages whose processor died (see connectors/_inbound.py)."""
        raise NotImplementedError

    async def _sweep(self) -> None:
        """`_recover` at start-up and then every half lease of the channel's inbound records, until cancelled."""
        while True:
            try:
                await self._recover()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("%s: recovery sweep failed: %s", self.name(), exc)
            await asyncio.sleep(max(0.5, self.inbound.lease / 2))  # type: ignore[attr-defined]

    def _spawn(self, coro: Awaitable[Any]) -> "asyncio.Task[Any]":
        """Runs `coro` in the background, holding a reference until it is done."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def platform_channels(app: Any) -> Set[str]:
    """The platform channels enabled on this server (see `PlatformInput.announce`)."""
    return set(getattr(app.ctx, "platform_channels", ()))
