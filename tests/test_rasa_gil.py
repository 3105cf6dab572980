"""`CANYU_GIL_SWITCH_MS` (bot/rasa_gil.py) sets the Rasa process's GIL switch interval with the other patches
(1 ms unless told otherwise; `off`: Python's), and `uninstall` puts Python's back; a bad value is refused with
the value and the fix."""

from __future__ import annotations

import sys

import pytest

from bot import rasa_patches
from bot.errors import ConfigError
from bot.rasa_gil import gil_switch_seconds
from tests.harness import rasa_patches_installed


def test_the_interval_is_set_when_asked_and_put_back() -> None:
    rasa_patches.uninstall()
    before = sys.getswitchinterval()
    with rasa_patches_installed() as active:  # the default: 1 ms
        assert "gil-switch" in active and sys.getswitchinterval() == pytest.approx(0.001)
    with rasa_patches_installed(CANYU_GIL_SWITCH_MS="off") as active:
        assert "gil-switch" not in active and sys.getswitchinterval() == before
    with rasa_patches_installed(CANYU_GIL_SWITCH_MS="0.5") as active:
        assert "gil-switch" in active and sys.getswitchinterval() == pytest.approx(0.0005)
    assert sys.getswitchinterval() == before
    with rasa_patches_installed(CANYU_GIL_SWITCH_MS="0.5", CANYU_RASA_SPEEDUPS="0") as active:
        assert "gil-switch" not in active and sys.getswitchinterval() == before  # the stock baseline keeps Python's


def test_bad_values_are_refused() -> None:
    assert gil_switch_seconds({}) == gil_switch_seconds({"CANYU_GIL_SWITCH_MS": " "}) == pytest.approx(0.001)
    assert gil_switch_seconds({"CANYU_GIL_SWITCH_MS": "off"}) is None
    assert gil_switch_seconds({"CANYU_GIL_SWITCH_MS": "1"}) == pytest.approx(0.001)
    with pytest.raises(ConfigError, match="CANYU_GIL_SWITCH_MS='fast'"):
        gil_switch_seconds({"CANYU_GIL_SWITCH_MS": "fast"})
    with pytest.raises(ConfigError, match="out of range"):
        gil_switch_seconds({"CANYU_GIL_SWITCH_MS": "0"})
