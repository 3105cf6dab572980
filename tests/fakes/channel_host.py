"""Host one of our Rasa input channels in a real Sanic server, registered exactly as Rasa does it.

For protocol tests that need control over the bot's timing (a 6-second answer, a crash) the agent is a
`ScriptedAgent` (echoes, optionally slowly); full-conversation tests use the real Rasa server instead.

    host = ChannelHost(WeChatInput(config, channel_context(redis)), ScriptedAgent(delay=0)); url = host.start()
    requests.post(url + "/webhooks/wechat/webhook?...", data=xml)
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import InputChannel, UserMessage, register
from sanic import Sanic

_names = itertools.count(1)


def channel_context(redis: Any, **env: str) -> Any:
    """The context a channel's `from_credentials` would build (the process environment plus `env`), on the test's
    own Redis client: what a test hands a channel it makes itself."""
    from bot.context import build_context

    return build_context({**os.environ, **env}, redis=redis)


class ScriptedAgent:
    """Stands in for `rasa.core.agent.Agent.handle_message`: replies `echo: <text>` after `delay` s."""

    def __init__(self, delay: float = 0.0, reply: Optional[str] = None, buttons: Optional[list] = None) -> None:
        self.delay = delay
        self.reply = reply
        self.buttons = buttons
        self.received: List[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        text = self.reply if self.reply is not None else f"echo: {message.text}"
        out: Dict[str, Any] = {"text": text}
        if self.buttons:
            out["buttons"] = list(self.buttons)
        await message.output_channel.send_response(message.sender_id, dict(out))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChannelHost:
    def __init__(self, channel: InputChannel, agent: Any) -> None:
        self.channel = channel
        self.agent = agent
        self.port = _free_port()
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        Sanic.test_mode = True
        app = Sanic(f"channel_host_{next(_names)}")
        app.ctx.agent = self.agent
        register([self.channel], app, route="/webhooks/")
        ready = threading.Event()
        errors: List[BaseException] = []

        async def serve() -> None:
            try:
                self._server = await app.create_server(host="127.0.0.1", port=self.port,
                                                       return_asyncio_server=True, access_log=False)
                await self._server.startup()
                await self._server.before_start()
                await self._server.after_start()
            except BaseException as exc:  # pragma: no cover
                errors.append(exc)
                ready.set()
                return
            ready.set()
            await self._server.serve_forever()

        def run() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            task = self.loop.create_task(serve())
            try:
                self.loop.run_until_complete(task)
            except (asyncio.CancelledError, RuntimeError):
                pass

        self._thread = threading.Thread(target=run, name="ChannelHost", daemon=True)
        self._thread.start()
        ready.wait(20)
        if errors:
            raise errors[0]
        return self.url

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop (e.g. to inspect channel state)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop is None:
            return
        loop = self.loop

        async def shutdown() -> None:
            try:
                await self._server.before_stop()
            except Exception:
                pass
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        except Exception:
            pass
        if self._thread is not None:
            self._thread.join(10)
        self.loop = None
