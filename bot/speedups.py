"""The switches of Canyu's Rasa speed-ups, read from an environment handed in (the process's `Settings.env`).

`CANYU_RASA_SPEEDUPS` (default on; `0` gives Rasa's own code back: the stock baseline of bench/throughput.py)
chooses the patches of bot/rasa_patches.py, the appending tracker store (bot/stores.py), the lock scripts
(bot/locks.py) and the background event writer (bot/event_broker.py); `CANYU_ACTION_VALIDATION` (default on)
whether action-server responses are validated at all; `CANYU_NLU_THREAD` (default on) whether the NLU runs
beside Rasa's event loop; `CANYU_ACTIONS` (`http` or `inprocess`; `bot run` with one Rasa server: `inprocess`)
whether custom actions are called over HTTP or run inside the Rasa process (bot/rasa_actions_inprocess.py);
`CANYU_MAX_INFLIGHT` how many messages Rasa's processor works on at once (bot/rasa_admission.py);
`CANYU_GC_REFREEZE` whether the survivors of each full garbage collection are frozen (bot/rasa_gc.py). Apart from
bot/rasa_patches.py so that the stores can read them without importing the patches (which install through them).
"""

from __future__ import annotations

from typing import Mapping, Optional

from bot.errors import ConfigError

__all__ = ["ACTIONS_MODES", "DEFAULT_GC_REFREEZE", "DEFAULT_MAX_INFLIGHT", "actions_in_process", "actions_in_rasa",
           "gc_refreeze_enabled", "max_inflight", "nlu_thread_enabled", "speedups_enabled", "validation_enabled"]

_ON, _OFF = ("1", "on", "true", "yes"), ("0", "off", "false", "no")
ACTIONS_MODES = ("http", "inprocess")
DEFAULT_MAX_INFLIGHT: Optional[int] = None
"""Messages in Rasa's processor at once by default (bot/rasa_admission.py): no gate, since K = 2, 3, 4, 6 did not
lower p99 at c=16 beyond the run-to-run noise here and cost throughput in most runs (docs/throughput.md, fifth
pass); `CANYU_MAX_INFLIGHT` turns it on."""

DEFAULT_GC_REFREEZE = True
"""Whether the Rasa process freezes what survives each full garbage collection when `CANYU_GC_REFREEZE` is unset
(bot/rasa_gc.py): on, since it was ahead on p95, p99, msg/s and Rasa's CPU per message in every A/B at c=16
(docs/throughput.md, sixth pass); `off` gives Python's collector back."""


def _switch(name: str, env: Mapping[str, str], default: bool = True) -> bool:
    raw = env.get(name, "").strip().lower() or ("on" if default else "off")
    if raw in _ON:
        return True
    if raw in _OFF:
        return False
    raise ConfigError(f"{name}={raw!r} is not a switch; use on or off (1 or 0)")


def speedups_enabled(env: Mapping[str, str]) -> bool:
    """`CANYU_RASA_SPEEDUPS` (default on): the Rasa patches, the appending tracker store, the lock scripts and
    the background event writer."""
    return _switch("CANYU_RASA_SPEEDUPS", env)


def validation_enabled(env: Mapping[str, str]) -> bool:
    """`CANYU_ACTION_VALIDATION` (default on): off skips validating action-server responses (trusted server)."""
    return _switch("CANYU_ACTION_VALIDATION", env)


def nlu_thread_enabled(env: Mapping[str, str]) -> bool:
    """`CANYU_NLU_THREAD` (default on; only with the speed-ups): Rasa's NLU in a worker thread beside the event
    loop (bot/rasa_nlu_thread.py); off keeps it on the loop, as Rasa does."""
    return _switch("CANYU_NLU_THREAD", env)


def gc_refreeze_enabled(env: Mapping[str, str]) -> bool:
    """`CANYU_GC_REFREEZE` (default `DEFAULT_GC_REFREEZE`; only with the speed-ups, in the Rasa process): after
    each full collection, freeze its survivors, so the next one walks only what came since (bot/rasa_gc.py)."""
    return _switch("CANYU_GC_REFREEZE", env, DEFAULT_GC_REFREEZE)


def actions_in_process(env: Mapping[str, str]) -> bool:
    """`CANYU_ACTIONS` (unset: `http`; a stack tells its children the mode it chose, see `actions_in_rasa`):
    `inprocess` runs the custom actions inside the Rasa process (bot/rasa_actions_inprocess.py;
    only with the speed-ups), `http` calls the action server."""
    raw = env.get("CANYU_ACTIONS", "").strip().lower() or ACTIONS_MODES[0]
    if raw not in ACTIONS_MODES:
        raise ConfigError(f"CANYU_ACTIONS={raw!r} is not a way to run actions; use inprocess (inside the Rasa "
                          f"process) or http (the action server)")
    return raw == "inprocess"


def max_inflight(env: Mapping[str, str]) -> Optional[int]:
    """`CANYU_MAX_INFLIGHT` (default `DEFAULT_MAX_INFLIGHT`; only with the speed-ups): at most this many messages
    in Rasa's processor at once, the others queued in arrival order (bot/rasa_admission.py); `off`: no gate."""
    raw = env.get("CANYU_MAX_INFLIGHT", "").strip().lower()
    if not raw:
        return DEFAULT_MAX_INFLIGHT
    if raw in _OFF:
        return None
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    raise ConfigError(f"CANYU_MAX_INFLIGHT={raw!r} is not a number of messages; use e.g. 3 (at most 3 messages in "
                      f"Rasa's processor at once, the others queued), or off (no limit)")


def actions_in_rasa(env: Mapping[str, str], with_rasa: bool) -> bool:
    """Whether a stack (bot/runner.py: `bot run`, the tests' assistants) has its Rasa servers run the custom actions
    and starts no action server: only when `CANYU_ACTIONS=inprocess`. Unset, `http` for every layout: on a quiet
    2-core host the action server's process runs beside Rasa's (the Rasa process is the serial part), +21% msg/s
    and p99 -28% at c=16 in two interleaved A/Bs, the same at c=1, ~160 MB more RSS (docs/throughput.md, seventh
    pass; in process had been `bot run`'s default for one Rasa server since the fifth pass, measured on a busy
    host). Never without the speed-ups, nor for a stack without Rasa servers of ours (`bot shell`, `bot test`:
    Rasa's own command calls the action server)."""
    if not (with_rasa and speedups_enabled(env)):
        return False
    return actions_in_process(env)
