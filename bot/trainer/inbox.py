"""The review inbox: what the bot could not answer well, derived from the `canyu:events` stream.

`Inbox(redis).sync()` reads the Rasa events the event broker appended to `canyu:events` since the
last sync and files an item for every user message that was
- classified `out_of_scope` or `nlu_fallback` (reason `out_of_scope` / `fallback`),
- classified below the `review.low_confidence` threshold of voice.yml (`low_confidence`),
- followed by `action_handoff` (`escalated`; the escalation reason is recorded too), or
- the question whose answer the user rated 👎 (a user event of intent `rate_answer` with entity
  `rating`="down", or a `rating` slot set to "down") (`rated_down`).
One message gets one item (reasons accumulate). Items keep their context: the bot's message before
and the bot's reply after. There is no daemon: the CLI, the console page and the report call
`sync()` (a short Redis lock keeps two syncs from overlapping).

Redis keys (owned here):
- `canyu:review:cursor`            last `canyu:events` entry id read (string)
- `canyu:review:items`             hash item id -> item JSON (id = the user event's stream id)
- `canyu:review:open`              sorted set of open item ids, scored by message time
- `canyu:review:convo:{sender}`    JSON working state of one conversation (last question, last bot text), 7-day TTL
- `canyu:review:stats:{YYYY-MM-DD}` hash of daily counts: `messages`, `unanswered`, `rating:up`,
                                   `rating:down`, `escalation:{reason}` (kept 90 days)
- `canyu:review:lock`              sync lock (30 s)
Items leave `open` when a trainer assigns them to an intent, drafts a KB entry or dismisses them;
the item keeps `status` (`assigned:<intent>`, `drafted`, `dismissed`), `by` and `at`, so a
dismissal is never filed again.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Dict, Iterable, List, Optional

from bot.event_broker import EVENTS_STREAM

__all__ = ["Inbox", "REASONS", "KEY_PREFIX"]

KEY_PREFIX = "canyu:review"
CURSOR = f"{KEY_PREFIX}:cursor"
ITEMS = f"{KEY_PREFIX}:items"
OPEN = f"{KEY_PREFIX}:open"
LOCK = f"{KEY_PREFIX}:lock"
CONVO_TTL = 7 * 86400
STATS_TTL = 90 * 86400
REASONS = ("out_of_scope", "fallback", "low_confidence", "escalated", "rated_down")
UNANSWERED = {"out_of_scope", "fallback", "low_confidence"}
RATE_INTENT = "rate_answer"
HANDOFF_ACTION = "action_handoff"
_IGNORED_INTENTS = {RATE_INTENT, "affirm", "deny", "greet", "goodbye", "thanks", "session_start", "restart"}
_ESCALATION_BY_INTENT = {
    "human_handoff": "asked for a person",
    "complain": "complaint",
    "nlu_fallback": "not understood",
    "out_of_scope": "not understood",
}


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


# Typed ratings (no entity): "down" is checked first, so "not helpful" / "没有帮助" are not read as "up".
_TYPED_RATINGS = (
    (re.compile(r"👎|useless|not helpful|no help|didn'?t help|not useful|没用|没有用|没帮助|没有帮助|没解决|答非所问|thumbs down|wrong answer", re.I), "down"),
    (re.compile(r"👍|helpful|helped|useful|有用|有帮助|解决了|很棒|thumbs up|great answer", re.I), "up"),
)


def _rating_of(event: Dict[str, Any]) -> Optional[str]:
    for ent in (event.get("parse_data") or {}).get("entities") or []:
        if ent.get("entity") == "rating":
            return str(ent.get("value")).lower()
    text = event.get("text") or ""
    for pattern, value in _TYPED_RATINGS:
        if pattern.search(text):
            return value
    return None


class Inbox:
    """The review inbox on one Redis (a `redis.Redis` with `decode_responses=True`)."""

    def __init__(self, redis: Any, low_confidence: float = 0.55, stream: str = EVENTS_STREAM) -> None:
        self.redis = redis
        self.low_confidence = low_confidence
        self.stream = stream

    # ---------------------------------------------------------------- reading events
    def sync(self, batch: int = 1000) -> int:
        """Process the events appended since the last sync; return how many were read."""
        token = str(time.time())
        if not self.redis.set(LOCK, token, nx=True, ex=30):
            return 0
        read = 0
        try:
            cursor = self.redis.get(CURSOR) or "0-0"
            while True:
                entries = self.redis.xrange(self.stream, min=f"({cursor}", max="+", count=batch) if cursor != "0-0" \
                    else self.redis.xrange(self.stream, min="-", max="+", count=batch)
                if not entries:
                    break
                for entry_id, fields in entries:
                    try:
                        event = json.loads(fields.get("event") or "{}")
                    except ValueError:
                        event = {}
                    self._process(entry_id, event)
                    cursor = entry_id
                read += len(entries)
                self.redis.set(CURSOR, cursor)
                if len(entries) < batch:
                    break
        finally:
            if self.redis.get(LOCK) == token:
                self.redis.delete(LOCK)
        return read

    def _convo(self, sender: str) -> Dict[str, Any]:
        raw = self.redis.get(f"{KEY_PREFIX}:convo:{sender}")
        return json.loads(raw) if raw else {}

    def _save_convo(self, sender: str, convo: Dict[str, Any]) -> None:
        self.redis.set(f"{KEY_PREFIX}:convo:{sender}", json.dumps(convo, ensure_ascii=False), ex=CONVO_TTL)

    def _count(self, ts: float, field: str, by: int = 1) -> None:
        key = f"{KEY_PREFIX}:stats:{_day(ts)}"
        self.redis.hincrby(key, field, by)
        self.redis.expire(key, STATS_TTL)

    def _process(self, entry_id: str, event: Dict[str, Any]) -> None:
        kind = event.get("event")
        sender = event.get("sender_id")
        if not sender or kind not in ("user", "bot", "action", "slot"):
            return
        ts = float(event.get("timestamp") or time.time())
        convo = self._convo(sender)
        if kind == "user":
            self._on_user(entry_id, event, sender, ts, convo)
        elif kind == "bot":
            text = event.get("text") or ""
            pending = convo.pop("pending_reply", None)
            if pending and text:
                self._update(pending, lambda item: item.setdefault("reply", text))
            if text:
                convo["last_bot"] = text
        elif kind == "action" and event.get("name") == HANDOFF_ACTION:
            question = convo.get("question")
            reason = convo.get("handoff_reason") or _ESCALATION_BY_INTENT.get((question or {}).get("intent", ""), "other")
            self._count(ts, f"escalation:{reason}")
            if question and not convo.get("escalated_question") == question["id"]:
                convo["escalated_question"] = question["id"]
                self._file(question, "escalated", extra={"escalation": reason})
        elif kind == "slot":
            name, value = event.get("name"), event.get("value")
            if name == "handoff_reason" and value:
                convo["handoff_reason"] = str(value)
            elif name == "rating" and value is not None:
                self._on_rating(str(value).lower(), convo, ts)
        self._save_convo(sender, convo)

    def _on_user(self, entry_id: str, event: Dict[str, Any], sender: str, ts: float, convo: Dict[str, Any]) -> None:
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name") or ""
        confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
        text = (event.get("text") or "").strip()
        if intent == RATE_INTENT:
            rating = _rating_of(event)
            if rating:
                self._on_rating(rating, convo, ts)
            return
        if not text or text.startswith("/"):  # button payloads are not questions
            return
        self._count(ts, "messages")
        ranking = [{"intent": r.get("name"), "confidence": round(float(r.get("confidence") or 0), 3)}
                   for r in (parse.get("intent_ranking") or [])[:3]]
        guess = next((r["intent"] for r in ranking if r["intent"] not in ("nlu_fallback", None)), intent)
        language = next((e.get("value") for e in parse.get("entities") or [] if e.get("entity") == "language"), None)
        question = {
            "id": entry_id, "text": text, "sender": sender, "ts": ts, "intent": intent,
            "confidence": round(confidence, 3), "ranking": ranking, "language": language, "guess": guess,
            "channel": event.get("input_channel"), "before": convo.get("last_bot"),
        }
        convo.pop("handoff_reason", None)
        if intent in _IGNORED_INTENTS:
            convo.pop("question", None)
            return
        convo["question"] = question
        reason = None
        if intent == "out_of_scope":
            reason = "out_of_scope"
        elif intent == "nlu_fallback":
            reason = "fallback"
        elif confidence < self.low_confidence:
            reason = "low_confidence"
        if reason:
            self._count(ts, "unanswered")
            self._file(question, reason)
            convo["pending_reply"] = entry_id

    def _on_rating(self, rating: str, convo: Dict[str, Any], ts: float) -> None:
        good = rating in ("up", "good", "yes", "+", "+1", "👍", "thumbs_up")
        if not good and rating not in ("down", "bad", "no", "-", "-1", "👎", "thumbs_down"):
            return  # 1-5 after a handoff is a CSAT score, not an answer rating
        self._count(ts, "rating:up" if good else "rating:down")
        question = convo.get("question")
        if not good and question:
            self._file(question, "rated_down", extra={"rated_answer": convo.get("last_bot")})

    # ---------------------------------------------------------------- items
    def _file(self, question: Dict[str, Any], reason: str, extra: Optional[Dict[str, Any]] = None) -> None:
        raw = self.redis.hget(ITEMS, question["id"])
        item = json.loads(raw) if raw else dict(question, reasons=[], status="open")
        if reason not in item["reasons"]:
            item["reasons"].append(reason)
        item.update(extra or {})
        self.redis.hset(ITEMS, item["id"], json.dumps(item, ensure_ascii=False))
        if item.get("status") == "open":
            self.redis.zadd(OPEN, {item["id"]: float(item.get("ts") or 0)})

    def _update(self, item_id: str, change: Any) -> None:
        raw = self.redis.hget(ITEMS, item_id)
        if not raw:
            return
        item = json.loads(raw)
        change(item)
        self.redis.hset(ITEMS, item_id, json.dumps(item, ensure_ascii=False))

    def get(self, item_id: str) -> Optional[Dict[str, Any]]:
        raw = self.redis.hget(ITEMS, item_id)
        return json.loads(raw) if raw else None

    def open_items(self, limit: int = 2000, since: Optional[float] = None) -> List[Dict[str, Any]]:
        """Open items, newest first."""
        ids = self.redis.zrevrangebyscore(OPEN, "+inf", since if since is not None else "-inf", start=0, num=limit)
        if not ids:
            return []
        return [json.loads(raw) for raw in self.redis.hmget(ITEMS, ids) if raw]

    def all_items(self, since: Optional[float] = None) -> List[Dict[str, Any]]:
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
