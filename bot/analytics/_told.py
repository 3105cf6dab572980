"""Who heard about their feedback: for each status change (planned, in beta, shipped, declined) in a period,
the share of the item's voices (authors and voters) who were told.

Read from `bot.feedback`: the status history (`canyu:feedback:history:{id}`), the voices, and the claims
each message makes before it is sent (`told_key(item, status)`). Definitions (docs/participation.md):
- a *change* is an item reaching a status at a time in the period (its latest entry for that status);
- the voices *expected* to hear it are those on the item before it moved on to another status, except the
  ones who unsubscribed (from the item or from everything), counted apart as `unsubscribed`;
- `share` = told / expected, in percent (goal 100); None when nobody was expected.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = ["told_figures"]


def _pct(part: float, whole: float) -> Optional[float]:
    return round(100.0 * part / whole, 1) if whole else None


def told_figures(red: Any, start: float, end: float) -> Dict[str, Dict[str, Any]]:
    """{status: {changes, voices, told, unsubscribed, share}} for every announced status, plus "all"."""
    from bot.feedback import ANNOUNCED, FeedbackStore, wants_news

    store = FeedbackStore(red, use_vectors=False)
    out = {s: {"changes": 0, "voices": 0, "told": 0, "unsubscribed": 0} for s in ANNOUNCED}
    for item in store.all():
        history = store.history(item.id)
        for status in ANNOUNCED:
            reached = [n for n, h in enumerate(history) if h.get("status") == status]
            if not reached or not start <= float(history[reached[-1]].get("ts") or 0) < end:
                continue
            n = reached[-1]
            left = float(history[n + 1]["ts"]) if n + 1 < len(history) else float("inf")
            told = store.told(item.id, status)
            row = out[status]
            row["changes"] += 1
            for voice in store.voices(item.id):
                if voice.ts >= left:
                    continue  # joined after the item moved on: never had this news to hear
                if voice.sender_id in told:
                    row["told"] += 1
                elif not wants_news(red, voice.sender_id, item.id):
                    row["unsubscribed"] += 1
                    continue
                row["voices"] += 1
    total = {k: sum(row[k] for row in out.values()) for k in ("changes", "voices", "told", "unsubscribed")}
    result: Dict[str, Dict[str, Any]] = {}
    for status, row in [*out.items(), ("all", total)]:
        result[status] = {**row, "share": _pct(row["told"], row["voices"])}
    return result
