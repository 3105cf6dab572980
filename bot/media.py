"""Pictures users send, kept in Redis for the agent console (which serves them to agents only): size-capped,
checked to be an image from their first bytes, and expired after the keep time.

Why in `bot`: the channels save pictures (connectors/_media.py downloads them from WeChat and Telegram) and the
console reads them; storage both sides use sits in `bot`, which never imports `connectors`.

    store = MediaStore(redis, env=ctx.env)
    meta = store.save(data, "telegram:42", "telegram")
    meta   # {"kind": "image", "id": "m_3f…", "content_type": "image/jpeg", "size": 48213}
    store.get("m_3f…")   # -> (bytes, "image/jpeg") or None

Settings (from the `env` handed to `MediaStore`): `CANYU_MEDIA_MAX_BYTES` (default 5 MiB: WeChat's own limit for pictures is 10 MB, phones send
about 0.1-3 MB), `CANYU_MEDIA_KEEP_DAYS` (default 30).

Redis keys (owned here; names and TTLs in bot/keys.py):
- `canyu:media:{id}` hash: `data` (base64), `content_type`, `size`, `sender_id`, `source` (wechat|telegram),
  `at`; expires after the keep time.
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from types import MappingProxyType
from typing import Any, Dict, Mapping, Optional, Tuple

from bot import keys
from bot.errors import ConfigError, ConnectorError

__all__ = ["MediaStore", "MediaError", "sniff_image", "max_bytes", "mb_text", "MEDIA_ID_PREFIX", "DEFAULT_MAX_BYTES",
           "DEFAULT_KEEP_DAYS"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_KEEP_DAYS = 30
MEDIA_ID_PREFIX = "m_"


class MediaError(ConnectorError):
    """A picture could not be fetched or kept; the message says why in words an agent understands."""


def max_bytes(env: Mapping[str, str]) -> int:
    """`CANYU_MEDIA_MAX_BYTES` in `env` (a process's `Settings.env`), else the default."""
    raw = env.get("CANYU_MEDIA_MAX_BYTES") or str(DEFAULT_MAX_BYTES)
    try:
        value = int(raw)
    except ValueError:
        # cause dropped: the message quotes the bad value and the reason
        raise ConfigError(f"CANYU_MEDIA_MAX_BYTES={raw!r} is not a whole number of bytes; use e.g. "
                          f"{DEFAULT_MAX_BYTES}") from None
    if value <= 0:
        raise ConfigError(f"CANYU_MEDIA_MAX_BYTES={raw!r} must be above 0")
    return value


def _keep_seconds(env: Mapping[str, str]) -> int:
    raw = env.get("CANYU_MEDIA_KEEP_DAYS") or str(DEFAULT_KEEP_DAYS)
    try:
        return max(1, int(float(raw) * 86400))
    except ValueError:
        # cause dropped: the message quotes the bad value and the reason
        raise ConfigError(f"CANYU_MEDIA_KEEP_DAYS={raw!r} is not a number of days; use e.g. "
                          f"{DEFAULT_KEEP_DAYS}") from None


def sniff_image(data: bytes) -> Optional[str]:
    """The image type from the first bytes (never from what the sender claims), or None if not an image we show."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def mb_text(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


class MediaStore:
    """Pictures in Redis (see the module docstring for keys and settings). The settings come from `env` (the
    process's `Settings.env`, handed in by whoever builds the store); a store that only reads needs none."""

    def __init__(self, redis: Any, limit: Optional[int] = None, keep_seconds: Optional[int] = None,
                 env: Mapping[str, str] = MappingProxyType({})) -> None:
        self.redis = redis
        try:
            self.limit = limit or max_bytes(env)
            self.keep = keep_seconds or _keep_seconds(env)
        except ConfigError as exc:  # a typo in the settings must not lose the user's picture: defaults, loudly
            logger.error("media: %s; using %d bytes and %d days meanwhile", exc, DEFAULT_MAX_BYTES, DEFAULT_KEEP_DAYS)
            self.limit, self.keep = limit or DEFAULT_MAX_BYTES, keep_seconds or DEFAULT_KEEP_DAYS * 86400

    @staticmethod
    def key(media_id: str) -> str:
        return keys.media(media_id)

    def save(self, data: bytes, sender_id: str, source: str) -> Dict[str, Any]:
        """Keep `data` if it is an image within the limit; the metadata for the message (raises MediaError)."""
        if len(data) > self.limit:
            raise MediaError(f"the picture is {mb_text(len(data))}; the limit is {mb_text(self.limit)} "
                             "(CANYU_MEDIA_MAX_BYTES)", platform=source)
        content_type = sniff_image(data)
        if content_type is None:
            raise MediaError(f"the file from {source} is not a JPEG, PNG, GIF or WebP picture "
                             f"(starts with {data[:8].hex()})", platform=source)
        media_id = MEDIA_ID_PREFIX + secrets.token_hex(12)
        self.redis.hset(self.key(media_id), mapping={
            "data": base64.b64encode(data).decode("ascii"), "content_type": content_type, "size": len(data),
            "sender_id": sender_id, "source": source, "at": f"{time.time():.3f}"})
        self.redis.expire(self.key(media_id), self.keep)
        return {"kind": "image", "id": media_id, "content_type": content_type, "size": len(data)}

    def get(self, media_id: str) -> Optional[Tuple[bytes, str]]:
        if not media_id.startswith(MEDIA_ID_PREFIX) or not media_id[2:].isalnum():
            return None
        raw = self.redis.hmget(self.key(media_id), "data", "content_type")
        if not raw or not raw[0]:
            return None
        return base64.b64decode(raw[0]), str(raw[1] or "application/octet-stream")

    def owner(self, media_id: str) -> str:
        """The sender id the picture came from ("" when unknown or expired)."""
        return str(self.redis.hget(self.key(media_id), "sender_id") or "")
