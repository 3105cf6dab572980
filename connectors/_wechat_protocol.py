"""WeChat Official Account wire protocol: signatures, replay window, XML hardening, AES, splitting.

Pure functions (no I/O) so the official test vectors in `docs/protocols.md` can check them byte for byte.
wechatpy does the AES and the XML parsing; we add what it lacks: constant-time signature checks, a
timestamp window, a size cap and a DOCTYPE/ENTITY ban before any parser sees the body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple, cast

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.errors import ConnectorError
from connectors._text import split_by, utf8_len

__all__ = [
    "MAX_BODY_BYTES",
    "REPLAY_WINDOW_S",
    "MAX_TEXT_BYTES",
    "ProtocolError",
    "sign",
    "check_signature",
    "check_timestamp",
    "harden_xml",
    "decrypt",
    "encrypt_reply",
    "parse",
    "dedupe_key",
    "kind",
    "render_text_reply",
    "split_text",
]

MAX_BODY_BYTES = 64 * 1024
"""WeChat pushes are a few hundred bytes; anything above this is not WeChat."""
REPLAY_WINDOW_S = 300
"""Reject pushes whose `timestamp` is further than this from our clock (seconds)."""
MAX_TEXT_BYTES = 2000
"""Customer-service text limit we keep under (WeChat cuts at ~2048 UTF-8 bytes, ~680 CJK characters)."""

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class ProtocolError(ConnectorError):
    """A push failed a protocol check; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message, platform="wechat", code=status)
        self.status = status


def sign(token: str, *parts: str) -> str:
    """WeChat's SHA-1 signature: sort the strings, concatenate, hex digest (lower case)."""
    data = sorted(str(p) for p in (token, *parts))
    return hashlib.sha1("".join(data).encode("utf-8")).hexdigest()


def check_signature(token: str, signature: Optional[str], *parts: str) -> None:
    """Raise ProtocolError(403) unless `signature` equals `sign(token, *parts)` (constant time)."""
    if not signature or not all(p is not None for p in parts):
        raise ProtocolError("missing signature parameters", 403)
    if not hmac.compare_digest(sign(token, *parts).encode(), str(signature).lower().encode()):
        raise ProtocolError("signature mismatch", 403)


def check_timestamp(timestamp: Optional[str], now: Optional[float] = None,
                    window: float = REPLAY_WINDOW_S) -> int:
    """Return the timestamp as int; raise ProtocolError(403) when missing or outside ±window s."""
    try:
        ts = int(str(timestamp))
    except (TypeError, ValueError):
        # cause dropped: the message quotes the bad timestamp
        raise ProtocolError(f"bad timestamp {timestamp!r}", 403) from None
    now = time.time() if now is None else now
    if abs(now - ts) > window:
        raise ProtocolError(f"timestamp {ts} is {int(now - ts)} s away from now (window {window} s)", 403)
    return ts


def harden_xml(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> str:
    """Size-cap and screen a body before parsing: no DTD, no entities, valid UTF-8."""
    if len(body) > max_bytes:
        raise ProtocolError(f"body of {len(body)} bytes exceeds {max_bytes}", 413)
    if _FORBIDDEN.search(body):
        raise ProtocolError("DOCTYPE/ENTITY declarations are not allowed", 400)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError("body is not UTF-8", 400) from exc
    if not text.strip():
        raise ProtocolError("empty body", 400)
    return text


def _parse_dict(xml: str) -> Dict[str, Any]:
    try:
        doc = xmltodict.parse(xml, disable_entities=True)
    except Exception as exc:  # expat errors come in several types
        raise ProtocolError(f"malformed XML: {exc}", 400) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("xml"), dict):
        raise ProtocolError("XML root must be <xml>", 400)
    return cast(Dict[str, Any], doc["xml"])


def decrypt(crypto: WeChatCrypto, xml: str, msg_signature: Optional[str],
            timestamp: str, nonce: str) -> str:
    """Verify `msg_signature` and decrypt a safe/compatible-mode envelope to the inner XML."""
    fields = _parse_dict(xml)
    encrypt = fields.get("Encrypt")
    if not encrypt:
        raise ProtocolError("safe mode is on but the body has no <Encrypt>", 400)
    check_signature(crypto.token, msg_signature, timestamp, nonce, encrypt)
    try:
        plain = crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise ProtocolError("envelope signature or appid mismatch", 403) from exc
    except Exception as exc:  # binascii/ValueError/struct/UnicodeDecodeError on bad ciphertext
        raise ProtocolError(f"undecryptable envelope ({type(exc).__name__})", 400) from exc
    if _FORBIDDEN.search(plain.encode("utf-8")):
        raise ProtocolError("DOCTYPE/ENTITY declarations are not allowed", 400)
    return cast(str, plain)


def encrypt_reply(crypto: WeChatCrypto, reply_xml: str, nonce: str, timestamp: Optional[str] = None) -> str:
    """Wrap a passive reply in the safe-mode envelope (never call this for `success`/empty)."""
    return cast(str, crypto.encrypt_message(reply_xml, nonce, timestamp))


def parse(xml: str) -> Any:
    """Parse the (inner) XML into a wechatpy message/event object."""
    _parse_dict(xml)  # validates shape with entities disabled before wechatpy's own parse
    try:
        return parse_message(xml)
    except Exception as exc:
        raise ProtocolError(f"unparseable message: {exc}", 400) from exc


def kind(msg: Any) -> Tuple[str, str]:
    """(MsgType, Event) in lower case from the raw XML fields (also for types wechatpy does not know)."""
    data = getattr(msg, "_data", {}) or {}
    return str(data.get("MsgType") or "").lower(), str(data.get("Event") or "").lower()


def dedupe_key(msg: Any) -> str:
    """Idempotency key: MsgId for messages, FromUserName+CreateTime+Event(+EventKey) for events."""
    data = getattr(msg, "_data", {}) or {}
    msg_id = data.get("MsgId") or data.get("MsgID")
    msg_type, event = kind(msg)
    if msg_id and msg_type != "event":
        return f"msg:{msg_id}"
    return f"evt:{data.get('FromUserName', '')}:{data.get('CreateTime', '')}:{event}:{data.get('EventKey') or ''}"


def render_text_reply(to_user: str, from_user: str, content: str, now: Optional[int] = None) -> str:
    """A passive text reply (the XML WeChat expects in the HTTP response)."""
    def cdata(s: str) -> str:
        return "<![CDATA[" + s.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(now if now is not None else time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def split_text(text: str, max_bytes: int = MAX_TEXT_BYTES) -> List[str]:
    """Split at paragraph, line, then sentence boundaries so each part fits in `max_bytes` UTF-8."""
    return split_by(text, max_bytes, utf8_len)


def join_texts(texts: Iterable[str]) -> str:
    """Join several bot messages into one passive reply."""
    return "\n\n".join(t.strip() for t in texts if t and t.strip())
