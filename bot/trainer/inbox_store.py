"""The review inbox's Redis repository: items, the open set, recent knowledge answers, daily counts.

Redis keys (owned here; the prefix is `bot.keys.REVIEW_PREFIX`):
- `canyu:review:cursor`            last `canyu:events` entry id read (string)
- `canyu:review:items`             hash item id -> item JSON (id = the user event's stream id)
- `canyu:review:open`              sorted set of open item ids, scored by message time
- `canyu:review:convo:{sender}`    JSON working state of one conversation (last question, last bot text,
                                   the knowledge answers still watched, user turn count), 7-day TTL
- `canyu:review:answers`           list of the last 500 knowledge answers (JSON: id = the bot event's
                                   stream id, text, entry, kind, confidence, question), newest first;
                                   30-day TTL, renewed on every answer
- `canyu:review:stats:{YYYY-MM-DD}` hash of daily counts: `messages`, `unanswered`, `rating:up`,
                                   `rating:down`, `escalation:{reason}`, `wrong:{reason}` (items newly
                                   filed as `rephrased` / `asked_for_person` / `marked_wrong`) (kept 90 days)
- `canyu:review:lock`              sync lock (30 s)
Items leave `open` when a trainer assigns them to an intent, drafts a KB entry or dismisses them;
the item keeps `status` (`assigned:<intent>`, `drafted`, `dismissed`), `by` and `at`, so a
dismissal is never filed again by a sync (a trainer's `mark_wrong()` opens it again).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from bot.errors import DataError
from bot.keys import REVIEW_PREFIX

__all__ = ["InboxStore", "REASONS", "UNANSWERED", "WRONG_ANSWER", "KEY_PREFIX", "ITEMS", "OPEN", "ANSWERS"]

KEY_PREFIX = REVIEW_PREFIX
CURSOR = f"{KEY_PREFIX}:cursor"
ITEMS = f"{KEY_PREFIX}:items"
OPEN = f"{KEY_PREFIX}:open"
LOCK = f"{KEY_PREFIX}:lock"
ANSWERS = f"{KEY_PREFIX}:answers"
CONVO_TTL = 7 * 86400
STATS_TTL = 90 * 86400
ANSWERS_TTL = 30 * 86400
ANSWERS_KEPT = 500
REASONS = ("out_of_scope", "fallback", "low_confidence", "escalated", "rated_down", "rephrased",
           "asked_for_person", "marked_wrong")
UNANSWERED = frozenset({"out_of_scope", "fallback", "low_confidence"})
WRONG_ANSWER = ("rated_down", "rephrased", "asked_for_person", "marked_wrong")  # answered, but wrongly

Item = Dict[str, Any]


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def _answer_view(answer: Dict[str, Any]) -> Dict[str, Any]:
    """What an item keeps of the answer that missed."""
    return {k: answer.get(k) for k in ("id", "text", "entry", "kind", "confidence", "ts")}


class InboxStore:
    """The inbox's records on one Redis (a `redis.Redis` with `decode_responses=True`)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    # ---------------------------------------------------------------- sync bookkeeping
    def lock(self, token: str) -> bool:
        """Take the 30-second sync lock; False when another sync holds it."""
        return bool(self.redis.set(LOCK, token, nx=True, ex=30))

    def unlock(self, token: str) -> None:
        if self.redis.get(LOCK) == token:
            self.redis.delete(LOCK)

    def cursor(self) -> str:
        return str(self.redis.get(CURSOR) or "0-0")

    def set_cursor(self, cursor: str) -> None:
        self.redis.set(CURSOR, cursor)

    def convo(self, sender: str) -> Dict[str, Any]:
        raw = self.redis.get(f"{KEY_PREFIX}:convo:{sender}")
        state: Dict[str, Any] = json.loads(raw) if raw else {}
        return state

    def save_convo(self, sender: str, convo: Dict[str, Any]) -> None:
        self.redis.set(f"{KEY_PREFIX}:convo:{sender}", json.dumps(convo, ensure_ascii=False), ex=CONVO_TTL)

    def count(self, ts: float, field: str, by: int = 1) -> None:
        key = f"{KEY_PREFIX}:stats:{_day(ts)}"
        self.redis.hincrby(key, field, by)
        self.redis.expire(key, STATS_TTL)

    def push_answer(self, answer: Dict[str, Any]) -> None:
        """Remember a knowledge answer (the last `ANSWERS_KEPT`)."""
        pipe = self.redis.pipeline()
        pipe.lpush(ANSWERS, json.dumps(answer, ensure_ascii=False))
        pipe.ltrim(ANSWERS, 0, ANSWERS_KEPT - 1)
        pipe.expire(ANSWERS, ANSWERS_TTL)
        pipe.execute()

    # ---------------------------------------------------------------- items
    def file(self, question: Dict[str, Any], reason: str, extra: Optional[Dict[str, Any]] = None,
             change: Optional[Callable[[Item], None]] = None, reopen: bool = False) -> Tuple[Item, bool]:
        """File (or add `reason` to) the item of `question`; return (item, whether the reason is new)."""
        raw = self.redis.hget(ITEMS, question["id"])
        item: Item = json.loads(raw) if raw else dict(question, reasons=[], status="open")
        new = reason not in item["reasons"]
        if new:
            item["reasons"].append(reason)
        item.update(extra or {})
        if change is not None:
            change(item)
        if reopen and item.get("status") != "open":
            item["reopened"] = {"from": item.get("status"), "by": item.get("by"), "at": item.get("at")}
            item["status"] = "open"
        self.redis.hset(ITEMS, item["id"], json.dumps(item, ensure_ascii=False))
        if item.get("status") == "open":
            self.redis.zadd(OPEN, {item["id"]: float(item.get("ts") or 0)})
        return item, new

    def file_wrong(self, answer: Dict[str, Any], reason: str, signal: Dict[str, Any], reopen: bool = False) -> Item:
        """File the answer's question as a wrong answer (`reason`), with the answer and what gave it away."""

        def add(item: Item) -> None:
            item["answer"] = _answer_view(answer)
            item.setdefault("reply", answer.get("text"))
            signals = item.setdefault("signals", [])
            if not any(s.get("reason") == reason for s in signals):
                signals.append({k: v for k, v in signal.items() if v is not None})

        item, new = self.file(answer["question"], reason, change=add, reopen=reopen)
        if new and reason != "rated_down":  # ratings are counted as `rating:down` already
            self.count(float(signal.get("ts") or time.time()), f"wrong:{reason}")
        return item

    def update(self, item_id: str, change: Callable[[Item], Any]) -> None:
        raw = self.redis.hget(ITEMS, item_id)
        if not raw:
            return
        item = json.loads(raw)
        change(item)
        self.redis.hset(ITEMS, item_id, json.dumps(item, ensure_ascii=False))

    # ---------------------------------------------------------------- knowledge answers
    def recent_answers(self, limit: int = 30) -> List[Dict[str, Any]]:
        """The last knowledge answers, newest first, each with its question and the question's item (if any)."""
        answers = [json.loads(raw) for raw in self.redis.lrange(ANSWERS, 0, max(limit, 1) - 1)]
        ids = [a["question"]["id"] for a in answers]
        items = self.redis.hmget(ITEMS, ids) if ids else []
        for answer, raw in zip(answers, items, strict=False):
            item = json.loads(raw) if raw else None
            answer["reasons"] = item["reasons"] if item else []
            answer["status"] = item.get("status") if item else None
        return answers

    def answer(self, answer_id: str) -> Optional[Dict[str, Any]]:
        for raw in self.redis.lrange(ANSWERS, 0, -1):
            answer: Dict[str, Any] = json.loads(raw)
            if answer.get("id") == answer_id:
                return answer
        return None

    def mark_wrong(self, answer_id: str, by: str = "trainer", note: str = "") -> Item:
        """A trainer says this knowledge answer was wrong: its question goes (back) into the inbox."""
        answer = self.answer(answer_id)
        if answer is None:
            raise DataError(f"no recent answer {answer_id!r} (only the last {ANSWERS_KEPT} are kept); reload the list")
        signal = {"reason": "marked_wrong", "by": by, "ts": time.time(), "note": (note or "").strip()[:500] or None}
        return self.file_wrong(answer, "marked_wrong", signal, reopen=True)

    def get(self, item_id: str) -> Optional[Item]:
        raw = self.redis.hget(ITEMS, item_id)
        item: Optional[Item] = json.loads(raw) if raw else None
        return item

    def open_items(self, limit: int = 2000, since: Optional[float] = None,
                   reasons: Optional[Iterable[str]] = None) -> List[Item]:
        """Open items, newest first (only those with one of `reasons`, when given)."""
        ids = self.redis.zrevrangebyscore(OPEN, "+inf", since if since is not None else "-inf", start=0, num=limit)
        if not ids:
            return []
        items = [json.loads(raw) for raw in self.redis.hmget(ITEMS, ids) if raw]
        wanted = set(reasons or ())
        return [i for i in items if not wanted or wanted & set(i.get("reasons") or [])]

    def all_items(self, since: Optional[float] = None) -> List[Item]:
        """Every item ever filed (any status), optionally only those since a time."""
        items = [json.loads(raw) for raw in self.redis.hvals(ITEMS)]
        return [i for i in items if since is None or float(i.get("ts") or 0) >= since]

    def close(self, item_ids: Iterable[str], status: str, by: str = "trainer") -> int:
        """Take items out of the inbox with a final status (`dismissed`, `assigned:<intent>`, `drafted`)."""
        done = 0
        for item_id in item_ids:
            raw = self.redis.hget(ITEMS, item_id)
            if not raw:
                continue
            item = json.loads(raw)
            item.update(status=status, by=by, at=time.time())
            pipe = self.redis.pipeline()
            pipe.hset(ITEMS, item_id, json.dumps(item, ensure_ascii=False))
            pipe.zrem(OPEN, item_id)
            pipe.execute()
            done += 1
        return done

    def dismiss(self, item_ids: Iterable[str], by: str = "trainer") -> int:
        return self.close(item_ids, "dismissed", by)

    def stats(self, days: int = 7, until: Optional[float] = None) -> Dict[str, Dict[str, int]]:
        """Daily counts of the last `days` days (oldest first)."""
        until = until or time.time()
        out: Dict[str, Dict[str, int]] = {}
        for back in range(days - 1, -1, -1):
            day = _day(until - back * 86400)
            raw = self.redis.hgetall(f"{KEY_PREFIX}:stats:{day}")
            out[day] = {k: int(v) for k, v in raw.items()}
        return out
