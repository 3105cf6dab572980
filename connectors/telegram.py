"""Rasa input channel for Telegram on python-telegram-bot (not Rasa's aiogram channel).

In `credentials.yml`:

    connectors.telegram.TelegramInput:
      # every key is optional; a missing one is read from the environment (see docs/channels.md)

Routes (under `/webhooks/telegram/`): `GET /` health, `POST /webhook` updates. A webhook request must
carry `X-Telegram-Bot-Api-Secret-Token` equal to `TELEGRAM_SECRET_TOKEN` (403 otherwise; webhook mode
refuses to start without one, polling mode needs none); each update is
deduplicated by `update_id` in Redis (`canyu:telegram:update:{bot_id}:{update_id}`, 1 day), acknowledged
at once with 200 and processed in the background, one update at a time per chat.

Modes (`TELEGRAM_MODE`): `webhook` (default; on start the channel calls `setWebhook` with
`TELEGRAM_WEBHOOK_URL` and the secret, if a URL is set) or `polling` (development: `deleteWebhook`, then
long-poll `getUpdates`; `bot run --telegram-polling`).

The Rasa sender id is `telegram:{chat_id}`. While Rasa works the chat shows "typing…" (re-sent every
4 s). Replies are paced (1 msg/s per chat, 30/s overall), split at 4,096 characters, and Rasa buttons
become inline keyboards whose presses (callback queries) come back into the conversation as payloads.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, Update
from telegram.error import Conflict, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from rasa.core.channels.channel import UserMessage

from bot import outbound
from bot.errors import ConfigError
from bot.storage import connect_redis
from connectors._channel import PlatformInput, Settings
from connectors._telegram_send import Pacer, TelegramOutput, TelegramSender, resolve_callback, retry_seconds

__all__ = ["TelegramInput", "TelegramConfig", "sender_from_env"]

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.telegram.org"
_SEEN_TTL_S = 24 * 3600
_TYPING_EVERY_S = 4.0
_ALLOWED_UPDATES = ["message", "callback_query"]
_REPLIES = {
    "en": {
        "media": "Got it! I can only read text for now. Could you tell me in words?",
        "location": "Thanks for the location 📍 Looking for a Millet store or repair center? Tell me your city.",
        "expired": "That button has expired. What would you like to do?",
        "error": "Sorry, something went wrong on my side. Please send that again in a moment.",
    },
    "zh": {
        "media": "收到！我暂时只能看懂文字，用文字告诉我好吗？",
        "location": "收到你的位置📍 想找附近的小米之家或维修点吗？告诉我你在哪个城市就行。",
        "expired": "这个按钮已经过期了，你想做什么呢？",
        "error": "抱歉，我这边出了点问题，请稍后再发一次。",
    },
}


@dataclass(frozen=True)
class TelegramConfig:
    """Settings of the Telegram channel (credentials.yml keys override environment variables)."""

    token: str = field(default="", repr=False)
    secret_token: str = field(default="", repr=False)
    webhook_url: str = ""
    api_base: str = DEFAULT_API_BASE
    mode: str = "webhook"
    chat_interval: float = 1.0
    overall_rate: int = 30
    polling_timeout: int = 20

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def bot_id(self) -> str:
        return self.token.split(":", 1)[0]

    @classmethod
    def load(cls, credentials: Optional[Mapping[str, Any]] = None,
             env: Optional[Mapping[str, str]] = None) -> "TelegramConfig":
        settings = Settings(credentials, env)
        pick, number = settings.text, settings.number
        cfg = cls(
            token=pick("access_token", "TELEGRAM_TOKEN") or pick("token", "TELEGRAM_TOKEN"),
            secret_token=pick("secret_token", "TELEGRAM_SECRET_TOKEN"),
            webhook_url=pick("webhook_url", "TELEGRAM_WEBHOOK_URL"),
            api_base=pick("api_base", "TELEGRAM_API_BASE", DEFAULT_API_BASE).rstrip("/"),
            mode=pick("mode", "TELEGRAM_MODE", "webhook").lower(),
            chat_interval=number("chat_interval", "CANYU_TELEGRAM_CHAT_INTERVAL", 1.0),
            overall_rate=int(number("overall_rate", "CANYU_TELEGRAM_OVERALL_RATE", 30)),
            polling_timeout=int(number("polling_timeout", "CANYU_TELEGRAM_POLLING_TIMEOUT", 20)),
        )
        if cfg.mode not in ("webhook", "polling"):
            raise ConfigError(f"TELEGRAM_MODE={cfg.mode!r}; use 'webhook' or 'polling'")
        if cfg.secret_token and not all(ch.isalnum() or ch in "_-" for ch in cfg.secret_token):
            raise ConfigError("TELEGRAM_SECRET_TOKEN may only contain A-Z, a-z, 0-9, _ and - (1-256 characters)")
        return cfg

    def check_can_receive(self) -> None:
        """Webhook mode without a secret token would accept anyone's fake updates: refuse to start."""
        if self.enabled and self.mode == "webhook" and not self.secret_token:
            raise ConfigError(
                "Telegram webhook mode needs a secret token, or anyone who finds the URL can post fake updates. "
                "Set TELEGRAM_SECRET_TOKEN (1-256 characters of A-Z, a-z, 0-9, _ and -; e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or use TELEGRAM_MODE=polling")


