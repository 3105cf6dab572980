"""What we hold about a person across conversations and channels: open things, history, stored data.

Every linked identity counts (`bot.fans` profiles): an order placed from WeChat shows when the person
writes from Telegram too. Orders and repairs come from the order backend (`bot.orders`), feedback from
`bot.feedback`, handoffs from `bot.handoff.store`, and "what is stored" from the privacy inventory
(`bot.privacy.find_all`), so the summary names exactly what `bot privacy erase` would delete.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List

if TYPE_CHECKING:
    import redis

__all__ = ["OPEN_FEEDBACK", "CLOSED_REPAIRS", "person_ids", "open_things", "history", "history_async",
           "stored_summary"]

logger = logging.getLogger(__name__)

OPEN_FEEDBACK = ("new", "planned", "in_beta")
CLOSED_REPAIRS = ("done", "completed", "closed", "returned", "cancelled")
IN_TRANSIT = ("shipped",)


def person_ids(red: "redis.Redis[str]", sender_id: str) -> List[str]:
    """Every sender id of the person behind `sender_id` (itself first)."""
    try:
        from bot.fans import identities, profile_id

        ids = identities(profile_id(sender_id, red), red)
    except Exception:  # no fan profile store: the identity alone
        ids = []
    return [sender_id] + [i for i in ids if i != sender_id]


def _orders(backend: Any, ids: List[str]) -> List[Any]:
    orders_of = getattr(backend, "orders_of", None)
    if orders_of is None:
        return []
    seen: Dict[str, Any] = {}
    for i in ids:
        for order in orders_of(i):
            seen.setdefault(order.number, order)
    return sorted(seen.values(), key=lambda o: o.updated_at, reverse=True)


def _repairs(backend: Any, ids: List[str]) -> List[Any]:
    repairs_of = getattr(backend, "repairs_of", None)
    if repairs_of is None:
        return []
    found = {r.number: r for i in ids for r in repairs_of(i)}
    return sorted(found.values(), key=lambda r: r.created_at, reverse=True)


def _feedback(red: "redis.Redis[str]", sender_id: str) -> List[Any]:
    from bot.feedback import FeedbackStore

    return FeedbackStore(red, use_vectors=False).items_of(sender_id)


def open_things(red: "redis.Redis[str]", sender_id: str, backend: Any) -> Dict[str, List[Any]]:
    """{"orders": in transit, "repairs": open, "feedback": items they filed or voted on that are still open}."""
    ids = person_ids(red, sender_id)
    out: Dict[str, List[Any]] = {"orders": [], "repairs": [], "feedback": []}
    try:
        out["orders"] = [o for o in _orders(backend, ids) if o.status in IN_TRANSIT]
        out["repairs"] = [r for r in _repairs(backend, ids) if r.status not in CLOSED_REPAIRS]
    except Exception:  # the order store is down: say what else is open
        logger.exception("memory: orders of %s unavailable", sender_id)
    try:
        out["feedback"] = [i for i in _feedback(red, sender_id) if i.status in OPEN_FEEDBACK]
    except Exception:
        logger.exception("memory: feedback of %s unavailable", sender_id)
    return out


def history(red: "redis.Redis[str]", sender_id: str, backend: Any, limit: int = 20) -> Dict[str, List[Dict[str, Any]]]:
    """The person's history across conversations, for the agent console (newest first, `limit` each)."""
    ids = person_ids(red, sender_id)
    out: Dict[str, List[Dict[str, Any]]] = {"identities": [{"id": i} for i in ids], "handoffs": [], "orders": [],
                                            "repairs": [], "feedback": []}
    from bot.handoff.store import HandoffStore

    store = HandoffStore(red)
    for i in ids:
        for entry in store.history(i):
            if entry.get("what") in ("queued", "resolved", "claimed", "transferred"):
                out["handoffs"].append(dict(entry, sender_id=i))
    out["handoffs"] = sorted(out["handoffs"], key=lambda e: float(e.get("at") or 0), reverse=True)[:limit]
    try:
        out["orders"] = [{"number": o.number, "product": o.product, "status": o.status,
                          "eta": o.eta.isoformat() if o.eta else None, "updated": o.updated_at.isoformat()}
                         for o in _orders(backend, ids)][:limit]
        out["repairs"] = [{"number": r.number, "device": r.device, "fault": r.fault, "status": r.status,
                           "created": r.created_at.isoformat()} for r in _repairs(backend, ids)][:limit]
    except Exception:
        logger.exception("memory: orders of %s unavailable", sender_id)
    try:
        out["feedback"] = [{"id": i.id, "title": i.title("en"), "status": i.status, "count": i.count}
                           for i in _feedback(red, sender_id)][:limit]
    except Exception:
        logger.exception("memory: feedback of %s unavailable", sender_id)
    return out


async def history_async(red: "redis.Redis[str]", sender_id: str, backend: Any
                        ) -> Dict[str, List[Dict[str, Any]]]:
    """`history` off the event loop (the agent console; `backend`: its context's order backend); {} when a store is
    down, so the context still opens."""
    import asyncio

    try:
        return await asyncio.get_running_loop().run_in_executor(None, history, red, sender_id, backend)
    except Exception:
        logger.exception("memory: history of %s unavailable", sender_id)
        return {}


def stored_summary(red: "redis.Redis[str]", sender_id: str, backend: Any) -> Dict[str, Any]:
    """What is stored about the person, by kind: counts from the privacy inventory, plus orders and repairs."""
    from bot.privacy import find_all, resolve_person

    person = resolve_person(red, sender_id)
    plan = find_all(red, person)
    counts = {name: len(entries) for name, entries in plan.items() if entries}
    ids = list(person.sender_ids) or [sender_id]
    orders: List[Any] = []
    repairs: List[Any] = []
    try:
        orders, repairs = _orders(backend, ids), _repairs(backend, ids)
    except Exception:
        logger.exception("memory: orders of %s unavailable", sender_id)
    feedback_ids: List[str] = []
    try:
        feedback_ids = [i.id for i in _feedback(red, sender_id)]
    except Exception:
        logger.exception("memory: feedback of %s unavailable", sender_id)
    return {"identities": ids, "families": counts, "orders": [o.number for o in orders],
            "repairs": [r.number for r in repairs], "feedback": feedback_ids,
            "conversation": bool(counts.get("trackers") or counts.get("events")),
            "handoffs": bool(counts.get("handoff_log") or counts.get("handoff_resolved")),
            "fan_profile": any(k.startswith("fans_") or k.startswith("fan_answers") for k in counts)}

