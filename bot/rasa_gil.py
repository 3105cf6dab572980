"""How often the Rasa process's threads hand the GIL over (`CANYU_GIL_SWITCH_MS`, the `gil-switch` patch).

Why: the Rasa process runs Python in several threads (the event loop, the NLU thread, the event broker's
writer, the in-process actions' thread, the REST channel's `to_thread` calls), one at a time. When the loop's
thread waits for Redis, it drops the GIL; when the answer is in, it asks for it back, and while another thread
computes it gets it only when that thread's switch interval (Python's default 5 ms) runs out: the "convoy
effect". A message makes several such round trips on the loop (lock, tracker, save; Redis calls in actions),
so at c=16 each can wait up to 5 ms for a core it already has. A shorter interval hands the GIL over sooner,
at the cost of more hand-overs while two threads compute.

Default 1 ms since the sixth pass (`DEFAULT_SWITCH_MS`): at c=16 it was ahead on p99 in six A/Bs of seven (0.5 ms
in the fourth pass's four, 1 ms in the sixth's three) and on msg/s in six of seven; at c=1 (one message at a time)
p50 stayed the same and p99 went either way, worse in four of six (docs/throughput.md). `CANYU_GIL_SWITCH_MS=off`
(or `5`) keeps Python's.
"""

from __future__ import annotations

import sys
from typing import Mapping, Optional

from bot.errors import ConfigError

__all__ = ["DEFAULT_SWITCH_MS", "PYTHON_SWITCH_S", "gil_switch_seconds", "install_gil_switch", "restore_gil_switch"]

PYTHON_SWITCH_S = 0.005
"""Python's own switch interval (nothing else in Canyu changes it)."""
DEFAULT_SWITCH_MS = "1"
"""The Rasa process's interval when `CANYU_GIL_SWITCH_MS` is unset (with the speed-ups)."""


def gil_switch_seconds(env: Mapping[str, str]) -> Optional[float]:
    """`CANYU_GIL_SWITCH_MS` in seconds (unset or empty: `DEFAULT_SWITCH_MS`; `off`: None, Python's own interval
    is kept)."""
    raw = env.get("CANYU_GIL_SWITCH_MS", "").strip() or DEFAULT_SWITCH_MS
    if raw.lower() in ("off", "no", "false"):
        return None
    try:
        value = float(raw)
    except ValueError:
        # cause dropped: the message quotes the bad value and the fix
        raise ConfigError(f"CANYU_GIL_SWITCH_MS={raw!r} is not a number of milliseconds; use e.g. 1 "
                          f"(Python's default is 5), or off for Python's") from None
    if not 0.05 <= value <= 100:
        raise ConfigError(f"CANYU_GIL_SWITCH_MS={raw!r} is out of range; use 0.05 to 100 ms (Python's default: 5)")
    return value / 1000


def install_gil_switch(env: Mapping[str, str]) -> bool:
    """Set the switch interval `env` asks for; whether it did."""
    seconds = gil_switch_seconds(env)
    if seconds is None:
        return False
    sys.setswitchinterval(seconds)
    return True


def restore_gil_switch() -> None:
    """Python's own interval again (bot/rasa_patches.py's `uninstall`)."""
    sys.setswitchinterval(PYTHON_SWITCH_S)
