"""Rasa tracker events → transcript items for the console (plain data; the browser shows text as text).

Personal data an agent need not see (`bot.pii` kinds, console setting `CANYU_CONSOLE_MASK`) is masked in
the items' text: `138****5678`.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List

from bot.pii import mask_pii

__all__ = ["EVENTS_STREAM", "transcript_items"]

EVENTS_STREAM = "canyu:events"
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
            items.append({"kind": "user", "text": mask_pii(e.get("text") or "", kinds), "at": at,
                          "intent": intent.get("name"),
                          "confidence": round(float(intent.get("confidence") or 0), 3),
                          "channel": e.get("input_channel")})
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
