"""Tell a fan what a trainer decided, on their channel and in their language (bot.outbound delivery)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict

from bot.fan_answers._texts import text_for

if TYPE_CHECKING:
    from bot.outbound import Outbound
    from bot.texts import Texts

__all__ = ["tell_fan", "message_for"]

logger = logging.getLogger(__name__)


def message_for(texts: "Texts", proposal: Dict[str, Any], points: int) -> str:
    """The thank-you (published) or the kind no (rejected) for `proposal`, in the fan's language."""
    language = "zh" if proposal.get("language") == "zh" else "en"
    question = str(proposal.get("question") or "")[:60]
    if proposal.get("status") == "published":
        names = proposal.get("name") or {}
        name = (names.get(language) or names.get("en") or "") if isinstance(names, dict) else str(names)
        return text_for(texts, "published", language, question=question, name=name, points=str(points))
    fallback = "和已有的答案重复了" if language == "zh" else "it overlaps with an answer we have"
    return text_for(texts, "rejected", language, question=question, reason=str(proposal.get("reason") or fallback))


async def tell_fan(proposal: Dict[str, Any], points: int, outbound: "Outbound", texts: "Texts") -> bool:
    """Send the fan the decision through `outbound` (the caller's, e.g. `ctx.outbound`) in the words of `texts`
    (`ctx.texts`); False when it could not be queued (logged, the decision stands)."""
    sender = str(proposal.get("sender") or "")
    try:
        await outbound.send_to_user(sender, [{"text": message_for(texts, proposal, points)}],
                                    idempotency_key=f"fan_answers:{proposal.get('id')}:{proposal.get('status')}")
        return True
    except Exception:  # the decision is made; a delivery problem must not undo it
        logger.exception("fan answers: could not tell %s about %s", sender, proposal.get("id"))
        return False
