"""The switches of Canyu's Rasa speed-ups, read from an environment handed in (the process's `Settings.env`).

`CANYU_RASA_SPEEDUPS` (default on; `0` gives Rasa's own code back: the stock baseline of bench/throughput.py)
chooses the patches of bot/rasa_patches.py, the appending tracker store (bot/stores.py), the lock scripts
(bot/locks.py) and the background event writer (bot/event_broker.py); `CANYU_ACTION_VALIDATION` (default on)
whether action-server responses are validated at all; `CANYU_NLU_THREAD` (default on) whether the NLU runs
beside Rasa's event loop; `CANYU_ACTIONS` (`http`, the default, or `inprocess`) whether custom actions are called
over HTTP or run inside the Rasa process (bot/rasa_actions_inprocess.py). Apart from bot/rasa_patches.py so that the stores can
read them without importing the patches (which install through the stores).
"""

from __future__ import annotations

from typing import Mapping

from bot.errors import ConfigError

__all__ = ["ACTIONS_MODES", "actions_in_process", "nlu_thread_enabled", "speedups_enabled", "validation_enabled"]

_ON, _OFF = ("1", "on", "true", "yes"), ("0", "off", "false", "no")
ACTIONS_MODES = ("http", "inprocess")


def _switch(name: str, env: Mapping[str, str]) -> bool:
    raw = env.get(name, "").strip().lower() or "on"
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


def actions_in_process(env: Mapping[str, str]) -> bool:
    """`CANYU_ACTIONS` (default `http`): `inprocess` runs the custom actions inside the Rasa process
    (bot/rasa_actions_inprocess.py; only with the speed-ups), `http` calls the action server."""
    raw = env.get("CANYU_ACTIONS", "").strip().lower() or ACTIONS_MODES[0]
    if raw not in ACTIONS_MODES:
        raise ConfigError(f"CANYU_ACTIONS={raw!r} is not a way to run actions; use http (the action server, the "
                          f"default) or inprocess (inside the Rasa process)")
    return raw == "inprocess"
