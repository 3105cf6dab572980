"""The weekly "因为你们说了 / you asked, we shipped" digest: built from the week's status changes and sent on
schedule to the people who subscribed (`bot.feedback._subscriptions`), once per person per week.

    report = await send_weekly_digest(redis, now=clock(), schedule=env.get("CANYU_DIGEST_SCHEDULE"),
                                      texts=ctx.texts)  # what the job runs

Schedule: `CANYU_DIGEST_SCHEDULE` = "<weekday> <HH:MM>" in UTC (default "fri 02:00", 10:00 in Beijing), or
"off". From that moment of a week on, the digest of the seven days before it is due. It lists the items
that became shipped, in beta or planned in those days (declined items are told to their voices, not
announced), each with how many fans asked. A week with no such change sends nothing.

Once: the week's content is frozen on first build (`HSETNX`), so every runner sends the same words; each
person is claimed with `HSETNX canyu:feedback:digest:sent:{week} {profile}` before the send (also under the
idempotency key `feedback-digest:{week}:{profile}`), so two runners, a takeover or a rerun never send twice.

Key layout (under `canyu:feedback:digest:`; names and TTLs in bot/keys.py):

| key | type | what |
|---|---|---|
| `…:week:{week}` | hash | `content` (JSON: items, texts), `due`, `subscribers`, `sent`, `queued`, `failed` |
| `…:weeks` | zset | week ids ("2026-W49") scored by their due time |
| `…:sent:{week}` | hash | profile -> time the week's digest went to that person |
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from bot import keys
from bot.errors import CanyuError, ConfigError, DeliveryError
from bot.feedback._model import FeedbackItem
from bot.feedback._notify import SendFn, render
from bot.feedback._store import FeedbackStore
from bot.feedback._subscriptions import digest_subscribers, wants_news
from bot.jobs import Job
from bot.texts import Texts

__all__ = ["DigestReport", "DEFAULT_SCHEDULE", "DIGEST_CHECK_S", "parse_schedule", "week_of", "week_changes",
           "digest_message", "send_weekly_digest", "digest_weeks", "digest_job"]

logger = logging.getLogger(__name__)

PREFIX = keys.FEEDBACK_DIGEST_PREFIX
DEFAULT_SCHEDULE = "fri 02:00"
DIGEST_CHECK_S = 300.0
"""How often the leader's job looks whether this week's digest is due (sending is idempotent)."""
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ORDER = ("shipped", "in_beta", "planned")


@dataclass
class DigestReport:
    week: str
    due: bool = False
    items: int = 0
    subscribers: int = 0
    sent: List[str] = field(default_factory=list)
    queued: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)


def parse_schedule(raw: Optional[str]) -> Optional[Tuple[int, int, int]]:
    """"fri 02:00" -> (4, 2, 0); "off" -> None; anything else is a ConfigError that shows the value."""
    text = (raw or DEFAULT_SCHEDULE).strip().lower()
    if text in ("off", "none", "0"):
        return None
    try:
        day, clock = text.split()
        hour, minute = (int(x) for x in clock.split(":"))
        if day[:3] not in _DAYS or not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        # cause dropped: the message quotes the bad value and the format
        raise ConfigError(f"CANYU_DIGEST_SCHEDULE={raw!r} is not '<weekday> <HH:MM>' (UTC), e.g. 'fri 02:00', "
                          f"or 'off'") from None
    return _DAYS.index(day[:3]), hour, minute


def week_of(now: float, schedule: Tuple[int, int, int]) -> Tuple[str, float]:
    """The ISO week of `now` ("2026-W49") and the moment its digest is due (epoch seconds)."""
    moment = datetime.fromtimestamp(now, timezone.utc)
    year, week, weekday = moment.isocalendar()
    monday = (moment - timedelta(days=weekday - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day, hour, minute = schedule
    due = monday + timedelta(days=day, hours=hour, minutes=minute)
    return f"{year}-W{week:02d}", due.timestamp()


def week_changes(store: FeedbackStore, start: float, end: float) -> List[FeedbackItem]:
    """Items whose current status (shipped, in beta, planned) was reached in [start, end): shipped first,
    then by how many asked."""
    found = []
    for item in store.all():
        if item.status not in _ORDER:
            continue
        reached = [h for h in store.history(item.id) if h.get("status") == item.status]
        if reached and start <= float(reached[-1].get("ts") or 0) < end:
            found.append(item)
    return sorted(found, key=lambda i: (_ORDER.index(i.status), -i.count, i.id))


def digest_message(texts: Texts, items: List[FeedbackItem], language: str) -> Dict[str, Any]:
    """The digest as one message with a "stop the weekly note" button, in the words of `texts`."""
    lines = [render(texts, "utter_feedback_digest_head", language)]
    for item in items:
        lines.append(render(texts, f"utter_feedback_digest_line_{item.status}", language, title=item.title(language),
                            release=item.release_for(language) or "—", count=item.count))
    lines.append(render(texts, "utter_feedback_digest_tail", language))
    return {"text": "\n".join(lines),
            "buttons": [{"title": render(texts, "utter_feedback_button_digest_stop", language),
                         "payload": '/feedback_unsubscribe{"feedback_id": "digest"}'}]}


def _content(red: Any, week: str, due: float, texts: Texts) -> Dict[str, Any]:
    """The week's items and texts, built by the first runner and read back by every other one."""
    key = f"{PREFIX}week:{week}"
    raw = red.hget(key, "content")
    if raw is None:
        items = week_changes(FeedbackStore(red, use_vectors=False), due - 7 * 86400, due)
        built = {"items": [{"id": i.id, "status": i.status, "count": i.count} for i in items],
                 "messages": {lang: digest_message(texts, items, lang) for lang in ("en", "zh")}}
        red.hsetnx(key, "content", json.dumps(built, ensure_ascii=False))
        red.hsetnx(key, "due", due)
        red.zadd(f"{PREFIX}weeks", {week: due})
        raw = red.hget(key, "content")
    content: Dict[str, Any] = json.loads(raw)
    return content


