"""Rasa input channel for a WeChat Official Account (公众号), plain and safe (AES) mode.

In `credentials.yml`:

    connectors.wechat.WeChatInput:
      # every key is optional; a missing one is read from the environment (see docs/channels.md)

Routes (under `/webhooks/wechat/`): `GET /` health, `GET /webhook` URL verification (echoes `echostr`),
`POST /webhook` messages. Each POST is checked before anything else runs: body ≤ 64 KiB (413), signature
(403), timestamp within ±300 s (403), no DOCTYPE/ENTITY (400), safe-mode `msg_signature` and appid (403).
In plain mode (where the signature does not cover the body) a timestamp+nonce pair is kept for twice the
replay window with a hash of its body, and the same pair with another body is refused (403): a captured URL
cannot carry a forged message.

Delivery is at-least-once in, exactly-once out (`connectors._inbound`, records
`canyu:inbound:wechat:{appid}:{MsgId}`, events by FromUserName+CreateTime+Event+EventKey, kept a day):
- a new message is claimed with a short lease (renewed while it is processed) and answered once;
- WeChat's retry while it is processed (on this or another instance) waits for that answer until our
  deadline and gets the same passive reply, or `success` when the answer goes out late;
- a retry of an answered message gets the recorded reply again, never a second processing;
- when the processing instance dies, its lease expires within seconds: WeChat's next retry, or the recovery
  sweep every instance runs (at start-up, then every half lease), processes the message again;
- when Rasa fails, the user gets a short apology and the message is released for a retry.

The Rasa sender id is `wechat:{openid}`. A picture (downloaded by `MediaId`) and a location pin go to Rasa as
`/share_photo` and `/share_location` (connectors/_wechat_interpret.py, connectors/_media.py). The answer goes back as a passive reply when Rasa finishes within
`passive_deadline` seconds (4 s; WeChat gives up at 5 s); otherwise the request is answered `success` at once
and the answer follows through `message/custom/send` (`bot.outbound.send_to_user` with the idempotency key
`wechat:{appid}:{msg key}`, so a retried send delivers once; 48-hour window, split at ~2 KB). A late send that
fails releases the message, and the recovery sweep sends the recorded reply again (same key).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Tuple

import redis
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto

from bot import keys, metrics
from bot.context import AppContext, build_context
from connectors._channel import PlatformInput
from connectors._inbound import Claim, InboundStore
from connectors._media import ChannelMediaStore
from connectors._wechat_api import WeChatApi
from connectors._wechat_config import REPLIES as _REPLIES, WeChatConfig, sender_from_env
from connectors._wechat_interpret import interpret, language_of, message_metadata
from connectors._wechat_protocol import (
    MAX_TEXT_BYTES,
    ProtocolError,
    check_signature,
    check_timestamp,
    decrypt,
    dedupe_key,
    encrypt_reply,
    harden_xml,
    kind,
    parse,
    render_text_reply,
)
from connectors._wechat_send import WeChatSender, render_all

__all__ = ["WeChatInput", "WeChatConfig", "sender_from_env"]

logger = logging.getLogger(__name__)

_WINDOW_EVENTS = {"subscribe", "subscribe_scan", "scan", "click", "scancode_push", "scancode_waitmsg"}


class WeChatInput(PlatformInput):
    """WeChat Official Account webhook (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WeChatInput":
        """The composition root of this channel in the Rasa server: one context (settings, Redis, senders)."""
        ctx = build_context()
        return cls(WeChatConfig.load(credentials, ctx.env), ctx)

    def __init__(self, config: WeChatConfig, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.config = config
        ctx.senders.register("wechat", lambda: self.sender)  # built when a worker first needs it
        self._crypto: Any = WeChatCrypto(config.token, config.encoding_aes_key, config.app_id) if config.safe_mode \
            else None
        self._sender: Optional[WeChatSender] = None
        self._inbound: Optional[InboundStore] = None
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None
        self._sweeper: Optional["asyncio.Task[Any]"] = None
        self._held: Set[str] = set()

    @property
    def inbound(self) -> InboundStore:
        """This account's inbound message records (`connectors._inbound`)."""
        if self._inbound is None:
            self._inbound = InboundStore(self.redis, f"wechat:{self.config.app_id}", lease=self.config.lease)
        return self._inbound

    @property
    def sender(self) -> Optional[WeChatSender]:
        if self._sender is None and self.config.app_id and self.config.app_secret:
            api = WeChatApi(self.config.app_id, self.config.app_secret, self.redis, self.config.api_base,
                            self.config.token_mode)
            self._sender = WeChatSender(api, self.redis)
        return self._sender

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("wechat_webhook", inspect.getmodule(self).__name__)  # type: ignore[union-attr]
        self._on_new_message = on_new_message
        self.run_deliveries(bp)  # queued replies go out with the API credentials, also without the webhook token
        if self.config.enabled:
            self.announce(bp)

            @bp.listener("after_server_start")
            async def start(app: Any, loop: Any) -> None:
                self._sweeper = asyncio.ensure_future(self._sweep())

            @bp.listener("before_server_stop")
            async def stop(app: Any, loop: Any) -> None:
                await self._shutdown()

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.config.enabled else "disabled"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.config.enabled:
                return response.text("wechat channel disabled", status=404)
            a = request.args
            try:
                check_signature(self.config.token, a.get("signature"), a.get("timestamp"), a.get("nonce"))
            except ProtocolError:
                return response.text("forbidden", status=403)
            return response.text(a.get("echostr", ""))

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.config.enabled:
                return response.text("wechat channel disabled", status=404)
            try:
                return await self._receive(request)
            except ProtocolError as exc:
                logger.warning("wechat: rejected push: %s", exc)
                return response.text("rejected", status=exc.status)

        return bp

    async def _receive(self, request: Request) -> HTTPResponse:
        started = time.monotonic()
        a = request.args
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.config.max_body:
            raise ProtocolError(f"body of {declared} bytes exceeds {self.config.max_body}", 413)
        timestamp, nonce = a.get("timestamp"), a.get("nonce")
        check_signature(self.config.token, a.get("signature"), timestamp, nonce)
        check_timestamp(timestamp, window=self.config.replay_window)
        xml = harden_xml(request.body or b"", self.config.max_body)
        encrypted = a.get("encrypt_type") == "aes"
        if encrypted:
            if self._crypto is None:
                raise ProtocolError("encrypted push but WECHAT_ENCODING_AES_KEY is not set", 400)
            xml = decrypt(self._crypto, xml, a.get("msg_signature"), timestamp, nonce)
        elif self.config.safe_mode:
            raise ProtocolError("plaintext push while safe mode is configured", 403)
        storage_error: Optional[Exception] = None
        if not encrypted:
            try:
                self._check_nonce(timestamp or "", nonce or "", xml)
            except redis.RedisError as exc:  # checked below: nothing is processed without Redis
                storage_error = exc
        msg = parse(xml)
        key = dedupe_key(msg)
        msg_type, event = kind(msg)
        if event == "unsubscribe":
            return response.text("success")
        deadline = started + self.config.passive_deadline
        try:
            if storage_error is not None:
                raise storage_error
            claim = await asyncio.to_thread(self.inbound.claim, key)
        except redis.RedisError as exc:  # Redis unreachable: an apology (nothing processed), not silence
            logger.error("wechat: cannot record message %s (%s); answering with an apology", key, exc)
            metrics.MESSAGES_FAILED.labels("wechat", "redis").inc()
            from bot.language import detect_language

            lang = detect_language(str(getattr(msg, "content", "") or "")) or self.config.language
            return self._passive(msg, _REPLIES[lang if lang in _REPLIES else "zh"]["error"], nonce, encrypted)
        if not claim.mine:  # WeChat's retry (on this or another instance) of a message we already have
            metrics.MESSAGES_REDELIVERED.labels("wechat").inc()
        if claim.state == "busy":  # still being processed: wait for its answer (or take it over if it dies)
            claim = await self.inbound.wait(key, deadline)
        if claim.state in ("answered", "failed"):
            return self._recorded(msg, claim, nonce, encrypted)
        if claim.state == "busy":  # still processing at our deadline: its answer goes out late
            late = await asyncio.to_thread(self.inbound.mark_late, key)
            return self._recorded(msg, late, nonce, encrypted)
        # ours: new, released after a failure, or taken over from a processor that died
        if claim.attempt == 1:
            metrics.MESSAGES_RECEIVED.labels("wechat").inc()
        payload = claim.payload
        if payload is None:
            payload = self._payload(msg, msg_type, event)
            await asyncio.to_thread(self.inbound.save_payload, key, payload)
        if not payload.get("text") and claim.reply is None:  # a canned reply or nothing: no Rasa, no wait
            how, text = await self._work(key, payload, claim)
            return self._passive(msg, text, nonce, encrypted) if how in ("passive", "error") and text \
                else response.text("success")
        if self.config.passive_deadline <= 0:  # 0 = always answer through the customer-service API
            await asyncio.to_thread(self.inbound.mark_late, key)
        task = self._spawn(self._work(key, payload, claim))
        done: Set[Any] = set()
        remaining = deadline - time.monotonic()
        if remaining > 0:
            try:
                done, _ = await asyncio.wait({task}, timeout=remaining)
            except asyncio.CancelledError:  # WeChat hung up early: the answer still goes out, later
                self.inbound.mark_late(key)
                raise
        if done:
            how, text = task.result()
            if how in ("passive", "error") and text:
                return self._passive(msg, text, nonce, encrypted)
            return response.text("success")
        if self.sender is not None and payload.get("text"):  # "typing…" until the late answer arrives
            self._spawn(asyncio.to_thread(self.sender.api.typing, msg.source))
        late = await asyncio.to_thread(self.inbound.mark_late, key)
        if late.state == "answered" and not late.late:  # ready just now
            return self._recorded(msg, late, nonce, encrypted)
        logger.info("wechat: answer for %s not ready in %.1f s; replying via the customer-service API",
                    payload.get("sender_id"), self.config.passive_deadline)
        return response.text("success")

    def _payload(self, msg: Any, msg_type: str, event: str) -> Dict[str, Any]:
        """What to process for a new message (interpreted once: a button number is consumed here)."""
        sender_id = f"wechat:{msg.source}"
        if msg_type != "event" or event in _WINDOW_EVENTS:  # what opens WeChat's customer-service window
            self.outbound.record_inbound(sender_id, "wechat")
            self._spawn(self._deliver_pending(sender_id))
        text, canned = self._interpret(msg, msg_type, event, sender_id)
        metadata = message_metadata(msg, msg_type)
        return {"sender_id": sender_id, "text": text, "canned": canned, "metadata": metadata}

    def _recorded(self, msg: Any, claim: Claim, nonce: Optional[str], encrypted: bool) -> HTTPResponse:
        """A redelivery: the recorded passive reply again, or `success` (late, in progress, given up)."""
        if claim.state != "answered" or claim.late or not claim.reply:
            return response.text("success")
        text = render_all(claim.reply, f"wechat:{msg.source}", None)
        if not text or len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            return response.text("success")
        return self._passive(msg, text, nonce, encrypted)

    async def _work(self, key: str, payload: Dict[str, Any], claim: Claim) -> Tuple[str, str]:
        """Process a claimed message to the end: ("passive", text) when the reply is the HTTP answer,
        ("late", "") when it went through the customer-service API, ("error", apology) after a failure
        (the message is released for a retry), ("lost", "") when another processor took it over."""
        sender_id = str(payload.get("sender_id") or "")
        keep = asyncio.ensure_future(self.inbound.keep_alive(key))
        self._held.add(key)
        try:
            messages = claim.reply  # a crashed processor already had the reply: send it, do not ask again
            if messages is None:
                if payload.get("canned"):
                    messages = [{"text": payload["canned"]}]
                elif payload.get("text"):
                    try:
                        messages = await self._ask_rasa(payload)
                    except Exception as exc:
                        logger.exception("wechat: Rasa failed on a message from %s", sender_id)
                        await asyncio.to_thread(self.inbound.fail, key, "rasa", type(exc).__name__)
                        return "error", _REPLIES[self._language(sender_id)]["error"]
                else:
                    messages = []
                await asyncio.to_thread(self.inbound.save_reply, key, messages)
            text = render_all(messages, sender_id, self.redis) if messages else ""
            if not text or len(text.encode("utf-8")) <= MAX_TEXT_BYTES:
                how = await asyncio.to_thread(self.inbound.finish, key, messages)
                if how is None:
                    return "lost", ""
                if how == "passive":
                    return "passive", text
            return await self._send_late(key, sender_id, messages)
        finally:
            keep.cancel()
            self._held.discard(key)

    async def _shutdown(self) -> None:
        """Stop the sweep and release what this process holds, so another process takes it at once."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for key in list(self._held):
            try:
                self.inbound.fail(key, "shutdown", retry_after=0)
            except Exception as exc:
                logger.warning("wechat: could not release message %s at shutdown: %s", key, exc)

    async def _send_late(self, key: str, sender_id: str, messages: List[Dict[str, Any]]) -> Tuple[str, str]:
        """The customer-service API, at most once per message (`bot.outbound`'s idempotency key); a failed
        send releases the message and the recovery sweep sends the recorded reply again."""
        if self.sender is None:
            logger.error("wechat: answer for %s dropped: set WECHAT_APP_ID/WECHAT_APP_SECRET to send late replies",
                         sender_id)
            await asyncio.to_thread(self.inbound.finish, key, messages, late=True)
            return "late", ""
        try:
            report = await self.outbound.send_to_user(sender_id, messages, channel="wechat",
                                                      idempotency_key=f"wechat:{self.config.app_id}:{key}")
        except Exception as exc:
            logger.error("wechat: late answer to %s not sent (%s); it will be retried", sender_id, exc)
            await asyncio.to_thread(self.inbound.fail, key, "send", type(exc).__name__)
            return "error", ""
        logger.info("wechat: late answer to %s: %d sent, %d queued", sender_id, report.sent, report.queued)
        await asyncio.to_thread(self.inbound.finish, key, messages, late=True)
        return "late", ""

    async def _recover(self) -> None:
        """Messages whose processor died (lease expired) or that failed (released): processed again, the
        answer through the customer-service API (WeChat was told `success` or gave up long ago)."""
        for key in await asyncio.to_thread(self.inbound.due):
            if key in self._held:  # ours and still in progress (a blocked loop let the lease lapse)
                continue
            claim = await asyncio.to_thread(self.inbound.claim, key)
            if claim.state == "failed":
                logger.error("wechat: message %s given up after %d attempts", key, self.inbound.max_attempts)
                continue
            if not claim.mine:
                continue
            if claim.payload is None:  # the processor died before it recorded what to process
                await asyncio.to_thread(self.inbound.finish, key, [], late=True)
                continue
            await asyncio.to_thread(self.inbound.mark_late, key)
            metrics.MESSAGES_REDELIVERED.labels("wechat").inc()
            logger.info("wechat: recovering message %s (attempt %d)", key, claim.attempt)
            await self._work(key, claim.payload, claim)

    def _check_nonce(self, timestamp: str, nonce: str, body: Any) -> None:
        """Plain mode signs only token, timestamp and nonce, not the body: a signed URL seen once must not
        carry a different body within the replay window (WeChat's own retries resend the same body)."""
        key = keys.wechat_nonce(self.config.app_id, timestamp, nonce)
        digest = hashlib.sha256(body if isinstance(body, bytes) else str(body).encode("utf-8")).hexdigest()
        if not self.redis.set(key, digest, nx=True, ex=2 * int(self.config.replay_window)):
            if self.redis.get(key) != digest:
                raise ProtocolError("nonce already used with another body (replay)", 403)

    def _language(self, sender_id: str) -> str:
        return language_of(self.redis, sender_id, self.config.language)

    def _interpret(self, msg: Any, msg_type: str, event: str,
                   sender_id: str) -> Tuple[Optional[str], Optional[str]]:
        return interpret(msg, msg_type, event, sender_id, self.redis, self._language(sender_id))

    def _passive(self, msg: Any, content: str, nonce: Optional[str], encrypted: bool) -> HTTPResponse:
        xml = render_text_reply(msg.source, msg.target, content)
        if encrypted and self._crypto is not None:
            xml = encrypt_reply(self._crypto, xml, nonce or str(int(time.time())))
        return response.text(xml, content_type="application/xml")

    async def _ask_rasa(self, payload: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Rasa's answer to one message (raises when Rasa fails)."""
        if self._on_new_message is None:
            raise RuntimeError("the WeChat channel has no Rasa handler yet")
        collector = CollectingOutputChannel()
        metadata = dict(payload.get("metadata") or {})
        media_id = (metadata.get("wechat") or {}).get("media_id")
        if media_id:
            media = ChannelMediaStore(self.redis, env=self.ctx.env)
            metadata["media"] = await asyncio.to_thread(media.fetch_wechat, self._api(), media_id, payload["sender_id"])
        await self._on_new_message(UserMessage(payload["text"], collector, payload["sender_id"],
                                               input_channel=self.name(), metadata=metadata))
        messages = [{k: v for k, v in m.items() if k != "recipient_id"} for m in collector.messages]
        return [m for m in messages if any(m.get(k) for k in ("text", "buttons", "image", "custom"))]

    async def _deliver_pending(self, sender_id: str) -> None:
        if self.sender is None or not self.redis.llen(keys.pending(sender_id)):
            return
        try:
            await self.outbound.deliver_pending(sender_id)
        except Exception:
            logger.exception("wechat: could not deliver queued messages to %s", sender_id)

    def _api(self) -> Optional[WeChatApi]:
        return self.sender.api if self.sender is not None else None

    def get_output_channel(self) -> Optional[Any]:
        return None
