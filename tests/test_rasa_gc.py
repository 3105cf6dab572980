"""`CANYU_GC_THRESHOLDS` (bot/rasa_gc.py) sets the Rasa process's garbage-collector thresholds with the other
patches, only when asked and only with the speed-ups, and `uninstall` puts Python's back; a bad value is refused
with the value and the fix."""

from __future__ import annotations

import gc

import pytest

from bot import rasa_patches
from bot.errors import ConfigError
from bot.rasa_gc import (
    PYTHON_THRESHOLDS,
    SUGGESTED_THRESHOLDS,
    SWEEP_EVERY,
    gc_thresholds,
    refreeze_after_full_collection,
)
from bot.speedups import gc_refreeze_enabled
from tests.harness import rasa_patches_installed


def test_the_thresholds_are_set_when_asked_and_put_back() -> None:
    rasa_patches.uninstall()
    assert gc.get_threshold() == PYTHON_THRESHOLDS
    with rasa_patches_installed() as active:
        assert "gc-thresholds" not in active and gc.get_threshold() == PYTHON_THRESHOLDS
    with rasa_patches_installed(CANYU_GC_THRESHOLDS="off") as active:
        assert "gc-thresholds" not in active and gc.get_threshold() == PYTHON_THRESHOLDS
    with rasa_patches_installed(CANYU_GC_THRESHOLDS="5000, 20, 10") as active:
        assert "gc-thresholds" in active and gc.get_threshold() == (5000, 20, 10)
    assert gc.get_threshold() == PYTHON_THRESHOLDS
    with rasa_patches_installed(CANYU_GC_THRESHOLDS="10000,10,10", CANYU_RASA_SPEEDUPS="0") as active:
        assert "gc-thresholds" not in active and gc.get_threshold() == PYTHON_THRESHOLDS  # the stock baseline


def test_bad_values_are_refused() -> None:
    assert gc_thresholds({}) is gc_thresholds({"CANYU_GC_THRESHOLDS": " "}) is None
    assert gc_thresholds({"CANYU_GC_THRESHOLDS": "off"}) is None
    assert gc_thresholds({"CANYU_GC_THRESHOLDS": "10000,10,10"}) == SUGGESTED_THRESHOLDS
    assert gc_thresholds({"CANYU_GC_THRESHOLDS": "5000,20,10"}) == (5000, 20, 10)
    for bad in ("fast", "10000,10", "10000,0,10", "-1,10,10", "1e4,10,10"):
        with pytest.raises(ConfigError, match="CANYU_GC_THRESHOLDS="):
            gc_thresholds({"CANYU_GC_THRESHOLDS": bad})


def test_refreeze_freezes_what_a_full_collection_kept_and_is_taken_out_again() -> None:
    """`CANYU_GC_REFREEZE` (default on): after a full collection its survivors are frozen (the next one walks only
    what came since); off, or without the speed-ups, nothing is added to `gc.callbacks`; `uninstall` takes it out
    and gives what it froze back to the collector."""
    rasa_patches.uninstall()
    with rasa_patches_installed(CANYU_GC_REFREEZE="off") as active:
        assert "gc-refreeze" not in active and refreeze_after_full_collection not in gc.callbacks
    with rasa_patches_installed(CANYU_GC_REFREEZE="on", CANYU_RASA_SPEEDUPS="0") as active:
        assert "gc-refreeze" not in active and refreeze_after_full_collection not in gc.callbacks
    with rasa_patches_installed() as active:
        assert "gc-refreeze" in active and gc.callbacks.count(refreeze_after_full_collection) == 1
        frozen_before = gc.get_freeze_count()
        kept = [[index] for index in range(1000)]  # tracked objects that survive the collection
        gc.collect(1)
        assert gc.get_freeze_count() == frozen_before  # a young collection freezes nothing
        gc.collect()
        assert gc.get_freeze_count() >= frozen_before + len(kept)
    assert refreeze_after_full_collection not in gc.callbacks and gc.get_freeze_count() == 0
    with pytest.raises(ConfigError, match="CANYU_GC_REFREEZE="):
        gc_refreeze_enabled({"CANYU_GC_REFREEZE": "sometimes"})


def test_every_so_many_full_collections_everything_frozen_is_collectable_again() -> None:
    """A cycle frozen alive and dead since is freed by the sweep (`SWEEP_EVERY`), so memory cannot grow for ever."""
    import weakref

    class Node:
        pass

    rasa_patches.uninstall()
    with rasa_patches_installed():
        node = Node()
        node.me = node  # type: ignore[attr-defined]  # a cycle: only the collector frees it
        gone = weakref.ref(node)
        gc.collect()  # alive: frozen with the survivors
        del node
        sweeps = 0
        while gone() is not None and sweeps < 2 * SWEEP_EVERY + 2:
            gc.collect()
            sweeps += 1
        assert gone() is None, "the dead cycle is still frozen"
        assert sweeps <= SWEEP_EVERY + 1
    assert gc.get_freeze_count() == 0
