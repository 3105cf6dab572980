"""Shared fixtures: `assistant` runs the real trained assistant once per test session; `redis_server` is a test
module's own embedded Redis and `ctx` an `AppContext` on it (the composition root of a test module); `retriever` the
real knowledge base's retriever, built once per test module."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from bot.settings import apply_quiet_env
from bot.storage import EmbeddedRedis

apply_quiet_env()

from bot.context import AppContext  # noqa: E402
from bot.knowledge import build_retriever  # noqa: E402
from bot.knowledge.retriever import Retriever  # noqa: E402
from tests.harness import Assistant, make_context, new_sender, start_assistant  # noqa: E402


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    # with its action server (`bot run`'s default; the actions in Rasa: tests/test_rasa_actions_inprocess.py):
    # the warm-up reports and deploy/'s health paths of the action server are tested on it
    running = start_assistant(tmp_path_factory.mktemp("assistant"), env={"CANYU_ACTIONS": "http"})
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real Redis of the test module's own (embedded, in a temp folder)."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ctx(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppContext]:
    """An `AppContext` on the test module's own Redis (`redis_server`), with its data in a temp folder."""
    context = make_context(tmp_path_factory.mktemp("ctx"), redis_server.url)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    """The retriever of `knowledge/` with the bundled model (a module's own `retriever` fixture overrides it)."""
    found, _ = build_retriever(Path(__file__).resolve().parents[1] / "knowledge", tmp_path_factory.mktemp("kbcache"))
    return found


@pytest.fixture
def sender() -> str:
    return new_sender()


def pytest_collection_modifyitems(items: list) -> None:
    """Tests marked `last` run after all others (they check what the whole run left behind)."""
    last = [item for item in items if item.get_closest_marker("last")]
    items[:] = [item for item in items if not item.get_closest_marker("last")] + last
