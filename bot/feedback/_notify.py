"""Close the loop: tell everyone who voiced an item that it shipped, once each, on their own channel.

The words come from `responses/feedback.yml` (`utter_feedback_shipped`, zh and en variations), so
trainers edit them where they edit every other reply. Placeholders: `{item_id}`, `{title}`,
`{release}`, `{count}`. Sending goes through `bot.outbound.send_to_user`, which honours each
platform's rules (WeChat's 48-hour window: the message waits for the user's next contact).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import yaml

from bot.errors import CanyuError, DataError
from bot.feedback._store import FeedbackItem, FeedbackStore

__all__ = ["NotifyReport", "notify_shipped", "render", "RESPONSES_FILE"]

logger = logging.getLogger(__name__)

RESPONSES_FILE = Path(__file__).resolve().parents[2] / "responses" / "feedback.yml"

SendFn = Callable[..., Awaitable[Any]]


@dataclass
class NotifyReport:
    item_id: str
    sent: List[str] = field(default_factory=list)
    queued: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=4)
def _templates(path: str) -> Dict[str, Dict[str, str]]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read the feedback responses: {exc}", file=path) from exc
    out: Dict[str, Dict[str, str]] = {}
    for name, variations in (data.get("responses") or {}).items():
        for variation in variations or []:
            language = "en"
            for cond in variation.get("condition") or []:
                if cond.get("name") == "language":
                    language = str(cond.get("value"))
            out.setdefault(name, {})[language] = variation.get("text", "")
    return out


def render(name: str, language: str, path: Optional[Path] = None, **values: Any) -> str:
    """The `name` response in `language` with `{placeholders}` filled."""
    variants = _templates(str(path or RESPONSES_FILE)).get(name)
    if not variants:
        raise DataError(f"response {name!r} is missing; add it with a zh and an en variation",
                        file=str(path or RESPONSES_FILE))
    template = variants.get(language) or variants.get("en") or next(iter(variants.values()))
    return template.format(**values)


def shipped_message(item: FeedbackItem, language: str) -> str:
    return render("utter_feedback_shipped", language, item_id=item.id, title=item.title(language),
                  release=item.release_for(language), count=item.count)


async def notify_shipped(store: FeedbackStore, item_id: str, send: Optional[SendFn] = None) -> NotifyReport:
    """Send the "you asked for it, it shipped" message to every voice not yet told.

    Safe to run again: each (item, sender) is claimed once in Redis before sending, and released
    again only if the send itself failed, so a retry reaches exactly the ones who were missed.
    """
    item = store.get(item_id)
    report = NotifyReport(item.id)
    if item.status != "shipped":
        return report
    if send is None:
        from bot.outbound import send_to_user as send
    for voice in store.voices(item.id):
        if not store.claim_notification(item.id, voice.sender_id):
            report.skipped.append(voice.sender_id)
            continue
        text = shipped_message(item, voice.language)
        try:
            delivery = await send(voice.sender_id, [text], channel=voice.channel, redis=store.red)
        except (CanyuError, OSError) as exc:
            store.release_notification(item.id, voice.sender_id)
            report.failed[voice.sender_id] = str(exc)
            logger.warning("feedback: shipped message for %s to %s failed: %s", item.id, voice.sender_id, exc)
            continue
        except Exception as exc:  # a platform library error we do not know: retry next time
            store.release_notification(item.id, voice.sender_id)
            report.failed[voice.sender_id] = f"{type(exc).__name__}: {exc}"
            logger.exception("feedback: shipped message for %s to %s failed", item.id, voice.sender_id)
            continue
        if getattr(delivery, "sent", 1) or getattr(delivery, "channel", "") not in ("wechat",):
            report.sent.append(voice.sender_id)
        else:
            report.queued.append(voice.sender_id)
    return report
