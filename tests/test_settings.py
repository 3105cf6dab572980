"""Settings are read once, from one environment, and the project folder is found one way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import REPO_ROOT, child_env, find_home, load_settings


def _checkout(folder: Path) -> Path:
    (folder / "bot").mkdir(parents=True)
    (folder / "config.yml").write_text("language: en\n")
    (folder / "domain.yml").write_text("version: '3.1'\n")
    return folder


def test_a_copy_of_the_repo_is_the_home_of_commands_run_inside_it(tmp_path: Path, monkeypatch) -> None:
    copy = _checkout(tmp_path / "copy")
    (copy / "intents").mkdir()
    monkeypatch.chdir(copy / "intents")
    assert find_home() == copy.resolve()
    assert load_settings({}).home == copy.resolve()
    assert load_settings({"CANYU_HOME": str(REPO_ROOT)}).home == REPO_ROOT.resolve()  # CANYU_HOME wins


def test_outside_any_checkout_the_installed_one_is_the_home(tmp_path: Path) -> None:
    assert find_home(tmp_path) == REPO_ROOT


def test_settings_keep_a_read_only_copy_of_their_environment() -> None:
    env = {"CANYU_RASA_PORT": "6005", "REDIS_URL": "redis://127.0.0.1:1/0", "CANYU_HOME": str(REPO_ROOT)}
    settings = load_settings(env)
    env["CANYU_RASA_PORT"] = "7005"
    assert settings.rasa_port == 6005 and settings.env["CANYU_RASA_PORT"] == "6005"
    with pytest.raises(TypeError):
        settings.env["X"] = "y"  # type: ignore[index]
    child = child_env(settings, EXTRA="1")
    assert child["REDIS_URL"] == "redis://127.0.0.1:1/0" and child["EXTRA"] == "1"
    assert child["RASA_TELEMETRY_ENABLED"] == "false" and child["OMP_WAIT_POLICY"] == "PASSIVE"
    assert child_env(load_settings({"OMP_WAIT_POLICY": "ACTIVE"}))["OMP_WAIT_POLICY"] == "ACTIVE"


_BLAS_THREADS = ("import numpy, threadpoolctl; "
                 "print(max(i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'))")


def _blas_threads_of_a_child(env: dict) -> int:
    out = subprocess.run([sys.executable, "-c", _BLAS_THREADS], env={**env, "PATH": os.environ.get("PATH", "")},
                         capture_output=True, text=True, timeout=60, check=True)
    return int(out.stdout.strip())


def test_children_run_numpy_on_one_blas_thread_unless_the_operator_says() -> None:
    """A second OpenBLAS thread spins on the cores the stack shares (docs/throughput.md, seventh pass)."""
    settings = load_settings({"CANYU_HOME": str(REPO_ROOT)})
    assert _blas_threads_of_a_child(child_env(settings)) == 1
    wanted = min(2, os.cpu_count() or 1)
    overridden = load_settings({"CANYU_HOME": str(REPO_ROOT), "OPENBLAS_NUM_THREADS": str(wanted)})
    assert _blas_threads_of_a_child(child_env(overridden)) == wanted


def test_a_bad_port_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CANYU_CONSOLE_PORT='abc' is not a port number"):
        load_settings({"CANYU_CONSOLE_PORT": "abc"})
