"""How the encoder is run: by `bot.runner.Stack` (whether it starts one, its command line, address and health probe),
by `bot encoder`, and in the deployment files (deploy/: its fixed port and the same command)."""

from __future__ import annotations

import sys
from typing import List, Mapping

from bot.embedding_models import ENV_ENCODER_URL
from bot.settings import DEFAULT_ENCODER_PORT

CHILD_NAME = "encoder"
DEFAULT_PORT = DEFAULT_ENCODER_PORT
"""The encoder's port where it has a fixed one: `bot encoder` and deploy/ (docker-compose, Kubernetes). `bot run`
gives its own encoder a free loopback port instead."""
HEALTH_PATH = "/health"
"""What the encoder answers over plain HTTP on its port (bot/encoder_service/_server.py): the probes' path."""


def own_encoder(env: Mapping[str, str]) -> bool:
    """True when the stack starts its own encoder: `CANYU_ENCODER_URL` is unset (`off` or an address: none)."""
    return not (env.get(ENV_ENCODER_URL) or "").strip()


def url_for(port: int) -> str:
    """The address the children get in `CANYU_ENCODER_URL`."""
    return f"tcp://127.0.0.1:{port}"


def health_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{HEALTH_PATH}"


def child_args(port: int, host: str = "127.0.0.1") -> List[str]:
    """The encoder's command line (the same for `bot run`'s child, `bot encoder` and deploy/): it listens on
    `host` (`0.0.0.0` in a container, where the other containers reach it)."""
    return [sys.executable, "-m", "bot.child", "bot.encoder_service", "--host", host, "--port", str(port)]
