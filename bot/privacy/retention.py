"""Apply the retention policy (`privacy.yml`) to Redis: `apply_retention(redis, policy)`.

One sweep, step by step (each inventory family with a `privacy.yml` kind has a step in `SWEEPS`):
- trackers: a conversation expires `trackers` days after its last event (EXPIREAT; Rasa's next save of
  a live conversation clears the expiry, the next sweep sets it again); a user's channel record
  `trackers` days after their last message.
- events: the event stream and the rating stream are trimmed (XTRIM MINID) to the last `events` days;
  older review-inbox items are dropped; older CSAT ratings lose their author (the rating stays).
- handoff: handoff logs, notes and perk grants expire `handoff` days after their last entry (never while
  the handoff is still open); older summaries of resolved handoffs are dropped.
- outbox: REST outboxes and WeChat pending lists expire `outbox` days after the first sweep that saw
  them (their messages carry no time).
- feedback_text: a voice older than `feedback_text` days keeps its place (the count) but loses its
  text. Titles and matching exemplars carry no author and stay.
- `ttl` families: a key whose writer's expiry is missing gets it (defence in depth).

The running stack sweeps every `sweep.interval_minutes` in a daemon thread (`start_retention_thread`,
started by `bot run`); a Redis lock (SET NX EX `canyu:privacy:sweep_lock`) lets one process per
deployment sweep per interval. Every key and SCAN pattern comes from `bot.keys`.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Dict, List, Mapping, Optional

from bot import keys
from bot.keys import EVENTS_STREAM, RATINGS_STREAM, REVIEW_ITEMS, REVIEW_OPEN
from bot.privacy.inventory import FAMILIES, Family, scan_keys
from bot.privacy.policy import RetentionPolicy, load_policy

__all__ = ["SWEEPS", "SWEEP_LOCK", "apply_retention", "sweep_once", "start_retention_thread"]

logger = logging.getLogger(__name__)

SWEEP_LOCK = keys.PRIVACY_SWEEP_LOCK
_MS = 1000
Report = Dict[str, Dict[str, int]]


def _count(report: Report, family: str, what: str, n: int = 1) -> None:
    if n:
        bucket = report.setdefault(family, {})
        bucket[what] = bucket.get(what, 0) + n


def _expire_at(red: Any, report: Report, family: str, key: str, last: Optional[float], keep: int, now: float) -> None:
    """Expire `key` `keep` seconds after `last`; delete it if that is past. With no known `last`, the
    first sweep that sees the key starts the clock."""
    if last is None:
        if red.ttl(key) == -1 and red.expire(key, keep):
            _count(report, family, "expiry_set")
        return
    deadline = last + keep
    if deadline <= now:
        _count(report, family, "deleted", int(red.delete(key)))
    elif red.expireat(key, int(deadline) + 1):
        _count(report, family, "expiry_set")


def _tracker_last(raw: Optional[str]) -> Optional[float]:
    try:
        events = json.loads(raw or "{}").get("events") or []
    except (ValueError, AttributeError):
        return None
    stamps = [float(e["timestamp"]) for e in events if isinstance(e, dict) and e.get("timestamp")]
    return max(stamps) if stamps else None


def _tracker_list_last(red: Any, key: str) -> Optional[float]:
    """bot/stores.py's format: a list whose element 0 is a header with `last`, the newest event's time."""
    try:
        last = json.loads(red.lindex(key, 0) or "{}").get("last")
    except (ValueError, AttributeError):
        return None
    return float(last) if isinstance(last, (int, float)) else None


def _sweep_trackers(red: Any, keep: int, now: float, report: Report) -> None:
    for key in scan_keys(red, keys.rasa_tracker("*")):
        last = _tracker_list_last(red, key) if red.type(key) == "list" else _tracker_last(red.get(key))
        _expire_at(red, report, "trackers", key, last, keep, now)
    for key in scan_keys(red, keys.user_route("*")):
        raw = red.hget(key, "last_inbound")
        _expire_at(red, report, "user_routes", key, float(raw) if raw else None, keep, now)


def _trim_stream(red: Any, key: str, family: str, keep: int, now: float, report: Report) -> None:
    if red.exists(key):
        _count(report, family, "trimmed", int(red.xtrim(key, minid=str(int((now - keep) * _MS)), approximate=False)))


def _sweep_events(red: Any, keep: int, now: float, report: Report) -> None:
    _trim_stream(red, EVENTS_STREAM, "events", keep, now, report)
    _trim_stream(red, RATINGS_STREAM, "answer_ratings", keep, now, report)
    cutoff = now - keep
    for item_id, raw in red.hscan_iter(REVIEW_ITEMS, count=1000):
        try:
            ts = float(json.loads(raw).get("ts") or 0)
        except (ValueError, AttributeError, TypeError):
            continue
        if ts and ts < cutoff:
            red.hdel(REVIEW_ITEMS, item_id)
            red.zrem(REVIEW_OPEN, item_id)
            _count(report, "review_items", "deleted")
    replace = {}
    for raw in red.lrange(keys.CSAT_LOG, 0, -1):
        entry = json.loads(raw)
        if entry.get("sender_id") and float(entry.get("at") or 0) < cutoff:
            replace[raw] = json.dumps({k: v for k, v in entry.items() if k != "sender_id"}, ensure_ascii=False)
    _count(report, "csat_log", "anonymized", _replace_items(red, keys.CSAT_LOG, replace))


def _replace_items(red: Any, key: str, replace: Dict[str, str]) -> int:
    """Rewrite list items in place (a Lua script: pushes meanwhile keep their place)."""
    if not replace:
        return 0
    script = red.register_script("""
