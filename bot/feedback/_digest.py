"""The public "shipped because you asked" list, as text for the weekly post."""

from __future__ import annotations

import time
from typing import List, Optional

from bot.feedback._store import FeedbackItem, FeedbackStore

__all__ = ["shipped_since", "digest_text"]


def shipped_since(store: FeedbackStore, since: Optional[float] = None) -> List[FeedbackItem]:
    """Shipped items (newest first), only those shipped at or after `since` when given."""
    items = [i for i in store.all("shipped") if since is None or i.shipped_at >= since]
    return sorted(items, key=lambda i: (-i.shipped_at, -i.count))


def digest_text(store: FeedbackStore, language: str = "en", days: Optional[float] = 7,
                now: Optional[float] = None) -> str:
    """A short post listing what shipped because fans asked, with how many asked."""
    since = None if days is None else (now or time.time()) - days * 86400
    items = shipped_since(store, since)
    if language == "zh":
        head = "📣 因为你们说了，所以我们做了："
        empty = "这周还没有新上线的米粉建议，继续告诉我们吧！"
        line = "• {title}（{release}）— {count} 位米粉提过"
        tail = "想要的功能、遇到的问题，直接跟我说，我会记下来并告诉你进展。"
    else:
        head = "📣 Shipped because you asked:"
        empty = "Nothing new shipped from fan feedback this week. Keep it coming!"
        line = "• {title} ({release}) — {count} fans asked"
        tail = "Tell me what you want next; I'll file it and let you know when it ships."
    if not items:
        return empty
    lines = [head]
    for item in items:
        count = item.count
        lines.append(line.format(title=item.title(language), release=item.release_for(language) or "—", count=count))
    lines.append(tail)
    return "\n".join(lines)
