"""Console settings, read once from the environment (injectable in tests).

| variable | default | what |
|---|---|---|
| `REDIS_URL` | (embedded Redis) | where users, sessions, handoff state and the event stream live |
| `RASA_URL` | `http://127.0.0.1:5005` | the Rasa server's HTTP API (resume, execute, tracker events) |
| `RASA_TOKEN` | (none) | Rasa HTTP API token (`rasa run --enable-api --auth-token ...`) |
| `CANYU_CONSOLE_SECRET` | (random per process) | signs login-form tokens; set it so they survive restarts |
| `CANYU_CONSOLE_SECURE_COOKIES` | `0` | `1` adds `Secure` to cookies always (they get it anyway over https) |
| `CANYU_CONSOLE_SESSION_HOURS` | `12` | idle lifetime of a session |
| `CANYU_CONSOLE_TRUST_PROXY` | `0` | how many reverse proxies in front append to `X-Forwarded-For` (`1` for one nginx); only then are the client address and `X-Forwarded-Proto` taken from the headers |
| `CANYU_CONSOLE_FORWARDED_SECRET` | (none) | trust an RFC 7239 `Forwarded` header carrying `secret=` (or `by=`) this value |
| `CANYU_CONSOLE_MASK` | `phone,id,card` | personal data masked in transcripts shown to agents (`phone`, `id`, `card`, `email`, `all`, `none`) |
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

from bot.errors import ConfigError
from bot.pii import DEFAULT_KINDS, parse_kinds

DEFAULT_RASA_URL = "http://127.0.0.1:5005"
DEFAULT_SESSION_HOURS = 12
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class ConsoleSettings:
    redis_url: Optional[str] = field(default=None, repr=False)
    rasa_url: str = DEFAULT_RASA_URL
    rasa_token: Optional[str] = field(default=None, repr=False)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    secure_cookies: bool = False
    session_seconds: int = DEFAULT_SESSION_HOURS * 3600
    proxies_count: int = 0
    forwarded_secret: Optional[str] = field(default=None, repr=False)
    mask: Tuple[str, ...] = DEFAULT_KINDS

    @property
    def behind_proxy(self) -> bool:
        """True if forwarding headers from a proxy are trusted."""
        return self.proxies_count > 0 or bool(self.forwarded_secret)

    def __repr__(self) -> str:
        token = "***" if self.rasa_token else "-"
        return (
            f"ConsoleSettings(rasa_url={self.rasa_url}, rasa_token={token}, secret=***, "
            f"secure_cookies={self.secure_cookies}, session_seconds={self.session_seconds}, "
            f"proxies_count={self.proxies_count}, forwarded_secret={'***' if self.forwarded_secret else '-'}, "
            f"mask={','.join(self.mask) or 'none'})"
        )


def _proxies(raw: str) -> int:
    value = raw.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return 0
    if value in ("true", "yes", "on"):
        return 1
    if value.isdigit():
        return int(value)
    raise ConfigError(f"CANYU_CONSOLE_TRUST_PROXY={raw!r} is not a number of proxies; set it to 0 (no proxy) or "
                      "the number of reverse proxies in front of the console, e.g. 1")


def load_console_settings(env: Mapping[str, str]) -> ConsoleSettings:
    """Read the console settings from `env` (the console process's `Settings.env`)."""
    secret = env.get("CANYU_CONSOLE_SECRET") or secrets.token_urlsafe(32)
    hours_raw = env.get("CANYU_CONSOLE_SESSION_HOURS") or str(DEFAULT_SESSION_HOURS)
    try:
        hours = float(hours_raw)
    except ValueError:
        # cause dropped: the message quotes the bad value and the reason
        raise ConfigError(
            f"CANYU_CONSOLE_SESSION_HOURS={hours_raw!r} is not a number; set it to e.g. {DEFAULT_SESSION_HOURS}"
        ) from None
    mask_raw = env.get("CANYU_CONSOLE_MASK") or ",".join(DEFAULT_KINDS)
    try:
        mask = parse_kinds(mask_raw)
    except ValueError as exc:
        # cause dropped: the message quotes the bad value and the parser's reason
        raise ConfigError(f"CANYU_CONSOLE_MASK={mask_raw!r}: {exc}") from None
    return ConsoleSettings(
        redis_url=env.get("REDIS_URL") or None,
        rasa_url=(env.get("RASA_URL") or DEFAULT_RASA_URL).rstrip("/"),
        rasa_token=env.get("RASA_TOKEN") or None,
        secret=secret,
        secure_cookies=env.get("CANYU_CONSOLE_SECURE_COOKIES", "0").lower() in _TRUE,
        session_seconds=int(hours * 3600),
        proxies_count=_proxies(env.get("CANYU_CONSOLE_TRUST_PROXY") or "0"),
        forwarded_secret=env.get("CANYU_CONSOLE_FORWARDED_SECRET") or None,
        mask=mask,
    )