local map = cjson.decode(ARGV[1])
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local n = 0
for i, v in ipairs(items) do
  local new = map[v]
  if new then redis.call('LSET', KEYS[1], i - 1, new); n = n + 1 end
end
return n
""")
    return int(script(keys=[key], args=[json.dumps(replace)]))


def _last_at(red: Any, key: str) -> Optional[float]:
    raw = red.lindex(key, -1)
    try:
        return float(json.loads(raw).get("at")) if raw else None
    except (ValueError, AttributeError, TypeError):
        return None


def _sweep_handoff(red: Any, keep: int, now: float, report: Report) -> None:
    for family, build in (("handoff_log", keys.handoff_log), ("handoff_notes", keys.handoff_notes),
                          ("perk_grants", keys.perk_grants)):
        prefix = build("")
        for key in scan_keys(red, build("*")):
            if red.exists(keys.handoff(key[len(prefix):])):  # still open: kept, whatever its age
                red.persist(key)
                continue
            _expire_at(red, report, family, key, _last_at(red, key), keep, now)
    cutoff = now - keep
    for raw in red.lrange(keys.HANDOFF_RESOLVED, 0, -1):
        try:
            old = float(json.loads(raw).get("resolved_at") or 0) < cutoff
        except (ValueError, AttributeError, TypeError):
            continue
        if old:
            _count(report, "handoff_resolved", "deleted", int(red.lrem(keys.HANDOFF_RESOLVED, 0, raw)))


def _sweep_outbox(red: Any, keep: int, now: float, report: Report) -> None:
    for family, pattern in (("outbox", keys.outbox("*")), ("pending", keys.pending("*"))):
        for key in scan_keys(red, pattern):
            if red.ttl(key) == -1 and red.expire(key, keep):
                _count(report, family, "expiry_set")
    cutoff = now - keep
    for key in scan_keys(red, keys.delivery("*", "dead")):  # dead letters older than the outbox limit
        for raw in red.lrange(key, 0, -1):
            try:
                old = float(json.loads(raw).get("dead_at") or now) < cutoff
            except (ValueError, AttributeError, TypeError):
                continue
            if old:
                _count(report, "deliveries", "deleted", int(red.lrem(key, 1, raw)))


def _sweep_feedback(red: Any, keep: int, now: float, report: Report) -> None:
    cutoff = now - keep
    for key in scan_keys(red, keys.feedback_voices("*")):
        for profile, raw in red.hgetall(key).items():
            try:
                voice = json.loads(raw)
            except ValueError:
                continue
            if voice.get("text") and float(voice.get("ts") or 0) < cutoff:
                voice["text"] = ""
                # only if unchanged meanwhile (a merge may have moved it)
                if red.hget(key, profile) == raw:
                    red.hset(key, profile, json.dumps(voice, ensure_ascii=False))
                    _count(report, "feedback", "text_blanked")


def _sweep_ttl(red: Any, families: List[Family], report: Report) -> None:
    for fam in families:
        if fam.retention != "ttl" or not fam.ttl_seconds:
            continue
        pattern = fam.pattern.split(" ")[0]
        for token in ("{sender}", "{profile}", "{openid}", "{appid}"):
            pattern = pattern.replace(token, "*")
        for key in scan_keys(red, pattern):
            if red.type(key) in ("string", "hash", "list", "set", "zset") and red.ttl(key) == -1:
                red.expire(key, fam.ttl_seconds)
                _count(report, fam.name, "expiry_set")


Step = Callable[[Any, int, float, Report], None]
SWEEPS: Mapping[str, Step] = MappingProxyType({
    "trackers": _sweep_trackers,
    "events": _sweep_events,
    "handoff": _sweep_handoff,
    "outbox": _sweep_outbox,
    "feedback_text": _sweep_feedback,
})
"""One step per retention kind of privacy.yml; each covers every inventory family of that kind."""


def apply_retention(red: Any, policy: RetentionPolicy, now: Optional[float] = None) -> Report:
    """One sweep; returns {family: {"expiry_set" | "deleted" | "trimmed" | "anonymized" | "text_blanked": n}}."""
    now = time.time() if now is None else now
    report: Report = {}
    for kind, step in SWEEPS.items():
        seconds = policy.seconds(kind)
        if seconds is not None:
            step(red, seconds, now, report)
    _sweep_ttl(red, list(FAMILIES), report)
    return report


def sweep_once(red: Any, policy: RetentionPolicy, hold_seconds: Optional[int] = None) -> Optional[Report]:
    """Sweep if no other process of this deployment did within `hold_seconds`; None when skipped."""
    hold = hold_seconds if hold_seconds is not None else max(30, policy.interval_minutes * 60 - 30)
    if not red.set(SWEEP_LOCK, secrets.token_hex(8), nx=True, ex=hold):
        return None
    return apply_retention(red, policy)


def start_retention_thread(red: Any, policy: Optional[RetentionPolicy] = None,
                           stop: Optional[threading.Event] = None, *,
                           policy_file: Optional[Path] = None) -> threading.Thread:
    """Sweep now and every `sweep.interval_minutes` in a daemon thread, with the caller's Redis client (the
    composition root's; redis-py clients are thread-safe): with `policy`, or with the policy in `policy_file`
    (usually `policy_path(settings.env)`), re-read each time so that an edit applies without a restart.
    A broken privacy.yml is raised here, at start-up."""

    def current_policy() -> RetentionPolicy:
        if policy is not None:
            return policy
        if policy_file is None:
            raise TypeError("start_retention_thread needs a policy or a policy_file")
        return load_policy(policy_file)

    first = current_policy()
    stop = stop or threading.Event()

    def loop() -> None:
        current = first
        while True:
            try:
                current = current_policy()
                report = sweep_once(red, current)
                if report:
                    logger.info("privacy: retention sweep: %s", report)
            except Exception as exc:  # a bad edit of privacy.yml or Redis down: try again next time
                logger.error("privacy: retention sweep failed: %s", exc)
            if stop.wait(current.interval_minutes * 60):
                return

    thread = threading.Thread(target=loop, name="canyu-retention", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
