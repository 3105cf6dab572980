"""How often the Rasa process's cyclic garbage collector runs (`CANYU_GC_THRESHOLDS`, the `gc-thresholds` patch).

Why: every message in flight stops while the collector runs, and a full (generation 2) collection walks every
object made since the warm-up's freeze (bot/warmup.py `freeze_heap`) that is still alive: mostly the last events
of the conversations the tracker store keeps (bot/stores.py `RECENT`), ~1 ms per 1,000 objects. With Python's
thresholds (700, 10, 10) an 8,000-message run at c=16 had 17–21 full collections of 50–370 ms: ~4% of the
messages waited for one, the p95–p99 region (docs/throughput.md, fifth pass). A larger generation-0 threshold
collects the young objects less often, so fewer of them survive into the older generations while still in use (a
message's objects live for tens of ms), and the full collections, which wait for the old generation to grow by
25%, come far less often (12 → 1, 11 → 1, 17 → 1 in three runs). But p99 and msg/s were better in two A/Bs of
four and worse in two, so Python's thresholds stay the default. Objects freed by reference counting go as before;
only cyclic garbage waits a little longer.

`CANYU_GC_THRESHOLDS`: three numbers (`gc.set_threshold`'s), e.g. `SUGGESTED_THRESHOLDS`; unset or `off`:
Python's. Only with `CANYU_RASA_SPEEDUPS` on, in the Rasa process (bot/rasa_patches.py).

**Freezing again after every full collection** (`CANYU_GC_REFREEZE`, the `gc-refreeze` patch, sixth pass): what
survives a full collection is moved out of the collector's sight (`gc.freeze`, as the warm-up does once), so the
next full collection walks only what was promoted since, not every kept conversation again: its pause stays a few
ms instead of growing with the store's `RECENT` conversations (~1 ms per 1,000 objects, up to ~0.9 s). Python
starts a full collection when the objects promoted since the last one reach 25% of what the last one kept; with
the survivors frozen, that count is small, so full collections come more often and each is short. Objects freed
by reference counting (the kept events when the store drops them: they hold no cycles) still go at once; only a
cycle that was alive at a freeze and dies later is never collected (measured in docs/throughput.md, sixth pass:
200–560 objects per run of 3,200–6,400 messages). So that this cannot grow for as long as a server runs, every
`SWEEP_EVERY`-th full collection unfreezes instead (Python counts them: `gc.get_stats()`): the next full collection
walks the whole heap once, ~1 ms per 1,000 objects (about a second for the ~1 million a warm stack has), frees those
cycles, and what survives it is frozen again. At the sixth pass's rate (~15 full collections per 4,000 messages at
c=16) that is once per ~250,000 messages.
"""

from __future__ import annotations

import gc
from typing import Dict, List, Mapping, Optional, Tuple

from bot.errors import ConfigError
from bot.speedups import gc_refreeze_enabled

__all__ = ["SUGGESTED_THRESHOLDS", "PYTHON_THRESHOLDS", "gc_thresholds", "install_gc", "install_gc_thresholds",
           "refreeze_after_full_collection", "restore_gc", "restore_gc_thresholds", "SWEEP_EVERY"]

PYTHON_THRESHOLDS = (700, 10, 10)
"""Python's own thresholds (nothing else in Canyu changes them)."""
SWEEP_EVERY = 1000
"""Every this many full collections, `gc-refreeze` unfreezes instead of freezing: the frozen heap's cycles are freed."""
SUGGESTED_THRESHOLDS = (10_000, 10, 10)
"""Generation 0 collected every 10,000 allocations instead of 700: what the fifth pass measured
(docs/throughput.md)."""


def gc_thresholds(env: Mapping[str, str]) -> Optional[Tuple[int, int, int]]:
    """`CANYU_GC_THRESHOLDS` as three numbers (`10000,10,10`); unset, empty or `off`: None, Python's are kept."""
    raw = env.get("CANYU_GC_THRESHOLDS", "").strip()
    if not raw or raw.lower() in ("off", "0", "no", "false"):
        return None
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) != 3 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ConfigError(f"CANYU_GC_THRESHOLDS={raw!r} is not three positive numbers; use e.g. 10000,10,10, "
                          f"or off for Python's ({','.join(map(str, PYTHON_THRESHOLDS))})")
    return int(parts[0]), int(parts[1]), int(parts[2])


def install_gc_thresholds(env: Mapping[str, str]) -> bool:
    """Set the thresholds `env` asks for; whether it did."""
    thresholds = gc_thresholds(env)
    if thresholds is None:
        return False
    gc.set_threshold(*thresholds)
    return True


def restore_gc_thresholds() -> None:
    """Python's own thresholds again (bot/rasa_patches.py's `uninstall`)."""
    gc.set_threshold(*PYTHON_THRESHOLDS)


def refreeze_after_full_collection(phase: str, info: Dict[str, int]) -> None:
    """A `gc.callbacks` entry: after a full collection, freeze what survived it; after every `SWEEP_EVERY`-th,
    unfreeze everything, so the next one also frees the cycles frozen alive (see the module's docstring)."""
    if phase == "stop" and info.get("generation") == 2:
        if gc.get_stats()[2]["collections"] % SWEEP_EVERY == 0:
            gc.unfreeze()
        else:
            gc.freeze()


def install_gc(env: Mapping[str, str]) -> List[str]:
    """The collector's patches `env` asks for (`gc-thresholds`, `gc-refreeze`): the names of those installed."""
    names = ["gc-thresholds"] if install_gc_thresholds(env) else []
    if gc_refreeze_enabled(env):
        if refreeze_after_full_collection not in gc.callbacks:
            gc.callbacks.append(refreeze_after_full_collection)
        names.append("gc-refreeze")
    return names


def restore_gc() -> None:
    """Python's thresholds, and no freezing after full collections; if it was on, everything frozen goes back to
    the collector (`gc.unfreeze`: tests install and uninstall the patches in one process, whose cycles must stay
    collectable)."""
    restore_gc_thresholds()
    if refreeze_after_full_collection in gc.callbacks:
        while refreeze_after_full_collection in gc.callbacks:
            gc.callbacks.remove(refreeze_after_full_collection)
        gc.unfreeze()
