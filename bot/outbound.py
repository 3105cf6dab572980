"""One way to send a message to a user on their own channel (used by the bot and the agent console).

    from bot.outbound import send_to_user
    report = await send_to_user("wechat:oAbC123", ["人工客服小米来啦，有什么可以帮你？"])
    report = await send_to_user("telegram:42", [{"text": "Hi, I'm Lin from support.",
                                                 "buttons": [{"title": "Thanks", "payload": "/thanks"}]}])

`messages` are strings or Rasa-style dicts (`text`, `buttons`, `image`, `custom`). The result is a
`Delivery(channel, sent, queued)`: `sent` messages went out now, `queued` wait in Redis.

Sender ids and channels. Each channel owns a namespace of sender ids: `wechat:{openid}` and
`telegram:{chat_id}` are written only by our platform connectors (after their signature or secret checks),
and the REST channel puts every client's user under `rest:`. A user's channel is the prefix of their
sender id (anything else is `rest`), so no message on one channel can change the route of a user on
another; `record_inbound` refuses a channel that does not own the id.

Per channel:
- `wechat`: the customer-service API (`message/custom/send`), allowed only within 48 hours of the user's
  last message. Outside the window (or when WeChat answers 45015/45047, or 45009 when the daily API
  quota is used up) the messages are queued in
  `canyu:pending:{sender_id}` and delivered by the WeChat connector when the user writes again.
- `telegram`: Bot API `sendMessage`, paced (1 msg/s per chat, 30/s overall) and split at 4,096 characters.
- `rest` (and anything else): appended to the Redis list `canyu:outbox:{sender_id}` (JSON, one message
  per item, `{"recipient_id", "text", ...}` like Rasa's REST replies); the REST side polls it with
  `pop_outbox(sender_id)`.

Inside the Rasa server the connectors register their live senders (`register_sender`); any other process
(the agent console) builds them from the same environment variables (see `docs/channels.md`).

Redis keys (owned here):
- `canyu:user:{sender_id}` hash: `channel`, `platform_id`, `last_inbound` (epoch seconds)
- `canyu:pending:{sender_id}` list of JSON messages waiting for the user's next contact (WeChat)
- `canyu:outbox:{sender_id}` list of JSON messages for REST users
- `canyu:delivery:done:{key}` the `Delivery` of a message set sent with an idempotency key (7 days);
  `canyu:delivery:claim:{key}` held while it is being sent
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence, Union

from bot.errors import ConnectorError

__all__ = [
    "Delivery",
    "Sender",
    "WECHAT_WINDOW_S",
    "send_to_user",
    "record_inbound",
    "channel_of",
    "platform_id",
    "register_sender",
    "deliver_pending",
    "pop_outbox",
    "normalize",
]

logger = logging.getLogger(__name__)

WECHAT_WINDOW_S = 48 * 3600
"""WeChat lets an account message a user for 48 hours after the user's last message."""
_WINDOW_MARGIN_S = 60
_WECHAT_QUOTA = 45009
_PREFIXES = ("wechat", "telegram")

Message = Union[str, Mapping[str, Any]]


class Sender(Protocol):
    """A channel implementation: sends Rasa-style messages to one platform user."""

    async def send(self, platform_id: str, messages: List[Dict[str, Any]]) -> int:
        """Send in order; return how many went out. WeChat raises `WindowClosed` with `.sent` set."""


@dataclass(frozen=True)
class Delivery:
    channel: str
    sent: int
    queued: int


_senders: Dict[str, Sender] = {}


def register_sender(channel: str, sender: Optional[Sender]) -> None:
    """Install (or with None remove) the live sender of a channel in this process."""
    if sender is None:
        _senders.pop(channel, None)
        for key in [k for k in _env_senders if k[0] == channel]:
            del _env_senders[key]
    else:
        _senders[channel] = sender


def _redis(redis: Any = None) -> Any:
    if redis is not None:
        return redis
    from bot.storage import connect_redis

    return connect_redis()


def _user_key(sender_id: str) -> str:
    return f"canyu:user:{sender_id}"


def platform_id(sender_id: str) -> str:
    """The platform's user id inside a sender id (`wechat:oAbC` → `oAbC`)."""
    prefix, sep, rest = sender_id.partition(":")
    return rest if sep and prefix in _PREFIXES else sender_id


def record_inbound(sender_id: str, channel: str, redis: Any = None, now: Optional[float] = None) -> None:
    """Remember the time of the user's last message (opens the WeChat window), for the channel that owns
    the id only."""
    if channel != channel_of(sender_id):
        raise ConnectorError(f"channel {channel!r} does not own the sender id {sender_id!r}", platform=channel)
    _redis(redis).hset(_user_key(sender_id), mapping={
        "channel": channel,
        "platform_id": platform_id(sender_id),
        "last_inbound": f"{time.time() if now is None else now:.3f}",
    })


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


def _window_open(sender_id: str, redis: Any) -> bool:
    raw = redis.hget(_user_key(sender_id), "last_inbound")
    if not raw:
        return False
    return time.time() - float(raw) < WECHAT_WINDOW_S - _WINDOW_MARGIN_S


