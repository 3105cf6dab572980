"""The feedback service: filing a text (matching it to an item across languages, or opening one), voices,
statuses and who was told, over a `FeedbackRepository` (Redis in `_redis_repository.py`, memory in `_memory.py`).

The matching is here (`bot.feedback._match` scores two texts); the storage is the repository's. One person (a fan
profile, see `bot.fans`) counts once per item, however often they say it.

Filing takes no lock, so one slow filing never holds up another user's. It reads the item counter (`seq`), ranks
the items, and then either joins the best one (one voice per person: two people at once both count, one person
twice counts once) or writes a new item with `put_new(if_seq=…)`, which is refused if any item was created after
the filing read the counter: the text is then matched again, now against the newcomer too. So the same idea filed
by many people at once makes one item with all their voices.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple, Union

from bot.errors import DataError, StorageError
from bot.feedback import _match
from bot.feedback._model import (
    KINDS,
    STATUSES,
    FeedbackItem,
    Filing,
    UnknownItem,
    Voice,
    normalize_id,
    normalize_status,
)
from bot.feedback._redis_repository import RedisFeedbackRepository, told_key
from bot.feedback._repository import (
    MAX_EXEMPLARS,
    TEXT_FIELDS,
    Exemplar,
    FeedbackRepository,
    Field,
    HistoryEntry,
    NewItem,
)
from bot.language import detect_language

if TYPE_CHECKING:
    import redis

__all__ = [
    "STATUSES",
    "KINDS",
    "FeedbackItem",
    "Voice",
    "Filing",
    "FeedbackStore",
    "UnknownItem",
    "normalize_id",
    "normalize_status",
    "told_key",
]

MAX_FILING_ATTEMPTS = 50
"""Matching again after a concurrent new item; past this a new item is created anyway (never a lost voice)."""

logger = logging.getLogger(__name__)


def _fan_profile_of(red: "redis.Redis[str]") -> Callable[[str], str]:
    def profile_of(sender_id: str) -> str:
        from bot.fans import profile_id

        return profile_id(sender_id, red)

    return profile_of


class FeedbackStore:
    """Feedback items: filed, matched, voted on, moved through statuses (see the module docstring).

    `source` is a Redis client (`decode_responses=True`; the items live in `RedisFeedbackRepository`) or any
    `FeedbackRepository` (unit tests: `MemoryFeedbackRepository`). `profile_of` maps a sender id to the person's
    profile (default: `bot.fans.profile_id` on the Redis client; each sender is their own person without one).
    `use_vectors=False` matches on concepts and n-grams only (no sentence encoder).
    """

    def __init__(self, source: Union["redis.Redis[str]", FeedbackRepository], use_vectors: bool = True, *,
                 profile_of: Optional[Callable[[str], str]] = None) -> None:
        import redis

        self._red: Optional["redis.Redis[str]"] = None
        if isinstance(source, redis.Redis):
            self._red = source
            self.repo: FeedbackRepository = RedisFeedbackRepository(source)
            default_profile = _fan_profile_of(source)
        else:
            self.repo = source
            default_profile = str
        self.profile_of: Callable[[str], str] = profile_of or default_profile
        self.use_vectors = use_vectors

    @property
    def red(self) -> "redis.Redis[str]":
        """The Redis client under a Redis-backed store (status news and subscriptions use the same one)."""
        if self._red is None:
            raise StorageError("this FeedbackStore is not on Redis (built on a repository); pass the client")
        return self._red

    # reading -------------------------------------------------------------------------------
    def get(self, item_id: str) -> FeedbackItem:
        return self.repo.get(normalize_id(item_id) or item_id)

    def exists(self, item_id: str) -> bool:
        norm = normalize_id(item_id)
        return bool(norm and self.repo.exists(norm))

    def all(self, status: Optional[str] = None) -> List[FeedbackItem]:
        items = [self.repo.get(i) for i in self.repo.ids()]
        if status:
            wanted = normalize_status(status)
            items = [i for i in items if i.status == wanted]
        return items

    def voices(self, item_id: str) -> List[Voice]:
        return self.repo.voices(normalize_id(item_id) or item_id)

    def items_of(self, sender_id: str) -> List[FeedbackItem]:
        return self.repo.items_of(self.profile_of(sender_id))

    def history(self, item_id: str) -> List[HistoryEntry]:
        return self.repo.history(normalize_id(item_id) or item_id)

    def notified(self, item_id: str) -> Dict[str, float]:
        return self.told(item_id, "shipped")

    # matching ------------------------------------------------------------------------------
    def _vector(self, text: str, language: Optional[str]) -> Optional[_match.Vectors]:
        if not self.use_vectors or (language or "") == "zh":
            return None
        encoded = _match.encode([text])
        return encoded[0] if encoded is not None else None

    def _signature(self, text: str, language: Optional[str]) -> _match.Signature:
        return _match.signature(text, vector=self._vector(text, language), language=language)

    def best_match(self, text: str, language: Optional[str] = None, exclude_closed: bool = False
                   ) -> Tuple[Optional[FeedbackItem], float]:
        """The most similar item and its score (None, 0.0 when there are no items)."""
        return self._rank(self._signature(text, language), exclude_closed)

    def _rank(self, probe: _match.Signature, exclude_closed: bool) -> Tuple[Optional[FeedbackItem], float]:
        best_id, best = None, 0.0
        for item_id, status, exemplars in self.repo.exemplars():
            if exclude_closed and status == "declined":
                continue
            for ex in exemplars:
                score = _match.similarity(probe, _match.signature(ex.text, vector=ex.vector, language=ex.language))
                if score > best:
                    best_id, best = item_id, score
        return (self.repo.get(best_id) if best_id else None), best

    # writing -------------------------------------------------------------------------------
    def _add_exemplar(self, item_id: str, text: str, language: str) -> None:
        if self.repo.exemplar_count(item_id) >= MAX_EXEMPLARS:
            return
        self.repo.add_exemplar(item_id, Exemplar(text, language, self._vector(text, language)))

    @staticmethod
    def _new_item(item_id: str, text: str, kind: str, language: str, title: Optional[str], by: str, now: float,
                  vector: Optional[_match.Vectors] = None, voice: Optional[Voice] = None) -> NewItem:
        if kind not in KINDS:
            raise DataError(f"unknown feedback kind {kind!r}; use one of: {', '.join(KINDS)}")
        title = (title or text).strip()[:120]
        fields: Dict[str, Field] = {
            "id": item_id,
            "kind": kind,
            "status": "new",
            "title_en": title if language != "zh" else "",
            "title_zh": title if language == "zh" else "",
            "products": json.dumps(sorted(_match.products_in(text))),
            "created": now,
            "updated": now,
        }
        return NewItem(item_id, fields, {"status": "new", "by": by, "ts": now}, Exemplar(text, language, vector),
                       voice)

    def create(self, text: str, *, sender_id: Optional[str] = None, kind: str = "complaint",
               language: str = "en", channel: Optional[str] = None, title: Optional[str] = None) -> FeedbackItem:
        """A new item (with the first voice when `sender_id` is given)."""
        if kind not in KINDS:
            raise DataError(f"unknown feedback kind {kind!r}; use one of: {', '.join(KINDS)}")
        item_id = f"FB{self.repo.next_number()}"
        self.repo.put_new(self._new_item(item_id, text, kind, language, title, sender_id or "console", time.time(),
                                         vector=self._vector(text, language)))
        if sender_id:
            self.add_voice(item_id, sender_id, text, language=language, channel=channel, how="filed")
        return self.repo.get(item_id)

    def add_voice(self, item_id: str, sender_id: str, text: str = "", *, language: str = "en",
                  channel: Optional[str] = None, how: str = "vote") -> Tuple[FeedbackItem, bool]:
        """Add one person's voice; returns (item, False) when this person had already spoken."""
        item = self.get(item_id)
        now = time.time()
        voice = Voice(profile=self.profile_of(sender_id), sender_id=sender_id, channel=channel,
                      language=language or "en", text=text, how=how, ts=now)
        added = self.repo.add_voice(item.id, voice)
        if added:
            fields: Dict[str, Field] = {}
            title_field = "title_zh" if language == "zh" else "title_en"
            if text and not getattr(self.repo.get(item.id), title_field):
                fields[title_field] = text.strip()[:120]
            if text and how != "vote":
                self._add_exemplar(item.id, text, language)
            fields["updated"] = now
            self.repo.update(item.id, fields)
        return self.repo.get(item.id), added

    def file(self, sender_id: str, text: str, *, kind: str = "complaint", language: Optional[str] = None,
             channel: Optional[str] = None, ask_when_unsure: bool = True) -> Filing:
        """Match `text` to an item and add the user's voice, or open a new item (no lock: see the module)."""
        text = (text or "").strip()
        language = language or detect_language(text) or "en"
        probe = self._signature(text, language)
        for _ in range(MAX_FILING_ATTEMPTS):
            seen = self.repo.seq()
            item, score = self._rank(probe, exclude_closed=True)
            if item is not None and score >= _match.AUTO_JOIN:
                joined, added = self.add_voice(item.id, sender_id, text, language=language, channel=channel,
                                               how="matched")
                return Filing("joined" if added else "already", joined, score=score)
            if item is not None and score >= _match.SUGGEST and ask_when_unsure:
                return Filing("ask", None, candidate=item, score=score)
            item_id, now = f"FB{seen + 1}", time.time()
            voice = Voice(profile=self.profile_of(sender_id), sender_id=sender_id, channel=channel,
                          language=language, text=probe.text, how="filed", ts=now)
            new = self._new_item(item_id, probe.text, kind, language, None, sender_id, now, probe.vector, voice)
            if self.repo.put_new(new, if_seq=seen):
                return Filing("new", self.repo.get(item_id), candidate=item, score=score)
            # an item was created meanwhile: match again, against it too
        logger.warning("feedback: %d concurrent new items while filing %r; filing it as a new item anyway",
                       MAX_FILING_ATTEMPTS, text[:60])
        created = self.create(text, sender_id=sender_id, kind=kind, language=language, channel=channel)
        return Filing("new", created)

    def set_status(self, item_id: str, status: str, *, reason: str = "", release: str = "",
                   release_zh: str = "", by: str = "console", **extra: str) -> FeedbackItem:
        """Move an item to `status`. Declining needs a reason and what to do instead, shipping a release
        ("MilletOS 2.3"); `extra` sets `reason_zh`, `instead`, `instead_zh`, `campaign`, `signup`."""
        item = self.get(item_id)
        status = normalize_status(status)
        unknown = sorted(set(extra) - set(TEXT_FIELDS))
        if unknown:
            raise DataError(f"{item.id}: unknown field(s) {', '.join(unknown)}; use {', '.join(TEXT_FIELDS)}")
        texts = {k: str(v or "").strip() for k, v in extra.items() if str(v or "").strip()}
        if status == "declined" and not (reason.strip() or texts.get("reason_zh")):
            raise DataError(f"{item.id}: declining needs a reason the users will read (--reason \"...\") and "
                            f"what they can do instead (--instead \"...\")")
        if status == "declined" and not (texts.get("instead") or texts.get("instead_zh")):
            raise DataError(f"{item.id}: declining needs what users can do instead, told with the reason "
                            f"(--instead \"turn on Battery saver in Settings\")")
        if status == "shipped" and not (release.strip() or release_zh.strip() or item.release):
            raise DataError(f"{item.id}: shipping needs the release it is in "
                            f"(--release \"MilletOS 2.3 this Friday\")")
        now = time.time()
        fields: Dict[str, Field] = {"status": status, "updated": now, **texts}
        if reason:
            fields["reason"] = reason.strip()
        if release:
            fields["release"] = release.strip()
        if release_zh:
            fields["release_zh"] = release_zh.strip()
        if status == "shipped" and not item.shipped_at:
            fields["shipped_at"] = now
        self.repo.update(item.id, fields)
        self.repo.append_history(item.id, {"status": status, "reason": reason, "release": release, "by": by,
                                           "ts": now})
        return self.repo.get(item.id)

    def set_title(self, item_id: str, *, en: str = "", zh: str = "") -> FeedbackItem:
        item = self.get(item_id)
        fields = {k: v.strip() for k, v in (("title_en", en), ("title_zh", zh)) if v.strip()}
        if fields:
            self.repo.update(item.id, fields)
        return self.repo.get(item.id)

    def claim_notification(self, item_id: str, sender_id: str, status: str = "shipped") -> bool:
        """True exactly once per (item, status, sender): the caller then sends the message."""
        return self.repo.claim_notification(item_id, sender_id, status, time.time())

    def release_notification(self, item_id: str, sender_id: str, status: str = "shipped") -> None:
        """Undo a claim whose message could not be sent, so the next run retries it."""
        self.repo.release_notification(item_id, sender_id, status)

    def told(self, item_id: str, status: str) -> Dict[str, float]:
        """Who was told the item reached `status`, and when (epoch seconds)."""
        return self.repo.told(normalize_id(item_id) or item_id, status)
