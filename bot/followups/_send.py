"""Sending due check-ins (the leader's job), and the hooks that schedule them.

`send_due(redis, now, config=…, texts=ctx.texts)` sends every follow-up whose time has come, once: each is
claimed with HSETNX before it is sent (two runners, a takeover or a rerun send it once), and the send carries the idempotency key
`followup:{id}`. A user who is with a person (or queued) when it is due gets it an hour later. It goes
through `bot.outbound.send_to_user`: the durable delivery queue; a WeChat user whose 48-hour window is closed
gets it when they next write. A claim is given back only when nothing was queued;
a dead letter keeps it (the console's Deliveries page re-sends dead letters).

When the job has the Rasa URL, the check-in is also added to the conversation's tracker as a bot message, so
the agent who picks up a "no" sees it in the transcript.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional

from bot import keys
from bot.errors import CanyuError, DeliveryError
from bot.followups._config import FollowupConfig
from bot.followups._store import FollowupStore
from bot.followups._subject import subject_of
from bot.followups._texts import checkin_message
from bot.jobs import Job
from bot.texts import Texts

__all__ = ["SendReport", "send_due", "followup_job", "after_handoff", "after_repair", "after_return"]

logger = logging.getLogger(__name__)

SendFn = Callable[..., Awaitable[Any]]
RETRY_S = 300.0
"""A check-in that could not even be queued (Redis hiccup, bad record) is tried again this much later."""
BUSY_S = 3600.0
"""A user who is queued for or talking with a person when their check-in is due gets it this much later."""


@dataclass
class SendReport:
    sent: List[str] = field(default_factory=list)
    queued: List[str] = field(default_factory=list)
    dead: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    postponed: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)


async def _record_in_tracker(rasa: Any, record: Dict[str, Any], message: Dict[str, Any]) -> None:
    try:
        await rasa.append_events(record["sender_id"], [{"event": "bot", "text": message["text"],
                                                        "data": {"buttons": message["buttons"]},
                                                        "metadata": {"followup": record["id"]}}])
    except Exception as exc:  # the user still gets it; only the transcript misses it
        logger.warning("followups: %s not added to the transcript of %s: %s", record["id"], record["sender_id"], exc)


async def send_due(redis: Any, now: Optional[float] = None, send: Optional[SendFn] = None, rasa: Any = None,
                   store: Optional[FollowupStore] = None, *, config: FollowupConfig, texts: Texts) -> SendReport:
    """Send the check-ins due at `now` (see the module docstring); `config`: the follow-up settings
    (`config_from_env(ctx.env)`); `texts`: the words of the check-ins (`ctx.texts`)."""
    now = time.time() if now is None else now
    store = store or FollowupStore(redis, config)
    if send is None:
        from bot.outbound import Outbound

        send = Outbound(redis).send_to_user  # queued for a process with the channel's sender
    report = SendReport()
    for sender_id, fid in store.due(now):
        record = store.get(sender_id, fid)
        if record is None:  # expired or erased: drop the due entry
            redis.zrem(keys.FOLLOWUPS_DUE, f"{fid}|{sender_id}")
            continue
        if redis.exists(keys.handoff(sender_id)):  # with a person right now: ask when they are done
            redis.zadd(keys.FOLLOWUPS_DUE, {f"{fid}|{sender_id}": now + BUSY_S})
            report.postponed.append(fid)
            continue
        if not store.claim(sender_id, fid, now):
            report.skipped.append(fid)
            continue
        try:
            message = checkin_message(texts, record)
            delivery = await send(sender_id, [message], idempotency_key=f"followup:{fid}")
        except DeliveryError as exc:  # a dead letter: kept claimed, the console re-sends it
            store.mark_outcome(record, "dead", now)
            report.dead.append(fid)
            logger.warning("followups: %s to %s is a dead letter: %s", fid, sender_id, exc)
            continue
        except (CanyuError, OSError, KeyError, ValueError) as exc:
            store.unclaim(sender_id, fid)
            redis.zadd(keys.FOLLOWUPS_DUE, {f"{fid}|{sender_id}": now + RETRY_S})
            report.failed[fid] = str(exc)
            logger.warning("followups: %s to %s failed, trying again later: %s", fid, sender_id, exc)
            continue
        outcome = "sent" if getattr(delivery, "sent", 1) else "queued"
        store.mark_outcome(record, outcome, now)
        getattr(report, outcome).append(fid)
        if rasa is not None:
            await _record_in_tracker(rasa, record, message)
    if report.sent or report.queued:
        logger.info("followups: %d check-in(s) sent, %d waiting (WeChat window or a worker)", len(report.sent),
                    len(report.queued))
    return report


def followup_job(redis: Any, config: FollowupConfig, rasa: Any = None, clock: Callable[[], float] = time.time,
                 every: Optional[float] = None, *, texts: Texts) -> Job:
    """The `bot.jobs.Job` that sends due check-ins in the words of `texts` (the leader runs it; `clock` is
    injectable for tests).

    `rasa` (a `RasaClient`, made by the caller: bot/deployment_jobs.py) also adds each check-in to the tracker."""

    async def followups() -> None:
        await send_due(redis, now=clock(), rasa=rasa, config=config, texts=texts)

    return Job("followups", every if every is not None else config.check_every_s, followups)


def _user_texts(tracker: Dict[str, Any], last: int = 30) -> List[str]:
    texts = [e.get("text") or "" for e in tracker.get("events") or [] if e.get("event") == "user"]
    return [t for t in texts if t and not t.startswith("/")][-last:]


async def after_handoff(redis: Any, rasa: Any, record: Any, agent: str, now: Optional[float] = None, *,
                        config: FollowupConfig) -> None:
    """Schedule the check-in after a resolved handoff (called by HandoffService.resolve; never raises)."""
    try:
        texts: Iterable[str] = []
        if rasa is not None:
            try:
                texts = _user_texts(await rasa.tracker(record.sender_id))
            except Exception as exc:  # no words: a general "is it sorted?"
                logger.info("followups: no transcript for %s (%s)", record.sender_id, exc)
        texts = list(texts) + [record.cue or ""]
        history = {"handoff": {"rule": record.rule, "reason": record.reason, "cue": record.cue, "agent": agent,
                               "queued_at": record.queued_at, "resolved_at": round(time.time() if now is None
                                                                                     else now, 3)}}
        store = FollowupStore(redis, config)
        if any(f["kind"] == "handoff" and not f.get("sent") for f in store.of_user(record.sender_id)):
            logger.info("followups: %s already has a check-in coming; not a second one", record.sender_id)
            return
        store.schedule(record.sender_id, "handoff", subject=subject_of(texts),
                                      language=record.language, history=history, now=now)
    except Exception as exc:
        logger.error("followups: no check-in scheduled after the handoff of %s: %s", record.sender_id, exc)


def after_repair(redis: Any, sender_id: str, repair: Any, language: str, now: Optional[float] = None, *,
                 config: FollowupConfig) -> None:
    """Schedule the check-in after a repair booking (called by action_book_repair; never raises)."""
    try:
        history = {"repair": {"number": repair.number, "device": repair.device, "fault": repair.fault,
                              "window": getattr(repair, "window", "")}}
        FollowupStore(redis, config).schedule(sender_id, "repair", subject=subject_of([repair.fault], repair.device),
                                              language=language, ref=repair.number, history=history, now=now,
                                              dedupe=repair.number)
    except Exception as exc:
        logger.error("followups: no check-in scheduled after repair %s: %s", getattr(repair, "number", "?"), exc)


def after_return(redis: Any, sender_id: str, order_id: str, language: str, texts: Iterable[str] = (),
                 product: Optional[str] = None, now: Optional[float] = None, *, config: FollowupConfig) -> None:
    """Schedule the check-in after a return was filed (for the returns flow; never raises)."""
    try:
        FollowupStore(redis, config).schedule(sender_id, "return", subject=subject_of(texts, product),
                                              language=language, ref=order_id, history={"return": {"order_id": order_id}},
                                              now=now, dedupe=order_id)
    except Exception as exc:
        logger.error("followups: no check-in scheduled after the return of %s: %s", order_id, exc)
