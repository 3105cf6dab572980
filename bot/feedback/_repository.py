"""What the feedback service asks of its storage: `FeedbackRepository`, with the Redis implementation in
`_redis_repository.py` and the in-memory one (unit tests) in `_memory.py`. One contract test runs against both
(tests/contracts/test_feedback.py).

The repository only stores and reads; deciding (matching a text to an item, the status rules) is the service's
(`bot.feedback._store.FeedbackStore`). People are given to it as profile ids (a fan profile, see `bot.fans`):
resolving a sender id to a profile is the service's too.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Protocol, Tuple, Union

import numpy as np

from bot.feedback._match import Vectors
from bot.feedback._model import FeedbackItem, Voice

__all__ = ["Exemplar", "FeedbackRepository", "Field", "HistoryEntry", "MAX_EXEMPLARS", "NewItem", "TEXT_FIELDS",
           "item_from_fields"]

MAX_EXEMPLARS = 8
"""Texts kept per item for matching; more voices add nothing the first eight did not."""
TEXT_FIELDS = ("reason_zh", "instead", "instead_zh", "campaign", "signup")
"""Free texts of an item that `set_status` may set besides reason and release."""

Field = Union[str, float]
"""An item field as written: text, or a time/number (read back as text)."""
HistoryEntry = Dict[str, Union[str, float]]
"""One status change: {status, reason, release, by, ts} (the first, "new", has status, by and ts only)."""


@dataclass(frozen=True)
class Exemplar:
    """A text an item is matched on, with its sentence vector when one was made."""

    text: str
    language: str
    vector: Optional[Vectors] = field(default=None, compare=False)

    def to_json(self) -> str:
        raw = None if self.vector is None else \
            base64.b64encode(np.ascontiguousarray(self.vector, dtype=np.float32).tobytes()).decode("ascii")
        return json.dumps({"text": self.text, "language": self.language, "vector": raw})

    @classmethod
    def from_json(cls, raw: str) -> "Exemplar":
        data = json.loads(raw)
        vector = np.frombuffer(base64.b64decode(data["vector"]), dtype=np.float32) if data.get("vector") else None
        return cls(str(data["text"]), str(data.get("language") or ""), vector)


@dataclass
class NewItem:
    """Everything a new item is written with, at once: its fields, first history entry, first exemplar, and
    (when filed by someone) the first voice."""

    id: str
    fields: Dict[str, Field]
    history: HistoryEntry
    exemplar: Exemplar
    voice: Optional[Voice] = None


def item_from_fields(raw: Mapping[str, str], count: int) -> FeedbackItem:
    """The item a stored field map (all text, as Redis returns it) describes; `count` is its number of voices."""
    return FeedbackItem(
        id=raw["id"],
        kind=raw.get("kind", "complaint"),
        status=raw.get("status", "new"),
        title_en=raw.get("title_en", ""),
        title_zh=raw.get("title_zh", ""),
        products=list(json.loads(raw.get("products") or "[]")),
        created=float(raw.get("created", 0)),
        updated=float(raw.get("updated", 0)),
        count=count,
        reason=raw.get("reason", ""),
        release=raw.get("release", ""),
        release_zh=raw.get("release_zh", ""),
        shipped_at=float(raw.get("shipped_at", 0) or 0),
        **{name: raw.get(name, "") for name in TEXT_FIELDS},
    )


class FeedbackRepository(Protocol):
    """Feedback items, their voices (one per profile), exemplars, status history and who was told what.

    Item ids are given normalized ("FB3"). Reading a missing item raises `UnknownItem`; the other reads of a
    missing item return empty results. Writes to a missing item are the caller's mistake (not checked).
    """

    def get(self, item_id: str) -> FeedbackItem:
        """The item with its voice count (`UnknownItem` if there is none)."""

    def exists(self, item_id: str) -> bool: ...

    def ids(self) -> List[str]:
        """Every item id, oldest first."""

    def seq(self) -> int:
        """The number of the newest item so far (0 when none): a filing compares it before creating one."""

    def next_number(self) -> int:
        """Take the next item number (for `FB{number}`), moving `seq` on."""

    def put_new(self, item: NewItem, *, if_seq: Optional[int] = None) -> bool:
        """Write a new item, all at once. With `if_seq`, only if `seq()` is still `if_seq`, moving it on by one
        in the same step (False, nothing written, when another item came first); without, unconditionally
        (its number was taken with `next_number`)."""

    def update(self, item_id: str, fields: Mapping[str, Field]) -> None:
        """Set some of the item's fields."""

    def voices(self, item_id: str) -> List[Voice]:
        """The item's voices, oldest first."""

    def add_voice(self, item_id: str, voice: Voice) -> bool:
        """Add `voice` unless its profile already has one on the item (then False, nothing changed); the item is
        then among the profile's items (`items_of`)."""

    def items_of(self, profile: str) -> List[FeedbackItem]:
        """Items the profile voiced, the newest voice first (items deleted since are left out)."""

    def exemplars(self) -> List[Tuple[str, str, List[Exemplar]]]:
        """(item id, status, exemplars) of every item, oldest item first: what matching ranks."""

    def exemplar_count(self, item_id: str) -> int: ...

    def add_exemplar(self, item_id: str, exemplar: Exemplar) -> None:
        """Keep one more text to match the item on; at most `MAX_EXEMPLARS` are kept (the first ones)."""

    def history(self, item_id: str) -> List[HistoryEntry]:
        """The item's status changes, oldest first."""

    def append_history(self, item_id: str, entry: HistoryEntry) -> None: ...

    def claim_notification(self, item_id: str, sender_id: str, status: str, now: float) -> bool:
        """True exactly once per (item, status, sender), whoever asks at the same time."""

    def release_notification(self, item_id: str, sender_id: str, status: str) -> None:
        """Undo a claim (the message could not be sent)."""

    def told(self, item_id: str, status: str) -> Dict[str, float]:
        """sender id -> when the claim for `status` was made."""
