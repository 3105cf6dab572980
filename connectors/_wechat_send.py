"""Turn Rasa messages into WeChat text and send them through the customer-service API.

WeChat text has no buttons: we number them ("1. Track my order") and remember their payloads in Redis
(`canyu:wechat:buttons:{sender_id}`, 1 day) so that a reply of "1" triggers the first button's payload.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List, Optional, Sequence

from bot.errors import ConnectorError
from connectors._wechat_api import WeChatApi
from connectors._wechat_protocol import MAX_TEXT_BYTES, join_texts, split_text

__all__ = ["WeChatSender", "render", "render_all", "button_payload"]

logger = logging.getLogger(__name__)

_BUTTONS_TTL_S = 24 * 3600


def _buttons_key(sender_id: str) -> str:
    return f"canyu:wechat:buttons:{sender_id}"


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
        return payloads[n - 1]
    return None


class WeChatSender:
    """`bot.outbound` sender for WeChat: renders, splits (~2 KB) and sends in order."""

    def __init__(self, api: WeChatApi, redis: Any, max_bytes: int = MAX_TEXT_BYTES) -> None:
        self.api = api
        self.redis = redis
        self.max_bytes = max_bytes

    async def send(self, platform_id: str, messages: List[Dict[str, Any]]) -> int:
        sent = 0
        for m in messages:
            text = render_all([m], f"wechat:{platform_id}", self.redis)
            try:
                for part in split_text(text, self.max_bytes):
                    await asyncio.to_thread(self.api.send_text, platform_id, part)
            except ConnectorError as exc:
                exc.sent = sent  # type: ignore[attr-defined]
                raise
            sent += 1
        return sent

    async def send_text(self, platform_id: str, text: str) -> None:
        for part in split_text(text, self.max_bytes):
            await asyncio.to_thread(self.api.send_text, platform_id, part)
