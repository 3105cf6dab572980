"""What a WeChat push means for Rasa: the text to send (or a canned reply) and the message metadata.

Text and voice (with WeChat's recognition) go to Rasa as they are; a numbered answer to buttons becomes the
button's payload; a picture and a location pin become `/share_photo` and `/share_location` with the media
id or the coordinates in the metadata (connectors/_media.py), so the agent sees them during a handoff and a
rule answers them otherwise. Video, links and unknown types get a short canned reply in the user's language.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from bot import keys
from connectors._media import LOCATION_INTENT, PHOTO_INTENT, intent_text, location_metadata
from connectors._wechat_config import REPLIES
from connectors._wechat_send import button_payload

__all__ = ["interpret", "language_of", "message_metadata"]


def language_of(redis: Any, sender_id: str, default: str) -> str:
    """The user's language as last detected (`canyu:user:{sender_id}` `language`), else `default`, else zh."""
    try:
        lang = redis.hget(keys.user_route(sender_id), "language")
    except Exception:
        lang = None
    return lang if lang in REPLIES else default if default in REPLIES else "zh"


def _fields(msg: Any) -> Dict[str, Any]:
    return getattr(msg, "_data", {}) or {}


def message_metadata(msg: Any, msg_type: str) -> Dict[str, Any]:
    """The metadata Rasa records with the message (the picture is downloaded later, when it is processed)."""
    metadata: Dict[str, Any] = {"wechat": {"openid": msg.source, "msg_type": msg_type, "account": msg.target}}
    data = _fields(msg)
    if msg_type == "image":
        metadata["wechat"].update(media_id=str(data.get("MediaId") or ""), pic_url=str(data.get("PicUrl") or ""))
    elif msg_type == "location":
        metadata.update(location_metadata(data.get("Location_X"), data.get("Location_Y"), data.get("Label") or "",
                                          data.get("Scale")) or {})
    return metadata


def interpret(msg: Any, msg_type: str, event: str, sender_id: str, redis: Any,
              language: str) -> Tuple[Optional[str], Optional[str]]:
    """(text for Rasa, None), or (None, canned reply), or (None, None) when there is nothing to say."""
    replies = REPLIES[language if language in REPLIES else "zh"]
    if msg_type == "text":
        content = (getattr(msg, "content", "") or "").strip()
        if not content:
            return None, None
        payload = button_payload(content, sender_id, redis)
        if payload:
            return payload, None
        from bot.language import detect_language

        lang = detect_language(content)
        if lang:
            redis.hset(keys.user_route(sender_id), "language", lang)
        return content, None
    if msg_type == "voice":
        recognition = (getattr(msg, "recognition", None) or "").strip()
        return (recognition, None) if recognition else (None, replies["voice"])
    if msg_type == "image" and _fields(msg).get("MediaId"):
        return intent_text(PHOTO_INTENT, language), None
    if msg_type == "location" and location_metadata(_fields(msg).get("Location_X"), _fields(msg).get("Location_Y")):
        return intent_text(LOCATION_INTENT, language), None
    if msg_type in ("image", "video", "shortvideo", "location", "link"):
        return None, replies["video" if msg_type == "shortvideo" else msg_type]
    if msg_type == "event":
        if event in ("subscribe", "subscribe_scan"):
            return f'/greet{{"language": "{language}"}}', None
        if event == "click" and getattr(msg, "key", None):
            return str(msg.key), None
        return None, None  # SCAN, LOCATION, VIEW, template results…: nothing to say
    return None, replies["other"]
