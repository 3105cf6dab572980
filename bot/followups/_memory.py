"""The in-memory twins of the follow-up and call-back stores, for unit tests, with the same semantics.

- `MemoryFollowupStore` (`FollowupStorage`): a user's follow-ups kept as the same fields as the Redis hash (a
  claim, an outcome, an answer each set once), the due list in the sorted set's order, ids `F1`, `F2`, …;
- `MemoryCallbackStore` (`CallbackStorage`): one call-back per user, the open ones by due time;
- `MemoryFollowupLog`: the figures log both write to (share one between them, as they share one in Redis).

A user's records expire `KEEP_S` after their last change, on `clock`. Thread-safe.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from bot.errors import DataError
from bot.followups._callbacks import Callback, callback_from_hash, last_handoff, new_callback
from bot.followups._config import FollowupConfig
from bot.followups._store import (
    KEEP_S,
    Record,
    check_kind,
    check_reply,
    due_pairs,
    first_unanswered,
    new_record,
    records_of,
    with_state,
)

__all__ = ["MemoryCallbackStore", "MemoryFollowupLog", "MemoryFollowupStore"]

Clock = Callable[[], float]


class MemoryFollowupLog:
    """The figures log: `{what, kind, at}` entries, oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: List[Dict[str, Any]] = []

    def add(self, what: str, kind: str, now: Optional[float] = None) -> None:
        with self._lock:
            self._entries.append({"what": what, "kind": kind, "at": round(time.time() if now is None else now, 3)})

    def read(self, start: float, end: float) -> List[Dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries if start <= float(e["at"]) < end]


