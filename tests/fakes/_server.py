"""Run an aiohttp application on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Optional, TypeVar

from aiohttp import web

_Server = TypeVar("_Server", bound="ThreadedServer")

class ThreadedServer:
    """Start with `start()` (returns the base URL), stop with `stop()`; also a context manager. After `stop()`
    connections are refused; `start()` again listens on the same port (a platform down for a while)."""

    def __init__(self) -> None:
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None
        self.port = 0
        self.lock = threading.Lock()

    def app(self) -> web.Application:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        ready = threading.Event()
        errors = []

        def run() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            try:
                self._runner = web.AppRunner(self.app(), access_log=None)
                self.loop.run_until_complete(self._runner.setup())
                site = web.TCPSite(self._runner, "127.0.0.1", self.port)  # a restart keeps its port
                self.loop.run_until_complete(site.start())
                self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            except Exception as exc:  # pragma: no cover - surfaced to the caller
                errors.append(exc)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self._runner.cleanup())
            self.loop.close()

        self._thread = threading.Thread(target=run, name=type(self).__name__, daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self.url

    def stop(self) -> None:
        if self.loop is not None and self._thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self: "_Server") -> "_Server":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
