"""`CANYU_GC_THRESHOLDS` (bot/rasa_gc.py) sets the Rasa process's garbage-collector thresholds with the other
patches, only when asked and only with the speed-ups, and `uninstall` puts Python's back; a bad value is refused
with the value and the fix."""

from __future__ import annotations

import gc

import pytest

from bot import rasa_patches
from bot.errors import ConfigError
from bot.rasa_gc import PYTHON_THRESHOLDS, SUGGESTED_THRESHOLDS, gc_thresholds


def test_the_thresholds_are_set_when_asked_and_put_back() -> None:
    rasa_patches.uninstall()
    assert gc.get_threshold() == PYTHON_THRESHOLDS
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        assert "gc-thresholds" not in rasa_patches.active() and gc.get_threshold() == PYTHON_THRESHOLDS
    finally:
        rasa_patches.uninstall()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_GC_THRESHOLDS": "off"})
    try:
        assert "gc-thresholds" not in rasa_patches.active() and gc.get_threshold() == PYTHON_THRESHOLDS
    finally:
        rasa_patches.uninstall()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_GC_THRESHOLDS": "5000, 20, 10"})
    try:
        assert "gc-thresholds" in rasa_patches.active() and gc.get_threshold() == (5000, 20, 10)
    finally:
        rasa_patches.uninstall()
    assert gc.get_threshold() == PYTHON_THRESHOLDS
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_GC_THRESHOLDS": "10000,10,10",
                          "CANYU_RASA_SPEEDUPS": "0"})
    try:  # the stock baseline keeps Python's
        assert "gc-thresholds" not in rasa_patches.active() and gc.get_threshold() == PYTHON_THRESHOLDS
    finally:
        rasa_patches.uninstall()


def test_bad_values_are_refused() -> None:
    assert gc_thresholds({}) is gc_thresholds({"CANYU_GC_THRESHOLDS": " "}) is None
    assert gc_thresholds({"CANYU_GC_THRESHOLDS": "off"}) is None
    assert gc_thresholds({"CANYU_GC_THRESHOLDS": "10000,10,10"}) == SUGGESTED_THRESHOLDS
    assert gc_thresholds({"CANYU_GC_THRESHOLDS": "5000,20,10"}) == (5000, 20, 10)
    for bad in ("fast", "10000,10", "10000,0,10", "-1,10,10", "1e4,10,10"):
        with pytest.raises(ConfigError, match="CANYU_GC_THRESHOLDS="):
            gc_thresholds({"CANYU_GC_THRESHOLDS": bad})
