"""Rasa input channel for Telegram on python-telegram-bot (not Rasa's aiogram channel).

In `credentials.yml`:

    connectors.telegram.TelegramInput:
      # every key is optional; a missing one is read from the environment (see docs/channels.md)

Routes (under `/webhooks/telegram/`): `GET /` health, `POST /webhook` updates. A webhook request must
carry `X-Telegram-Bot-Api-Secret-Token` equal to `TELEGRAM_SECRET_TOKEN` (403 otherwise; webhook mode
refuses to start without one, polling mode needs none). Each update is recorded in Redis before it is
acknowledged (`connectors._inbound`, `canyu:inbound:telegram:{bot_id}:{update_id}`, state `received` with the
update's JSON, kept a day; 503 when Redis cannot record it, so Telegram delivers it again), then
acknowledged with 200 and processed in the background, one update at a time per chat. A second delivery
of the same `update_id` is ignored. Rasa's whole answer is collected and recorded with the update before
it is sent, and each message sent is recorded, so a reprocessing sends only what had not gone out. If the
process dies after the acknowledgement, the update's lease expires within seconds and the recovery sweep
(at start-up, then every half lease, on every instance) processes it. When Rasa fails the user gets a
short apology and the update is released: the sweep tries it again (3 attempts in all).

What is left: a crash between Telegram accepting a message and the record of it being sent makes the
recovery send that one message again; a crash before the answer is recorded makes Rasa see the message
a second time (the reply is sent once).

Modes (`TELEGRAM_MODE`): `webhook` (default; on start the channel calls `setWebhook` with
`TELEGRAM_WEBHOOK_URL` and the secret, if a URL is set) or `polling` (development: `deleteWebhook`, then
long-poll `getUpdates`; `bot run --telegram-polling`). Polled updates are recorded the same way before the
next `getUpdates` confirms them to Telegram.

The Rasa sender id is `telegram:{chat_id}`. A photo (getFile + download) and a location go to Rasa as
`/share_photo` and `/share_location` (connectors/_media.py). While Rasa works the chat shows "typing…" (re-sent every
4 s). Replies are paced (1 msg/s per chat, 30/s overall), split at 4,096 characters, and Rasa buttons
become inline keyboards whose presses (callback queries) come back into the conversation as payloads.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Update, User
from telegram.error import Conflict, RetryAfter, TelegramError

from bot import metrics
from bot.context import AppContext, build_context
from connectors._channel import PlatformInput
from connectors._inbound import Claim, InboundStore
from connectors._media import LOCATION_INTENT, PHOTO_INTENT, ChannelMediaStore, intent_text, location_metadata
from connectors._telegram_config import TelegramConfig, _chat_of, _language, _make_bot, sender_from_env
from connectors._telegram_send import Pacer, TelegramOutput, TelegramSender, resolve_callback, retry_seconds

__all__ = ["TelegramInput", "TelegramConfig", "sender_from_env"]

logger = logging.getLogger(__name__)

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


class TelegramInput(PlatformInput):
    """Telegram webhook/polling channel (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TelegramInput":
        """The composition root of this channel in the Rasa server: one context (settings, Redis, senders)."""
        ctx = build_context()
        return cls(TelegramConfig.load(credentials, ctx.env), ctx)

    def __init__(self, config: TelegramConfig, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.config = config
        self.config.check_can_receive()
        ctx.senders.register("telegram", lambda: self.sender if self.config.enabled else None)  # built on first use
        self._sender: Optional[TelegramSender] = None
        self._chat_locks: Dict[str, asyncio.Lock] = {}
        self._poller: Optional["asyncio.Task[Any]"] = None
        self._sweeper: Optional["asyncio.Task[Any]"] = None
        self._inbound: Optional[InboundStore] = None
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None
        self._held: Set[str] = set()

    @property
    def inbound(self) -> InboundStore:
        """This bot's inbound update records (`connectors._inbound`)."""
        if self._inbound is None:
            self._inbound = InboundStore(self.redis, f"telegram:{self.config.bot_id}", lease=self.config.lease)
        return self._inbound

    @property
    def sender(self) -> TelegramSender:
        if self._sender is None:
            self._sender = TelegramSender(_make_bot(self.config),
                                          Pacer(self.config.chat_interval, self.config.overall_rate), self.redis)
        return self._sender

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("telegram_webhook", inspect.getmodule(self).__name__)  # type: ignore[union-attr]
        self._on_new_message = on_new_message
        self.run_deliveries(bp)  # the worker skips the queue while there is no sender (no token)
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
            try:  # recorded before the 200: a crash after the acknowledgement does not lose the update
                new = await asyncio.to_thread(self.inbound.record, str(update_id), data)
            except Exception as exc:
                logger.error("telegram: cannot record update %s (%s); Telegram will deliver it again",
                             update_id, exc)
                metrics.MESSAGES_FAILED.labels("telegram", "redis").inc()
                return response.json({"ok": False, "error": "storage unavailable"}, status=503)
            if new:
                self._spawn(self._process(str(update_id), data))
            else:
                logger.info("telegram: duplicate update %s ignored", update_id)
                metrics.MESSAGES_REDELIVERED.labels("telegram").inc()
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
            self._poller = asyncio.ensure_future(self._poll())
        elif self.config.webhook_url:
            try:
                await self.sender.bot.set_webhook(self.config.webhook_url, secret_token=self.config.secret_token or None,
                                                  allowed_updates=_ALLOWED_UPDATES)
                logger.info("telegram: webhook set to %s", self.config.webhook_url)
            except TelegramError as exc:
                logger.error("telegram: setWebhook failed: %s", exc)
        self._sweeper = asyncio.ensure_future(self._sweep())  # at start-up, then every half lease

    async def _shutdown(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for key in list(self._held):  # released: another process (or our next start) takes them at once
            try:
                self.inbound.fail(key, "shutdown", retry_after=0)
            except Exception as exc:
                logger.warning("telegram: could not release update %s at shutdown: %s", key, exc)
        for task in list(self._tasks):
            task.cancel()
        if self._sender is not None:
            try:
                await self._sender.bot.shutdown()
            except Exception:
                pass

    async def _poll(self) -> None:
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
                try:  # recorded before the next getUpdates confirms it to Telegram (the same path as webhooks)
                    new = await asyncio.to_thread(self.inbound.record, str(update.update_id), update.to_dict())
                except Exception as exc:
                    logger.warning("telegram: cannot record update %s (%s); asking again", update.update_id, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30)
                    break
                offset = update.update_id + 1
                if new:
                    self._spawn(self._process(str(update.update_id), update.to_dict()))

    # processing -------------------------------------------------------------------------------
    def _lock(self, chat_id: str) -> asyncio.Lock:
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        return lock

    async def _process(self, key: str, data: Optional[Dict[str, Any]] = None, claim: Optional[Claim] = None) -> None:
        """Claim a recorded update and process it to the end (or release it for a retry); updates of one
        chat are processed one at a time, in the order they arrived."""
        async with self._lock(_chat_of(data if claim is None else claim.payload)):
            await self._process_claimed(key, claim)

    async def _process_claimed(self, key: str, claim: Optional[Claim]) -> None:
        try:
            if claim is None:
                claim = await asyncio.to_thread(self.inbound.claim, key)
            if not claim.mine:
                return
            if claim.attempt == 1:
                metrics.MESSAGES_RECEIVED.labels("telegram").inc()
            if claim.payload is None:
                logger.error("telegram: update %s has no recorded payload; dropped", key)
                await asyncio.to_thread(self.inbound.finish, key, [], late=True)
                return
        except Exception as exc:
            logger.error("telegram: cannot claim update %s (%s); the recovery sweep will", key, exc)
            return
        keep = asyncio.ensure_future(self.inbound.keep_alive(key))
        self._held.add(key)
        try:
            await self.sender.ensure_initialized()
            update = Update.de_json(claim.payload, self.sender.bot)
            await self._handle(key, update, claim)
        except Exception as exc:
            logger.exception("telegram: failed to process update %s", key)
            try:
                await asyncio.to_thread(self.inbound.fail, key, "error", type(exc).__name__)
            except Exception:
                pass
        finally:
            keep.cancel()
            self._held.discard(key)

    async def _recover(self) -> None:
        """Updates acknowledged but not answered (the process died, or a try failed): processed again."""
        for key in await asyncio.to_thread(self.inbound.due):
            if key in self._held:  # ours and still in progress (a blocked loop let the lease lapse)
                continue
            claim = await asyncio.to_thread(self.inbound.claim, key)
            if claim.state == "failed":
                logger.error("telegram: update %s given up after %d attempts", key, self.inbound.max_attempts)
            elif claim.mine:
                logger.info("telegram: recovering update %s (attempt %d)", key, claim.attempt)
                metrics.MESSAGES_REDELIVERED.labels("telegram").inc()
                await self._process(key, claim=claim)

    async def _handle(self, key: str, update: Update, claim: Claim) -> None:
        sender = self.sender
        text: Optional[str] = None
        canned: Optional[str] = None
        photo: List[Any] = []
        extra: Dict[str, Any] = {}
        if update.callback_query is not None:
            cq = update.callback_query
            if claim.reply is None:
                try:
                    await sender.bot.answer_callback_query(cq.id)
                except TelegramError as exc:
                    logger.debug("telegram: answerCallbackQuery failed: %s", exc)
            user: Optional[User] = cq.from_user
            chat_id = cq.message.chat.id if cq.message is not None else cq.from_user.id
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
            elif msg.photo or (msg.document is not None and (msg.document.mime_type or "").startswith("image/")):
                text = intent_text(PHOTO_INTENT, lang)  # to Rasa: the agent sees it in a handoff, a rule otherwise
                photo = list(msg.photo) or [msg.document]
                extra = {"caption": msg.caption[:1000]} if msg.caption else {}
            elif (msg.venue or msg.location) is not None:
                where = msg.venue.location if msg.venue is not None else msg.location
                assert where is not None  # one of the two is set (checked above)
                label = f"{msg.venue.title}, {msg.venue.address}" if msg.venue is not None else ""
                extra = location_metadata(where.latitude, where.longitude, label) or {}
                text = intent_text(LOCATION_INTENT, lang) if extra else None
                canned = None if extra else _REPLIES[lang]["location"]
            else:
                canned = _REPLIES[lang]["media"]
        else:
            await asyncio.to_thread(self.inbound.finish, key, [], late=True)
            return  # edited messages, channel posts, …: nothing to answer
        sender_id = f"telegram:{chat_id}"
        self.outbound.record_inbound(sender_id, "telegram")
        messages = claim.reply  # recorded by a processor that died while sending: send the rest only
        if messages is None:
            if canned is not None:
                messages = [{"text": canned}]
            elif not text:
                messages = []
            else:
                metadata = {"telegram": {"chat_id": chat_id, "user_id": user.id if user else None,
                                         "language_code": user.language_code if user else None,
                                         "update_id": update.update_id}, **extra}
                if photo:
                    metadata["media"] = await ChannelMediaStore(self.redis, env=self.ctx.env).fetch_telegram(sender.bot, photo, sender_id)
                try:
                    messages = await self._ask_rasa(text, chat_id, sender_id, metadata)
                except Exception as exc:
                    logger.exception("telegram: Rasa failed on a message from %s", sender_id)
                    await asyncio.to_thread(self.inbound.fail, key, "rasa", type(exc).__name__)
                    await sender.send_text(chat_id, _REPLIES[lang]["error"])
                    return
            if not await asyncio.to_thread(self.inbound.save_reply, key, messages):
                logger.warning("telegram: update %s was taken over by another processor", key)
                return
        for i in range(claim.sent, len(messages)):
            await sender.send(str(chat_id), [messages[i]])
            await asyncio.to_thread(self.inbound.sent, key, i + 1)
        await asyncio.to_thread(self.inbound.finish, key, messages, late=True)

    async def _ask_rasa(self, text: str, chat_id: Any, sender_id: str,
                        metadata: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Rasa's whole answer, collected (sent after it is recorded; raises when Rasa fails)."""
        if self._on_new_message is None:
            raise RuntimeError("the Telegram channel has no Rasa handler yet")
        await self.sender.typing(chat_id)
        typing = asyncio.ensure_future(self._keep_typing(chat_id))
        try:
            collector = CollectingOutputChannel()
            await self._on_new_message(UserMessage(text, collector, sender_id, input_channel=self.name(),
                                                   metadata=metadata))
        finally:
            typing.cancel()
        return [{k: v for k, v in m.items() if k != "recipient_id"} for m in collector.messages]

    async def _keep_typing(self, chat_id: Any) -> None:
        while True:
            await asyncio.sleep(_TYPING_EVERY_S)
            await self.sender.typing(chat_id)

    def get_output_channel(self) -> Optional[TelegramOutput]:
        return TelegramOutput(self.sender) if self.config.enabled else None
