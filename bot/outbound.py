"""One way to send a message to a user on their own channel (used by the bot, the agent console, notifications).

    outbound = ctx.outbound                     # Outbound(ctx.redis, ctx.senders, DeliverySettings.from_env(ctx.env))
    report = await outbound.send_to_user("wechat:oAbC123", ["人工客服小米来啦，有什么可以帮你？"])
    report = await outbound.send_to_user("telegram:42", [{"text": "Hi, I'm Lin from support.",
                                                          "buttons": [{"title": "Thanks", "payload": "/thanks"}]}],
                                         idempotency_key="handoff-reply:42:7")

`messages` are strings or Rasa-style dicts (`text`, `buttons`, `image`, `custom`). The result is a
`Delivery(channel, sent, queued)`: `sent` messages went out now, `queued` wait in Redis and will go out (a retry,
the WeChat pending list, the REST outbox, or a queue another process's worker drains). With `idempotency_key`
a message set is delivered at most once: a second call with the same key sends nothing and returns the first
call's `Delivery` (its state so far while the first is still being retried).

Sender ids and channels. Each channel owns a namespace of sender ids: `wechat:{openid}` and
`telegram:{chat_id}` are written only by our platform connectors (after their signature or secret checks),
and the REST channel puts every client's user under `rest:`. A user's channel is the prefix of their
sender id (anything else is `rest`), so no message on one channel can change the route of a user on
another; `record_inbound` refuses a channel that does not own the id.

Per channel:
- `wechat` and `telegram`: the message set becomes an item of the channel's durable delivery queue
  (`bot.delivery`), sent at once by this process's sender when it has one, retried with backoff on failure,
  and a dead letter (console → Deliveries) after `CANYU_DELIVERY_MAX_TRIES`; a process without a sender (the
  action server, the CLI) only queues, and a worker in the Rasa server or the console sends. Progress is saved
  per accepted part, so a retry resumes after the last one that went out.
- `wechat` also has its 48-hour window: outside it (or when WeChat answers 45015/45047, or 45009 when the daily
  API quota is used up) the messages wait in `canyu:pending:{sender_id}` and `deliver_pending` sends them when
  the user writes again (moved into a queue item in one step, sent, then removed: a failure loses nothing).
- `rest` (and anything else): the REST outbox `canyu:outbox:{sender_id}`, read with a cursor
  (`read_outbox(sender, after=id)`, non-destructive) or `pop_outbox` (what is new since the last such read).

An `Outbound` works with one Redis client and the sender registry of its process (`AppContext.senders`):
channels register their sender (an object with `deliver()`, see `bot.delivery.Sender`) there where their
process starts: each Rasa channel in its `from_credentials`, the console in `create_app`. An `Outbound` with no
senders (the default) only queues. This module imports no channel.

Redis keys (owned here): `canyu:user:{sender_id}` hash: `channel`, `platform_id`, `last_inbound` (epoch seconds),
`outbox_read` (the REST outbox mark); `canyu:pending:{sender_id}` list of JSON messages waiting for the user's
next contact (WeChat); `canyu:outbox:{sender_id}` (bot/delivery/_outbox.py); the delivery queues and
idempotency keys `canyu:delivery:…` (bot/delivery/_queue.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from bot import keys
from bot.delivery import (
    IDEMPOTENCY_TTL_S,
    Delivery,
    DeliveryQueue,
    DeliverySettings,
    Sender,
    SenderRegistry,
    append_outbox,
    attempt,
    count,
    done_of,
    key_of,
    park,
    pending_key,
    read_outbox as _read_outbox,
    remember,
)
from bot.errors import ConnectorError

__all__ = [
    "Delivery",
    "Outbound",
    "Sender",
    "WECHAT_WINDOW_S",
    "channel_of",
    "platform_id",
    "normalize",
]

logger = logging.getLogger(__name__)

WECHAT_WINDOW_S = 48 * 3600
"""WeChat lets an account message a user for 48 hours after the user's last message."""
_WINDOW_MARGIN_S = 60
_PREFIXES = ("wechat", "telegram")
_KEY_WAIT_S = 10.0

