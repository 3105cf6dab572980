"""Sessions, role checks and CSRF protection for every console view.

Plug-in views use two things from here:

    from bot.console.auth import require_role, current_user, csrf_token

    @blueprint.get("/review")
    @require_role("trainer")            # admins pass every role check
    async def review(request): ...

    @blueprint.post("/api/review/<item_id>/accept")
    @require_role("trainer")            # POST/PUT/PATCH/DELETE also need the CSRF token
    async def accept(request, item_id): ...

`require_role` answers 401 (JSON for `/api/...`, a redirect to the log-in page otherwise) when nobody is
logged in, and 403 when the user lacks the role or an unsafe request lacks a valid CSRF token. Pages get
the token from `csrf_token(request)` (the base layout puts it in `<meta name="csrf-token">`); scripts send it
as the `X-CSRF-Token` header, forms as the `csrf_token` field.

Log-in throttling never locks a name: failed log-ins are counted per client address, per (address, name)
and per name. After a few failures an address (for one name, or for all names) must wait before its next
try, 2 s at first and twice as long after every further failure, 15 minutes at most (`login_retry_after`:
HTTP 429 with `Retry-After`); other addresses are not affected. Failures for a name from everywhere only
slow every try at that name, by `NAME_SLOWDOWN_MAX` seconds at most (`login_slowdown`), so an agent logs in
from their own desk while a stranger hammers the name. A try counts as failed from its start
(`note_login_attempt`) until its password proves right (`note_login_success`): parallel tries cannot slip
past the wait. The client address is the socket's, or the one a trusted proxy forwarded
(`client_ip`, settings `CANYU_CONSOLE_TRUST_PROXY` / `CANYU_CONSOLE_FORWARDED_SECRET`).

Redis keys (owned here; names and TTLs in bot/keys.py), all expiring:
- `canyu:console_session:{sha256(token)}` hash: `user`, `role`, `csrf`, `created`; expires when idle
- `canyu:console_login_fail:ip:{ip}` failed log-ins from one address (any name), `LOGIN_FAILURE_WINDOW`
- `canyu:console_login_fail:ipname:{ip}|{name}` failed log-ins for one name from one address (both quoted)
- `canyu:console_login_fail:name:{name}` failed log-ins for one name from every address
- `canyu:console_login_fail:wait:ip:{ip}`, `canyu:console_login_fail:wait:ipname:{ip}|{name}` present while
  that address must wait; the key's TTL is the wait
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import secrets
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, TypeVar
from urllib.parse import quote, urlsplit

from sanic import response
from sanic.request import Request

from bot import keys
from bot.console.users import User, UserStore

__all__ = [
    "SESSION_COOKIE",
    "current_user",
    "csrf_token",
    "check_csrf",
    "require_role",
    "login_form_token",
    "set_login_cookie",
    "check_login_form_token",
    "start_session",
    "end_session",
    "client_ip",
    "is_https",
    "login_retry_after",
    "login_slowdown",
    "note_login_attempt",
    "note_login_success",
    "set_cookie",
]

SESSION_COOKIE = "canyu_session"
LOGIN_COOKIE = "canyu_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_FAILURE_WINDOW = keys.LOGIN_FAILURE_WINDOW_S  # failures are forgotten this long after the last one
FREE_FAILURES_IP_NAME = 3  # from the 3rd failure an address waits 2, 4, 8, ... s before trying that name again
FREE_FAILURES_IP = 10  # from the 10th failure an address waits 2, 4, 8, ... s before trying any name again
FREE_FAILURES_NAME = 10  # from the 10th, every try at the name is slowed, by NAME_SLOWDOWN_MAX at most
MAX_WAIT = 15 * 60
NAME_SLOWDOWN_MAX = 2.0
_FAIL = keys.CONSOLE_LOGIN_FAIL_PREFIX

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


def _session_key(token: str) -> str:
    return keys.console_session(hashlib.sha256(token.encode("utf-8")).hexdigest())


def client_ip(request: Request) -> str:
    """The client's address: forwarded by a trusted proxy if one is configured, else the socket's peer."""
    if request.app.ctx.settings.behind_proxy:
        return request.remote_addr or request.ip
    return request.ip


def is_https(request: Request) -> bool:
    """True if the client talks https to us, or to a trusted proxy that says so (`X-Forwarded-Proto`)."""
    return request.scheme == "https"


def set_cookie(request: Request, resp: Any, name: str, value: str, max_age: Optional[int]) -> None:
    """Set an HttpOnly, SameSite=Strict cookie, Secure over https or when configured; max_age 0 deletes it."""
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    if max_age is not None:
        cookie["max-age"] = max_age
    if request.app.ctx.settings.secure_cookies or is_https(request):
        cookie["secure"] = True


def _session(request: Request) -> Optional[Dict[str, Any]]:
    """The session hash of this request (cached on request.ctx), refreshing its expiry."""
    if hasattr(request.ctx, "session"):
        return request.ctx.session  # type: ignore[no-any-return]
    session = None
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) < 200:
        redis = request.app.ctx.redis
        key = _session_key(token)
        data = redis.hgetall(key)
        if data and data.get("user"):
            user = UserStore(redis).get(data["user"])
            if user is not None and user.role == data.get("role"):
                redis.expire(key, request.app.ctx.settings.session_seconds)
                session = data
            else:  # user removed or role changed: the session ends
                redis.delete(key)
    request.ctx.session = session
    return session


def current_user(request: Request) -> Optional[User]:
    """The logged-in user, or None."""
    session = _session(request)
    if session is None:
        return None
    return UserStore(request.app.ctx.redis).get(session["user"])


def csrf_token(request: Request) -> str:
    """The CSRF token of this session ('' when nobody is logged in)."""
    session = _session(request)
    return session.get("csrf", "") if session else ""


def _sent_csrf(request: Request) -> str:
    sent = str(request.headers.get(CSRF_HEADER, ""))
    if sent:
        return sent
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data"):
            return str(request.form.get(CSRF_FIELD, "") or "")
        if ctype.startswith("application/json") and isinstance(request.json, dict):
            return str(request.json.get(CSRF_FIELD, "") or "")
    except Exception:  # malformed body: no token
        return ""
    return ""


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return bool(urlsplit(origin).netloc == request.host)


def check_csrf(request: Request) -> bool:
    """True if an unsafe request carries this session's CSRF token and no foreign Origin."""
    if request.method not in UNSAFE_METHODS:
        return True
    expected = csrf_token(request)
    sent = _sent_csrf(request)
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode()) and _same_origin(request)


