"""Whether a person has been here before: the return greeting is only for people coming back."""

from __future__ import annotations

import time
from typing import Any, Optional

from bot import keys

__all__ = ["SEEN_PREFIX", "returning"]

SEEN_PREFIX = keys.MEMORY_SEEN_PREFIX


def returning(red: Any, sender_id: str, now: Optional[float] = None) -> bool:
    """True when the person (any linked identity) started a session before; records this one."""
    try:
        from bot.fans import profile_id

        profile = profile_id(sender_id, red)
    except Exception:
        profile = sender_id
    before = red.getset(f"{SEEN_PREFIX}{profile}", f"{now if now is not None else time.time():.0f}")
    return before is not None
