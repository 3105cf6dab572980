"""Console attacks, against the real console process and a real Redis: locking out an agent, guessing
past the throttle, forged forwarding headers, hashing on the event loop, cookies over https, old hashes.

`start_console` and `login` are also used by the other console tests of this package.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import redis
import requests

from bot.cli.console import add_user
from bot.console.users import SCRYPT_N, SCRYPT_P, SCRYPT_R, hash_password
from bot.storage import EmbeddedRedis
from tests.harness import lone_console

REPO = Path(__file__).resolve().parents[2]
PASSWORDS = {"lin": "lin-Secret-Pass-1", "ana": "ana-Secret-Pass-2", "old": "old-Secret-Pass-3",
             "tia": "tia-Secret-Pass-4"}


def start_console(redis_url: str, log: Path, **env_extra: str) -> Any:
    """The console on its own with `env_extra` (tests.harness.lone_console); a context giving its base URL."""
    return lone_console(redis_url, log, 90, CANYU_CONSOLE_SECRET="console-secret-for-security-tests", **env_extra)


def login(url: str, name: str, password: str, ip: Optional[str] = None,
          headers: Optional[Dict[str, str]] = None) -> Tuple[requests.Session, requests.Response]:
    """Log in through the form; `ip` is sent as X-Forwarded-For (what a proxy in front would add)."""
    s = requests.Session()
    page = s.get(url + "/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    sent = dict(headers or {})
    if ip:
        sent["X-Forwarded-For"] = ip
    r = s.post(url + "/login", data={"username": name, "password": password, "csrf_token": token},
               headers=sent, allow_redirects=False, timeout=30)
    return s, r


@pytest.fixture(scope="module")
def client(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    red = redis.Redis.from_url(redis_server.url, decode_responses=True)
    for name, password in PASSWORDS.items():
        add_user(name, "agent", password, redis=red)
    return red


@pytest.fixture(scope="module")
def proxied(redis_server: EmbeddedRedis, client: "redis.Redis[str]", tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[str]:
    """The console behind one trusted proxy (CANYU_CONSOLE_TRUST_PROXY=1): X-Forwarded-For names the client."""
    with start_console(redis_server.url, tmp_path_factory.mktemp("proxied") / "console.log",
                       CANYU_CONSOLE_TRUST_PROXY="1") as url:
        yield url


@pytest.fixture(scope="module")
def direct(redis_server: EmbeddedRedis, client: "redis.Redis[str]", tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    """The console without a proxy setting: forwarding headers are the client's word and count for nothing."""
    with start_console(redis_server.url, tmp_path_factory.mktemp("direct") / "console.log") as url:
        yield url


def test_a_stranger_cannot_lock_out_an_agent(proxied: str) -> None:
    # one address hammers lin, and twelve more addresses guess once each
    statuses = [login(proxied, "lin", f"guess-{i}", ip="203.0.113.66")[1].status_code for i in range(12)]
    assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}
    for i in range(12):
        assert login(proxied, "lin", "guess", ip=f"203.0.113.{100 + i}")[1].status_code == 401
    # lin, at her own desk, still gets in; the failures for her name only slow her by a bounded delay
    started = time.monotonic()
    s, r = login(proxied, "lin", PASSWORDS["lin"], ip="198.51.100.7")
    assert r.status_code == 302, r.text
    assert s.get(proxied + "/api/queue", timeout=10).status_code == 200
    assert time.monotonic() - started < 30  # the slowdown is at most 2 s; hashing is generous here


def test_throttled_tries_get_429_with_a_growing_retry_after(proxied: str) -> None:
    ip = "203.0.113.7"
    for _ in range(3):
        assert login(proxied, "ana", "wrong-guess", ip=ip)[1].status_code == 401
    waits: List[int] = []
    for round_ in range(3):
        _, r = login(proxied, "ana", PASSWORDS["ana"], ip=ip)  # even the right password waits
        assert r.status_code == 429 and "Wait" in r.text, r.text
        waits.append(int(r.headers["Retry-After"]))
        if round_ < 2:
            time.sleep(waits[-1] + 0.3)
            assert login(proxied, "ana", "wrong-guess", ip=ip)[1].status_code == 401
    assert waits[0] < waits[1] < waits[2] <= 8, waits
    # another address is not affected
    _, r = login(proxied, "ana", PASSWORDS["ana"], ip="198.51.100.8")
    assert r.status_code == 302


