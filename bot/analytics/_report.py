"""The participation report: one pass over a period of the event stream plus Canyu's records.

Sources (all in Redis):
- `canyu:events` (the Rasa event broker, bot/event_broker.py): user messages with parse_data, actions;
- `canyu:handoff_log:{sender_id}` (bot/handoff): "queued" entries carry the escalation `rule` and `reason`;
- `canyu:csat:log` (bot/handoff): 1–5 ratings after a handoff;
- `canyu:analytics:ratings` (bot/analytics/_records.py): 👍/👎 after answers;
- `canyu:feedback:*` (bot/feedback): items, statuses, voices, who was told it shipped.

Definitions (docs/participation.md):
- a *conversation* is a sender with at least one user message in the period;
- *escalated* if `action_handoff` ran for it in the period; *contained* otherwise; containment =
  contained / conversations;
- *unanswered*: a user message classified `nlu_fallback` or answered by `action_fallback`, grouped by text;
- feedback by status: items created in the period, by current status;
- shipped-message share: of the voices on items shipped in the period, the share told it shipped;
- status news (`status_messages`, bot/analytics/_told.py): for each status change in the period (planned,
  in beta, shipped, declined), the share of the item's voices told of it, unsubscribed ones apart.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any, Dict, Iterable, Optional, Set, Tuple

from bot import keys
from bot.analytics._records import ratings_between
from bot.analytics._told import told_figures

if TYPE_CHECKING:
    import redis

    Redis = redis.Redis[str]

__all__ = ["compute_report", "csv_cell", "report_csv", "report_text", "iter_events"]

EVENTS_STREAM = keys.EVENTS_STREAM
HANDOFF_ACTION = "action_handoff"
FALLBACK_ACTIONS = ("action_fallback",)
FALLBACK_INTENTS = ("nlu_fallback",)
_SPACE = re.compile(r"\s+")


def iter_events(red: "Redis", start: float, end: float, stream: str = EVENTS_STREAM, batch: int = 5000
                ) -> Iterable[Dict[str, Any]]:
    """Events published in [start, end) (by stream id time), decoded."""
    low, high = str(int(start * 1000)), f"({int(end * 1000)}"
    while True:
        entries = red.xrange(stream, min=low, max=high, count=batch)
        for _entry_id, fields in entries:
            try:
                yield json.loads(fields.get("event") or "{}")
            except ValueError:
                continue
        if len(entries) < batch:
            return
        low = f"({entries[-1][0]}"


def _norm_text(text: str) -> str:
    return _SPACE.sub(" ", (text or "").strip().lower())


def _pct(part: float, whole: float) -> Optional[float]:
    return round(100.0 * part / whole, 1) if whole else None


def _handoff_reasons(red: "Redis", senders: Iterable[str], start: float, end: float) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for sender in senders:
        for raw in red.lrange(keys.handoff_log(sender), 0, -1):
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if entry.get("what") == "queued" and start <= float(entry.get("at") or 0) < end:
                out[sender] = entry.get("reason") or entry.get("rule") or "unknown"
    return out


def _feedback_figures(red: "Redis", start: float, end: float) -> Tuple[Dict[str, int], Dict[str, Any]]:
    from bot.feedback import STATUSES, FeedbackStore

    store = FeedbackStore(red, use_vectors=False)
    by_status = {s: 0 for s in STATUSES}
    voices = told = 0
    shipped_items = 0
    for item in store.all():
        if start <= item.created < end:
            by_status[item.status] = by_status.get(item.status, 0) + 1
        if item.status == "shipped" and start <= item.shipped_at < end:
            shipped_items += 1
            notified = store.notified(item.id)
            for voice in store.voices(item.id):
                voices += 1
                told += 1 if voice.sender_id in notified else 0
    return by_status, {"shipped_items": shipped_items, "voices": voices, "told": told, "share": _pct(told, voices)}


def compute_report(start: float, end: float, red: "Redis", top: int = 10) -> Dict[str, Any]:
    """Every figure of the analytics page for [start, end) as plain JSON-able data, read from `red` (the
    caller's client)."""
    conversations: Set[str] = set()
    escalated: Set[str] = set()
    user_messages = 0
    last_user: Dict[str, str] = {}
    unanswered: Counter[str] = Counter()
    shown: Dict[str, str] = {}
    for event in iter_events(red, start, end):
        sender = event.get("sender_id") or ""
        kind = event.get("event")
        if kind == "user":
            text = event.get("text") or ""
            if text.startswith("/"):  # a button payload, not a question
                last_user.pop(sender, None)
                conversations.add(sender)
                continue
            user_messages += 1
            conversations.add(sender)
            last_user[sender] = text
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in FALLBACK_INTENTS:
                key = _norm_text(text)
                unanswered[key] += 1
                shown.setdefault(key, text.strip())
                last_user.pop(sender, None)
        elif kind == "action":
            name = event.get("name")
            if name == HANDOFF_ACTION:
                escalated.add(sender)
            elif name in FALLBACK_ACTIONS and sender in last_user:
                original = last_user.pop(sender)
                key = _norm_text(original)
                unanswered[key] += 1
                shown.setdefault(key, original.strip())
    reasons = Counter(_handoff_reasons(red, escalated, start, end).values())
    missing = len(escalated) - sum(reasons.values())
    if missing > 0:
        reasons["unknown"] += missing
    n_conv = len(conversations)
    csat_values = []
    for raw in red.lrange(keys.CSAT_LOG, 0, -1):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if start <= float(entry.get("at") or 0) < end:
            csat_values.append(int(entry.get("rating") or 0))
    ratings = [r for r in ratings_between(start, end, red) if r.get("kind") == "answer"]
    ups = sum(1 for r in ratings if r["value"] == "up")
    downs = sum(1 for r in ratings if r["value"] == "down")
    by_status, shipped = _feedback_figures(red, start, end)
    return {
        "period": {"start": start, "end": end},
        "conversations": n_conv,
        "user_messages": user_messages,
        "contained": n_conv - len(escalated & conversations),
        "containment_pct": _pct(n_conv - len(escalated & conversations), n_conv),
        "escalated": len(escalated),
        "escalation_pct": _pct(len(escalated), n_conv),
        "escalations_by_reason": [
            {"reason": reason, "count": count, "pct_of_conversations": _pct(count, n_conv)}
            for reason, count in reasons.most_common()
        ],
        "csat": {
            "ratings": len(csat_values),
            "average": round(sum(csat_values) / len(csat_values), 2) if csat_values else None,
            "satisfied_pct": _pct(sum(1 for v in csat_values if v >= 4), len(csat_values)),
            "distribution": {str(k): csat_values.count(k) for k in range(1, 6)},
        },
        "answers": {"up": ups, "down": downs, "up_pct": _pct(ups, ups + downs)},
        "unanswered": [{"text": shown[k], "count": c} for k, c in unanswered.most_common(top)],
        "feedback_by_status": by_status,
        "shipped_messages": shipped,
        "status_messages": told_figures(red, start, end),
        **_followups(red, start, end),
        **_fan_answers(red, start, end),
    }


def _followups(red: "Redis", start: float, end: float) -> Dict[str, Any]:
    """Follow-ups sent and answered, call-backs opened/done/overdue (bot/followups/_figures.py)."""
    from bot.followups import followup_figures

    return followup_figures(red, start, end)


def _fan_answers(red: "Redis", start: float, end: float) -> Dict[str, Any]:
    """Fan answers proposed, approved, rejected, published, credit removed (bot/fan_answers/_figures.py)."""
    from bot.fan_answers import fan_answer_figures

    return fan_answer_figures(red, start, end)


def _fmt(value: Any, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


def report_text(report: Dict[str, Any]) -> str:
    import time

    p = report["period"]

    def day(ts: float) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(ts))

    lines = [
        f"Canyu report {day(p['start'])} .. {day(p['end'] - 1)} (UTC)",
        f"conversations           {report['conversations']} ({report['user_messages']} user messages)",
        f"containment             {_fmt(report['containment_pct'], '%')} ({report['contained']} without a person)",
        f"escalation rate         {_fmt(report['escalation_pct'], '%')} ({report['escalated']})",
    ]
    for row in report["escalations_by_reason"]:
        lines.append(f"  {row['reason']:<28}{row['count']} ({_fmt(row['pct_of_conversations'], '%')})")
    c = report["csat"]
    lines.append(f"CSAT (1-5)              avg {_fmt(c['average'])}, {_fmt(c['satisfied_pct'], '%')} gave 4-5, "
                 f"{c['ratings']} rating(s)")
    a = report["answers"]
    lines.append(f"answers 👍 rate          {_fmt(a['up_pct'], '%')} ({a['up']} 👍 / {a['down']} 👎)")
    lines.append("top unanswered questions")
    for row in report["unanswered"] or [{"text": "—", "count": 0}]:
        lines.append(f"  {row['count']:>4}  {row['text']}")
    lines.append("feedback items by status " + ", ".join(f"{k} {v}" for k, v in report["feedback_by_status"].items()))
    s = report["shipped_messages"]
    lines.append(f"told it shipped         {_fmt(s['share'], '%')} ({s['told']} of {s['voices']} voices on "
                 f"{s['shipped_items']} shipped item(s))")
    lines.append("voices told of each status change (goal 100%)")
    for status, row in (report.get("status_messages") or {}).items():
        lines.append(f"  {status:<22}{_fmt(row['share'], '%')} ({row['told']} of {row['voices']} voices, "
                     f"{row['changes']} change(s), {row['unsubscribed']} unsubscribed)")
    f, cb = report.get("followups") or {}, report.get("callbacks") or {}
    if f:
        lines.append(f"follow-ups sent          {f['sent']} (+{f['queued']} waiting, {f['dead']} dead); answered "
                     f"{f['answered']} ({_fmt(f['answered_pct'], '%')}): {f['yes']} yes, {f['no']} no")
    if cb:
        lines.append(f"call-backs              {cb['opened']} opened, {cb['done']} done ({cb['done_late']} late), "
                     f"{cb['overdue']} overdue now, {cb['open']} open")
    fa = report.get("fan_answers") or {}
    if fa:
        lines.append(f"fan answers             {fa['proposed']} proposed, {fa['approved']} approved, {fa['published']} "
                     f"published, {fa['rejected']} rejected, {fa['credit_removed']} credit removed")
    return "\n".join(lines)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value safe to put in a spreadsheet cell: a string starting with =, +, -, @, tab or CR gets a
    leading `'` (OWASP CSV injection), so `=HYPERLINK(...)` stays text; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _SafeWriter:
    """`csv.writer` whose rows go through `csv_cell`: user text (unanswered questions) cannot be a formula."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])


def report_csv(report: Dict[str, Any]) -> str:
    """One `section,name,value` row per figure (spreadsheet-friendly; text cells escaped against formulas)."""
    out = io.StringIO()
    w = _SafeWriter(out)
    w.writerow(["section", "name", "value"])
    w.writerow(["period", "start", report["period"]["start"]])
    w.writerow(["period", "end", report["period"]["end"]])
    for key in ("conversations", "user_messages", "contained", "containment_pct", "escalated", "escalation_pct"):
        w.writerow(["summary", key, report[key]])
    for row in report["escalations_by_reason"]:
        w.writerow(["escalation_reason", row["reason"], row["count"]])
    for key in ("ratings", "average", "satisfied_pct"):
        w.writerow(["csat", key, report["csat"][key]])
    for key, value in report["csat"]["distribution"].items():
        w.writerow(["csat_distribution", key, value])
    for key in ("up", "down", "up_pct"):
        w.writerow(["answers", key, report["answers"][key]])
    for row in report["unanswered"]:
        w.writerow(["unanswered", row["text"], row["count"]])
    for key, value in report["feedback_by_status"].items():
        w.writerow(["feedback_status", key, value])
    for key, value in report["shipped_messages"].items():
        w.writerow(["shipped_messages", key, value])
    for status, row in (report.get("status_messages") or {}).items():
        for key, value in row.items():
            w.writerow(["status_messages", f"{status}_{key}", value])
    for section in ("followups", "callbacks", "fan_answers"):
        for key, value in (report.get(section) or {}).items():
            if not isinstance(value, dict):
                w.writerow([section, key, value])
    return out.getvalue()
