"""The one place where Canyu changes Rasa's behaviour in its own server process (installed by `bot.child`).

**Custom actions survive an action-server restart.** Rasa 3.6 logs "Failed to run custom action … Bot will
continue, but the actions events are lost" when the action server cannot be reached, and the user gets no
answer at all. When `bot run` restarts a crashed action server that takes a few seconds. So a call that failed
to *connect* (or whose connection broke) is tried again, with a growing pause (0.5 s, 1 s, 2 s … at most 5 s),
for up to `CANYU_ACTION_RETRY_S` seconds (default 60; 0 turns this off). Only if the action server stays away
longer does the user get `utter_action_unavailable` ("something went wrong on my side…"), never silence.

A broken connection may mean the action had started; our actions are safe to run again (answers, lookups,
and writes keyed by the user or the item), which is why a retry is acceptable here.

Patched: `rasa.core.actions.action.RemoteAction.run` (wrapped, not replaced). `installed()` tells whether it is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from typing import Any, List

import aiohttp

from bot.errors import ConfigError

__all__ = ["install", "installed", "retry_seconds", "UNAVAILABLE_RESPONSE"]

logger = logging.getLogger(__name__)

UNAVAILABLE_RESPONSE = "utter_action_unavailable"
_MARK = "_canyu_retrying"


def retry_seconds(env: Any = None) -> float:
    raw = (os.environ if env is None else env).get("CANYU_ACTION_RETRY_S", "").strip() or "60"
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"CANYU_ACTION_RETRY_S={raw!r} is not a number of seconds; use e.g. 60 (0: no retry)") from None
    if value < 0:
        raise ConfigError(f"CANYU_ACTION_RETRY_S={raw!r} must be 0 or more seconds")
    return value


def _unreachable(exc: BaseException) -> bool:
    """Rasa wraps a failed connection in a RasaException whose cause is aiohttp's ClientConnectionError."""
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, (aiohttp.ClientConnectionError, asyncio.TimeoutError))


def installed() -> bool:
    from rasa.core.actions.action import RemoteAction

    return bool(getattr(RemoteAction.run, _MARK, False))


def install() -> None:
    """Wrap RemoteAction.run (idempotent)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.exceptions import RasaException

    if installed():
        return
    budget = retry_seconds()
    original = RemoteAction.run

    @functools.wraps(original)
    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        deadline, pause = time.monotonic() + budget, 0.5
        while True:
            try:
                return await original(self, output_channel, nlg, tracker, domain)
            except RasaException as exc:
                if not _unreachable(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    logger.error("action server unreachable for %.0f s; %s told to try again", budget,
                                 tracker.sender_id)
                    return await _apologise(output_channel, nlg, tracker)
                logger.warning("action %s: action server unreachable; retrying in %.1f s", self.name(), pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    setattr(run, _MARK, True)
    RemoteAction.run = run  # type: ignore[method-assign]


async def _apologise(output_channel: Any, nlg: Any, tracker: Any) -> List[Any]:
    from rasa.core.actions.action import create_bot_utterance

    message = await nlg.generate(UNAVAILABLE_RESPONSE, tracker, output_channel.name())
    return [create_bot_utterance(message)] if message else []
