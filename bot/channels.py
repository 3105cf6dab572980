"""The channels installed with Canyu, found through the `canyu.channels` entry points (pyproject.toml).

Why entry points: `bot` never imports `connectors`; a channel package declares its sender factory
(`wechat = "connectors.wechat:sender_from_env"`), and a process that sends from outside the Rasa server (the
agent console) registers every declared channel with `bot.outbound.register_sender`. A shop's own channel
plugs in the same way, from its own package. The factories read the channel's settings from the environment
and raise `ConfigError` without them; each is loaded (its module imported) only when first called.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Dict, Optional

from bot.delivery import Sender, SenderFactory

__all__ = ["ENTRY_POINT_GROUP", "sender_factories"]

ENTRY_POINT_GROUP = "canyu.channels"


def _lazy(entry_point: EntryPoint) -> SenderFactory:
    def factory() -> Optional[Sender]:
        sender: Optional[Sender] = entry_point.load()()
        return sender

    return factory


def sender_factories(group: str = ENTRY_POINT_GROUP) -> Dict[str, SenderFactory]:
    """{channel name: factory returning its sender}, one per installed `canyu.channels` entry point."""
    return {entry_point.name: _lazy(entry_point) for entry_point in entry_points(group=group)}
