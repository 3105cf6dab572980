"""One contract per store, run against its Redis implementation and its in-memory twin (docs/DEVELOPING.md)."""

from __future__ import annotations

import time


class Clock:
    """A settable clock for the memory twins; the Redis implementations' expiries run on the server's clock."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now
