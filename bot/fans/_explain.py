"""Honest, plain-words explanations of a person's tier and privileges (zh and en)."""

from __future__ import annotations

from typing import Any

from bot.fans._identity import is_verified_identity
from bot.fans._profiles import FanStatus, status_of
from bot.fans._rules import TierRules

__all__ = ["explain_status", "queue_note", "reason_text"]

_REASONS = {
    "en": {
        "manual": "our team gave you that status",
        "shipped_feedback": "{shipped_feedback} of your suggestions made it into a release ({ids})",
        "feedback": "you've sent us feedback ({feedback} item(s) so far)",
        "messages": "you've written to us {messages} times",
        "active_days": "you've chatted with us on {active_days} different days",
        "default": "everyone starts here",
        "unverified": "only chats on WeChat or Telegram count toward a fan tier, and this one isn't",
    },
    "zh": {
        "manual": "是团队为你开通的",
        "shipped_feedback": "你提的 {shipped_feedback} 条建议已经上线（{ids}）",
        "feedback": "你给我们提过反馈（目前 {feedback} 条）",
        "messages": "你已经和我们聊了 {messages} 条消息",
        "active_days": "你有 {active_days} 天来找我们聊过",
        "default": "大家都从这里开始",
        "unverified": "只有在微信或 Telegram 上的聊天才算米粉等级，这里的不算",
    },
}


def reason_text(status: FanStatus, language: str) -> str:
    table = _REASONS.get(language, _REASONS["en"])
    stats = dict(status.stats)
    stats["ids"] = ", ".join(stats.get("shipped_ids") or []) or "—"
    return table.get(status.reason, table["default"]).format(**stats)


def explain_status(sender_id: str, language: str = "en", red: Any = None, *, rules: TierRules) -> str:
    """"You're a core fan because …; that gets you …" in the user's language (tiers: `rules`)."""
    status = status_of(sender_id, red, rules)
    name = status.tier.name(language)
    why = reason_text(status, language)
    verified = is_verified_identity(sender_id)
    if not verified and status.reason != "manual":
        if language == "zh":
            return f"你现在是「{name}」，因为{why}。来微信或 Telegram 找我们，聊天和建议都会算数～"
        return f"You're a {name} because {why}. Chat with us on WeChat or Telegram and it all counts."
    # an unverified identity keeps only the queue place a person on staff gave it (see has_privilege)
    perks = [rules.privilege_text(p, language) for p in status.tier.privileges
             if verified or p == "priority_queue"]
    if language == "zh":
        text = f"你现在是「{name}」，因为{why}。"
        if perks:
            text += "你的特权：" + "；".join(perks) + "。"
        if "priority_queue" in status.tier.privileges:
            text += "所以转人工时你会排在前面；同级别的人之间按先来后到。"
        else:
            text += "多提建议，被采纳上线后就能升级，转人工时也会优先。想提一个吗？"
        return text
    text = f"You're a {name} because {why}."
    if perks:
        text += " That gets you: " + "; ".join(perks) + "."
    if "priority_queue" in status.tier.privileges:
        text += " That's why you're ahead in the queue; among people of the same tier it's first come, first served."
    else:
        text += " Send a suggestion that ships and you move up, with a faster line to a person. Got one for us?"
    return text


def queue_note(sender_id: str, language: str = "en", red: Any = None, *, rules: TierRules) -> str:
    """One sentence for the handoff message saying why this person is ahead ("" if they are not)."""
    status = status_of(sender_id, red, rules)
    if status.boost <= 0 or "priority_queue" not in status.tier.privileges:
        return ""
    name = status.tier.name(language)
    if language == "zh":
        return f"你是「{name}」，所以排在普通队列前面。"
    return f"You're a {name}, so you go ahead of the regular queue."
