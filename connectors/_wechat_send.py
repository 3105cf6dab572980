"""Turn Rasa messages into WeChat text and send them through the customer-service API.

WeChat text has no buttons: we number them ("1. Track my order") and remember their payloads in Redis
(`canyu:wechat:buttons:{sender_id}`, 1 day) so that a reply of "1" triggers the first button's payload.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List, Optional, Sequence, cast

from bot import keys
from bot.delivery import Progress
from bot.errors import ConnectorError, DeliveryError, WindowClosed
from connectors._wechat_api import RATE_LIMITED, WeChatApi
from connectors._wechat_protocol import MAX_TEXT_BYTES, join_texts, split_text

__all__ = ["WeChatSender", "render", "render_all", "button_payload"]

logger = logging.getLogger(__name__)

_BUTTONS_TTL_S = keys.WECHAT_BUTTONS_TTL_S
PERMANENT_ERRORS = (40003, 43004, 43019, 44002, 47001)
"""invalid openid, user unsubscribed, user blocked the account, empty or malformed message: a retry cannot help."""


def _buttons_key(sender_id: str) -> str:
    return keys.wechat_buttons(sender_id)


def render(message: Dict[str, Any]) -> str:
    """One Rasa message as WeChat text (buttons numbered, images/attachments as links)."""
    lines: List[str] = []
    if message.get("text"):
        lines.append(str(message["text"]).strip())
    buttons = message.get("buttons") or message.get("quick_replies") or []
    for i, b in enumerate(buttons, 1):
        lines.append(f"{i}. {b.get('title', b.get('payload', ''))}")
    for key in ("image", "attachment"):
        if message.get(key):
            lines.append(str(message[key]))
    custom = message.get("custom")
    if isinstance(custom, dict) and custom.get("text"):
        lines.append(str(custom["text"]))
    return "\n".join(x for x in lines if x)


def render_all(messages: Sequence[Dict[str, Any]], sender_id: str, redis: Any) -> str:
    """All messages as one text; remembers the last message's buttons for numeric replies."""
    buttons: List[Dict[str, Any]] = []
    for m in messages:
        if m.get("buttons") or m.get("quick_replies"):
            buttons = list(m.get("buttons") or m.get("quick_replies") or [])
    if buttons and redis is not None:
        payloads = [str(b.get("payload") or b.get("title") or "") for b in buttons]
        try:
            redis.set(_buttons_key(sender_id), json.dumps(payloads, ensure_ascii=False), ex=_BUTTONS_TTL_S)
        except Exception as exc:  # buttons are a convenience; a Redis hiccup must not lose the reply
            logger.warning("wechat: could not remember buttons for %s: %s", sender_id, exc)
    return join_texts(render(m) for m in messages)


def button_payload(text: str, sender_id: str, redis: Any) -> Optional[str]:
    """If `text` is the number of one of the last offered buttons, its payload."""
    t = text.strip()
    if not t.isdigit() or len(t) > 2 or redis is None:
        return None
    raw = redis.get(_buttons_key(sender_id))
    if not raw:
        return None
    payloads = json.loads(raw)
    n = int(t)
    if 1 <= n <= len(payloads):
        redis.delete(_buttons_key(sender_id))
        return cast(Optional[str], payloads[n - 1])
    return None


class WeChatSender:
    """The `bot.delivery.Sender` of WeChat: renders, splits (~2 KB) and sends in order through the
    customer-service API. A closed window or the daily quota (45009) raise `WindowClosed` (the rest waits for the
    user's next message); an invalid or unsubscribed user a permanent `DeliveryError`; other failures a
    `ConnectorError`, which the delivery queue retries."""

    def __init__(self, api: WeChatApi, redis: Any, max_bytes: int = MAX_TEXT_BYTES) -> None:
        self.api = api
        self.redis = redis
        self.max_bytes = max_bytes

    async def deliver(self, platform_id: str, messages: Sequence[Dict[str, Any]], progress: Progress) -> None:
        for i, m in enumerate(messages):
            if i < progress.message:
                continue
            parts = split_text(render_all([m], f"wechat:{platform_id}", self.redis), self.max_bytes)
            if not parts:
                progress.sent(i, 0, True)
            for j, part in enumerate(parts):
                if progress.pending(i, j):
                    await self._send_part(platform_id, part)
                    progress.sent(i, j, j == len(parts) - 1)

    async def _send_part(self, platform_id: str, text: str) -> None:
        try:
            await asyncio.to_thread(self.api.send_text, platform_id, text)
        except WindowClosed:
            raise
        except ConnectorError as exc:
            if exc.code == RATE_LIMITED:
                # cause dropped: the message is the cause's own text
                raise WindowClosed(str(exc), platform="wechat", code=exc.code) from None
            if exc.code in PERMANENT_ERRORS:
                # cause dropped: the message is the cause's own text
                raise DeliveryError(str(exc), platform="wechat", code=exc.code, permanent=True) from None
            raise

    async def send(self, platform_id: str, messages: List[Dict[str, Any]]) -> int:
        """Send from the start; return how many messages went out (errors carry `.sent`)."""
        progress = Progress()
        try:
            await self.deliver(platform_id, messages, progress)
        except ConnectorError as exc:
            exc.sent = progress.message  # type: ignore[attr-defined]
            raise
        return progress.message

    async def send_text(self, platform_id: str, text: str) -> None:
        for part in split_text(text, self.max_bytes):
            await asyncio.to_thread(self.api.send_text, platform_id, part)
