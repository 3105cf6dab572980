"""The client half of the REST channel's authentication: the headers a caller sends.

The protocol (described in full in `connectors/_rest_auth.py`, which holds the server half): either
`Authorization: Bearer <token>`, or `X-Canyu-Timestamp: <unix seconds>` with
`X-Canyu-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>\\n<METHOD>\\n<path?query>\\n" + body)>`.
It lives in `bot` because `bot` callers (`bot eval conversations`) sign requests too, and `bot` never imports
`connectors`; the channel imports `signature` and `MAX_SKEW_S` from here, so both sides share one definition.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Dict, Optional

__all__ = ["MAX_SKEW_S", "auth_headers", "signature"]

MAX_SKEW_S = 300
"""A signed request whose timestamp is further than this from the server's clock is refused."""


def signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """`sha256=<hex>`: the HMAC-SHA256 of the timestamp, method, path and body under `secret`."""
    message = f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def auth_headers(method: str = "POST", path: str = "/webhooks/rest/webhook", body: bytes = b"", *,
                 token: str = "", hmac_secret: str = "", now: Optional[float] = None) -> Dict[str, str]:
    """The headers a client sends (the client half of the protocol; used by our tests and benches)."""
    if hmac_secret:
        timestamp = str(int(time.time() if now is None else now))
        return {"X-Canyu-Timestamp": timestamp,
                "X-Canyu-Signature": signature(hmac_secret, timestamp, method, path, body)}
    return {"Authorization": f"Bearer {token}"} if token else {}
