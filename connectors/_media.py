"""Photos users send on WeChat and Telegram: downloaded through the platform's API, size-capped, checked to
be an image, and kept in Redis for the agent console (the storage is `bot.media.MediaStore`; this module adds the
downloads, `ChannelMediaStore`).

The channels turn a picture into the message `/share_photo` with metadata `media` (what
`ChannelMediaStore.fetch_*` returns) and a location pin into `/share_location` with metadata `location`, so both
reach the Rasa tracker: during a handoff the bot is paused and the agent sees them in the transcript; otherwise a
rule answers (dialogue/handoff.yml). A download that fails is not dropped: the message still goes in, its `media` says why.

    store = ChannelMediaStore(redis)
    meta = store.fetch_wechat(api, "MEDIA_ID", "wechat:oAbC")          # sync (requests): call in a thread
    meta = await store.fetch_telegram(bot, photo_sizes, "telegram:42")
    meta   # {"kind": "image", "id": "m_3f…", "content_type": "image/jpeg", "size": 48213}
           # or {"kind": "image", "error": "the picture is 12.0 MB; the limit is 5.0 MB"}
    store.get("m_3f…")   # -> (bytes, "image/jpeg") or None

Settings (`CANYU_MEDIA_MAX_BYTES`, `CANYU_MEDIA_KEEP_DAYS`) and the Redis key: see bot/media.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional, Sequence

import requests

from bot.errors import ConnectorError
from bot.media import MediaError, MediaStore, mb_text

__all__ = ["ChannelMediaStore", "PHOTO_INTENT", "LOCATION_INTENT", "intent_text", "location_metadata"]

logger = logging.getLogger(__name__)

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


class ChannelMediaStore(MediaStore):
    """The media store (bot.media) with the downloads from WeChat and Telegram (see the module docstring)."""

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
                # cause dropped: the request error holds the URL, whose query holds the access token
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
            raise MediaError(f"the picture is {mb_text(int(declared))}; the limit is {mb_text(self.limit)} "
                             "(CANYU_MEDIA_MAX_BYTES)", platform=source)
        data = bytearray()
        for chunk in resp.iter_content(_CHUNK):
            data.extend(chunk)
            if len(data) > self.limit:
                raise MediaError(f"the picture is over the limit of {mb_text(self.limit)} (CANYU_MEDIA_MAX_BYTES)",
                                 platform=source)
        return bytes(data)

    # --- Telegram ----------------------------------------------------------------------------------
    async def fetch_telegram(self, bot: Any, sizes: Sequence[Any], sender_id: str) -> Dict[str, Any]:
        """The largest `PhotoSize` within the limit: getFile, then the file download; never raises."""
        from telegram.error import TelegramError

        fitting = [s for s in sizes if not s.file_size or s.file_size <= self.limit]
        if not fitting:
            smallest = min(sizes, key=lambda s: s.file_size or 0) if sizes else None
            size = mb_text(smallest.file_size) if smallest is not None and smallest.file_size else "unknown"
            return {"kind": "image", "error": f"the picture is {size}; the limit is {mb_text(self.limit)} "
                                              "(CANYU_MEDIA_MAX_BYTES)"}
        best = max(fitting, key=lambda s: (s.width or 0) * (s.height or 0))
        try:
            file = await bot.get_file(best.file_id)
            if file.file_size and file.file_size > self.limit:
                raise MediaError(f"the picture is {mb_text(file.file_size)}; the limit is {mb_text(self.limit)}",
                                 platform="telegram")
            data = bytes(await file.download_as_bytearray())
            return await asyncio.to_thread(self.save, data, sender_id, "telegram")
        except TelegramError as exc:
            logger.warning("media: Telegram picture of %s not kept: %s", sender_id, exc)
            return {"kind": "image", "error": f"Telegram getFile/download failed: {exc}"}
        except ConnectorError as exc:
            logger.warning("media: Telegram picture of %s not kept: %s", sender_id, exc)
            return {"kind": "image", "error": str(exc)}
