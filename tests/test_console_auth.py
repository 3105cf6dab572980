"""The console's log-in, sessions, roles and CSRF, over HTTP against the real app process and real Redis."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import redis
import requests

from bot.cli.console import add_user
from bot.storage import EmbeddedRedis
from tests.harness import lone_console

PASSWORDS = {"lin": "lin-Secret-Pass-1", "tia": "tia-Secret-Pass-2", "root": "root-Secret-Pass-3"}
SECRET = "console-secret-for-tests-0123456789"
RASA_TOKEN = "rasa-token-for-tests-abcdef"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[str, "redis.Redis[str]", Path]]:
    folder = tmp_path_factory.mktemp("console")
    server = EmbeddedRedis(folder / "redis").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    add_user("lin", "agent", PASSWORDS["lin"], redis=client)
    add_user("tia", "trainer", PASSWORDS["tia"], redis=client)
    add_user("root", "admin", PASSWORDS["root"], redis=client)
    try:
        with lone_console(server.url, folder / "console.log", RASA_TOKEN=RASA_TOKEN, CANYU_CONSOLE_SECRET=SECRET) as url:
            yield url, client, folder / "console.log"
    finally:
        server.stop()


def login(url: str, name: str, password: str) -> Tuple[requests.Session, requests.Response]:
    s = requests.Session()
    page = s.get(url + "/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = s.post(url + "/login", data={"username": name, "password": password, "csrf_token": token}, allow_redirects=False)
    return s, r


def csrf_of(s: requests.Session, url: str, path: str = "/") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', s.get(url + path).text).group(1)  # type: ignore[union-attr]


def test_unauthenticated_requests_are_refused(console: Tuple[str, object, Path]) -> None:
    url = console[0]
    assert requests.get(url + "/api/queue").status_code == 401
    assert requests.get(url + "/api/conversations/u1/context").status_code == 401
    assert requests.get(url + "/api/conversations/u1/events").status_code == 401
    for action in ("claim", "reply", "note", "transfer", "perk", "resolve"):
        r = requests.post(url + f"/api/conversations/u1/{action}", json={"text": "hi"})
        assert r.status_code == 401, action
    r = requests.get(url + "/agent", allow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith("/login")
    forged = requests.get(url + "/api/queue", cookies={"canyu_session": "forged-token"})
    assert forged.status_code == 401


def test_wrong_password_does_not_log_in(console: Tuple[str, object, Path]) -> None:
    url = console[0]
    s, r = login(url, "lin", "not-the-password")
    assert r.status_code == 401 and "canyu_session" not in s.cookies
    assert s.get(url + "/api/queue").status_code == 401
    s, r = login(url, "nobody", "whatever-pass")
    assert r.status_code == 401


def test_login_form_needs_its_token(console: Tuple[str, object, Path]) -> None:
    url = console[0]
    r = requests.post(url + "/login", data={"username": "lin", "password": PASSWORDS["lin"]}, allow_redirects=False)
    assert r.status_code == 403 and "canyu_session" not in r.cookies


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_it(console: Tuple[str, object, Path]) -> None:
    url = console[0]
    s, r = login(url, "lin", PASSWORDS["lin"])
    assert r.status_code == 302
    cookie = r.headers["set-cookie"]
    assert "canyu_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert s.get(url + "/api/queue").status_code == 200
    token = csrf_of(s, url)
    assert s.post(url + "/logout", data={"csrf_token": token}, allow_redirects=False).status_code == 302
    assert s.get(url + "/api/queue").status_code == 401


def test_posts_need_the_csrf_token(console: Tuple[str, object, Path]) -> None:
    url = console[0]
    s, _ = login(url, "lin", PASSWORDS["lin"])
    no_token = s.post(url + "/api/conversations/u1/note", json={"text": "x"})
    assert no_token.status_code == 403
    wrong = s.post(url + "/api/conversations/u1/note", json={"text": "x"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    token = csrf_of(s, url)
    foreign = s.post(url + "/api/conversations/u1/note", json={"text": "x"},
                     headers={"X-CSRF-Token": token, "Origin": "http://evil.example"})
    assert foreign.status_code == 403
    ok = s.post(url + "/api/conversations/u1/note", json={"text": "x"}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 200


def test_roles(console: Tuple[str, object, Path]) -> None:
    url = console[0]
    trainer, _ = login(url, "tia", PASSWORDS["tia"])
    assert trainer.get(url + "/api/queue").status_code == 403
    admin, _ = login(url, "root", PASSWORDS["root"])
    assert admin.get(url + "/api/queue").status_code == 200


def test_security_headers(console: Tuple[str, object, Path]) -> None:
    r = requests.get(console[0] + "/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_guessing_is_throttled(console: Tuple[str, object, Path]) -> None:
    url, client, _ = console
    add_user("victim", "agent", "victim-Pass-123", redis=client)  # type: ignore[arg-type]
    for _ in range(3):
        login(url, "victim", "wrong-guess")
    s, r = login(url, "victim", "victim-Pass-123")  # this address waits, even with the right password
    assert r.status_code == 429 and "canyu_session" not in s.cookies
    assert 1 <= int(r.headers["retry-after"]) <= 2
    time.sleep(int(r.headers["retry-after"]) + 0.2)
    s, r = login(url, "victim", "victim-Pass-123")
    assert r.status_code == 302 and "canyu_session" in s.cookies


def test_passwords_are_hashed_and_no_secret_is_logged(console: Tuple[str, "redis.Redis[str]", Path]) -> None:
    url, client, log = console
    stored = client.hgetall("canyu:console_user:lin")
    assert stored["password"].startswith("scrypt$") and PASSWORDS["lin"] not in str(stored)
    s, _ = login(url, "lin", PASSWORDS["lin"])
    session = s.cookies["canyu_session"]
    assert client.keys(f"canyu:console_session:{session}") == []  # only a hash of the token is stored
    time.sleep(0.5)
    text = log.read_text(errors="replace")
    for secret in [s for s in (*PASSWORDS.values(), SECRET, RASA_TOKEN, session) if s]:
        assert secret not in text
