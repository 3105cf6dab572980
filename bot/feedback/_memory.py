"""The in-memory twins of this package's Redis stores, for unit tests, with the same semantics.

- `MemoryFeedbackRepository` (`FeedbackRepository`): orderings, one voice per profile, at most `MAX_EXEMPLARS`
  exemplars, a claim granted once, `put_new(if_seq=…)` refused when another item came first;
- `MemorySubscriptions` (`Subscriptions`): opt-outs, the digest's subscribers, beta sign-ups, per person.

Thread-safe (filings and news run from threads at once).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Callable, Dict, List, Mapping, Optional, Set, Tuple

from bot.feedback._model import FeedbackItem, UnknownItem, Voice
from bot.feedback._repository import MAX_EXEMPLARS, Exemplar, Field, HistoryEntry, NewItem, item_from_fields
from bot.feedback._subscriptions import ALL, Subscriber

__all__ = ["MemoryFeedbackRepository", "MemorySubscriptions"]


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


class MemorySubscriptions:
    """`Subscriptions` in plain dicts and sets; `profile_of` maps a sender id to the person (default: itself)."""

    def __init__(self, profile_of: Optional[Callable[[str], str]] = None) -> None:
        self.profile_of: Callable[[str], str] = profile_of or str
        self._lock = threading.Lock()
        self._optout: Dict[str, Set[str]] = {}
        self._subscribers: Dict[str, Subscriber] = {}
        self._asked: Set[str] = set()
        self._beta: Dict[str, Dict[str, Tuple[str, float]]] = {}

    def wants_news(self, sender_id: str, item_id: Optional[str] = None) -> bool:
        profile = self.profile_of(sender_id)
        with self._lock:
            out = self._optout.get(profile, set())
            return ALL not in out and not (item_id and item_id in out)

    def unsubscribe(self, sender_id: str, item_id: Optional[str] = None) -> str:
        profile = self.profile_of(sender_id)
        with self._lock:
            self._optout.setdefault(profile, set()).add(item_id or ALL)
            if item_id is None:
                self._subscribers.pop(profile, None)
        return profile

    def subscribe_digest(self, sender_id: str, language: str, now: Optional[float] = None) -> bool:
        profile = self.profile_of(sender_id)
        with self._lock:
            self._optout.get(profile, set()).discard(ALL)
            self._asked.add(profile)
            if profile in self._subscribers:
                return False
            self._subscribers[profile] = Subscriber(profile, sender_id, "zh" if language == "zh" else "en",
                                                    time.time() if now is None else now)
            return True

    def unsubscribe_digest(self, sender_id: str) -> bool:
        with self._lock:
            return self._subscribers.pop(self.profile_of(sender_id), None) is not None

    def is_digest_subscriber(self, sender_id: str) -> bool:
        with self._lock:
            return self.profile_of(sender_id) in self._subscribers

    def digest_subscribers(self) -> List[Subscriber]:
        with self._lock:
            return sorted((replace(s) for s in self._subscribers.values()), key=lambda s: s.ts)

    def offer_digest_once(self, sender_id: str) -> bool:
        profile = self.profile_of(sender_id)
        with self._lock:
            if profile in self._subscribers or ALL in self._optout.get(profile, set()) or profile in self._asked:
                return False
            self._asked.add(profile)
            return True

    def beta_signup(self, item_id: str, sender_id: str, now: Optional[float] = None) -> bool:
        profile = self.profile_of(sender_id)
        with self._lock:
            signups = self._beta.setdefault(item_id, {})
            if profile in signups:
                return False
            signups[profile] = (sender_id, time.time() if now is None else now)
            return True

    def beta_signups(self, item_id: str) -> List[str]:
        with self._lock:
            return [sender for sender, _ in sorted(self._beta.get(item_id, {}).values(), key=lambda e: e[1])]
