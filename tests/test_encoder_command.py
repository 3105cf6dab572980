"""`bot encoder` (bot/cli/encoder.py) starts the host's encoder on its own, as deploy/ and hand-started servers
need it: the real command, a real model, no mocks. The process the command started is the encoder itself (it
replaces itself with `python -m bot.child bot.encoder_service`), so a supervisor's signals reach the encoder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict

from bot.encoder_client import RemoteModel
from bot.encoder_service import HEALTH_PATH
from bot.runner import free_port

HOME = Path(__file__).resolve().parent.parent


def _health(port: int) -> Dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=5) as response:
        return dict(json.loads(response.read()))


def test_bot_encoder_serves_vectors_and_is_the_process_it_started(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CANYU_DATA_DIR": str(tmp_path / "data"), "CANYU_EMBEDDING_CACHE": "off",
           "PYTHONPATH": str(HOME)}
    env.pop("CANYU_ENCODER_URL", None)
    log = open(tmp_path / "encoder.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "encoder", "--port", str(port)], cwd=HOME, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        deadline, health = time.monotonic() + 180, None
        while health is None and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "encoder.log").read_text(encoding="utf-8")[-2000:]
            try:
                health = _health(port)
            except OSError:
                time.sleep(0.3)
        assert health is not None, "bot encoder did not answer /health within 180 s"
        assert health["pid"] == process.pid, "bot encoder must become the encoder, not run it as a child"
        assert health["models"], "the encoder listens once its model is loaded"
        location = health["models"][0]["location"]

        def no_fallback() -> Any:
            raise AssertionError("the client loaded the model itself")

        model = RemoteModel(f"tcp://127.0.0.1:{port}", location, "minilm", "auto", fallback=no_fallback)
        vectors = model.encode(["where is my order"], batch_size=8, show_progress=False)
        model.close()
        assert vectors.shape == (1, model.dim) and model.dim > 0 and float((vectors[0] ** 2).sum()) > 0.0
        assert "encoder on 127.0.0.1:" in (tmp_path / "encoder.log").read_text(encoding="utf-8")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