_env_senders: Dict[Any, Sender] = {}


def _sender_for(channel: str) -> Sender:
    sender = _senders.get(channel)
    if sender is not None:
        return sender
    # Built from the environment: one per event loop (PTB's HTTP client and locks belong to a loop).
    import asyncio

    key = (channel, id(asyncio.get_running_loop()))
    sender = _env_senders.get(key)
    if sender is not None:
        return sender
    if channel == "wechat":
        from connectors.wechat import sender_from_env as wechat_sender

        sender = wechat_sender()
    elif channel == "telegram":
        from connectors.telegram import sender_from_env as telegram_sender

        sender = telegram_sender()
    else:
        raise ConnectorError(f"no sender for channel {channel!r}", platform=channel)
    _env_senders[key] = sender
    return sender


def _queue(key: str, sender_id: str, messages: List[Dict[str, Any]], redis: Any) -> None:
    if messages:
        redis.rpush(key, *[json.dumps({"recipient_id": sender_id, **m}, ensure_ascii=False) for m in messages])


IDEMPOTENCY_TTL_S = 7 * 24 * 3600
"""How long a delivered message set is remembered by its idempotency key."""
_CLAIM_TTL_S = 300


def _done_key(key: str) -> str:
    return f"canyu:delivery:done:{key}"


async def send_to_user(sender_id: str, messages: Sequence[Message], channel: Optional[str] = None,
                       *, redis: Any = None, idempotency_key: Optional[str] = None) -> Delivery:
    """Send `messages` to `sender_id` on their channel (see the module docstring).

    With `idempotency_key`, the message set is delivered at most once: a second call with the same key
    (while the first is in flight or after it) sends nothing and returns the first call's `Delivery`."""
    r = _redis(redis)
    owner = channel_of(sender_id)
    if channel is not None and channel != owner:
        raise ConnectorError(f"{sender_id!r} is a {owner} user, not a {channel} one", platform=channel)
    if idempotency_key is None:
        return await _send_now(sender_id, messages, owner, r)
    done = _done_key(idempotency_key)
    claim = f"canyu:delivery:claim:{idempotency_key}"
    import asyncio

    while not r.set(claim, "1", nx=True, ex=_CLAIM_TTL_S):
        raw = r.get(done)
        if raw:
            return Delivery(**json.loads(raw))
        await asyncio.sleep(0.1)  # another call with this key is sending: wait for its result
    raw = r.get(done)
    if raw:
        r.delete(claim)
        return Delivery(**json.loads(raw))
    try:
        report = await _send_now(sender_id, messages, owner, r)
    except BaseException:
        r.delete(claim)
        raise
    r.set(done, json.dumps(report.__dict__), ex=IDEMPOTENCY_TTL_S)
    r.delete(claim)
    return report


async def _send_now(sender_id: str, messages: Sequence[Message], channel: str, r: Any) -> Delivery:
    msgs = normalize(messages)
    if not msgs:
        return Delivery(channel, 0, 0)
    if channel == "wechat":
        if not _window_open(sender_id, r):
            _queue(f"canyu:pending:{sender_id}", sender_id, msgs, r)
            logger.info("outbound: WeChat window closed for %s; queued %d message(s)", sender_id, len(msgs))
            return Delivery(channel, 0, len(msgs))
        from connectors._wechat_api import WindowClosed

        try:
            sent = await _sender_for(channel).send(platform_id(sender_id), msgs)
        except ConnectorError as exc:
            if not isinstance(exc, WindowClosed) and exc.code != _WECHAT_QUOTA:
                raise
            sent = int(getattr(exc, "sent", 0) or 0)
            _queue(f"canyu:pending:{sender_id}", sender_id, msgs[sent:], r)
            logger.info("outbound: WeChat refused %s (%s); queued %d message(s)", sender_id, exc.code,
                        len(msgs) - sent)
            return Delivery(channel, sent, len(msgs) - sent)
        return Delivery(channel, sent, 0)
    if channel == "telegram":
        sent = await _sender_for(channel).send(platform_id(sender_id), msgs)
        return Delivery(channel, sent, 0)
    _queue(f"canyu:outbox:{sender_id}", sender_id, msgs, r)
    return Delivery(channel, 0, len(msgs))


async def deliver_pending(sender_id: str, *, redis: Any = None) -> Delivery:
    """Send what waited for the user's next contact (called by the WeChat connector on each message)."""
    r = _redis(redis)
    key = f"canyu:pending:{sender_id}"
    raw: List[Any] = []
    while True:
        item = r.lpop(key)
        if item is None:
            break
        raw.append(item)
    if not raw:
        return Delivery(channel_of(sender_id, r), 0, 0)
    msgs = [json.loads(x) for x in raw]
    return await send_to_user(sender_id, msgs, redis=r)


def pop_outbox(sender_id: str, *, redis: Any = None, limit: int = 100) -> List[Dict[str, Any]]:
    """Take up to `limit` queued messages for a REST user, oldest first."""
    r = _redis(redis)
    out = []
    for _ in range(limit):
        item = r.lpop(f"canyu:outbox:{sender_id}")
        if item is None:
            break
        out.append(json.loads(item))
    return out
