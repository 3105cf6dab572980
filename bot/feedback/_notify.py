"""Close the loop: tell everyone who voiced an item each step it takes (planned, in beta, shipped, declined),
once each, in their language, on their own channel.

The words come from `responses/feedback.yml` (`utter_feedback_news_*`, `utter_feedback_shipped`, zh and en),
so trainers edit them where they edit every other reply and `bot lint` checks them. Each message carries
two buttons: no more news of this item, or of anything (`/feedback_unsubscribe`). In beta carries an
invite: an F-code from the item's `campaign` (WeChat and Telegram identities, while the pool lasts), else
its `signup` link, else a "Count me in" button that signs the user up in chat. Declined carries the
reason and what to do instead.

Sending goes through `bot.outbound.send_to_user` (durable delivery queues; WeChat's 48-hour window: the
message waits for the user's next message). Once per (item, status, person): the claim is one `HSETNX` in
`told_key(item, status)` before sending, so two consoles or a CLI racing send one message; the send also
carries the idempotency key `feedback:{status}:{item}:{sender}`. A claim is given back only when nothing
was queued (an error before the delivery queue took the message); a dead letter keeps it (the console's
Deliveries page retries dead letters). The claims are the record of who was told, for `bot analytics`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

from bot.errors import CanyuError, DataError, DeliveryError
from bot.feedback._model import ANNOUNCED, FeedbackItem, Voice
from bot.feedback._store import FeedbackStore
from bot.feedback._subscriptions import wants_news
from bot.texts import Texts

__all__ = ["NotifyReport", "notify_status", "notify_shipped", "render", "shipped_message", "status_message",
           "RESPONSES_FILE"]

logger = logging.getLogger(__name__)

RESPONSES_FILE = "feedback"  # responses/feedback.yml (bot.texts)

SendFn = Callable[..., Awaitable[Any]]


@dataclass
class NotifyReport:
    item_id: str
    status: str = "shipped"
    sent: List[str] = field(default_factory=list)
    queued: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    unsubscribed: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)


def render(texts: Texts, name: str, language: str, /, **values: Any) -> str:
    """The `name` response of responses/feedback.yml of `texts` (`ctx.texts`) in `language` with `{placeholders}`
    filled."""
    return texts.render(RESPONSES_FILE, name, language, **values)


def shipped_message(texts: Texts, item: FeedbackItem, language: str) -> str:
    return render(texts, "utter_feedback_shipped", language, item_id=item.id, title=item.title(language),
                  release=item.release_for(language), count=item.count)


def _button(texts: Texts, name: str, language: str, intent: str, **entities: str) -> Dict[str, str]:
    return {"title": render(texts, name, language), "payload": f"/{intent}" + json.dumps(entities)}


def _invite(red: Any, item: FeedbackItem, sender_id: str) -> Optional[str]:
    """An F-code of the item's campaign for this person, or None (no campaign, not a verified identity,
    pool empty). Having asked for the feature is the qualification: the fan tier is not checked."""
    if not item.campaign:
        return None
    from bot.fans import FCodeError, UnverifiedIdentity, grant_code

    try:
        return grant_code(sender_id, item.campaign, red, check_tier=False).code
    except (FCodeError, UnverifiedIdentity) as exc:
        logger.info("feedback: no F-code of %s for %s (%s); the beta sign-up instead", item.campaign, sender_id, exc)
        return None


def status_message(texts: Texts, red: Any, item: FeedbackItem, status: str, sender_id: str,
                   language: str) -> Dict[str, Any]:
    """The news that `item` reached `status`, for one person, as a Rasa-style message with its buttons, in the
    words of `texts` (`ctx.texts`)."""
    values: Dict[str, Any] = {"item_id": item.id, "title": item.title(language), "count": item.count}
    buttons: List[Dict[str, str]] = []
    if status == "shipped":
        text = shipped_message(texts, item, language)
    elif status == "declined":
        text = render(texts, "utter_feedback_news_declined", language, reason=item.reason_for(language),
                      instead=item.instead_for(language), **values)
    elif status == "in_beta":
        code = _invite(red, item, sender_id)
        if code:
            text = render(texts, "utter_feedback_news_in_beta_code", language, code=code, **values)
        elif item.signup:
            text = render(texts, "utter_feedback_news_in_beta_link", language, signup=item.signup, **values)
        else:
            text = render(texts, "utter_feedback_news_in_beta_signup", language, **values)
            buttons.append(_button(texts, "utter_feedback_button_join_beta", language, "feedback_beta_signup",
                                   feedback_id=item.id))
    elif status == "planned":
        text = render(texts, "utter_feedback_news_planned", language, **values)
    else:
        raise DataError(f"{item.id}: there is no news for status {status!r}; statuses told: {', '.join(ANNOUNCED)}")
    buttons.append(_button(texts, "utter_feedback_button_stop_item", language, "feedback_unsubscribe", feedback_id=item.id))
    buttons.append(_button(texts, "utter_feedback_button_stop_all", language, "feedback_unsubscribe", feedback_id="all"))
    return {"text": text, "buttons": buttons}


async def _tell(store: FeedbackStore, item: FeedbackItem, status: str, voice: Voice, send: SendFn, texts: Texts,
                report: NotifyReport) -> None:
    from bot.outbound import channel_of

    sender = voice.sender_id
    if not store.claim_notification(item.id, sender, status):
        report.skipped.append(sender)
        return
    try:
        message = status_message(texts, store.red, item, status, sender, voice.language)
        delivery = await send(sender, [message], channel=channel_of(sender),
                              idempotency_key=f"feedback:{status}:{item.id}:{sender}")
    except DeliveryError as exc:  # a dead letter: kept there for the console to retry, not sent twice
        report.failed[sender] = str(exc)
        logger.warning("feedback: %s news for %s to %s is a dead letter: %s", status, item.id, sender, exc)
        return
    except (CanyuError, OSError) as exc:
        store.release_notification(item.id, sender, status)
        report.failed[sender] = str(exc)
        logger.warning("feedback: %s news for %s to %s failed: %s", status, item.id, sender, exc)
        return
    except Exception as exc:  # a platform library error we do not know: retry next time
        store.release_notification(item.id, sender, status)
        report.failed[sender] = f"{type(exc).__name__}: {exc}"
        logger.exception("feedback: %s news for %s to %s failed", status, item.id, sender)
        return
    (report.sent if getattr(delivery, "sent", 1) else report.queued).append(sender)


async def notify_status(store: FeedbackStore, item_id: str, send: Optional[SendFn] = None,
                        status: Optional[str] = None, *, texts: Texts) -> NotifyReport:
    """Tell every voice of the item, not told yet and not unsubscribed, that it reached its status, in the words
    of `texts` (the caller's `ctx.texts`).

    `status` (default: the item's) must be the item's current one: news of a step already passed is
    not sent. Safe to run again, and from several processes at once (see the module docstring).
    """
    item = store.get(item_id)
    status = status or item.status
    report = NotifyReport(item.id, status)
    if status not in ANNOUNCED or item.status != status:
        return report
    if send is None:
        from bot.outbound import Outbound

        send = Outbound(store.red).send_to_user  # queued for a process with the channel's sender
    for voice in store.voices(item.id):
        if not wants_news(store.red, voice.sender_id, item.id):
            report.unsubscribed.append(voice.sender_id)
            continue
        await _tell(store, item, status, voice, send, texts, report)
    return report


async def notify_shipped(store: FeedbackStore, item_id: str, send: Optional[SendFn] = None, *,
                         texts: Texts) -> NotifyReport:
    """`notify_status` for a shipped item (nothing when the item is not shipped)."""
    return await notify_status(store, item_id, send, status="shipped", texts=texts)