def test_forged_forwarding_headers_count_for_nothing_without_a_trusted_proxy(direct: str) -> None:
    statuses = [login(direct, "tia", "guess", ip=f"192.0.2.{i}")[1].status_code for i in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]  # every try was 127.0.0.1
    _, r = login(direct, "old", PASSWORDS["old"], headers={"X-Forwarded-For": "192.0.2.9",
                                                            "X-Forwarded-Proto": "https"})
    assert r.status_code == 302
    assert "secure" not in r.headers["set-cookie"].lower()  # plain http, and the proto header is not trusted


def test_cookies_are_secure_behind_a_trusted_https_proxy(proxied: str) -> None:
    _, r = login(proxied, "tia", PASSWORDS["tia"], ip="198.51.100.20", headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 302
    session = [c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("canyu_session=")]
    assert session and "secure" in session[0].lower(), r.raw.headers.getlist("Set-Cookie")
    _, plain = login(proxied, "tia", PASSWORDS["tia"], ip="198.51.100.21")
    assert plain.status_code == 302 and "secure" not in plain.headers["set-cookie"].lower()


def test_password_hashing_does_not_block_the_event_loop(proxied: str) -> None:
    """While a log-in hashes (a third of a second or more), the console answers other requests.

    On the event loop, the handler would not yield between reading the log-in and answering it, so no
    request could start and finish in between; we need several that do."""
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"',  # type: ignore[union-attr]
                      s.get(proxied + "/login", timeout=10).text).group(1)
    window: Dict[str, float] = {}

    def log_in() -> None:
        window["start"] = time.monotonic()
        s.post(proxied + "/login", data={"username": "lin", "password": "wrong-once", "csrf_token": token},
               headers={"X-Forwarded-For": "198.51.100.30"}, allow_redirects=False, timeout=60)
        window["end"] = time.monotonic()

    health = requests.Session()
    health.get(proxied + "/health", timeout=10)  # connection open before the race
    thread = threading.Thread(target=log_in)
    thread.start()
    calls: List[Tuple[float, float]] = []
    while thread.is_alive():
        started = time.monotonic()
        assert health.get(proxied + "/health", timeout=30).ok
        calls.append((started, time.monotonic()))
    thread.join()
    inside = [c for c in calls if c[0] > window["start"] and c[1] < window["end"]]
    assert len(inside) >= 3, (len(calls), window, calls[:5])
    assert max(end - start for start, end in inside) < 1.0  # generous: the loop is free, not merely fast


def test_new_hashes_use_owasp_parameters_and_old_ones_are_upgraded_on_log_in(
        proxied: str, client: "redis.Redis[str]") -> None:
    assert client.hget("canyu:console_user:lin", "password").startswith(  # type: ignore[union-attr]
        f"scrypt${2**17}$8$1$")
    assert (SCRYPT_N, SCRYPT_R, SCRYPT_P) == (2**17, 8, 1)
    client.hset("canyu:console_user:old", "password", hash_password(PASSWORDS["old"], n=2**14))
    _, wrong = login(proxied, "old", "not-her-password", ip="198.51.100.40")
    assert wrong.status_code == 401
    assert client.hget("canyu:console_user:old", "password").startswith(f"scrypt${2**14}$")  # type: ignore[union-attr]
    _, r = login(proxied, "old", PASSWORDS["old"], ip="198.51.100.40")
    assert r.status_code == 302
    upgraded = client.hget("canyu:console_user:old", "password")
    assert upgraded.startswith(f"scrypt${2**17}$8$1$")  # type: ignore[union-attr]
    _, again = login(proxied, "old", PASSWORDS["old"], ip="198.51.100.41")
    assert again.status_code == 302


def test_failure_counters_expire_and_stay_under_their_kinds(proxied: str, client: "redis.Redis[str]") -> None:
    login(proxied, "ana", "one-more-wrong", ip="203.0.113.200")
    keys = client.keys("canyu:console_login_fail:*")
    assert {k.split(":")[2] for k in keys} <= {"ip", "ipname", "name", "wait"}, keys
    assert "canyu:console_login_fail:ip:203.0.113.200" in keys
    ttls = {k: client.ttl(k) for k in keys}
    # Every key has a TTL (-1 would be none) within the window. Redis rounds the TTL to the nearest second, so a
    # 2 s wait about to end reads 0, and -2 is one that ran out between KEYS and TTL.
    assert all(0 <= t <= 15 * 60 or t == -2 for t in ttls.values()), ttls
