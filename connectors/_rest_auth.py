"""Who may use the REST channel: a bearer token or an HMAC signature, both sides of the protocol.

Settings (a `credentials.yml` key under `connectors.rest.RestInput:` overrides the environment variable):

| key | variable | meaning |
|---|---|---|
| `token` | `CANYU_REST_TOKEN` | clients send `Authorization: Bearer <token>` |
| `hmac_secret` | `CANYU_REST_HMAC_SECRET` | clients sign each request (below) |
| `auth` | `CANYU_REST_AUTH` | `auto` (default), `required` or `off` |

`auto` requires a token or a signature as soon as one is configured, and also whenever a platform
channel (WeChat, Telegram) is enabled on the same server: then the REST webhook is as public as theirs.
With `required` (or `auto` with a platform on) and nothing configured, every REST call is refused with a
message saying what to set. `off` opens the channel on purpose (a private network, a gateway in front).

Signature: `X-Canyu-Timestamp: <unix seconds>` and
`X-Canyu-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>\\n<METHOD>\\n<path?query>\\n" + body)>`.
A timestamp more than `MAX_SKEW_S` away is refused, and a signature is accepted once (replays within the
window are refused; Redis `canyu:rest:sig:{sha256(signature)}`).

The client half (`auth_headers`, the signature itself, `MAX_SKEW_S`) is in `bot/rest_auth.py`, re-exported here.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from bot import keys
from bot.errors import ConfigError
from bot.rest_auth import MAX_SKEW_S, auth_headers, signature as _signature
from connectors._channel import Settings

__all__ = ["RestAuth", "auth_headers", "MAX_SKEW_S"]

MODES = ("auto", "required", "off")


@dataclass(frozen=True)
class RestAuth:
    token: str = field(default="", repr=False)
    hmac_secret: str = field(default="", repr=False)
    mode: str = "auto"

    @classmethod
    def load(cls, credentials: Optional[Mapping[str, Any]], env: Mapping[str, str]) -> "RestAuth":
        """The settings: a `credentials` key, else its variable in `env` (the process's `Settings.env`)."""
        settings = Settings(credentials, env)
        auth = cls(token=settings.text("token", "CANYU_REST_TOKEN"),
                   hmac_secret=settings.text("hmac_secret", "CANYU_REST_HMAC_SECRET"),
                   mode=settings.text("auth", "CANYU_REST_AUTH", "auto").lower())
        if auth.mode not in MODES:
            raise ConfigError(f"CANYU_REST_AUTH={auth.mode!r}; use one of {', '.join(MODES)}")
        return auth

    @property
    def configured(self) -> bool:
        return bool(self.token or self.hmac_secret)

    def required(self, platform_enabled: bool) -> bool:
        if self.mode == "off":
            return False
        return self.mode == "required" or self.configured or platform_enabled

    def refusal(self, method: str, path: str, headers: Mapping[str, str], body: bytes, redis: Any = None,
                now: Optional[float] = None) -> Optional[str]:
        """None when the request may pass, else why not (for the 401/403 body; never echoes secrets)."""
        if not self.configured:
            return ("the REST channel is closed: set CANYU_REST_TOKEN (clients send 'Authorization: Bearer "
                    "<token>') or CANYU_REST_HMAC_SECRET, or CANYU_REST_AUTH=off to open it on purpose")
        given = headers.get("authorization", "")
        if self.token and given.lower().startswith("bearer "):
            if hmac.compare_digest(given[7:].strip().encode(), self.token.encode()):
                return None
            return "wrong bearer token"
        signature = headers.get("x-canyu-signature", "")
        if self.hmac_secret and signature:
            return self._check_signature(method, path, headers.get("x-canyu-timestamp", ""), signature, body,
                                         redis, time.time() if now is None else now)
        return "authentication required: send 'Authorization: Bearer <token>' or an X-Canyu-Signature"

    def _check_signature(self, method: str, path: str, timestamp: str, signature: str, body: bytes,
                         redis: Any, now: float) -> Optional[str]:
        try:
            skew = abs(now - int(timestamp))
        except ValueError:
            return "X-Canyu-Timestamp must be unix seconds"
        if skew > MAX_SKEW_S:
            return f"X-Canyu-Timestamp is more than {MAX_SKEW_S} s away from the server's clock"
        expected = _signature(self.hmac_secret, timestamp, method, path, body)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return "wrong signature"
        if redis is not None:
            key = keys.rest_signature(hashlib.sha256(signature.encode()).hexdigest())
            if not redis.set(key, "1", nx=True, ex=2 * MAX_SKEW_S):
                return "this signed request was already used"
        return None
