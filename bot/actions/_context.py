"""`WithContext`: the mixin that hands a custom action the action server's `AppContext`.

The action server (`bot.actions.server`) builds one context per process and registers every action as an
instance; an action that needs shared things (Redis, the order backend, the knowledge service, the channel
registry, settings) declares `class ActionX(WithContext, Action)` and uses `self.ctx`, instead of reaching for a
module-level singleton. Tests build an action with the context of their own Redis: `ActionX(ctx)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import AppContext

__all__ = ["WithContext"]


class WithContext:
    """Keeps the process's `AppContext` as `self.ctx` (put it first in the bases: `(WithContext, Action)`)."""

    def __init__(self, ctx: "AppContext") -> None:
        super().__init__()
        self.ctx = ctx
