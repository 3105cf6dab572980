"""Every attack of `bench/attack_probe.py` (issue 15), run against the real stack with WeChat and Telegram on
(the fakes): real Rasa, action server, console and Redis. Each row must come out refused or harmless."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot.cli.console import add_user
from tests.fakes.rasa_channels import WECHAT_TOKEN, channels_assistant


def _load_probe() -> Any:
    """bench/attack_probe.py as a module, without putting bench/ on sys.path (its scripts' names, e.g.
    profile_rasa.py, must not shadow anything for the rest of the test session)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "attack_probe.py"
    spec = importlib.util.spec_from_file_location("attack_probe", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["attack_probe"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


attack_probe = _load_probe()

ADMIN, ADMIN_PW = "probe-admin", "probe-admin-pw-1"  # logs in (lock-out row) and exports analytics.csv


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    stack = channels_assistant(tmp_path_factory)
    add_user(ADMIN, "admin", ADMIN_PW, redis=stack.assistant.redis)
    token = stack.assistant.rest_headers["Authorization"].split(" ", 1)[1]
    yield attack_probe.Target(stack.url, rest_token=token, wechat_token=WECHAT_TOKEN,
                              console_url=stack.assistant.console_url, redis_url=stack.assistant.redis_url,
                              console_login=f"{ADMIN}:{ADMIN_PW}")


@pytest.mark.parametrize("attack", attack_probe.ATTACKS, ids=[a[0] for a in attack_probe.ATTACKS])
def test_attack_is_refused_or_harmless(target: Any, attack: Any) -> None:
    row = attack_probe.probe(target, [attack])[0]
    assert row["ok"], attack_probe.table([row])


def test_the_probe_prints_a_table(target: Any) -> None:
    text = attack_probe.table(attack_probe.probe(target, attack_probe.ATTACKS[:1]))
    assert text.splitlines()[0] == "| attack | expected | actual | refused or harmless |"