class _Hashes:
    """Hashes of text fields that expire `KEEP_S` after their last change (as the Redis ones do)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.data: Dict[str, Dict[str, str]] = {}
        self._until: Dict[str, float] = {}

    def read(self, key: str) -> Dict[str, str]:
        if key in self.data and self._until.get(key, float("inf")) <= self.clock():
            del self.data[key]
            self._until.pop(key, None)
        return self.data.get(key, {})

    def write(self, key: str, fields: Mapping[str, str], keep: bool = True) -> Dict[str, str]:
        found = self.read(key)
        found.update(fields)
        self.data[key] = found
        if keep:
            self._until[key] = self.clock() + KEEP_S
        return found


class MemoryFollowupStore:
    """Follow-ups in plain dicts (see `FollowupStorage`)."""

    def __init__(self, config: FollowupConfig, log: Optional[MemoryFollowupLog] = None,
                 clock: Clock = time.time) -> None:
        self.config = config
        self.log = log or MemoryFollowupLog()
        self._lock = threading.RLock()
        self._users = _Hashes(clock)
        self._due: Dict[str, float] = {}
        self._seq = 0

    def schedule(self, sender_id: str, kind: str, *, subject: Mapping[str, str], language: str, ref: str = "",
                 history: Optional[Mapping[str, Any]] = None, now: Optional[float] = None,
                 dedupe: str = "") -> Record:
        check_kind(kind)
        now = time.time() if now is None else now
        event = f"event:{kind}:{dedupe}"
        with self._lock:
            if dedupe:
                existing = self._users.read(sender_id).get(event)
                if existing:
                    found = self.get(sender_id, existing)
                    if found is not None:
                        return found
            self._seq += 1
            record = new_record(f"F{self._seq}", sender_id, kind, ref, subject, language, history, now, self.config)
            if dedupe:
                self._users.write(sender_id, {event: record["id"]}, keep=False)
            self._users.write(sender_id, {record["id"]: json.dumps(record, ensure_ascii=False)})
            self._due[f"{record['id']}|{sender_id}"] = record["due_at"]
        self.log.add("scheduled", kind, now)
        return record

    def _set_once(self, sender_id: str, field: str, value: str) -> bool:
        with self._lock:
            if field in self._users.read(sender_id):
                return False
            self._users.write(sender_id, {field: value}, keep=False)
            return True

    def claim(self, sender_id: str, fid: str, now: float) -> bool:
        return self._set_once(sender_id, f"{fid}:sent", f"{now:.3f}")

    def unclaim(self, sender_id: str, fid: str) -> None:
        with self._lock:
            self._users.read(sender_id).pop(f"{fid}:sent", None)

    def mark_outcome(self, record: Mapping[str, Any], outcome: str, now: float) -> None:
        sender_id, fid = record["sender_id"], record["id"]
        with self._lock:
            self._users.write(sender_id, {f"{fid}:outcome": outcome})
            self._due.pop(f"{fid}|{sender_id}", None)
        self.log.add(outcome, record.get("kind", ""), now)

    def answer(self, sender_id: str, fid: str, reply: str, now: Optional[float] = None) -> bool:
        check_reply(reply)
        now = time.time() if now is None else now
        with self._lock:
            if not self._set_once(sender_id, f"{fid}:answer", reply):
                return False
            self._users.write(sender_id, {f"{fid}:answered_at": f"{now:.3f}"}, keep=False)
            record = self.get(sender_id, fid) or {}
        self.log.add(reply, record.get("kind", ""), now)
        return True

    def get(self, sender_id: str, fid: str) -> Optional[Record]:
        with self._lock:
            data = dict(self._users.read(sender_id))
        return with_state(fid, data) if fid in data else None

    def of_user(self, sender_id: str) -> List[Record]:
        with self._lock:
            return records_of(dict(self._users.read(sender_id)))

    def latest_unanswered(self, sender_id: str) -> Optional[Record]:
        return first_unanswered(self.of_user(sender_id))

    def due(self, now: float, limit: int = 200) -> List[Tuple[str, str]]:
        with self._lock:
            members = sorted((score, member) for member, score in self._due.items() if score <= now)
        return due_pairs(m for _, m in members[:max(limit, 0)])

    def logged(self, start: float, end: float) -> List[Dict[str, Any]]:
        return self.log.read(start, end)


class MemoryCallbackStore:
    """Call-backs in plain dicts (see `CallbackStorage`). `resolved` gives the JSON summaries of resolved handoffs,
    newest first (e.g. from a `MemoryHandoffStore`); none by default."""

    def __init__(self, config: FollowupConfig, log: Optional[MemoryFollowupLog] = None,
                 resolved: Optional[Callable[[], List[Dict[str, Any]]]] = None, clock: Clock = time.time) -> None:
        self.config = config
        self.log = log or MemoryFollowupLog()
        self._resolved = resolved
        self._lock = threading.RLock()
        self._callbacks = _Hashes(clock)
        self._open: Dict[str, float] = {}

    def open(self, sender_id: str, rating: int, *, agent: str = "", language: str = "en",
             now: Optional[float] = None) -> Callback:
        now = time.time() if now is None else now
        with self._lock:
            current = self.get(sender_id)
            if current and current["state"] == "open":
                ratings = current["ratings"] + [{"rating": rating, "agent": agent, "at": round(now, 3)}]
                self._callbacks.write(sender_id, {"ratings": json.dumps(ratings),
                                                  "rating": str(min(rating, current["rating"]))})
                return self.get(sender_id) or current
            due = self.config.callback_due(now)
            summaries = [json.dumps(s) for s in self._resolved()[:500]] if self._resolved is not None else []
            self._callbacks.data.pop(sender_id, None)
            self._callbacks.write(sender_id, new_callback(rating, agent, language, last_handoff(summaries, sender_id),
                                                          now, due))
            self._open[sender_id] = due
        self.log.add("callback_opened", "callback", now)
        return self.get(sender_id) or {}

    def done(self, sender_id: str, lead: str, note: str = "", now: Optional[float] = None) -> Callback:
        now = time.time() if now is None else now
        with self._lock:
            if self._open.pop(sender_id, None) is None:
                raise DataError(f"no open call-back for {sender_id}")
            self._callbacks.write(sender_id, {"state": "done", "done_at": f"{now:.3f}", "done_by": lead,
                                              "note": note[:500]})
            record = self.get(sender_id) or {}
        self.log.add("callback_done", "callback", now)
        if record.get("due_at") and now > record["due_at"]:
            self.log.add("callback_done_late", "callback", now)
        return record

    def get(self, sender_id: str) -> Optional[Callback]:
        with self._lock:
            raw = dict(self._callbacks.read(sender_id))
        return callback_from_hash(sender_id, raw) if raw else None

    def open_list(self, now: Optional[float] = None) -> List[Callback]:
        now = time.time() if now is None else now
        with self._lock:
            order = [s for s, _ in sorted(self._open.items(), key=lambda kv: (kv[1], kv[0]))]
        out = []
        for sender_id in order:
            record = self.get(sender_id)
            if record is not None:
                out.append({**record, "overdue": now > record["due_at"]})
        return out

    def overdue(self, now: Optional[float] = None) -> int:
        now = time.time() if now is None else now
        with self._lock:
            return sum(1 for due in self._open.values() if due < now)
