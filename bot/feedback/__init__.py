"""Feedback and suggestions as tracked items: filed from chat, matched across languages, voted on,
moved through statuses by people, and shipped back to every user who asked.

    store = FeedbackStore()                           # Redis from bot.storage
    filing = store.file("telegram:42", "14 Pro 掉电快", language="zh", channel="telegram")
    filing.outcome, filing.item.id, filing.others     # "joined", "FB3", 1
    store.set_status("FB3", "shipped", release="MilletOS 2.3 this Friday")
    await notify_shipped(store, "FB3")                # each voice told once, in their language

Redis keys: see `bot.feedback._store`.
"""

from bot.feedback._digest import digest_text, shipped_since
from bot.feedback._match import AUTO_JOIN, SUGGEST, similarity, signature
from bot.feedback._notify import NotifyReport, notify_shipped, render, shipped_message
from bot.feedback._store import (
    KINDS,
    STATUSES,
    FeedbackItem,
    FeedbackStore,
    Filing,
    UnknownItem,
    Voice,
    normalize_id,
    normalize_status,
)

__all__ = [
    "AUTO_JOIN",
    "SUGGEST",
    "KINDS",
    "STATUSES",
    "FeedbackItem",
    "FeedbackStore",
    "Filing",
    "NotifyReport",
    "UnknownItem",
    "Voice",
    "digest_text",
    "normalize_id",
    "normalize_status",
    "notify_shipped",
    "render",
    "shipped_message",
    "shipped_since",
    "signature",
    "similarity",
]
