"""Counts every custom action the action server runs: `bot.metrics.ACTIONS` (by action and outcome),
`ACTION_SECONDS` and `ACTIONS_IN_PROGRESS`.

rasa_sdk has no hook around an action, so importing this module (done by `bot/actions/__init__.py`, which
the action server imports first) wraps `ActionExecutor.run` once. Names are counted only for registered
actions, so a caller cannot grow the label set with made-up names; outcomes are `ok`, `rejected` (a form
validation refused: `ActionExecutionRejection`) and `error` (the action raised; rasa_sdk answers 500).
"""

from __future__ import annotations

import functools
import time
from typing import Any, Dict, Optional, cast

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection

from bot.metrics import ACTION_SECONDS, ACTIONS, ACTIONS_IN_PROGRESS

__all__ = ["install"]


def install() -> None:
    """Wrap `ActionExecutor.run` with the counters (idempotent)."""
    if getattr(ActionExecutor.run, "_canyu_counted", False):
        return
    original = ActionExecutor.run

    @functools.wraps(original)
    async def run(self: ActionExecutor, action_call: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        name = str(action_call.get("next_action") or "")
        if name not in self.actions:
            return cast(Optional[Dict[str, Any]], await original(self, action_call))
        started, outcome = time.perf_counter(), "error"
        with ACTIONS_IN_PROGRESS.labels(name).track_inprogress():
            try:
                result = cast(Optional[Dict[str, Any]], await original(self, action_call))
                outcome = "ok"
                return result
            except ActionExecutionRejection:
                outcome = "rejected"
                raise
            finally:
                ACTIONS.labels(name, outcome).inc()
                ACTION_SECONDS.labels(name).observe(time.perf_counter() - started)

    run._canyu_counted = True  # type: ignore[attr-defined]
    ActionExecutor.run = run


install()
