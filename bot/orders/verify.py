"""Prove an order is yours from another account: the order's phone number plus a one-time code.

    check = OwnershipCheck(backend, redis, get_code_sender(redis, env))
    check.start("wechat:oAbC", "M2026110501", "13800000501", "zh")   # texts a code if the phone matches
    check.verify("wechat:oAbC", "123456")                            # -> "M2026110501" (access granted) or None

Nothing the user sees depends on whether the order exists or the phone matches: `start` always behaves
the same (a code goes out only when both are right), and a wrong code is just a wrong code. A code lives
`CODE_TTL_S` seconds and allows `MAX_CODE_TRIES` tries; it is stored hashed.

Codes go out through a pluggable `CodeSender` (``CANYU_CODE_SENDER``). The only one here is ``demo``
(`DemoCodeSender`): it keeps the last code per phone in Redis, where a test (or a developer) reads it
with `DemoCodeSender.last_code`. A real shop adds its SMS gateway as another `CodeSender`.

Redis keys (owned here; names and TTLs in bot/keys.py):
- `canyu:otp:{sender_id}` hash: `order`, `code` (sha256, empty when nothing was sent), `tries`; TTL `CODE_TTL_S`
- `canyu:otp:sent:{phone}` the demo sender's last code for that phone; TTL `CODE_TTL_S`
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from typing import Any, Mapping, Optional, Protocol

from bot import keys
from bot.errors import ConfigError
from bot.orders import OrderBackend

__all__ = ["CodeSender", "DemoCodeSender", "OwnershipCheck", "get_code_sender", "same_phone", "CODE_TTL_S",
           "MAX_CODE_TRIES"]

logger = logging.getLogger(__name__)

CODE_TTL_S = keys.OTP_TTL_S
MAX_CODE_TRIES = 3


class CodeSender(Protocol):
    """Sends a one-time code to a phone number (SMS in a real shop)."""

    def send(self, phone: str, code: str, language: str) -> None:
        ...


class DemoCodeSender:
    """Keeps the code in Redis instead of texting it (`last_code` reads it back)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def send(self, phone: str, code: str, language: str) -> None:
        self.redis.set(keys.otp_sent(_digits(phone)), code, ex=CODE_TTL_S)
        logger.info("verify: demo code for phone ending %s stored in Redis", _digits(phone)[-4:])

    def last_code(self, phone: str) -> Optional[str]:
        code = self.redis.get(keys.otp_sent(_digits(phone)))
        return code.decode() if isinstance(code, bytes) else code


def get_code_sender(redis: Any, env: Mapping[str, str]) -> CodeSender:
    """The sender named by ``CANYU_CODE_SENDER`` of `env` (the settings' environment; default ``demo``)."""
    name = (env.get("CANYU_CODE_SENDER") or "demo").strip().lower()
    if name == "demo":
        return DemoCodeSender(redis)
    raise ConfigError(f"CANYU_CODE_SENDER={name!r} is not a known code sender; set it to 'demo'")


def _digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def same_phone(a: Optional[str], b: Optional[str]) -> bool:
    """Same number, ignoring spaces, dashes and a +86 prefix."""
    return bool(a and b and _digits(a) and _digits(a) == _digits(b))


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


class OwnershipCheck:
    """The one-time-code check for one backend, Redis and code sender."""

    def __init__(self, backend: OrderBackend, redis: Any, sender: CodeSender) -> None:
        self.backend = backend
        self.redis = redis
        self.sender = sender

    @staticmethod
    def _key(sender_id: str) -> str:
        return keys.otp(sender_id)

    def start(self, sender_id: str, order_number: str, phone: str, language: str) -> None:
        """Text a code if `phone` is the order's; remember the attempt either way (replaces an earlier one)."""
        order = self.backend.get(order_number)
        code_hash = ""
        if order is not None and same_phone(order.phone, phone):
            code = f"{secrets.randbelow(10 ** 6):06d}"
            self.sender.send(str(order.phone), code, language)
            code_hash = _hash(code)
        key = self._key(sender_id)
        self.redis.delete(key)
        self.redis.hset(key, mapping={"order": order_number, "code": code_hash, "tries": 0})
        self.redis.expire(key, CODE_TTL_S)

    def tries_left(self, sender_id: str) -> int:
        raw = self.redis.hget(self._key(sender_id), "tries")
        return 0 if raw is None else max(0, MAX_CODE_TRIES - int(raw))

    def verify(self, sender_id: str, code: str) -> Optional[str]:
        """The order number when `code` is right (access is granted); None otherwise (one try used)."""
        key = self._key(sender_id)
        record = self.redis.hgetall(key)
        if not record:
            return None
        record = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                  for k, v in record.items()}
        if int(self.redis.hincrby(key, "tries", 1)) > MAX_CODE_TRIES:
            self.redis.delete(key)
            return None
        expected = record.get("code") or ""
        if expected and hmac.compare_digest(expected, _hash(code)):
            self.redis.delete(key)
            order = str(record["order"])
            self.backend.grant_access(order, sender_id)
            return order
        return None
