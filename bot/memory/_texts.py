"""The lines of the return greeting and of "what do you know about me?" (zh and en, voice.md).

The sentences around them are responses in `responses/memory.yml`; these are the per-item lines, joined
with "；" / "; ". tests/test_memory.py runs them through `bot lint`.
"""

from __future__ import annotations

from typing import Any, Dict, List

from bot.dates import format_date

__all__ = ["LINES", "open_lines", "known_lines"]

LINES: Dict[str, Dict[str, str]] = {
    "order": {"zh": "订单 {number}（{product}）在路上，预计 {eta} 到",
              "en": "your order {number} ({product}) is on its way, due {eta}"},
    "order_no_eta": {"zh": "订单 {number}（{product}）在路上", "en": "your order {number} ({product}) is on its way"},
    "repair": {"zh": "维修单 {number}（{device}）还在处理", "en": "repair {number} ({device}) is still open"},
    "feedback": {"zh": "你提的反馈 {id}「{title}」：{status}", "en": "your feedback {id} \"{title}\": {status}"},
    "known_orders": {"zh": "订单 {numbers}", "en": "orders {numbers}"},
    "known_repairs": {"zh": "维修单 {numbers}", "en": "repairs {numbers}"},
    "known_feedback": {"zh": "你提过或投过的反馈 {ids}", "en": "feedback you filed or voted on: {ids}"},
    "known_chat": {"zh": "我们的聊天记录", "en": "our chat history"},
    "known_handoffs": {"zh": "转人工的记录和客服的备注", "en": "your chats with our agents and their notes"},
    "known_fan": {"zh": "你的米粉等级和积分", "en": "your fan tier and points"},
    "known_accounts": {"zh": "绑定在一起的账号（{count} 个）", "en": "{count} linked accounts"},
}
STATUS: Dict[str, Dict[str, str]] = {
    "new": {"zh": "已记下，正在看", "en": "logged, we're looking at it"},
    "planned": {"zh": "已排进计划", "en": "planned"},
    "in_beta": {"zh": "正在内测", "en": "in beta"},
}
_SEP = {"zh": "；", "en": "; "}


def _line(kind: str, language: str, **values: Any) -> str:
    return LINES[kind][language].format(**values)


def open_lines(things: Dict[str, List[Any]], language: str) -> List[str]:
    """One short line per open thing (orders, repairs, feedback: at most 4 in all)."""
    from bot.orders import product_name

    lines = []
    for order in things.get("orders") or []:
        product = product_name(order.product, language)
        if order.eta:
            lines.append(_line("order", language, number=order.number, product=product,
                               eta=format_date(order.eta, language)))
        else:
            lines.append(_line("order_no_eta", language, number=order.number, product=product))
    for repair in things.get("repairs") or []:
        lines.append(_line("repair", language, number=repair.number, device=repair.device))
    for item in things.get("feedback") or []:
        status = STATUS.get(item.status, {}).get(language, item.status)
        lines.append(_line("feedback", language, id=item.id, title=item.title(language)[:30], status=status))
    return lines[:4]


def known_lines(summary: Dict[str, Any], language: str) -> List[str]:
    """What is stored, kind by kind (orders and repairs by number)."""
    lines = []
    if summary.get("orders"):
        lines.append(_line("known_orders", language, numbers=", ".join(summary["orders"][:5])))
    if summary.get("repairs"):
        lines.append(_line("known_repairs", language, numbers=", ".join(summary["repairs"][:5])))
    if summary.get("feedback"):
        lines.append(_line("known_feedback", language, ids=", ".join(summary["feedback"][:5])))
    if summary.get("conversation"):
        lines.append(_line("known_chat", language))
    if summary.get("handoffs"):
        lines.append(_line("known_handoffs", language))
    if summary.get("fan_profile"):
        lines.append(_line("known_fan", language))
    if len(summary.get("identities") or []) > 1:
        lines.append(_line("known_accounts", language, count=len(summary["identities"])))
    return lines


def join(lines: List[str], language: str) -> str:
    return _SEP[language].join(lines)
