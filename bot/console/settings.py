"""Console settings, read once from the environment (injectable in tests).

| variable | default | what |
|---|---|---|
| `REDIS_URL` | (embedded Redis) | where users, sessions, handoff state and the event stream live |
| `RASA_URL` | `http://127.0.0.1:5005` | the Rasa server's HTTP API (resume, execute, tracker events) |
| `RASA_TOKEN` | (none) | Rasa HTTP API token (`rasa run --enable-api --auth-token ...`) |
| `CANYU_CONSOLE_SECRET` | (random per process) | signs login-form tokens; set it so they survive restarts |
| `CANYU_CONSOLE_SECURE_COOKIES` | `0` | `1` adds `Secure` to cookies (set it behind HTTPS) |
| `CANYU_CONSOLE_SESSION_HOURS` | `12` | idle lifetime of a session |
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Mapping, Optional

DEFAULT_RASA_URL = "http://127.0.0.1:5005"
DEFAULT_SESSION_HOURS = 12


@dataclass(frozen=True)
class ConsoleSettings:
    redis_url: Optional[str] = field(default=None, repr=False)
    rasa_url: str = DEFAULT_RASA_URL
    rasa_token: Optional[str] = field(default=None, repr=False)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    secure_cookies: bool = False
    session_seconds: int = DEFAULT_SESSION_HOURS * 3600

    def __repr__(self) -> str:
        token = "***" if self.rasa_token else "-"
        return (
            f"ConsoleSettings(rasa_url={self.rasa_url}, rasa_token={token}, secret=***, "
            f"secure_cookies={self.secure_cookies}, session_seconds={self.session_seconds})"
        )


def load_console_settings(env: Optional[Mapping[str, str]] = None) -> ConsoleSettings:
    """Read the console settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    secret = env.get("CANYU_CONSOLE_SECRET") or secrets.token_urlsafe(32)
    hours_raw = env.get("CANYU_CONSOLE_SESSION_HOURS") or str(DEFAULT_SESSION_HOURS)
    try:
        hours = float(hours_raw)
    except ValueError:
        from bot.errors import ConfigError

        raise ConfigError(
            f"CANYU_CONSOLE_SESSION_HOURS={hours_raw!r} is not a number; set it to e.g. {DEFAULT_SESSION_HOURS}"
        ) from None
    return ConsoleSettings(
        redis_url=env.get("REDIS_URL") or None,
        rasa_url=(env.get("RASA_URL") or DEFAULT_RASA_URL).rstrip("/"),
        rasa_token=env.get("RASA_TOKEN") or None,
        secret=secret,
        secure_cookies=env.get("CANYU_CONSOLE_SECURE_COOKIES", "0") in ("1", "true", "yes"),
        session_seconds=int(hours * 3600),
    )
