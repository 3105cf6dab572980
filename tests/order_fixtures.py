"""Orders for test users: the demo orders belong to the demo owner (`me`), so a test sender gets its own.

    number = give_order(assistant, sender, like="M2026110501")   # a shipped 14 Pro, owned by `sender`
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Optional

from bot.orders import Order
from bot.orders.sqlite import DB_NAME, SqliteOrderBackend, demo_orders

__all__ = ["give_order", "orders_in", "fresh_number"]


def orders_in(data_dir: Path) -> SqliteOrderBackend:
    """The order database the assistant running on `data_dir` uses."""
    return SqliteOrderBackend(Path(data_dir) / DB_NAME)


def fresh_number() -> str:
    return "M" + "".join(random.choice("0123456789") for _ in range(10))


def give_order(assistant: object, sender: str, like: str = "M2026110501", status: Optional[str] = None,
               phone: Optional[str] = None) -> str:
    """Copy the demo order `like` under a new number, owned by `sender` (optionally with another status/phone)."""
    template = next(o for o in demo_orders() if o.number == like)
    number = fresh_number()
    order: Order = dataclasses.replace(template, number=number, owner=sender,
                                       status=status or template.status, phone=phone or template.phone)
    orders_in(assistant.data_dir).put(order)  # type: ignore[attr-defined]
    return number
