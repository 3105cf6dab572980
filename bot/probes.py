"""Small process and HTTP helpers shared by the stack (bot/runner.py) and its supervisor: a free port, a
probe that says whether a server answers, one readiness check, and signalling a child's process group.

Kept apart from bot/runner.py so that file stays about the stack itself; bot.runner re-exports them.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Tuple

__all__ = ["free_port", "http_ok", "http_get", "check_http", "signal_group", "Check", "CHECK_TIMEOUT",
           "check_rasa"]

CHECK_TIMEOUT = 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_ok(url: str) -> bool:
    """True when `url` answers at all below 500 (the server is up), within 2 s."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return 200 <= status < 500
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def http_get(url: str, timeout: float = CHECK_TIMEOUT) -> Tuple[int, str]:
    """(status, body) of a GET; status 0 with the error when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(4096).decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        return 0, str(getattr(exc, "reason", exc))


Check = Dict[str, Any]
"""One readiness check: {"ok": bool, "detail": str}."""


def signal_group(pid: int, signum: int) -> None:
    """Signal the process group a child leads (it was started in its own session); gone is fine."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def check_http(url: str) -> Check:
    status, body = http_get(url)
    if status == 200:
        return {"ok": True, "detail": "200"}
    return {"ok": False, "detail": f"GET {url} answered {status or 'nothing'}: {body[:200]}"}


def check_rasa(url: str, token: str) -> Check:
    """A Rasa server's `/status` (with the API `token`): ok when it has a model loaded."""
    status, body = http_get(f"{url}/status?{urllib.parse.urlencode({'token': token})}")
    if status != 200:
        return {"ok": False, "detail": f"GET /status answered {status or 'nothing'}: {body[:200]}"}
    try:
        model = json.loads(body).get("model_file")
    except (ValueError, AttributeError):
        model = None
    if not model:
        return {"ok": False, "detail": "Rasa answers but has no model loaded"}
    return {"ok": True, "detail": f"model {model}"}
