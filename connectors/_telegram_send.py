"""Sending to Telegram: flood-control pacing, RetryAfter, 4,096-character split, inline keyboards.

`Pacer` keeps Telegram's limits (Bot FAQ): at most one message per second in a chat and about 30 per
second overall. PTB's `AIORateLimiter` has no per-private-chat limit and no retries by default, so we
pace ourselves; a 429 (`RetryAfter`) still happens when another process sends to the same chat, and
then the chat waits `retry_after` (a number or a `timedelta`, depending on PTB's settings) and the
same message is sent again — never dropped, never reordered.

`TelegramSender.deliver` is the `bot.delivery.Sender` of Telegram: a refused message (400 Bad Request, 403 the
user blocked the bot, a migrated chat) is a permanent `DeliveryError`; other failures are retried by the
delivery queue. The Bot API takes no idempotency key: a send that timed out after Telegram accepted it is sent
again by a retry (only that one part: progress is saved per accepted part).

Rasa buttons become an inline keyboard; `callback_data` is limited to 64 bytes, so longer payloads are
kept in Redis (`canyu:telegram:cb:{hash}`, 30 days) and the button carries `cb:{hash}`.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import hashlib
import logging
import time
from datetime import timedelta
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Sequence, TypeVar

from rasa.core.channels.channel import OutputChannel
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot import keys
from bot.delivery import Progress
from bot.errors import ConnectorError, DeliveryError
from connectors._text import split_by, utf16_len

__all__ = ["Pacer", "TelegramSender", "TelegramOutput", "retry_seconds", "split_message", "resolve_callback",
           "MAX_MESSAGE_LENGTH"]

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 4096
_CALLBACK_LIMIT = 64
_CALLBACK_TTL_S = keys.TELEGRAM_CALLBACK_TTL_S
T = TypeVar("T")


def retry_seconds(exc: RetryAfter) -> float:
    """`RetryAfter.retry_after` as seconds, whether PTB gives an int or a timedelta."""
    ra = exc.retry_after
    return ra.total_seconds() if isinstance(ra, timedelta) else float(ra)


def split_message(text: str, limit: int = MAX_MESSAGE_LENGTH) -> List[str]:
    """Parts of at most `limit` UTF-16 code units, cut at paragraph/sentence boundaries."""
    return split_by(text, limit, utf16_len)


class Pacer:
    """Per-chat and overall send pacing with RetryAfter handling (one instance per process).

    Spacing is measured from the moment the previous request *completed*: Telegram received it no
    later than that, so network jitter can never squeeze two messages closer than the limit. Likewise
    a send may start only when fewer than `overall_rate` requests are in flight or completed within
    the last `overall_period` seconds.
    """

    def __init__(self, chat_interval: float = 1.0, overall_rate: int = 30, overall_period: float = 1.0,
                 max_retries: int = 8) -> None:
        self.chat_interval = chat_interval + 0.01
        self.overall_rate = max(1, overall_rate)
        self.overall_period = overall_period + 0.01
        self.max_retries = max_retries
        self._next: Dict[str, float] = {}
        self._locks: Dict[str, asyncio.Lock] = {}
        self._done: Deque[float] = collections.deque()
        self._inflight = 0
        self._overall: Optional[asyncio.Lock] = None
        self.retries = 0

    def _lock(self, chat: str) -> asyncio.Lock:
        lock = self._locks.get(chat)
        if lock is None:
            lock = self._locks[chat] = asyncio.Lock()
        return lock

    async def _acquire(self, chat: str) -> None:
        wait = self._next.get(chat, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._overall is None:
            self._overall = asyncio.Lock()
        async with self._overall:
            while True:
                now = time.monotonic()
                while self._done and self._done[0] <= now - self.overall_period:
                    self._done.popleft()
                if self._inflight + len(self._done) < self.overall_rate:
                    self._inflight += 1
                    return
                await asyncio.sleep(self._done[0] + self.overall_period - now if self._done else 0.01)

    def _release(self, chat: str) -> None:
        now = time.monotonic()
        self._inflight -= 1
        self._done.append(now)
        self._next[chat] = max(self._next.get(chat, 0.0), now + self.chat_interval)

    async def send(self, chat_id: Any, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call` (one Bot API send) in the chat's turn; on 429 wait as told and send again."""
        chat = str(chat_id)
        async with self._lock(chat):
            attempt = 0
            while True:
                await self._acquire(chat)
                try:
                    return await call()
                except RetryAfter as exc:
                    attempt += 1
                    self.retries += 1
                    delay = retry_seconds(exc) + 0.1
                    if attempt > self.max_retries:
                        raise ConnectorError(f"Telegram kept answering 429 for chat {chat}",
                                             platform="telegram", code=429) from exc
                    logger.info("telegram: 429 for chat %s, retrying in %.1f s", chat, delay)
                    self._next[chat] = max(self._next.get(chat, 0.0), time.monotonic() + delay)
                except (BadRequest, TimedOut):
                    raise  # a bad request will not get better; a timeout may have been delivered
                except NetworkError as exc:
                    attempt += 1
                    if attempt > 3:
                        raise ConnectorError(f"Telegram unreachable: {exc}", platform="telegram") from exc
                    await asyncio.sleep(0.5 * attempt)
                finally:
                    self._release(chat)


