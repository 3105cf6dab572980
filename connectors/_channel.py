"""What the chat-platform input channels share: their settings reader, the application context of their process
(built by each channel's `from_credentials`: Rasa makes each channel on its own, so each is a composition root), the delivery worker for their own
channel's queue, and background tasks that are kept until they finish (so none is garbage-collected mid-flight)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Mapping, Optional, Set

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint

from bot.context import AppContext
from bot.delivery import DeliverySettings, DeliveryWorker
from bot.errors import ConfigError

if TYPE_CHECKING:
    import redis

    from bot.outbound import Outbound

__all__ = ["Settings", "PlatformInput", "platform_channels"]

logger = logging.getLogger(__name__)


class Settings:
    """A channel's settings: a `credentials.yml` key overrides its environment variable; empty means unset."""

    def __init__(self, credentials: Optional[Mapping[str, Any]], env: Mapping[str, str]) -> None:
        self._credentials = {k: v for k, v in (credentials or {}).items() if v not in (None, "")}
        self._env = env

    def text(self, key: str, var: str, default: str = "") -> str:
        """The credentials key `key`, else the environment variable `var`, else `default` (stripped)."""
        return str(self._credentials.get(key, self._env.get(var) or default)).strip()

    def number(self, key: str, var: str, default: float, unit: str = "") -> float:
        """Like `text`, as a number; a precise `ConfigError` naming the variable when it is not one."""
        raw = self.text(key, var, str(default))
        try:
            return float(raw)
        except ValueError:
            # cause dropped: the message quotes the bad value and the reason
            raise ConfigError(f"{var}={raw!r} is not a number{unit}; use e.g. {default}") from None


class PlatformInput(InputChannel):
    """Base of the WeChat and Telegram input channels. `ctx`: what the channel shares with its process (Redis,
    the sender registry it registers its sender in, the settings)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._tasks: Set["asyncio.Task[Any]"] = set()
        self._worker: Optional[DeliveryWorker] = None

    @property
    def redis(self) -> "redis.Redis[str]":
        """The context's Redis client (connected on first use)."""
        return self.ctx.redis

    @property
    def outbound(self) -> "Outbound":
        """Sending to users with this process's senders (`bot.outbound.Outbound`)."""
        return self.ctx.outbound

    def run_deliveries(self, bp: Blueprint) -> None:
        """Drain this channel's delivery queue (retries, messages queued by processes without a sender) while
        the server runs, with the sender this channel registered in `ctx.senders`."""

        @bp.listener("after_server_start")
        async def _start_worker(app: Any, loop: Any) -> None:
            self._worker = DeliveryWorker(self.redis, self.ctx.senders, DeliverySettings.from_env(self.ctx.env),
                                          channels=(self.name(),)).start()

        @bp.listener("before_server_stop")
        async def _stop_worker(app: Any, loop: Any) -> None:
            worker, self._worker = self._worker, None
            if worker is not None:
                await worker.stop()

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
            await asyncio.sleep(max(0.5, self.inbound.lease / 2))

    def _spawn(self, coro: Awaitable[Any]) -> "asyncio.Task[Any]":
        """Runs `coro` in the background, holding a reference until it is done."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def platform_channels(app: Any) -> Set[str]:
    """The platform channels enabled on this server (see `PlatformInput.announce`)."""
    return set(getattr(app.ctx, "platform_channels", ()))
