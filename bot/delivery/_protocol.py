"""What a channel implements to be sent to (`Sender`), how far a delivery got (`Progress`), the result of a send
(`Delivery`), and the registry of this process's senders.

A channel registers a sender object, or a factory that builds one, in the `SenderRegistry` of its process's
context (`AppContext.senders`) where the process starts: each Rasa channel in its `from_credentials`
(`ctx.senders.register("telegram", lambda: self.sender)`), the console in `create_app` (the senders of the
`canyu.channels` entry points). Nothing here imports a channel, and there is no process-wide registry.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

__all__ = ["Delivery", "Progress", "Sender", "SenderFactory", "SenderRegistry"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What became of a message set: `sent` went out now, `queued` wait (retry queue, WeChat pending list,
    REST outbox)."""

    channel: str
    sent: int
    queued: int


class Progress:
    """How far a delivery got: messages before `message` are sent, and the first `part` parts of `message`.

    A sender calls `sent(i, j, last)` as soon as the platform accepted part `j` of message `i`; the queue
    saves it at once, so a retry (or another worker after a crash) resumes after the last accepted part."""

    def __init__(self, message: int = 0, part: int = 0,
                 on_sent: Optional[Callable[["Progress"], None]] = None) -> None:
        self.message = message
        self.part = part
        self._on_sent = on_sent

    def pending(self, i: int, j: int) -> bool:
        """True if part `j` of message `i` still has to be sent."""
        return (i, j) >= (self.message, self.part)

    def sent(self, i: int, j: int, last: bool) -> None:
        self.message, self.part = (i + 1, 0) if last else (i, j + 1)
        if self._on_sent is not None:
            self._on_sent(self)

    def __repr__(self) -> str:
        return f"Progress(message={self.message}, part={self.part})"


@runtime_checkable
class Sender(Protocol):
    """A channel's way to reach one of its users (see connectors/_wechat_send.py, connectors/_telegram_send.py)."""

    async def deliver(self, platform_id: str, messages: Sequence[Dict[str, Any]], progress: Progress) -> None:
        """Send Rasa-style `messages` in order, skipping the parts `progress` has as sent and reporting each
        accepted part with `progress.sent(i, j, last)`. Raise `bot.errors.DeliveryError` (`permanent` when a
        retry cannot help, `WindowClosed` when the user must write first); any other error is retried."""


SenderFactory = Callable[[], Optional[Sender]]


class SenderRegistry:
    """This process's senders per channel (one per `AppContext`): an object with `deliver()`, or a factory called
    once per event loop when first needed (HTTP clients belong to a loop)."""

    def __init__(self) -> None:
        self._registered: Dict[str, Union[Sender, SenderFactory]] = {}
        self._built: Dict[Tuple[str, int], Tuple[Any, Optional[Sender]]] = {}
        """Senders built by factories, per channel and event loop (the loop is held, so its id is not reused)."""

    def register(self, channel: str, sender: Union[Sender, SenderFactory, None]) -> None:
        """Install the sender for `channel`; None removes it."""
        for key in [k for k in self._built if k[0] == channel]:
            del self._built[key]
        if sender is None:
            self._registered.pop(channel, None)
        else:
            self._registered[channel] = sender

    def channels(self) -> List[str]:
        return sorted(self._registered)

    def sender_for(self, channel: str) -> Optional[Sender]:
        """The sender for `channel`, or None (another process with one will deliver)."""
        entry = self._registered.get(channel)
        if entry is None:
            return None
        if isinstance(entry, Sender):
            return entry
        try:
            loop: Any = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        key = (channel, id(loop))
        if key not in self._built:
            try:
                self._built[key] = (loop, entry())
            except Exception as exc:  # a channel without its settings here: another process sends
                logger.info("delivery: no %s sender in this process: %s", channel, exc)
                self._built[key] = (loop, None)
        return self._built[key][1]