def _callback_data(payload: str, redis: Any) -> str:
    if len(payload.encode("utf-8")) <= _CALLBACK_LIMIT and not payload.startswith("cb:"):
        return payload
    digest = hashlib.sha1(payload.encode("utf-8")).hexdigest()[:24]
    if redis is not None:
        redis.set(keys.telegram_callback(digest), payload, ex=_CALLBACK_TTL_S)
    return f"cb:{digest}"


def resolve_callback(data: str, redis: Any) -> Optional[str]:
    """The Rasa payload behind a button's callback_data (None if it expired)."""
    if not data.startswith("cb:"):
        return data
    value = redis.get(keys.telegram_callback(data[3:])) if redis is not None else None
    return value.decode() if isinstance(value, bytes) else value


def keyboard(buttons: List[Dict[str, Any]], redis: Any) -> Optional[InlineKeyboardMarkup]:
    rows = []
    for b in buttons:
        title = str(b.get("title") or b.get("payload") or "")
        if b.get("type") == "web_url" or b.get("url"):
            rows.append([InlineKeyboardButton(title, url=b.get("url") or b.get("payload"))])
        else:
            rows.append([InlineKeyboardButton(title, callback_data=_callback_data(str(b.get("payload") or title),
                                                                                 redis))])
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramSender:
    """`bot.outbound` sender for Telegram, and the engine behind `TelegramOutput`."""

    def __init__(self, bot: Bot, pacer: Pacer, redis: Any = None) -> None:
        self.bot = bot
        self.pacer = pacer
        self.redis = redis
        self._init_lock: Optional[asyncio.Lock] = None

    async def ensure_initialized(self) -> None:
        if self._init_lock is None:
            self._init_lock = asyncio.Lock()
        async with self._init_lock:
            if not getattr(self.bot, "_bot_initialized", False):
                await self.bot.initialize()

    async def send_text(self, chat_id: Any, text: str, buttons: Optional[List[Dict[str, Any]]] = None) -> int:
        await self.ensure_initialized()
        parts = split_message(text) or ([""] if buttons else [])
        markup = keyboard(buttons, self.redis) if buttons else None
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            await self.pacer.send(chat_id, functools.partial(self.bot.send_message, chat_id=chat_id, text=part or "👇",
                                                             reply_markup=markup if last else None))
        return len(parts)

    @staticmethod
    def _compose(m: Dict[str, Any]) -> "tuple[str, Optional[List[Dict[str, Any]]]]":
        text = str(m.get("text") or "")
        for key in ("image", "attachment"):
            if m.get(key):
                text = f"{text}\n{m[key]}".strip()
        custom = m.get("custom")
        if isinstance(custom, dict) and custom.get("text"):
            text = f"{text}\n{custom['text']}".strip()
        return text, m.get("buttons") or m.get("quick_replies")

    async def deliver(self, platform_id: str, messages: Sequence[Dict[str, Any]], progress: Progress) -> None:
        """Send in order from where `progress` stands, reporting every accepted part (see the module docstring)."""
        try:
            await self.ensure_initialized()
        except TelegramError as exc:
            raise DeliveryError(f"Telegram unreachable: {exc}", platform="telegram") from exc
        for i, m in enumerate(messages):
            if i < progress.message:
                continue
            text, buttons = self._compose(m)
            parts = split_message(text) or ([""] if buttons else [])
            if not parts:
                progress.sent(i, 0, True)
            markup = keyboard(buttons, self.redis) if buttons else None
            for j, part in enumerate(parts):
                if not progress.pending(i, j):
                    continue
                last = j == len(parts) - 1
                try:
                    await self.pacer.send(platform_id, functools.partial(
                        self.bot.send_message, chat_id=platform_id, text=part or "👇",
                        reply_markup=markup if last else None))
                except (BadRequest, Forbidden, ChatMigrated) as exc:
                    raise DeliveryError(f"Telegram refused the message to {platform_id}: {type(exc).__name__}: "
                                        f"{exc}", platform="telegram", permanent=True) from exc
                except TelegramError as exc:
                    raise DeliveryError(f"Telegram send to {platform_id} failed: {type(exc).__name__}: {exc}",
                                        platform="telegram") from exc
                progress.sent(i, j, last)

    async def send(self, platform_id: str, messages: List[Dict[str, Any]]) -> int:
        """Send from the start; return how many messages went out."""
        progress = Progress()
        await self.deliver(platform_id, messages, progress)
        return progress.message

    async def typing(self, chat_id: Any) -> None:
        try:
            await self.ensure_initialized()
            await self.bot.send_chat_action(chat_id=chat_id, action="typing")
        except Exception as exc:  # typing is cosmetic
            logger.debug("telegram: typing action failed: %s", exc)


class TelegramOutput(OutputChannel):
    """Rasa's view of a Telegram chat: every bot message goes out paced and split."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(self, sender: TelegramSender) -> None:
        self.sender = sender

    @staticmethod
    def _chat(recipient_id: str) -> str:
        return recipient_id.split(":", 1)[1] if recipient_id.startswith("telegram:") else recipient_id

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.sender.send_text(self._chat(recipient_id), text)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]],
                                     **kwargs: Any) -> None:
        await self.sender.send_text(self._chat(recipient_id), text, buttons)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.sender.send_text(self._chat(recipient_id), image)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self.sender.send_text(self._chat(recipient_id), str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        if isinstance(json_message, dict) and json_message.get("text"):
            await self.sender.send_text(self._chat(recipient_id), str(json_message["text"]),
                                        json_message.get("buttons"))
