"""What a feedback item, a voice and a filing are (plain data), and how ids and statuses are spelled.

Kept apart from the Redis code (`_store.py`) so the lifecycle, the digest and the console can share the
shapes without the storage.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional

from bot.errors import CanyuError, DataError

__all__ = ["STATUSES", "KINDS", "ANNOUNCED", "FeedbackItem", "Voice", "Filing", "UnknownItem", "normalize_id",
           "normalize_status"]

STATUSES = ("new", "planned", "in_beta", "shipped", "declined")
ANNOUNCED = ("planned", "in_beta", "shipped", "declined")
"""The statuses every voice of an item is told about (a new item has nothing to tell yet)."""
KINDS = ("complaint", "suggestion")
_ID = re.compile(r"^\s*#?\s*(?:fb)?\s*-?\s*(\d{1,7})\s*$", re.IGNORECASE)
_STATUS_ALIASES = {"beta": "in_beta", "in beta": "in_beta", "in-beta": "in_beta", "done": "shipped"}


class UnknownItem(CanyuError):
    """No feedback item has this id."""

    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        super().__init__(f"no feedback item {item_id!r}; `bot feedback list` shows the ids")


def normalize_id(raw: str) -> Optional[str]:
    """"fb 7", "#7", "FB-7", "7" -> "FB7"; None if it is not an id."""
    match = _ID.match(str(raw or ""))
    return f"FB{int(match.group(1))}" if match else None


def normalize_status(raw: str) -> str:
    status = _STATUS_ALIASES.get(raw.strip().lower(), raw.strip().lower())
    if status not in STATUSES:
        raise DataError(f"unknown status {raw!r}; use one of: {', '.join(STATUSES)}")
    return status


@dataclass
class Voice:
    """One person's say on an item: filed it, joined it by similarity, or voted +1."""

    profile: str
    sender_id: str
    channel: Optional[str]
    language: str
    text: str
    how: str  # "filed" | "matched" | "vote"
    ts: float


@dataclass
class FeedbackItem:
    """An item and what its voices are told: `reason`/`instead` when declined, `release` when shipped,
    `campaign` (F-codes) and `signup` (a sign-up link) when in beta; `*_zh` are the Chinese versions."""

    id: str
    kind: str
    status: str
    title_en: str
    title_zh: str
    products: List[str]
    created: float
    updated: float
    count: int = 0
    reason: str = ""
    release: str = ""
    release_zh: str = ""
    shipped_at: float = 0.0
    reason_zh: str = ""
    instead: str = ""
    instead_zh: str = ""
    campaign: str = ""
    signup: str = ""

    def title(self, language: str) -> str:
        first, second = (self.title_zh, self.title_en) if language == "zh" else (self.title_en, self.title_zh)
        return first or second

    def release_for(self, language: str) -> str:
        return (self.release_zh or self.release) if language == "zh" else (self.release or self.release_zh)

    def reason_for(self, language: str) -> str:
        return (self.reason_zh or self.reason) if language == "zh" else (self.reason or self.reason_zh)

    def instead_for(self, language: str) -> str:
        return (self.instead_zh or self.instead) if language == "zh" else (self.instead or self.instead_zh)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class Filing:
    """What happened when a user's feedback was filed.

    outcome: "new" (a new item), "joined" (added to a similar item), "already" (they had said it
    before), "ask" (a possible match: `candidate` is shown with a +1 button, nothing filed yet).
    """

    outcome: str
    item: Optional[FeedbackItem]
    candidate: Optional[FeedbackItem] = None
    score: float = 0.0

    @property
    def others(self) -> int:
        return max(0, (self.item.count if self.item else 0) - 1)
