"""Rasa input channel for a WeChat Official Account (公众号), plain and safe (AES) mode.

In `credentials.yml`:

    connectors.wechat.WeChatInput:
      # every key is optional; a missing one is read from the environment (see docs/channels.md)

Routes (under `/webhooks/wechat/`): `GET /` health, `GET /webhook` URL verification (echoes `echostr`),
`POST /webhook` messages. Each POST is checked before anything else runs: body ≤ 64 KiB (413), signature
(403), timestamp within ±300 s (403), no DOCTYPE/ENTITY (400), safe-mode `msg_signature` and appid (403).
In plain mode (where the signature does not cover the body) a timestamp+nonce pair is kept for twice the
replay window with a hash of its body, and the same pair with another body is refused (403): a captured URL
cannot carry a forged message. Then it is deduplicated in Redis (`canyu:wechat:seen:{appid}:{MsgId}`, events by
FromUserName+CreateTime+Event+EventKey, 1 hour) so WeChat's three retries produce one reply.

The Rasa sender id is `wechat:{openid}`. The answer goes back as a passive reply when Rasa finishes within
`passive_deadline` seconds (4 s; WeChat gives up at 5 s); otherwise the request is answered `success` at once
and the answer follows through `message/custom/send` (`bot.outbound`, 48-hour window, split at ~2 KB).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Tuple

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot import outbound
from bot.errors import ConfigError
from bot.storage import connect_redis
from connectors._channel import PlatformInput, Settings
from connectors._wechat_api import DEFAULT_API_BASE, WeChatApi
from connectors._wechat_protocol import (
    MAX_BODY_BYTES,
    MAX_TEXT_BYTES,
    REPLAY_WINDOW_S,
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
from connectors._wechat_send import WeChatSender, button_payload, render_all

__all__ = ["WeChatInput", "WeChatConfig", "sender_from_env"]

logger = logging.getLogger(__name__)

DEFAULT_PASSIVE_DEADLINE_S = 4.0
_SEEN_TTL_S = 3600
_WINDOW_EVENTS = {"subscribe", "subscribe_scan", "scan", "click", "scancode_push", "scancode_waitmsg"}
_REPLIES = {
    "zh": {
        "image": "收到图片啦！我还看不懂图片，能用文字说说遇到了什么问题吗？",
        "voice": "我暂时听不了语音，打字告诉我好吗？",
        "video": "收到视频！我还看不了视频，用文字描述一下问题吧。",
        "location": "收到你的位置📍 想找附近的小米之家或维修点吗？告诉我你在哪个城市就行。",
        "link": "收到链接！想问这个链接里的什么？直接告诉我吧。",
        "other": "这个我还处理不了，发文字给我吧～",
        "error": "抱歉，我这边出了点问题，请稍后再发一次。",
    },
    "en": {
        "image": "Got your picture! I can't read images yet. Could you tell me in words what's wrong?",
        "voice": "I can't listen to voice messages yet. Could you type it?",
        "video": "Got your video! I can't watch videos yet. Could you describe the problem in words?",
        "location": "Thanks for the location 📍 Looking for a Millet store or repair center? Tell me your city.",
        "link": "Got the link! What would you like to know about it?",
        "other": "I can't handle that yet. Send me a text message?",
        "error": "Sorry, something went wrong on my side. Please send that again in a moment.",
    },
}


@dataclass(frozen=True)
class WeChatConfig:
    """Settings of the WeChat channel (credentials.yml keys override environment variables)."""

    token: str = ""
    app_id: str = ""
    app_secret: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    api_base: str = DEFAULT_API_BASE
    token_mode: str = "stable"
    passive_deadline: float = DEFAULT_PASSIVE_DEADLINE_S
    replay_window: float = REPLAY_WINDOW_S
    max_body: int = MAX_BODY_BYTES
    language: str = "zh"

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)

    @classmethod
    def load(cls, credentials: Optional[Mapping[str, Any]] = None,
             env: Optional[Mapping[str, str]] = None) -> "WeChatConfig":
        settings = Settings(credentials, env)
        pick = settings.text

        def number(key: str, var: str, default: float) -> float:
            return settings.number(key, var, default, unit=" of seconds")

        cfg = cls(
            token=pick("token", "WECHAT_TOKEN"),
            app_id=pick("app_id", "WECHAT_APP_ID"),
            app_secret=pick("app_secret", "WECHAT_APP_SECRET"),
            encoding_aes_key=pick("encoding_aes_key", "WECHAT_ENCODING_AES_KEY"),
            api_base=pick("api_base", "WECHAT_API_BASE", DEFAULT_API_BASE),
            token_mode=pick("token_mode", "WECHAT_TOKEN_MODE", "stable"),
            passive_deadline=number("passive_deadline", "CANYU_WECHAT_PASSIVE_DEADLINE", DEFAULT_PASSIVE_DEADLINE_S),
            replay_window=number("replay_window", "CANYU_WECHAT_REPLAY_WINDOW", REPLAY_WINDOW_S),
            language=pick("language", "WECHAT_DEFAULT_LANGUAGE", "zh"),
        )
        if cfg.token_mode not in ("stable", "classic"):
            raise ConfigError(f"WECHAT_TOKEN_MODE={cfg.token_mode!r}; use 'stable' or 'classic'")
        if cfg.encoding_aes_key and len(cfg.encoding_aes_key) != 43:
            raise ConfigError(f"WECHAT_ENCODING_AES_KEY has {len(cfg.encoding_aes_key)} characters; WeChat's "
                              "EncodingAESKey has exactly 43 (copy it from 设置与开发 → 基本配置)")
        if cfg.enabled and not (cfg.app_id and cfg.app_secret):
            logger.warning("wechat: WECHAT_APP_ID/WECHAT_APP_SECRET missing: only passive replies will work")
        return cfg


def sender_from_env(env: Optional[Mapping[str, str]] = None) -> WeChatSender:
    """A WeChat sender for processes outside the Rasa server (the agent console)."""
    cfg = WeChatConfig.load(None, env)
    if not (cfg.app_id and cfg.app_secret):
        raise ConfigError("WECHAT_APP_ID and WECHAT_APP_SECRET must be set to send WeChat messages")
    r = connect_redis()
    return WeChatSender(WeChatApi(cfg.app_id, cfg.app_secret, r, cfg.api_base, cfg.token_mode), r)


class WeChatInput(PlatformInput):
    """WeChat Official Account webhook (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WeChatInput":
        return cls(WeChatConfig.load(credentials))

    def __init__(self, config: Optional[WeChatConfig] = None, redis: Any = None) -> None:
        super().__init__(redis)
        self.config = config or WeChatConfig.load()
        self._crypto: Any = None
        if self.config.safe_mode:
            from wechatpy.crypto import WeChatCrypto

            self._crypto = WeChatCrypto(self.config.token, self.config.encoding_aes_key, self.config.app_id)
        self._sender: Optional[WeChatSender] = None

    @property
    def sender(self) -> Optional[WeChatSender]:
        if self._sender is None and self.config.app_id and self.config.app_secret:
            api = WeChatApi(self.config.app_id, self.config.app_secret, self.redis, self.config.api_base,
                            self.config.token_mode)
            self._sender = WeChatSender(api, self.redis)
            outbound.register_sender("wechat", self._sender)
        return self._sender

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("wechat_webhook", inspect.getmodule(self).__name__)  # type: ignore[union-attr]
        outbound.register_sender("wechat", lambda: self.sender)  # built when a worker first needs it
        if self.config.enabled:
            self.announce(bp)

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
                return await self._receive(request, on_new_message)
            except ProtocolError as exc:
                logger.warning("wechat: rejected push: %s", exc)
                return response.text("rejected", status=exc.status)

        return bp

    async def _receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                       ) -> HTTPResponse:
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
        else:
            self._check_nonce(timestamp or "", nonce or "", xml)
        msg = parse(xml)
        key = dedupe_key(msg)
        if not self.redis.set(f"canyu:wechat:seen:{self.config.app_id}:{key}", "1", nx=True, ex=_SEEN_TTL_S):
            logger.info("wechat: duplicate delivery %s ignored", key)
            return response.text("success")

        sender_id = f"wechat:{msg.source}"
        msg_type, event = kind(msg)
        if event == "unsubscribe":
            return response.text("success")
        if msg_type != "event" or event in _WINDOW_EVENTS:  # what opens WeChat's customer-service window
            outbound.record_inbound(sender_id, "wechat", self.redis)
            self._spawn(self._deliver_pending(sender_id))

        text, canned = self._interpret(msg, msg_type, event, sender_id)
        if canned:
            return self._passive(msg, canned, nonce, encrypted)
        if text is None:
            return response.text("success")

        task = self._spawn(self._ask_rasa(on_new_message, text, sender_id, msg))
        done: Set[Any] = set()
        if self.config.passive_deadline > 0:  # 0 = always answer through the customer-service API
            try:
                done, _ = await asyncio.wait({task}, timeout=self.config.passive_deadline)
            except asyncio.CancelledError:  # WeChat hung up early: the answer still goes out, later
                self._spawn(self._send_when_done(task, sender_id))
                raise
        if done:
            messages = task.result()
            reply = render_all(messages, sender_id, self.redis)
            if not reply:
                return response.text("success")
            if len(reply.encode("utf-8")) <= MAX_TEXT_BYTES:
                return self._passive(msg, reply, nonce, encrypted)
            self._spawn(self._send_later(sender_id, messages))
            return response.text("success")
        logger.info("wechat: answer for %s not ready in %.1f s; replying via the customer-service API",
                    sender_id, self.config.passive_deadline)
        if self.sender is not None:
            self._spawn(asyncio.to_thread(self.sender.api.typing, msg.source))
        self._spawn(self._send_when_done(task, sender_id))
        return response.text("success")

    def _check_nonce(self, timestamp: str, nonce: str, body: Any) -> None:
        """Plain mode signs only token, timestamp and nonce, not the body: a signed URL seen once must not
        carry a different body within the replay window (WeChat's own retries resend the same body)."""
        key = f"canyu:wechat:nonce:{self.config.app_id}:{timestamp}:{nonce}"
        digest = hashlib.sha256(body if isinstance(body, bytes) else str(body).encode("utf-8")).hexdigest()
        if not self.redis.set(key, digest, nx=True, ex=2 * int(self.config.replay_window)):
            if self.redis.get(key) != digest:
                raise ProtocolError("nonce already used with another body (replay)", 403)

    def _language(self, sender_id: str) -> str:
        try:
            lang = self.redis.hget(f"canyu:user:{sender_id}", "language")
        except Exception:
            lang = None
        return lang if lang in _REPLIES else self.config.language if self.config.language in _REPLIES else "zh"

    def _interpret(self, msg: Any, msg_type: str, event: str,
                   sender_id: str) -> Tuple[Optional[str], Optional[str]]:
        """(text for Rasa, None), or (None, canned reply), or (None, None) when there is nothing to say."""
        replies = _REPLIES[self._language(sender_id)]
        if msg_type == "text":
            content = (getattr(msg, "content", "") or "").strip()
            if not content:
                return None, None
            payload = button_payload(content, sender_id, self.redis)
            if payload:
                return payload, None
            from bot.language import detect_language

            lang = detect_language(content)
            if lang:
                self.redis.hset(f"canyu:user:{sender_id}", "language", lang)
            return content, None
        if msg_type == "voice":
            recognition = (getattr(msg, "recognition", None) or "").strip()
            return (recognition, None) if recognition else (None, replies["voice"])
        if msg_type in ("image", "video", "shortvideo", "location", "link"):
            return None, replies["video" if msg_type == "shortvideo" else msg_type]
        if msg_type == "event":
            if event in ("subscribe", "subscribe_scan"):
                return f'/greet{{"language": "{self._language(sender_id)}"}}', None
            if event == "click" and getattr(msg, "key", ""):
                return str(msg.key), None
            return None, None  # SCAN, LOCATION, VIEW, template results…: nothing to say
        return None, replies["other"]

    def _passive(self, msg: Any, content: str, nonce: Optional[str], encrypted: bool) -> HTTPResponse:
        xml = render_text_reply(msg.source, msg.target, content)
        if encrypted and self._crypto is not None:
            xml = encrypt_reply(self._crypto, xml, nonce or str(int(time.time())))
        return response.text(xml, content_type="application/xml")

    async def _ask_rasa(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], text: str,
                        sender_id: str, msg: Any) -> List[Dict[str, Any]]:
        collector = CollectingOutputChannel()
        metadata = {"wechat": {"openid": msg.source, "msg_type": kind(msg)[0], "account": msg.target}}
        try:
            await on_new_message(UserMessage(text, collector, sender_id, input_channel=self.name(),
                                             metadata=metadata))
        except Exception:
            logger.exception("wechat: Rasa failed on a message from %s", sender_id)
            return [{"text": _REPLIES[self._language(sender_id)]["error"]}]
        return [m for m in collector.messages if any(m.get(k) for k in ("text", "buttons", "image", "custom"))]

    async def _send_when_done(self, task: "asyncio.Task[List[Dict[str, Any]]]", sender_id: str) -> None:
        await self._send_later(sender_id, await task)

    async def _send_later(self, sender_id: str, messages: List[Dict[str, Any]]) -> None:
        if not messages:
            return
        if self.sender is None:
            logger.error("wechat: answer for %s dropped: set WECHAT_APP_ID/WECHAT_APP_SECRET to send late replies",
                         sender_id)
            return
        try:
            report = await outbound.send_to_user(sender_id, messages, channel="wechat", redis=self.redis)
            logger.info("wechat: late answer to %s: %d sent, %d queued", sender_id, report.sent, report.queued)
        except Exception:
            logger.exception("wechat: could not deliver the late answer to %s", sender_id)

    async def _deliver_pending(self, sender_id: str) -> None:
        if self.sender is None or not self.redis.llen(f"canyu:pending:{sender_id}"):
            return
        try:
            await outbound.deliver_pending(sender_id, redis=self.redis)
        except Exception:
            logger.exception("wechat: could not deliver queued messages to %s", sender_id)

    def get_output_channel(self) -> Optional[Any]:
        return None
