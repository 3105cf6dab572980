"""`open_redis` clients: they come back by themselves after a Redis restart and never hang on a mute server;
`open_redis(settings, timeout=…)` (a health probe) gives up at once."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path
from typing import Iterator, List, Mapping

import pytest
import redis

from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from bot.storage import EmbeddedRedis, open_redis, redis_client_options

FAST = {"REDIS_SOCKET_TIMEOUT": "0.5", "REDIS_CONNECT_TIMEOUT": "0.5"}


def _settings(url: str, env: Mapping[str, str] = FAST) -> Settings:
    """Settings for Redis at `url`, with `env` as the environment (timeouts, retries)."""
    return load_settings({**env, "REDIS_URL": url})


@pytest.fixture
def mute_server() -> Iterator[socket.socket]:
    """A TCP socket on loopback that completes the handshake (the kernel does) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server
    finally:
        server.close()


def test_the_same_client_works_again_after_redis_is_killed_and_restarted(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        client = open_redis(_settings(server.url))
        client.set("canyu:test:before", "1")
        assert client.get("canyu:test:before") == "1"

        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        with pytest.raises(redis.ConnectionError):
            client.get("canyu:test:before")  # down: an error, promptly, not a hang

        server = EmbeddedRedis(tmp_path / "redis").start()
        assert client.set("canyu:test:after", "2")  # the first command after the restart already works
        assert client.get("canyu:test:after") == "2"
    finally:
        server.stop()


def test_a_command_sent_while_redis_restarts_waits_for_it_instead_of_failing(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis").start()
    restarted: List[EmbeddedRedis] = []
    try:
        client = open_redis(_settings(server.url, {"REDIS_RETRIES": "6"}))  # backoff 0.2 + 0.4 + 0.8 + 1 + 1 + 1 s
        assert client.ping()
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        later = threading.Timer(0.3, lambda: restarted.append(EmbeddedRedis(tmp_path / "redis").start()))
        later.start()
        assert client.incr("canyu:test:counter") == 1  # issued while Redis is down; runs once it is back
        later.join()
        assert restarted and client.incr("canyu:test:counter") == 2
    finally:
        for running in [server, *restarted]:
            running.stop()


def test_a_command_to_a_server_that_never_answers_times_out(mute_server: socket.socket) -> None:
    host, port = mute_server.getsockname()
    client = redis.Redis(host=host, port=port, **redis_client_options(FAST))
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        client.get("canyu:test:anything")
    assert time.monotonic() - started < 3.0, "a mute server must not hang the caller"


def test_open_redis_uses_the_timeout_from_the_environment(mute_server: socket.socket) -> None:
    host, port = mute_server.getsockname()
    client = open_redis(_settings(f"redis://{host}:{port}/0", FAST))
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        client.ping()
    assert time.monotonic() - started < 3.0


def test_a_probe_client_gives_up_after_its_timeout_without_retrying(tmp_path: Path,
                                                                    mute_server: socket.socket) -> None:
    host, port = mute_server.getsockname()
    probe = open_redis(_settings(f"redis://{host}:{port}/0", {}), timeout=0.3)
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        probe.ping()
    assert time.monotonic() - started < 1.5
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        probe = open_redis(_settings(server.url, {}), timeout=0.3)
        assert probe.ping()
        server.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        server.process.wait(timeout=10)  # type: ignore[union-attr]
        started = time.monotonic()
        with pytest.raises(redis.ConnectionError):
            probe.ping()
        assert time.monotonic() - started < 1.0, "a probe does not wait through the retries"
    finally:
        server.stop()


def test_client_options_have_safe_defaults_and_refuse_bad_values() -> None:
    options = redis_client_options({})
    assert options["socket_timeout"] == 5.0 and options["socket_connect_timeout"] == 5.0
    assert options["retry_on_timeout"] is False and redis.TimeoutError not in options["retry_on_error"]
    assert redis_client_options({"REDIS_RETRY_ON_TIMEOUT": "1"})["retry_on_timeout"] is True
    with pytest.raises(ConfigError, match="REDIS_SOCKET_TIMEOUT='soon'"):
        redis_client_options({"REDIS_SOCKET_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="REDIS_RETRIES='-1'"):
        redis_client_options({"REDIS_RETRIES": "-1"})
