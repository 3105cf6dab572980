"""Shared fixtures: `assistant` runs the real trained assistant once per test session."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from bot.settings import QUIET_ENV

os.environ.update(QUIET_ENV)

from tests.harness import Assistant, new_sender, start_assistant  # noqa: E402


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    running = start_assistant(tmp_path_factory.mktemp("assistant"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sender() -> str:
    return new_sender()
