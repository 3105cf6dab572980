"""Rasa tracker events → transcript items for the console (plain data; the browser shows text as text).

A picture a user sent (message metadata `media`, bot/media.py) becomes `media: {id, content_type}` (the
console serves it at `/api/media/{id}`) or `media: {error}` when it could not be fetched; a location becomes
`location: {latitude, longitude, label}` and the text names the place and its coordinates.

Personal data an agent need not see (`bot.pii` kinds, console setting `CANYU_CONSOLE_MASK`) is masked in
the items' text: `138****5678`.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Tuple

from bot.keys import EVENTS_STREAM
from bot.pii import mask_pii

__all__ = ["EVENTS_STREAM", "transcript_items", "intent_history", "kb_history"]

_SHOWN_ACTIONS = {"action_handoff": "handed to a person", "action_ask_rating": "asked for a rating"}


def transcript_items(events: Iterable[Dict[str, Any]], mask: Iterable[str] = ()) -> List[Dict[str, Any]]:
    """`{kind: user|bot|agent|system, text, at, ...}` for the events a person wants to read, with the
    personal data of the `mask` kinds (`bot.pii.KINDS`) masked in user, bot and agent texts."""
    kinds = tuple(mask)
    items: List[Dict[str, Any]] = []
    for e in events:
        kind, at = e.get("event"), e.get("timestamp")
        if kind == "user":
            intent = (e.get("parse_data") or {}).get("intent") or {}
            item = {"kind": "user", "text": mask_pii(e.get("text") or "", kinds), "at": at,
                    "intent": intent.get("name"), "confidence": round(float(intent.get("confidence") or 0), 3),
                    "channel": e.get("input_channel")}
            item.update(_attachments(e.get("metadata") or {}, kinds))
            items.append(item)
        elif kind == "bot":
            metadata = e.get("metadata") or {}
            data = e.get("data") or {}
            item = {"kind": "agent" if metadata.get("agent") else "bot", "text": mask_pii(e.get("text") or "", kinds),
                    "at": at}
            if metadata.get("agent"):
                item["agent"] = str(metadata["agent"])
            buttons = data.get("buttons") or []
            if buttons:
                item["buttons"] = [str(b.get("title", "")) for b in buttons if isinstance(b, dict)]
            items.append(item)
        elif kind == "pause":
            items.append({"kind": "system", "text": "bot paused (waiting for a person)", "at": at})
        elif kind == "resume":
            items.append({"kind": "system", "text": "bot resumed", "at": at})
        elif kind == "action" and e.get("name") in _SHOWN_ACTIONS:
            items.append({"kind": "system", "text": _SHOWN_ACTIONS[e["name"]], "at": at})
    return items


def _attachments(metadata: Dict[str, Any], kinds: Tuple[str, ...] = ()) -> Dict[str, Any]:
    """`media` and `location` of a user message, with a text that says what it is."""
    out: Dict[str, Any] = {}
    media = metadata.get("media")
    if isinstance(media, dict):
        if media.get("id"):
            out["media"] = {"id": str(media["id"]), "content_type": str(media.get("content_type") or "")}
            out["text"] = "[photo]"
        else:
            out["media"] = {"error": str(media.get("error") or "not downloaded")}
            out["text"] = f"[photo, not shown: {out['media']['error']}]"
    caption = mask_pii(str(metadata.get("caption") or "").strip(), kinds)
    if out and caption:  # the words sent with the picture (Telegram)
        out["text"] = f"{out['text']} {caption}"
    location = metadata.get("location")
    if isinstance(location, dict):
        try:
            lat, lon = float(location.get("latitude")), float(location.get("longitude"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return out
        label = mask_pii(str(location.get("label") or ""), kinds)
        out["location"] = {"latitude": lat, "longitude": lon, "label": label}
        out["text"] = f"[location] {label + ' ' if label else ''}({lat:.5f}, {lon:.5f})"
    return out


def intent_history(tracker: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The latest user intents with their confidence (the agent's context panel)."""
    out = []
    for e in tracker.get("events") or []:
        if e.get("event") == "user":
            intent = (e.get("parse_data") or {}).get("intent") or {}
            out.append({"intent": intent.get("name"), "confidence": round(float(intent.get("confidence") or 0), 3),
                        "at": e.get("timestamp")})
    return out[-15:]


def kb_history(tracker: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The knowledge-base entries the bot answered with, and their scores."""
    out = []
    for e in tracker.get("events") or []:
        if e.get("event") == "slot" and e.get("name") == "kb_entry" and e.get("value"):
            out.append({"entry": e.get("value"), "at": e.get("timestamp")})
        elif e.get("event") == "slot" and e.get("name") == "kb_score" and out and e.get("value") is not None:
            out[-1]["score"] = e.get("value")
    return out[-10:]
