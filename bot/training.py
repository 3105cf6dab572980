"""Train the Rasa model from our layout, skipping the work when nothing changed.

The model goes to `models/canyu.tar.gz`; next to it `canyu.fingerprint` holds a hash of everything the
model is made of (config, domain, NLU data, dialogue, our NLU component code). Same hash → no training.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from bot.errors import DataError
from bot.settings import environment_kept

MODEL_NAME = "canyu"
DOMAIN_DIR = "responses"
DATA_DIRS = ("intents", "dialogue")
CONFIG_FILE = "config.yml"
# Code whose change changes what training produces.
CODE_DIRS = ("bot/nlu",)
CODE_FILES = ("bot/language.py", "bot/embeddings.py", "bot/embedding_models.py", "bot/handoff/policy.py",
              "bot/handoff/rules.py")


@dataclass(frozen=True)
class TrainResult:
    model: Path
    trained: bool
    seconds: float


def _files(home: Path, dirs: Iterable[str], suffixes: Tuple[str, ...]) -> List[Path]:
    found: List[Path] = []
    for d in dirs:
        root = home / d
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(p for p in root.rglob("*") if p.is_file() and p.suffix in suffixes)
    return sorted(found)


def training_inputs(home: Path, config: str = CONFIG_FILE) -> List[Path]:
    inputs = [home / config]
    inputs += _files(home, (DOMAIN_DIR, *DATA_DIRS), (".yml", ".yaml"))
    inputs += _files(home, CODE_DIRS, (".py",))
    inputs += [home / f for f in CODE_FILES if (home / f).is_file()]
    return inputs


def fingerprint(home: Path, config: str = CONFIG_FILE) -> str:
    digest = hashlib.sha256()
    for path in training_inputs(home, config):
        digest.update(str(path.relative_to(home)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_path(home: Path) -> Path:
    """The model of the project folder `home` (`settings.home`)."""
    return home / "models" / f"{MODEL_NAME}.tar.gz"


def train(home: Path, force: bool = False, config: str = CONFIG_FILE, out: Optional[Path] = None) -> TrainResult:
    """Train the project folder `home` (`settings.home`) if the inputs changed since the last model (or
    `force`)."""
    out = out or home / "models"
    model = out / f"{MODEL_NAME}.tar.gz"
    stamp = out / f"{MODEL_NAME}.fingerprint"
    if not (home / config).is_file():
        raise DataError(f"no {config} in {home}: run from the Canyu repo or set CANYU_HOME")
    current = fingerprint(home, config)
    if not force and model.is_file() and stamp.is_file() and stamp.read_text().strip() == current:
        return TrainResult(model, trained=False, seconds=0.0)

    from rasa.api import train as rasa_train

    quiet_rasa_logs()
    started = time.monotonic()
    result = rasa_train(
        domain=str(home / DOMAIN_DIR),
        config=str(home / config),
        training_files=[str(home / d) for d in DATA_DIRS],
        output=str(out),
        fixed_model_name=MODEL_NAME,
        force_training=force,
    )
    seconds = time.monotonic() - started
    if result.code != 0 or not result.model:
        raise DataError(f"Rasa training failed (code {result.code}); run `bot validate` to see what is wrong")
    stamp.write_text(current + "\n")
    return TrainResult(Path(result.model), trained=True, seconds=seconds)


def quiet_rasa_logs() -> None:
    """Rasa logs at WARNING in this process only. Rasa's own set-up also writes `LOG_LEVEL` (and
    `TF_CPP_MIN_LOG_LEVEL`) into the process environment, which every process started afterwards would inherit
    (a stack started after an in-process training would log nothing below WARNING): those are put back."""
    import logging

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    with environment_kept("LOG_LEVEL", "TF_CPP_MIN_LOG_LEVEL"):
        configure_logging_and_warnings(logging.WARNING)
        configure_structlog(logging.WARNING)
