"""The channels installed with Canyu, found through the `canyu.channels` entry points (pyproject.toml).

Why entry points: `bot` never imports `connectors`; a channel package declares its sender factory
(`wechat = "connectors.wechat:sender_from_env"`, called as `factory(env, redis)`), and a process that sends
from outside the Rasa server (the agent console) registers every declared channel in its context's sender
registry (`register_channel_senders(ctx)`). A shop's own channel plugs in the same way, from its own package.
The factories read the channel's settings from the context's environment and raise `ConfigError` without
them; each is loaded (its module imported) only when first called.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Dict, Optional

from bot.delivery import Sender, SenderFactory

if TYPE_CHECKING:
    from bot.context import AppContext

__all__ = ["ENTRY_POINT_GROUP", "register_channel_senders", "sender_factories"]

ENTRY_POINT_GROUP = "canyu.channels"


def _lazy(entry_point: EntryPoint, ctx: "AppContext") -> SenderFactory:
    def factory() -> Optional[Sender]:
        sender: Optional[Sender] = entry_point.load()(ctx.env, ctx.redis)
        return sender

    return factory


def sender_factories(ctx: "AppContext", group: str = ENTRY_POINT_GROUP) -> Dict[str, SenderFactory]:
    """{channel name: factory returning its sender, built with `ctx`'s environment and Redis}, one per installed
    `canyu.channels` entry point."""
    return {entry_point.name: _lazy(entry_point, ctx) for entry_point in entry_points(group=group)}


def register_channel_senders(ctx: "AppContext", group: str = ENTRY_POINT_GROUP) -> None:
    """Register the sender of every installed channel in `ctx.senders` (built when first needed; without the
    channel's settings there is none, and its messages wait in the delivery queue for another process)."""
    for channel, factory in sender_factories(ctx, group).items():
        ctx.senders.register(channel, factory)