def _make_bot(cfg: TelegramConfig) -> Bot:
    return Bot(cfg.token, base_url=f"{cfg.api_base}/bot",
               request=HTTPXRequest(connection_pool_size=64, read_timeout=15, write_timeout=15),
               get_updates_request=HTTPXRequest(read_timeout=cfg.polling_timeout + 10))


def sender_from_env(env: Optional[Mapping[str, str]] = None) -> TelegramSender:
    """A Telegram sender for processes outside the Rasa server (the agent console)."""
    cfg = TelegramConfig.load(None, env)
    if not cfg.enabled:
        raise ConfigError("TELEGRAM_TOKEN must be set to send Telegram messages")
    return TelegramSender(_make_bot(cfg), Pacer(cfg.chat_interval, cfg.overall_rate), connect_redis())


def _language(code: Optional[str]) -> str:
    return "zh" if (code or "").lower().startswith("zh") else "en"


class TelegramInput(PlatformInput):
    """Telegram webhook/polling channel (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TelegramInput":
        return cls(TelegramConfig.load(credentials))

    def __init__(self, config: Optional[TelegramConfig] = None, redis: Any = None) -> None:
        super().__init__(redis)
        self.config = config or TelegramConfig.load()
        self.config.check_can_receive()
        self._sender: Optional[TelegramSender] = None
        self._chat_locks: Dict[str, asyncio.Lock] = {}
        self._poller: Optional["asyncio.Task[Any]"] = None

    @property
    def sender(self) -> TelegramSender:
        if self._sender is None:
            self._sender = TelegramSender(_make_bot(self.config),
                                          Pacer(self.config.chat_interval, self.config.overall_rate), self.redis)
            outbound.register_sender("telegram", self._sender)
        return self._sender

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("telegram_webhook", inspect.getmodule(self).__name__)  # type: ignore[union-attr]
        outbound.register_sender("telegram", lambda: self.sender if self.config.enabled else None)  # built on first use
        if self.config.enabled:
            self.announce(bp)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.config.enabled else "disabled", "mode": self.config.mode})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.config.enabled:
                return response.text("telegram channel disabled", status=404)
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given.encode(), self.config.secret_token.encode()):
                logger.warning("telegram: webhook call with a wrong secret token from %s", request.ip)
                return response.text("forbidden", status=403)
            try:
                data = json.loads(request.body or b"")
                update_id = int(data["update_id"])
            except (ValueError, KeyError, TypeError):
                return response.text("not a Telegram update", status=400)
            if self._first_time(update_id):
                self._spawn(self._process(data, on_new_message))
            return response.json({"ok": True})

        @bp.listener("after_server_start")
        async def start(app: Any, loop: Any) -> None:
            await self._startup(on_new_message)

        @bp.listener("before_server_stop")
        async def stop(app: Any, loop: Any) -> None:
            await self._shutdown()

        return bp

    # lifecycle --------------------------------------------------------------------------------
    async def _startup(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if not self.config.enabled:
            logger.info("telegram: TELEGRAM_TOKEN not set; channel disabled")
            return
        try:
            await self.sender.ensure_initialized()
        except TelegramError as exc:
            logger.error("telegram: cannot reach the Bot API at %s: %s", self.config.api_base, exc)
        if self.config.mode == "polling":
            self._poller = asyncio.ensure_future(self._poll(on_new_message))
        elif self.config.webhook_url:
            try:
                await self.sender.bot.set_webhook(self.config.webhook_url, secret_token=self.config.secret_token or None,
                                                  allowed_updates=_ALLOWED_UPDATES)
                logger.info("telegram: webhook set to %s", self.config.webhook_url)
            except TelegramError as exc:
                logger.error("telegram: setWebhook failed: %s", exc)

    async def _shutdown(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        for task in list(self._tasks):
            task.cancel()
        if self._sender is not None:
            try:
                await self._sender.bot.shutdown()
            except Exception:
                pass

    async def _poll(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        bot = self.sender.bot
        offset: Optional[int] = None
        try:
            await bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as exc:
            logger.warning("telegram: deleteWebhook failed: %s", exc)
        logger.info("telegram: long polling for updates")
        backoff = 1.0
        while True:
            try:
                updates = await bot.get_updates(offset=offset, timeout=self.config.polling_timeout,
                                                allowed_updates=_ALLOWED_UPDATES)
                backoff = 1.0
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc) + 0.1)
                continue
            except Conflict as exc:
                logger.error("telegram: another consumer holds this bot (%s); retrying in 5 s", exc)
                await asyncio.sleep(5)
                continue
            except TelegramError as exc:
                logger.warning("telegram: getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30)
                continue
            for update in updates:
                offset = update.update_id + 1
                if self._first_time(update.update_id):
                    self._spawn(self._process(update.to_dict(), on_new_message))

    # processing -------------------------------------------------------------------------------
    def _first_time(self, update_id: int) -> bool:
        key = f"canyu:telegram:update:{self.config.bot_id}:{update_id}"
        first = bool(self.redis.set(key, "1", nx=True, ex=_SEEN_TTL_S))
        if not first:
            logger.info("telegram: duplicate update %s ignored", update_id)
        return first

    def _lock(self, chat_id: str) -> asyncio.Lock:
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        return lock

    async def _process(self, data: Dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        try:
            await self.sender.ensure_initialized()
            update = Update.de_json(data, self.sender.bot)
            await self._handle(update, on_new_message)
        except Exception:
            logger.exception("telegram: failed to process update %s", data.get("update_id"))

    async def _handle(self, update: Update, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        sender = self.sender
        text: Optional[str] = None
        canned: Optional[str] = None
        if update.callback_query is not None:
            cq = update.callback_query
            try:
                await sender.bot.answer_callback_query(cq.id)
            except TelegramError as exc:
                logger.debug("telegram: answerCallbackQuery failed: %s", exc)
            user = cq.from_user
            chat_id = cq.message.chat.id if cq.message is not None else user.id
            lang = _language(user.language_code if user else None)
            text = resolve_callback(cq.data or "", self.redis)
            if text is None:
                canned = _REPLIES[lang]["expired"]
        elif update.message is not None:
            msg = update.message
            user = msg.from_user
            chat_id = msg.chat.id
            lang = _language(user.language_code if user else None)
            if msg.text:
                text = msg.text.strip()
                if text.split("@", 1)[0] == "/start":
                    text = f'/greet{{"language": "{lang}"}}'
            elif msg.location is not None or msg.venue is not None:
                canned = _REPLIES[lang]["location"]
            else:
                canned = _REPLIES[lang]["media"]
        else:
            return  # edited messages, channel posts, …: nothing to answer
        sender_id = f"telegram:{chat_id}"
        outbound.record_inbound(sender_id, "telegram", self.redis)
        async with self._lock(str(chat_id)):
            if canned is not None:
                await sender.send_text(chat_id, canned)
                return
            if not text:
                return
            await sender.typing(chat_id)
            typing = asyncio.ensure_future(self._keep_typing(chat_id))
            try:
                metadata = {"telegram": {"chat_id": chat_id, "user_id": user.id if user else None,
                                         "language_code": user.language_code if user else None,
                                         "update_id": update.update_id}}
                await on_new_message(UserMessage(text, TelegramOutput(sender), sender_id,
                                                 input_channel=self.name(), metadata=metadata))
            except Exception:
                logger.exception("telegram: Rasa failed on a message from %s", sender_id)
                await sender.send_text(chat_id, _REPLIES[lang]["error"])
            finally:
                typing.cancel()

    async def _keep_typing(self, chat_id: Any) -> None:
        while True:
            await asyncio.sleep(_TYPING_EVERY_S)
            await self.sender.typing(chat_id)

    def get_output_channel(self) -> Optional[TelegramOutput]:
        return TelegramOutput(self.sender) if self.config.enabled else None
