"""Run the real assistant for tests: embedded Redis, action server, Rasa server (and console), on free ports.

    assistant = start_assistant(tmp_path)          # or the session fixture `assistant` from conftest.py
    assistant.say("rest:alice", "hi")              # -> [{"recipient_id": "rest:alice", "text": "..."}]
    assistant.tracker("rest:alice")                # Rasa tracker JSON
    assistant.outbox("rest:alice", wait=5)         # messages queued for a REST user (agent replies…), each with an id
    assistant.outbox("rest:alice", after="17")     # … after message 17 (a cursor: reading is not destructive)

REST calls carry the stack's `CANYU_REST_TOKEN` (a fresh one per stack), as a real client must. The REST
channel files its users under `rest:` (see connectors/rest.py): use `new_sender()` for ids.
    assistant.restart()                            # restart the Rasa server; Redis keeps the conversations
    assistant.ctx                                  # an AppContext on the assistant's Redis (for stores, actions)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set

import redis
import requests

from bot.context import AppContext, build_context
from bot.redaction import secrets_from_env
from bot.runner import Stack, free_port
from bot.settings import load_settings
from bot.training import train

REQUEST_TIMEOUT = 120
SECRETS_HANDED_OUT: Set[str] = set()
"""Every secret a stack of this test session was given (tests/security/test_logs_clean.py looks for them)."""


class Assistant:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._ctx: Optional[AppContext] = None

    @property
    def ctx(self) -> AppContext:
        """An `AppContext` on this assistant's Redis and data dir, with its environment (made once)."""
        if self._ctx is None:
            self._ctx = make_context(self.data_dir, self.redis_url, **self.stack.extra_env)
        return self._ctx

    @property
    def url(self) -> str:
        return self.stack.rasa_url

    @property
    def console_url(self) -> str:
        return self.stack.console_url

    @property
    def redis_url(self) -> str:
        return self.stack.redis_url

    @property
    def redis(self) -> "redis.Redis[str]":
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    @property
    def token(self) -> str:
        return self.stack.rasa_token

    @property
    def data_dir(self) -> Path:
        return self.stack.settings.data_dir

    @property
    def rest_headers(self) -> Dict[str, str]:
        """The REST channel's authentication, as a client sends it."""
        token = self.stack.env().get("CANYU_REST_TOKEN", "")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def say(self, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        """Send one message over the REST channel; return the bot's replies."""
        body: Dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        response = requests.post(f"{self.url}/webhooks/rest/webhook", json=body, headers=self.rest_headers,
                                 timeout=REQUEST_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def outbox(self, sender: str, wait: float = 0, after: Optional[str] = None) -> List[Dict[str, Any]]:
        """What is new for a REST user (long-polls up to `wait` seconds); with `after` (a message id), what came
        after that message, however often it is asked (connectors/rest.py)."""
        params: Dict[str, Any] = {"wait": wait}
        if after is not None:
            params["after"] = after
        response = requests.get(f"{self.url}/webhooks/rest/outbox/{sender}", params=params,
                                headers=self.rest_headers, timeout=REQUEST_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def texts(self, sender: str, text: str) -> List[str]:
        return [m.get("text", "") for m in self.say(sender, text)]

    def post_raw(self, body: bytes, content_type: str = "application/json") -> requests.Response:
        return requests.post(
            f"{self.url}/webhooks/rest/webhook", data=body, headers={"Content-Type": content_type, **self.rest_headers},
            timeout=REQUEST_TIMEOUT,
        )

    def tracker(self, sender: str) -> Dict[str, Any]:
        response = requests.get(
            f"{self.url}/conversations/{sender}/tracker", params={"token": self.token}, timeout=REQUEST_TIMEOUT
        )
        response.raise_for_status()
        return response.json()

    def restart(self) -> None:
        self.stack.restart_rasa()

    def log(self, name: str = "rasa") -> str:
        for child_name, child in self.stack.children.items():
            if child_name.startswith(name) and child.log:
                return child.log.read_text(errors="replace")
        return ""

    def stop(self) -> None:
        if self._ctx is not None:
            self._ctx.close()
            self._ctx = None
        self.stack.stop()


def new_sender(prefix: str = "test") -> str:
    """A fresh REST user id, in the REST channel's own namespace (`rest:…`)."""
    return f"rest:{prefix}-{uuid.uuid4().hex[:10]}"


def ensure_model() -> Path:
    return train(load_settings().home).model


def start_assistant(
    data_dir: Path,
    credentials: Optional[Path] = None,
    env: Optional[Mapping[str, str]] = None,
    redis_url: Optional[str] = None,
    with_console: bool = True,
    with_actions: bool = True,
) -> Assistant:
    """Start a whole assistant with its data in `data_dir`; pass `redis_url` to share another's Redis."""
    env = {"CANYU_REST_TOKEN": secrets.token_urlsafe(24), **(env or {})}
    settings = replace(
        load_settings(),
        data_dir=Path(data_dir),
        redis_url=redis_url,
        rasa_port=free_port(),
        actions_port=free_port(),
        console_port=free_port(),
    )
    stack = Stack(
        settings=settings,
        model=ensure_model(),
        credentials=credentials,
        extra_env=env,
        with_console=with_console,
        with_actions=with_actions,
    )
    SECRETS_HANDED_OUT.update(secrets_from_env({**os.environ, **stack.extra_env, "RASA_TOKEN": stack.rasa_token}))
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    return Assistant(stack)


def make_context(data_dir: Path, redis_url: Optional[str] = None, **env: str) -> AppContext:
    """An `AppContext` for a test (a composition root of its own): the process environment, with its data in
    `data_dir`, Redis at `redis_url` (None: the data dir's embedded server) and `env` on top."""
    full = {**os.environ, "CANYU_DATA_DIR": str(data_dir), **env}
    if redis_url:
        full["REDIS_URL"] = redis_url
    else:
        full.pop("REDIS_URL", None)
    return build_context(full)


def write_credentials(path: Path, extra: str) -> Path:
    """credentials.yml = the repo's file plus `extra` YAML (e.g. a channel pointed at a fake server)."""
    base = (load_settings().home / "credentials.yml").read_text(encoding="utf-8")
    path.write_text(base.rstrip() + "\n" + extra.strip() + "\n", encoding="utf-8")
    return path


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


@contextlib.contextmanager
def rasa_patches_installed(**env: str) -> Iterator[List[str]]:
    """Rasa's patches installed in this process with `env` (action retries off), taken out again on leaving; yields
    the names of the active ones."""
    from bot import rasa_patches

    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", **env})
    try:
        yield rasa_patches.active()
    finally:
        rasa_patches.uninstall()


@contextlib.contextmanager
def lone_console(redis_url: str, log: Path, timeout: float = 90, **env: str) -> Iterator[str]:
    """`python -m bot.console` on its own, on a free port, against `redis_url`; yields its base URL.

    Rasa is unreachable (`RASA_URL` port 9) unless `env` names one; `env` overrides any variable."""
    from bot.settings import QUIET_ENV

    port = free_port()
    full = dict(os.environ, **QUIET_ENV, REDIS_URL=redis_url, RASA_URL="http://127.0.0.1:9",
                CANYU_CONSOLE_SECRET="console-secret-for-tests-0123456789", PYTHONPATH=str(load_settings().home))
    full.update(env)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot.console", "--host", "127.0.0.1", "--port", str(port)],
                                env=full, stdout=out, stderr=subprocess.STDOUT, cwd=str(load_settings().home))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(url + "/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError(f"the console did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
