"""How `bot.runner.Stack` runs the encoder: whether it starts one, its command line, address and health probe."""

from __future__ import annotations

import sys
from typing import List, Mapping

from bot.embedding_models import ENV_ENCODER_URL

CHILD_NAME = "encoder"


def own_encoder(env: Mapping[str, str]) -> bool:
    """True when the stack starts its own encoder: `CANYU_ENCODER_URL` is unset (`off` or an address: none)."""
    return not (env.get(ENV_ENCODER_URL) or "").strip()


def url_for(port: int) -> str:
    """The address the children get in `CANYU_ENCODER_URL`."""
    return f"tcp://127.0.0.1:{port}"


def health_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/health"


def child_args(port: int) -> List[str]:
    return [sys.executable, "-m", "bot.child", "bot.encoder_service", "--host", "127.0.0.1", "--port", str(port)]