Message = Union[str, Mapping[str, Any]]


def _user_key(sender_id: str) -> str:
    return keys.user_route(sender_id)


def platform_id(sender_id: str) -> str:
    """The platform's user id inside a sender id (`wechat:oAbC` → `oAbC`)."""
    prefix, sep, rest = sender_id.partition(":")
    return rest if sep and prefix in _PREFIXES else sender_id


def channel_of(sender_id: str, redis: Any = None) -> str:
    """The user's channel: the prefix of the sender id (`wechat`, `telegram`), else `rest`.

    `redis` is accepted for callers of the old signature and not used: the route is never read from data
    that a message could have written."""
    prefix = sender_id.partition(":")[0]
    return prefix if prefix in _PREFIXES else "rest"


def normalize(messages: Sequence[Message]) -> List[Dict[str, Any]]:
    """Strings → `{"text": s}`; dicts copied without Rasa's `recipient_id`; empties dropped."""
    out: List[Dict[str, Any]] = []
    for m in messages:
        d = {"text": m} if isinstance(m, str) else {k: v for k, v in dict(m).items() if k != "recipient_id"}
        if any(d.get(k) for k in ("text", "buttons", "image", "attachment", "custom", "quick_replies")):
            out.append(d)
    return out


class Outbound:
    """Sending to users on their own channel, with one Redis client, this process's senders and the delivery
    settings (see the module docstring). Built by the composition root (`AppContext.outbound`) and handed to
    whatever sends; `senders` None: this process has none, so wechat/telegram messages are queued for a worker
    in a process that has them."""

    def __init__(self, redis: Any, senders: Optional[SenderRegistry] = None,
                 settings: Optional[DeliverySettings] = None) -> None:
        self.redis = redis
        self.senders = senders if senders is not None else SenderRegistry()
        self.settings = settings or DeliverySettings()

    def queue(self, channel: str) -> DeliveryQueue:
        """The delivery queue of `channel` with these settings."""
        return DeliveryQueue(self.redis, channel, self.settings)

    def record_inbound(self, sender_id: str, channel: str, now: Optional[float] = None) -> None:
        """Remember the time of the user's last message (opens the WeChat window), for the channel that owns
        the id only."""
        if channel != channel_of(sender_id):
            raise ConnectorError(f"channel {channel!r} does not own the sender id {sender_id!r}", platform=channel)
        self.redis.hset(_user_key(sender_id), mapping={
            "channel": channel,
            "platform_id": platform_id(sender_id),
            "last_inbound": f"{time.time() if now is None else now:.3f}",
        })

    def _window_open(self, sender_id: str) -> bool:
        raw = self.redis.hget(_user_key(sender_id), "last_inbound")
        if not raw:
            return False
        return time.time() - float(raw) < WECHAT_WINDOW_S - _WINDOW_MARGIN_S

    async def _earlier(self, key: str, channel: str) -> Optional[Delivery]:
        """None if this call holds `key` now; else what the call that holds it achieved (waiting up to 10 s
        while it is still sending)."""
        r = self.redis
        if r.set(key_of(key), "-", nx=True, ex=IDEMPOTENCY_TTL_S):
            return None
        queue = DeliveryQueue(r, channel, DeliverySettings())
        deadline = time.monotonic() + _KEY_WAIT_S
        while True:
            raw = r.get(done_of(key))
            if raw:
                return Delivery(**json.loads(raw))
            held = r.get(key_of(key))
            item = queue.get(held) if held and held != "-" and channel in _PREFIXES else None
            sending = item is not None and r.zscore(queue.leases_key, item.id) is not None
            if time.monotonic() >= deadline or (item is not None and not sending):
                return Delivery(channel, item.sent, item.remaining) if item is not None else Delivery(channel, 0, 0)
            await asyncio.sleep(0.1)

    async def send_to_user(self, sender_id: str, messages: Sequence[Message], channel: Optional[str] = None,
                           *, idempotency_key: Optional[str] = None) -> Delivery:
        """Send `messages` to `sender_id` on their channel (see the module docstring). Raises
        `bot.errors.DeliveryError` when the messages could not be sent and went to the dead letters."""
        r = self.redis
        owner = channel_of(sender_id)
        if channel is not None and channel != owner:
            raise ConnectorError(f"{sender_id!r} is a {owner} user, not a {channel} one", platform=channel)
        msgs = normalize(messages)
        key = idempotency_key or None
        if key is not None:
            earlier = await self._earlier(key, owner)
            if earlier is not None:
                logger.info("outbound: %s already handled (idempotency key), nothing sent again", sender_id)
                return earlier
        try:
            return await self._route(sender_id, owner, msgs, key)
        except BaseException:
            if key is not None and r.get(key_of(key)) == "-" and not r.exists(done_of(key)):
                r.delete(key_of(key))  # nothing was kept for this key: a later call may try again
            raise

    async def _route(self, sender_id: str, channel: str, msgs: List[Dict[str, Any]], key: Optional[str]) -> Delivery:
        r = self.redis
        if not msgs:
            report = Delivery(channel, 0, 0)
        elif channel not in _PREFIXES:
            append_outbox(r, sender_id, msgs)
            count(channel, "queued", len(msgs))
            report = Delivery(channel, 0, len(msgs))
        elif channel == "wechat" and not self._window_open(sender_id):
            park(r, sender_id, msgs)
            count(channel, "queued", len(msgs))
            logger.info("outbound: WeChat window closed for %s; queued %d message(s)", sender_id, len(msgs))
            report = Delivery(channel, 0, len(msgs))
        else:
            sender = self.senders.sender_for(channel)
            queue = self.queue(channel)
            item = queue.create(sender_id, msgs, key=key, processing=sender is not None)
            if key is not None:
                r.set(key_of(key), item.id, xx=True, keepttl=True)
            if sender is None:
                count(channel, "queued", len(msgs))
                logger.info("outbound: no %s sender in this process; %d message(s) queued for a worker", channel,
                            len(msgs))
                return Delivery(channel, 0, len(msgs))
            return await attempt(queue, item, sender)
        remember(r, key, report)
        return report

    async def deliver_pending(self, sender_id: str) -> Delivery:
        """Send what waited for the user's next contact (called by the WeChat connector on each message).

        The pending messages move into one delivery item in a single step, are sent, and only then is the item
        removed; a failure leaves them in the retry queue (or, if the window closed again, back in pending)."""
        channel = channel_of(sender_id)
        if channel not in _PREFIXES:
            return Delivery(channel, 0, 0)
        sender = self.senders.sender_for(channel)
        queue = self.queue(channel)
        item = queue.create_from_list(pending_key(sender_id), sender_id, processing=sender is not None)
        if item is None:
            return Delivery(channel, 0, 0)
        if sender is None:
            return Delivery(channel, 0, len(item.messages))
        return await attempt(queue, item, sender)

    def read_outbox(self, sender_id: str, after: Optional[str] = None, *, limit: int = 100) -> List[Dict[str, Any]]:
        """A REST user's messages after the cursor `after` (each with its `id`; up to the cursor is acknowledged),
        or without a cursor what is new since the last read without one. Reading never loses a message."""
        return _read_outbox(self.redis, sender_id, after, limit)

    def pop_outbox(self, sender_id: str, *, limit: int = 100) -> List[Dict[str, Any]]:
        """What is new for a REST user since the last call, oldest first (`read_outbox` without a cursor)."""
        return self.read_outbox(sender_id, None, limit=limit)