def _wants_json(request: Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def require_role(*roles: str) -> Callable[[Handler], Handler]:
    """Decorator: only logged-in users with one of `roles` (admins always) get through; unsafe methods need CSRF."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
            user = current_user(request)
            if user is None:
                if _wants_json(request) or request.method in UNSAFE_METHODS:
                    return response.json({"error": "log in first"}, status=401)
                return response.redirect("/login?next=" + quote(request.path))
            if roles and not user.has_role(*roles):
                if _wants_json(request):
                    return response.json({"error": "your role cannot do this"}, status=403)
                return response.html("<h1>403</h1><p>Your role cannot open this page.</p>", status=403)
            if not check_csrf(request):
                return response.json({"error": "missing or wrong CSRF token; reload the page"}, status=403)
            request.ctx.user = user
            return await handler(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# --- log-in form protection (before a session exists) -------------------------------------------------

def login_form_token(request: Request) -> Tuple[str, str]:
    """(nonce, token) for the log-in form: put the token in the form, `set_login_cookie(nonce)` on the response."""
    nonce = secrets.token_urlsafe(16)
    return nonce, _sign_login(request, nonce)


def set_login_cookie(request: Request, resp: Any, nonce: str) -> None:
    set_cookie(request, resp, LOGIN_COOKIE, nonce, 3600)


def _sign_login(request: Request, nonce: str) -> str:
    key = request.app.ctx.settings.secret.encode("utf-8")
    return hmac.new(key, b"login:" + nonce.encode("utf-8"), hashlib.sha256).hexdigest()


def check_login_form_token(request: Request, sent: str) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not sent:
        return False
    return hmac.compare_digest(_sign_login(request, nonce).encode(), sent.encode()) and _same_origin(request)


def _fail_keys(ip: str, name: str) -> Tuple[str, str, str]:
    """(per address, per address and name, per name) failure counter keys."""
    ip, name = ip[:64], name[:60]
    return (f"{_FAIL}ip:{ip}", f"{_FAIL}ipname:{quote(ip, safe='')}|{quote(name, safe='')}", f"{_FAIL}name:{name}")


def _wait_keys(ip: str, name: str) -> List[str]:
    by_ip, by_ip_name, _ = _fail_keys(ip, name)
    return [_FAIL + "wait:" + by_ip[len(_FAIL):], _FAIL + "wait:" + by_ip_name[len(_FAIL):]]


def _backoff(failures: int, free: int) -> int:
    """Seconds to wait after `failures` failures: none below `free`, then 2, 4, 8, ... up to MAX_WAIT."""
    if failures < free:
        return 0
    return int(min(2 ** min(failures - free + 1, 20), MAX_WAIT))


def login_retry_after(request: Request, name: str) -> int:
    """Seconds this client must still wait before trying `name` again (0: go ahead)."""
    pipe = request.app.ctx.redis.pipeline()
    for key in _wait_keys(client_ip(request), name):
        pipe.pttl(key)
    left_ms = max([ms for ms in pipe.execute() if ms and ms > 0] or [0])
    return int(math.ceil(left_ms / 1000))


def login_slowdown(request: Request, name: str) -> float:
    """Seconds to hold a try at `name` because of failures from everywhere (bounded, never a refusal)."""
    failures = int(request.app.ctx.redis.get(_fail_keys(client_ip(request), name)[2]) or 0)
    if failures < FREE_FAILURES_NAME:
        return 0.0
    return float(min(0.25 * 2 ** min(failures - FREE_FAILURES_NAME, 10), NAME_SLOWDOWN_MAX))


def note_login_attempt(request: Request, name: str) -> None:
    """Count a log-in try as failed before its password is checked (so parallel tries cannot slip past the
    wait); `note_login_success` takes it back when the password was right."""
    ip = client_ip(request)
    keys = _fail_keys(ip, name)
    pipe = request.app.ctx.redis.pipeline()
    for key in keys:
        pipe.incr(key)
        pipe.expire(key, LOGIN_FAILURE_WINDOW)
    counts = pipe.execute()[0::2]
    waits = (_backoff(counts[0], FREE_FAILURES_IP), _backoff(counts[1], FREE_FAILURES_IP_NAME))
    pipe = request.app.ctx.redis.pipeline()
    for key, wait in zip(_wait_keys(ip, name), waits, strict=False):
        if wait:
            pipe.set(key, "1", ex=wait)
    pipe.execute()


def note_login_success(request: Request, name: str) -> None:
    """The password was right: the try is not a failure, and this address's and the name's failures for
    the name are forgiven (the address's failures at other names stay)."""
    ip = client_ip(request)
    by_ip, by_ip_name, by_name = _fail_keys(ip, name)
    redis = request.app.ctx.redis
    pipe = redis.pipeline()
    pipe.decr(by_ip)
    pipe.delete(by_ip_name, by_name, _wait_keys(ip, name)[1])
    left = pipe.execute()[0]
    if left <= 0:  # the count had expired meanwhile: no counter without a TTL
        redis.delete(by_ip)


def start_session(request: Request, resp: Any, user: User) -> str:
    """Create a session for `user`, set its cookie on `resp`; returns the CSRF token."""
    redis = request.app.ctx.redis
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    key = _session_key(token)
    redis.hset(key, mapping={"user": user.name, "role": user.role, "csrf": csrf, "created": f"{time.time():.0f}"})
    redis.expire(key, request.app.ctx.settings.session_seconds)
    set_cookie(request, resp, SESSION_COOKIE, token, request.app.ctx.settings.session_seconds)
    set_cookie(request, resp, LOGIN_COOKIE, "", 0)
    return csrf


def end_session(request: Request, resp: Any) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        request.app.ctx.redis.delete(_session_key(token))
    set_cookie(request, resp, SESSION_COOKIE, "", 0)
