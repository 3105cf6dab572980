"""Photos users send on WeChat and Telegram: downloaded through the platform's API, size-capped, checked to
be an image, and kept in Redis for the agent console (which serves them to agents only).

The channels turn a picture into the message `/share_photo` with metadata `media` (what `MediaStore.fetch_*`
returns) and a location pin into `/share_location` with metadata `location`, so both reach the Rasa tracker:
during a handoff the bot is paused and the agent sees them in the transcript; otherwise a rule answers
(dialogue/handoff.yml). A download that fails is not dropped: the message still goes in, its `media` says why.

    store = MediaStore(redis)
    meta = store.fetch_wechat(api, "MEDIA_ID", "wechat:oAbC")          # sync (requests): call in a thread
    meta = await store.fetch_telegram(bot, photo_sizes, "telegram:42")
    meta   # {"kind": "image", "id": "m_3f…", "content_type": "image/jpeg", "size": 48213}
           # or {"kind": "image", "error": "the picture is 12.0 MB; the limit is 5.0 MB"}
    store.get("m_3f…")   # -> (bytes, "image/jpeg") or None

Settings: `CANYU_MEDIA_MAX_BYTES` (default 5 MiB: WeChat's own limit for pictures is 10 MB, phones send
about 0.1-3 MB), `CANYU_MEDIA_KEEP_DAYS` (default 30).

Redis keys (owned here; names and TTLs in bot/keys.py):
- `canyu:media:{id}` hash: `data` (base64), `content_type`, `size`, `sender_id`, `source` (wechat|telegram),
  `at`; expires after the keep time.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
import time
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import requests

from bot import keys
from bot.errors import ConfigError, ConnectorError

__all__ = ["MediaStore", "MediaError", "sniff_image", "max_bytes", "MEDIA_ID_PREFIX", "PHOTO_INTENT",
           "LOCATION_INTENT", "intent_text", "location_metadata"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_KEEP_DAYS = 30
MEDIA_ID_PREFIX = "m_"
_CHUNK = 64 * 1024
_TOKEN_ERRORS = (40001, 40014, 42001)


PHOTO_INTENT = "share_photo"
LOCATION_INTENT = "share_location"


def intent_text(intent: str, language: str) -> str:
    """The message the channels send Rasa for a picture or a pin: the intent, with the user's language."""
    return f'/{intent}{{"language": "{language if language in ("zh", "en") else "en"}"}}'


def location_metadata(lat: Any, lon: Any, label: str = "", scale: Any = None) -> Optional[Dict[str, Any]]:
    """`{"location": {...}}` for the message metadata, or None when the coordinates are not numbers."""
    try:
        latitude, longitude = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    location: Dict[str, Any] = {"latitude": latitude, "longitude": longitude, "label": str(label or "")[:200]}
    if scale not in (None, ""):
        location["scale"] = str(scale)
    return {"location": location}


class MediaError(ConnectorError):
    """A picture could not be fetched or kept; the message says why in words an agent understands."""


def max_bytes(env: Optional[Mapping[str, str]] = None) -> int:
    env = os.environ if env is None else env
    raw = env.get("CANYU_MEDIA_MAX_BYTES") or str(DEFAULT_MAX_BYTES)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"CANYU_MEDIA_MAX_BYTES={raw!r} is not a whole number of bytes; use e.g. "
                          f"{DEFAULT_MAX_BYTES}") from None
    if value <= 0:
        raise ConfigError(f"CANYU_MEDIA_MAX_BYTES={raw!r} must be above 0")
    return value


def _keep_seconds(env: Optional[Mapping[str, str]] = None) -> int:
    env = os.environ if env is None else env
    raw = env.get("CANYU_MEDIA_KEEP_DAYS") or str(DEFAULT_KEEP_DAYS)
    try:
        return max(1, int(float(raw) * 86400))
    except ValueError:
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


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


