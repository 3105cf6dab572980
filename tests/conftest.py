"""Shared fixtures: `assistant` runs the real trained assistant once per test session."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from bot.settings import QUIET_ENV
from bot.storage import EmbeddedRedis

os.environ.update(QUIET_ENV)

from tests.harness import Assistant, new_sender, start_assistant  # noqa: E402


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    running = start_assistant(tmp_path_factory.mktemp("assistant"))
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


@pytest.fixture
def sender() -> str:
    return new_sender()


def pytest_collection_modifyitems(items: list) -> None:
    """Tests marked `last` run after all others (they check what the whole run left behind)."""
    last = [item for item in items if item.get_closest_marker("last")]
    items[:] = [item for item in items if not item.get_closest_marker("last")] + last