async def send_weekly_digest(red: Any, now: Optional[float] = None, send: Optional[SendFn] = None, *,
                             schedule: Optional[str], texts: Texts) -> DigestReport:
    """Send this week's digest to every subscriber not sent it yet, if it is due (see the module docstring).
    `schedule`: the caller's `CANYU_DIGEST_SCHEDULE` (`ctx.env.get(...)`; None when unset: the default);
    `texts`: the caller's (`ctx.texts`)."""
    when = parse_schedule(schedule)
    now = time.time() if now is None else now
    if when is None:
        return DigestReport("off")
    week, due = week_of(now, when)
    report = DigestReport(week)
    if now < due:
        return report
    report.due = True
    content = _content(red, week, due, texts)
    report.items = len(content["items"])
    if not content["items"]:
        return report
    if send is None:
        from bot.outbound import Outbound

        send = Outbound(red).send_to_user  # queued for a process with the channel's sender
    key, claims = f"{PREFIX}week:{week}", f"{PREFIX}sent:{week}"
    subscribers = digest_subscribers(red)
    report.subscribers = len(subscribers)
    red.hset(key, "subscribers", max(len(subscribers), int(red.hget(key, "subscribers") or 0)))
    for sub in subscribers:
        if not wants_news(red, sub.sender_id) or not red.hsetnx(claims, sub.profile, now):
            report.skipped.append(sub.sender_id)
            continue
        message = content["messages"]["zh" if sub.language == "zh" else "en"]
        try:
            delivery = await send(sub.sender_id, [message],
                                  idempotency_key=f"feedback-digest:{week}:{sub.profile}")
        except DeliveryError as exc:  # a dead letter: the console retries it
            report.failed[sub.sender_id] = str(exc)
            red.hincrby(key, "failed", 1)
            continue
        except (CanyuError, OSError) as exc:
            red.hdel(claims, sub.profile)
            report.failed[sub.sender_id] = str(exc)
            logger.warning("feedback: weekly digest %s to %s failed: %s", week, sub.sender_id, exc)
            continue
        outcome = "sent" if getattr(delivery, "sent", 1) else "queued"
        getattr(report, outcome).append(sub.sender_id)
        red.hincrby(key, outcome, 1)
    if report.sent or report.queued:
        logger.info("feedback: weekly digest %s: %d sent, %d waiting for the user's next message", week,
                    len(report.sent), len(report.queued))
    return report


def digest_weeks(red: Any, limit: int = 8) -> List[Dict[str, Any]]:
    """The last weeks' digests with their figures, newest first (the console's feedback page)."""
    out = []
    for week in red.zrevrange(f"{PREFIX}weeks", 0, limit - 1):
        raw: Mapping[str, str] = red.hgetall(f"{PREFIX}week:{week}")
        content = json.loads(raw.get("content") or "{}")
        out.append({"week": week, "due": float(raw.get("due") or 0), "items": content.get("items", []),
                    "text_en": ((content.get("messages") or {}).get("en") or {}).get("text", ""),
                    "text_zh": ((content.get("messages") or {}).get("zh") or {}).get("text", ""),
                    **{k: int(raw.get(k) or 0) for k in ("subscribers", "sent", "queued", "failed")}})
    return out


def digest_job(redis: Any, schedule: Optional[str], clock: Callable[[], float] = time.time,
               every: float = DIGEST_CHECK_S, *, texts: Texts) -> Job:
    """The `bot.jobs.Job` that sends the digest when due (the leader runs it; see bot/jobs.py); `schedule`: the
    deployment's `CANYU_DIGEST_SCHEDULE` (None: the default); `texts`: the deployment's (`ctx.texts`)."""

    async def weekly_feedback_digest() -> None:
        await send_weekly_digest(redis, now=clock(), schedule=schedule, texts=texts)

    return Job("feedback-digest", every, weekly_feedback_digest)