class MediaStore:
    """Pictures in Redis (see the module docstring for keys and settings)."""

    def __init__(self, redis: Any, limit: Optional[int] = None, keep_seconds: Optional[int] = None) -> None:
        self.redis = redis
        try:
            self.limit = limit or max_bytes()
            self.keep = keep_seconds or _keep_seconds()
        except ConfigError as exc:  # a typo in the settings must not lose the user's picture: defaults, loudly
            logger.error("media: %s; using %d bytes and %d days meanwhile", exc, DEFAULT_MAX_BYTES, DEFAULT_KEEP_DAYS)
            self.limit, self.keep = limit or DEFAULT_MAX_BYTES, keep_seconds or DEFAULT_KEEP_DAYS * 86400

    @staticmethod
    def key(media_id: str) -> str:
        return keys.media(media_id)

    def save(self, data: bytes, sender_id: str, source: str) -> Dict[str, Any]:
        """Keep `data` if it is an image within the limit; the metadata for the message (raises MediaError)."""
        if len(data) > self.limit:
            raise MediaError(f"the picture is {_mb(len(data))}; the limit is {_mb(self.limit)} "
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

    # --- WeChat ------------------------------------------------------------------------------------
    def fetch_wechat(self, api: Any, media_id: str, sender_id: str) -> Dict[str, Any]:
        """`media/get` with the shared access_token (refreshed once if WeChat rejects it); never raises."""
        try:
            data = self._wechat_download(api, media_id)
            return self.save(data, sender_id, "wechat")
        except ConnectorError as exc:
            logger.warning("media: WeChat picture %s of %s not kept: %s", media_id[:16], sender_id, exc)
            return {"kind": "image", "error": str(exc)}

    def _wechat_download(self, api: Any, media_id: str) -> bytes:
        if api is None:
            raise MediaError("WECHAT_APP_ID/WECHAT_APP_SECRET are not set, so pictures cannot be downloaded",
                             platform="wechat")
        client = api.client
        stale: Optional[str] = None
        for _ in range(2):
            token = client.access_token
            try:
                resp = requests.get(client.API_BASE_URL + "media/get", timeout=client.timeout or 10, stream=True,
                                    params={"access_token": token, "media_id": media_id})
            except requests.RequestException as exc:
                raise MediaError(f"WeChat media/get unreachable ({type(exc).__name__})", platform="wechat") from None
            with resp:
                if resp.status_code >= 400:
                    raise MediaError(f"WeChat media/get answered HTTP {resp.status_code}", platform="wechat",
                                     code=resp.status_code)
                kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if kind in ("application/json", "text/plain", "text/json"):  # an error, as JSON
                    try:
                        body = resp.json()
                    except ValueError:
                        body = {}
                    code = body.get("errcode")
                    if code in _TOKEN_ERRORS and stale is None:
                        stale = token
                        client.fetch_access_token(stale=token)
                        continue
                    raise MediaError(f"WeChat media/get refused: errcode {code} {body.get('errmsg', '')}".strip(),
                                     platform="wechat", code=code)
                return self._read_capped(resp, "wechat")
        raise MediaError("WeChat media/get kept rejecting the access_token", platform="wechat")

    def _read_capped(self, resp: requests.Response, source: str) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limit:
            raise MediaError(f"the picture is {_mb(int(declared))}; the limit is {_mb(self.limit)} "
                             "(CANYU_MEDIA_MAX_BYTES)", platform=source)
        data = bytearray()
        for chunk in resp.iter_content(_CHUNK):
            data.extend(chunk)
            if len(data) > self.limit:
                raise MediaError(f"the picture is over the limit of {_mb(self.limit)} (CANYU_MEDIA_MAX_BYTES)",
                                 platform=source)
        return bytes(data)

    # --- Telegram ----------------------------------------------------------------------------------
    async def fetch_telegram(self, bot: Any, sizes: Sequence[Any], sender_id: str) -> Dict[str, Any]:
        """The largest `PhotoSize` within the limit: getFile, then the file download; never raises."""
        from telegram.error import TelegramError

        fitting = [s for s in sizes if not s.file_size or s.file_size <= self.limit]
        if not fitting:
            smallest = min(sizes, key=lambda s: s.file_size or 0) if sizes else None
            size = _mb(smallest.file_size) if smallest is not None and smallest.file_size else "unknown"
            return {"kind": "image", "error": f"the picture is {size}; the limit is {_mb(self.limit)} "
                                              "(CANYU_MEDIA_MAX_BYTES)"}
        best = max(fitting, key=lambda s: (s.width or 0) * (s.height or 0))
        try:
            file = await bot.get_file(best.file_id)
            if file.file_size and file.file_size > self.limit:
                raise MediaError(f"the picture is {_mb(file.file_size)}; the limit is {_mb(self.limit)}",
                                 platform="telegram")
            data = bytes(await file.download_as_bytearray())
            return await asyncio.to_thread(self.save, data, sender_id, "telegram")
        except TelegramError as exc:
            logger.warning("media: Telegram picture of %s not kept: %s", sender_id, exc)
            return {"kind": "image", "error": f"Telegram getFile/download failed: {exc}"}
        except ConnectorError as exc:
            logger.warning("media: Telegram picture of %s not kept: %s", sender_id, exc)
            return {"kind": "image", "error": str(exc)}
