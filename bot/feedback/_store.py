"""Feedback items, their voices and their status history, in Redis.

Key layout (all under `canyu:feedback:`; names and TTLs in bot/keys.py):

| key | type | what |
|---|---|---|
| `canyu:feedback:seq` | string | counter behind the short ids `FB1`, `FB2`, … |
| `canyu:feedback:item:{id}` | hash | the item: kind, status, titles, reason, release, times |
| `canyu:feedback:items` | zset | every item id, scored by creation time |
| `canyu:feedback:voices:{id}` | hash | profile id -> JSON voice (sender_id, channel, language, text, how, ts) |
| `canyu:feedback:exemplars:{id}` | list | JSON {text, language, vector} used for matching (at most 8) |
| `canyu:feedback:by_user:{profile}` | zset | item ids a person voiced, scored by time |
| `canyu:feedback:notified:{id}` | hash | sender_id -> time the "shipped" message went out (exactly once) |
| `canyu:feedback:told:{status}:{id}` | hash | the same for planned, in_beta and declined (`told_key`) |
| `canyu:feedback:history:{id}` | list | JSON status changes {status, reason, release, by, ts} |

One person (a fan profile, see `bot.fans`) counts once per item, however often they say it.

Filing takes no lock, so one slow filing never holds up another user's. A voice on an existing item is one
`HSETNX` per person (two people at once both count, one person twice counts once). A new item is written
in one `MULTI` that `WATCH`es `canyu:feedback:seq`: if any item was created after the filing read the
items, the transaction is dropped and the text is matched again, now against the newcomer too. So the
same idea filed by many people at once makes one item with all their voices.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import asdict
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from redis.exceptions import WatchError

from bot import keys
from bot.errors import DataError
from bot.feedback import _match
from bot.feedback._model import (KINDS, STATUSES, FeedbackItem, Filing, UnknownItem, Voice, normalize_id,
                                 normalize_status)

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

PREFIX = keys.FEEDBACK_PREFIX
MAX_EXEMPLARS = 8
_TEXT_FIELDS = ("reason_zh", "instead", "instead_zh", "campaign", "signup")
MAX_FILING_ATTEMPTS = 50
"""Matching again after a concurrent new item; past this a new item is created anyway (never a lost voice)."""

logger = logging.getLogger(__name__)


def _profile(sender_id: str, red: Any) -> str:
    try:
        from bot.fans import profile_id

        return profile_id(sender_id, red)
    except ImportError:  # pragma: no cover - bot.fans ships with bot.feedback
        return sender_id


def _vec_to_str(vector: Optional[np.ndarray]) -> Optional[str]:
    if vector is None:
        return None
    return base64.b64encode(np.ascontiguousarray(vector, dtype=np.float32).tobytes()).decode("ascii")


def _exemplar(text: str, language: str, vector: Optional[np.ndarray]) -> str:
    return json.dumps({"text": text, "language": language, "vector": _vec_to_str(vector)})


def _vec_from_str(raw: Optional[str]) -> Optional[np.ndarray]:
    if not raw:
        return None
    return np.frombuffer(base64.b64decode(raw), dtype=np.float32)


class FeedbackStore:
    """Feedback items in Redis; see the module docstring for the keys."""

    def __init__(self, red: Any = None, use_vectors: bool = True) -> None:
        if red is None:
            from bot.storage import connect_redis

            red = connect_redis()
        self.red = red
        self.use_vectors = use_vectors

    # reading -------------------------------------------------------------------------------
    def get(self, item_id: str) -> FeedbackItem:
        norm = normalize_id(item_id) or item_id
        raw = self.red.hgetall(f"{PREFIX}item:{norm}")
        if not raw:
            raise UnknownItem(item_id)
        return FeedbackItem(
            id=raw["id"],
            kind=raw.get("kind", "complaint"),
            status=raw.get("status", "new"),
            title_en=raw.get("title_en", ""),
            title_zh=raw.get("title_zh", ""),
            products=json.loads(raw.get("products") or "[]"),
            created=float(raw.get("created", 0)),
            updated=float(raw.get("updated", 0)),
            count=int(self.red.hlen(f"{PREFIX}voices:{norm}")),
            reason=raw.get("reason", ""),
            release=raw.get("release", ""),
            release_zh=raw.get("release_zh", ""),
            shipped_at=float(raw.get("shipped_at", 0) or 0),
            **{name: raw.get(name, "") for name in _TEXT_FIELDS},
        )

    def exists(self, item_id: str) -> bool:
        norm = normalize_id(item_id)
        return bool(norm and self.red.exists(f"{PREFIX}item:{norm}"))

    def all(self, status: Optional[str] = None) -> List[FeedbackItem]:
        items = [self.get(i) for i in self.red.zrange(f"{PREFIX}items", 0, -1)]
        if status:
            wanted = normalize_status(status)
            items = [i for i in items if i.status == wanted]
        return items

    def voices(self, item_id: str) -> List[Voice]:
        norm = normalize_id(item_id) or item_id
        out = [Voice(**json.loads(v)) for v in self.red.hvals(f"{PREFIX}voices:{norm}")]
        return sorted(out, key=lambda v: v.ts)

    def items_of(self, sender_id: str) -> List[FeedbackItem]:
        profile = _profile(sender_id, self.red)
        ids = self.red.zrevrange(f"{PREFIX}by_user:{profile}", 0, -1)
        return [self.get(i) for i in ids if self.red.exists(f"{PREFIX}item:{i}")]

    def history(self, item_id: str) -> List[Dict[str, Any]]:
        norm = normalize_id(item_id) or item_id
        return [json.loads(h) for h in self.red.lrange(f"{PREFIX}history:{norm}", 0, -1)]

    def notified(self, item_id: str) -> Dict[str, float]:
        norm = normalize_id(item_id) or item_id
        return {k: float(v) for k, v in self.red.hgetall(f"{PREFIX}notified:{norm}").items()}

    # matching ------------------------------------------------------------------------------
    def _signature(self, text: str, language: Optional[str]) -> _match.Signature:
        vector = None
        if self.use_vectors and (language or "") != "zh":
            encoded = _match.encode([text])
            vector = encoded[0] if encoded is not None else None
        return _match.signature(text, vector=vector, language=language)

    def best_match(self, text: str, language: Optional[str] = None, exclude_closed: bool = False
                   ) -> Tuple[Optional[FeedbackItem], float]:
        """The most similar item and its score (None, 0.0 when there are no items)."""
        return self._rank(self._signature(text, language), exclude_closed)

    def _rank(self, probe: _match.Signature, exclude_closed: bool) -> Tuple[Optional[FeedbackItem], float]:
        best_id, best = None, 0.0
        ids = self.red.zrange(f"{PREFIX}items", 0, -1)
        pipe = self.red.pipeline(transaction=False)
        for item_id in ids:
            pipe.hget(f"{PREFIX}item:{item_id}", "status")
            pipe.lrange(f"{PREFIX}exemplars:{item_id}", 0, -1)
        fetched = pipe.execute() if ids else []
        for n, item_id in enumerate(ids):
            status, exemplars = fetched[2 * n], fetched[2 * n + 1]
            if exclude_closed and status == "declined":
                continue
            for raw in exemplars:
                ex = json.loads(raw)
                sig = _match.signature(ex["text"], vector=_vec_from_str(ex.get("vector")), language=ex.get("language"))
                score = _match.similarity(probe, sig)
                if score > best:
                    best_id, best = item_id, score
        return (self.get(best_id) if best_id else None), best

    # writing -------------------------------------------------------------------------------
    def _add_exemplar(self, item_id: str, text: str, language: str, sig: Optional[_match.Signature] = None) -> None:
        key = f"{PREFIX}exemplars:{item_id}"
        if self.red.llen(key) >= MAX_EXEMPLARS:
            return
        vector = sig.vector if sig is not None else None
        if vector is None and self.use_vectors and language != "zh":
            encoded = _match.encode([text])
            vector = encoded[0] if encoded is not None else None
        pipe = self.red.pipeline()
        pipe.rpush(key, _exemplar(text, language, vector))
        pipe.ltrim(key, 0, MAX_EXEMPLARS - 1)  # voices joining at once may all have passed the check above
        pipe.execute()

    @staticmethod
    def _item_fields(item_id: str, text: str, kind: str, language: str, title: Optional[str], now: float
                     ) -> Dict[str, Any]:
        title = (title or text).strip()[:120]
        return {
            "id": item_id,
            "kind": kind,
            "status": "new",
            "title_en": title if language != "zh" else "",
            "title_zh": title if language == "zh" else "",
            "products": json.dumps(sorted(_match.products_in(text))),
            "created": now,
            "updated": now,
        }

    def create(self, text: str, *, sender_id: Optional[str] = None, kind: str = "complaint",
               language: str = "en", channel: Optional[str] = None, title: Optional[str] = None) -> FeedbackItem:
        """A new item (with the first voice when `sender_id` is given)."""
        if kind not in KINDS:
            raise DataError(f"unknown feedback kind {kind!r}; use one of: {', '.join(KINDS)}")
        number = self.red.incr(f"{PREFIX}seq")
        item_id = f"FB{number}"
        now = time.time()
        fields = self._item_fields(item_id, text, kind, language, title, now)
        pipe = self.red.pipeline()
        pipe.hset(f"{PREFIX}item:{item_id}", mapping=fields)
        pipe.zadd(f"{PREFIX}items", {item_id: now})
        pipe.rpush(f"{PREFIX}history:{item_id}", json.dumps({"status": "new", "by": sender_id or "console", "ts": now}))
        pipe.execute()
        self._add_exemplar(item_id, text, language)
        if sender_id:
            self.add_voice(item_id, sender_id, text, language=language, channel=channel, how="filed")
        return self.get(item_id)

    def add_voice(self, item_id: str, sender_id: str, text: str = "", *, language: str = "en",
                  channel: Optional[str] = None, how: str = "vote") -> Tuple[FeedbackItem, bool]:
        """Add one person's voice; returns (item, False) when this person had already spoken."""
        item = self.get(item_id)
        profile = _profile(sender_id, self.red)
        now = time.time()
        voice = Voice(profile=profile, sender_id=sender_id, channel=channel, language=language or "en",
                      text=text, how=how, ts=now)
        added = bool(self.red.hsetnx(f"{PREFIX}voices:{item.id}", profile, json.dumps(asdict(voice), ensure_ascii=False)))
        if added:
            self.red.zadd(f"{PREFIX}by_user:{profile}", {item.id: now})
            title_field = "title_zh" if language == "zh" else "title_en"
            if text and not self.red.hget(f"{PREFIX}item:{item.id}", title_field):
                self.red.hset(f"{PREFIX}item:{item.id}", title_field, text.strip()[:120])
            if text and how != "vote":
                self._add_exemplar(item.id, text, language)
            self.red.hset(f"{PREFIX}item:{item.id}", "updated", now)
        return self.get(item.id), added

    def file(self, sender_id: str, text: str, *, kind: str = "complaint", language: Optional[str] = None,
             channel: Optional[str] = None, ask_when_unsure: bool = True) -> Filing:
        """Match `text` to an item and add the user's voice, or open a new item (no lock: see the module)."""
        text = (text or "").strip()
        language = language or _match.detect_language(text) or "en"
        probe = self._signature(text, language)
        for _ in range(MAX_FILING_ATTEMPTS):
            with self.red.pipeline() as pipe:
                pipe.watch(f"{PREFIX}seq")
                seen = int(pipe.get(f"{PREFIX}seq") or 0)
                item, score = self._rank(probe, exclude_closed=True)
                if item is not None and score >= _match.AUTO_JOIN:
                    pipe.unwatch()
                    joined, added = self.add_voice(item.id, sender_id, text, language=language, channel=channel,
                                                   how="matched")
                    return Filing("joined" if added else "already", joined, score=score)
                if item is not None and score >= _match.SUGGEST and ask_when_unsure:
                    return Filing("ask", None, candidate=item, score=score)
                try:
                    created = self._create_filed(pipe, seen + 1, probe, sender_id, kind, language, channel)
                except WatchError:
                    continue  # an item was created meanwhile: match again, against it too
                return Filing("new", created, candidate=item, score=score)
        logger.warning("feedback: %d concurrent new items while filing %r; filing it as a new item anyway",
                       MAX_FILING_ATTEMPTS, text[:60])
        created = self.create(text, sender_id=sender_id, kind=kind, language=language, channel=channel)
        return Filing("new", created)

    def _create_filed(self, pipe: Any, number: int, probe: _match.Signature, sender_id: str, kind: str,
                      language: str, channel: Optional[str]) -> FeedbackItem:
        """Item `FB{number}` with its first voice, in one transaction on `pipe` (WatchError if seq moved)."""
        if kind not in KINDS:
            raise DataError(f"unknown feedback kind {kind!r}; use one of: {', '.join(KINDS)}")
        item_id, now = f"FB{number}", time.time()
        profile = _profile(sender_id, self.red)
        voice = Voice(profile=profile, sender_id=sender_id, channel=channel, language=language, text=probe.text,
                      how="filed", ts=now)
        pipe.multi()
        pipe.incr(f"{PREFIX}seq")
        pipe.hset(f"{PREFIX}item:{item_id}", mapping=self._item_fields(item_id, probe.text, kind, language, None, now))
        pipe.zadd(f"{PREFIX}items", {item_id: now})
        pipe.rpush(f"{PREFIX}history:{item_id}", json.dumps({"status": "new", "by": sender_id, "ts": now}))
        pipe.rpush(f"{PREFIX}exemplars:{item_id}", _exemplar(probe.text, language, probe.vector))
        pipe.hset(f"{PREFIX}voices:{item_id}", profile, json.dumps(asdict(voice), ensure_ascii=False))
        pipe.zadd(f"{PREFIX}by_user:{profile}", {item_id: now})
        pipe.execute()
        return self.get(item_id)

    def set_status(self, item_id: str, status: str, *, reason: str = "", release: str = "",
                   release_zh: str = "", by: str = "console", **extra: str) -> FeedbackItem:
        """Move an item to `status`. Declining needs a reason and what to do instead, shipping a release
        ("MilletOS 2.3"); `extra` sets `reason_zh`, `instead`, `instead_zh`, `campaign`, `signup`."""
        item = self.get(item_id)
        status = normalize_status(status)
        unknown = sorted(set(extra) - set(_TEXT_FIELDS))
        if unknown:
            raise DataError(f"{item.id}: unknown field(s) {', '.join(unknown)}; use {', '.join(_TEXT_FIELDS)}")
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
        fields: Dict[str, Any] = {"status": status, "updated": now, **texts}
        if reason:
            fields["reason"] = reason.strip()
        if release:
            fields["release"] = release.strip()
        if release_zh:
            fields["release_zh"] = release_zh.strip()
        if status == "shipped" and not item.shipped_at:
            fields["shipped_at"] = now
        self.red.hset(f"{PREFIX}item:{item.id}", mapping=fields)
        self.red.rpush(f"{PREFIX}history:{item.id}", json.dumps(
            {"status": status, "reason": reason, "release": release, "by": by, "ts": now}, ensure_ascii=False))
        return self.get(item.id)

    def set_title(self, item_id: str, *, en: str = "", zh: str = "") -> FeedbackItem:
        item = self.get(item_id)
        fields = {k: v.strip() for k, v in (("title_en", en), ("title_zh", zh)) if v.strip()}
        if fields:
            self.red.hset(f"{PREFIX}item:{item.id}", mapping=fields)
        return self.get(item.id)

    def claim_notification(self, item_id: str, sender_id: str, status: str = "shipped") -> bool:
        """True exactly once per (item, status, sender): the caller then sends the message."""
        return bool(self.red.hsetnx(told_key(item_id, status), sender_id, time.time()))

    def release_notification(self, item_id: str, sender_id: str, status: str = "shipped") -> None:
        """Undo a claim whose message could not be sent, so the next run retries it."""
        self.red.hdel(told_key(item_id, status), sender_id)

    def told(self, item_id: str, status: str) -> Dict[str, float]:
        """Who was told the item reached `status`, and when (epoch seconds)."""
        return {k: float(v) for k, v in self.red.hgetall(told_key(normalize_id(item_id) or item_id, status)).items()}


def told_key(item_id: str, status: str) -> str:
    """`notified:{id}` for shipped (its first key, kept), `told:{status}:{id}` for the other statuses."""
    return f"{PREFIX}notified:{item_id}" if status == "shipped" else f"{PREFIX}told:{status}:{item_id}"
