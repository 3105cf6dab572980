"""Feedback items in memory: the `FeedbackRepository` of unit tests, with the Redis one's semantics (orderings,
one voice per profile, at most `MAX_EXEMPLARS` exemplars, a claim granted once, `put_new(if_seq=…)` refused when
another item came first). Thread-safe: filings run from threads at once.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Dict, List, Mapping, Optional, Tuple

from bot.feedback._model import FeedbackItem, UnknownItem, Voice
from bot.feedback._repository import MAX_EXEMPLARS, Exemplar, Field, HistoryEntry, NewItem, item_from_fields

__all__ = ["MemoryFeedbackRepository"]


def _text(value: Field) -> str:
    """A field as Redis would give it back (floats as their repr)."""
    return repr(value) if isinstance(value, float) else str(value)


class MemoryFeedbackRepository:
    """Feedback items in plain dicts and lists (see `FeedbackRepository` for the operations)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._seq = 0
        self._items: Dict[str, Dict[str, str]] = {}
        self._created: Dict[str, float] = {}
        self._voices: Dict[str, Dict[str, Voice]] = {}
        self._by_profile: Dict[str, Dict[str, float]] = {}
        self._exemplars: Dict[str, List[Exemplar]] = {}
        self._history: Dict[str, List[HistoryEntry]] = {}
        self._told: Dict[Tuple[str, str], Dict[str, float]] = {}

    def get(self, item_id: str) -> FeedbackItem:
        with self._lock:
            raw = self._items.get(item_id)
            if raw is None:
                raise UnknownItem(item_id)
            return item_from_fields(dict(raw), len(self._voices.get(item_id, {})))

    def exists(self, item_id: str) -> bool:
        with self._lock:
            return item_id in self._items

    def ids(self) -> List[str]:
        with self._lock:
            return [i for i, _ in sorted(self._created.items(), key=lambda kv: (kv[1], kv[0]))]

    def seq(self) -> int:
        with self._lock:
            return self._seq

    def next_number(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def put_new(self, item: NewItem, *, if_seq: Optional[int] = None) -> bool:
        with self._lock:
            if if_seq is not None:
                if self._seq != if_seq:
                    return False
                self._seq += 1
            self._items.setdefault(item.id, {}).update({k: _text(v) for k, v in item.fields.items()})
            self._created[item.id] = float(item.history["ts"])
            self._history.setdefault(item.id, []).append(dict(item.history))
            self._exemplars.setdefault(item.id, []).append(item.exemplar)
            if item.voice is not None:
                self._voices.setdefault(item.id, {})[item.voice.profile] = replace(item.voice)
                self._by_profile.setdefault(item.voice.profile, {})[item.id] = item.voice.ts
            return True

    def update(self, item_id: str, fields: Mapping[str, Field]) -> None:
        with self._lock:
            self._items.setdefault(item_id, {}).update({k: _text(v) for k, v in fields.items()})

    def voices(self, item_id: str) -> List[Voice]:
        with self._lock:
            return sorted((replace(v) for v in self._voices.get(item_id, {}).values()), key=lambda v: v.ts)

    def add_voice(self, item_id: str, voice: Voice) -> bool:
        with self._lock:
            voices = self._voices.setdefault(item_id, {})
            if voice.profile in voices:
                return False
            voices[voice.profile] = replace(voice)
            self._by_profile.setdefault(voice.profile, {})[item_id] = voice.ts
            return True

    def items_of(self, profile: str) -> List[FeedbackItem]:
        with self._lock:
            voiced = sorted(self._by_profile.get(profile, {}).items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
            return [self.get(i) for i, _ in voiced if i in self._items]

    def exemplars(self) -> List[Tuple[str, str, List[Exemplar]]]:
        with self._lock:
            return [(i, self._items[i].get("status", ""), list(self._exemplars.get(i, []))) for i in self.ids()]

    def exemplar_count(self, item_id: str) -> int:
        with self._lock:
            return len(self._exemplars.get(item_id, []))

    def add_exemplar(self, item_id: str, exemplar: Exemplar) -> None:
        with self._lock:
            kept = self._exemplars.setdefault(item_id, [])
            if len(kept) < MAX_EXEMPLARS:
                kept.append(exemplar)

    def history(self, item_id: str) -> List[HistoryEntry]:
        with self._lock:
            return [dict(h) for h in self._history.get(item_id, [])]

    def append_history(self, item_id: str, entry: HistoryEntry) -> None:
        with self._lock:
            self._history.setdefault(item_id, []).append(dict(entry))

    def claim_notification(self, item_id: str, sender_id: str, status: str, now: float) -> bool:
        with self._lock:
            told = self._told.setdefault((item_id, status), {})
            if sender_id in told:
                return False
            told[sender_id] = now
            return True

    def release_notification(self, item_id: str, sender_id: str, status: str) -> None:
        with self._lock:
            self._told.get((item_id, status), {}).pop(sender_id, None)

    def told(self, item_id: str, status: str) -> Dict[str, float]:
        with self._lock:
            return dict(self._told.get((item_id, status), {}))
