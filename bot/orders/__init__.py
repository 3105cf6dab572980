"""Orders: the backend interface the order actions talk to, plus order-number parsing.

An order number is ``M`` followed by 10 digits (``M2026110501``). Customers type it in lower case,
with spaces (``M 2026 110501``), as digits only, or inside a sentence; `normalise_order_number`
turns all of these into the canonical form.

Every order has an ``owner``: the sender id of the user who placed it (``wechat:oAbC``, ``telegram:42``
or the REST sender). The actions only ever show or change an order through `owned_order`, which treats
somebody else's order exactly like an unknown number. A user on another account can prove the order is
theirs with the order's phone number and a one-time code (`bot.orders.verify`); the backend then grants
that sender access (`grant_access`).

Backends implement `OrderBackend`: orders (`get`, `cancel`, `change_address`), repair pickups
(`create_repair`, `get_repair`), stock levels and restock alerts. The demo backend is SQLite
(`bot.orders.sqlite`); a real shop plugs in its own class and a name for ``CANYU_ORDER_BACKEND``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Dict, List, Mapping, Optional, Protocol, runtime_checkable

from bot.errors import CanyuError, ConfigError

__all__ = [
    "ORDER_STATUSES",
    "CHANGEABLE_STATUSES",
    "Order",
    "Repair",
    "RestockAlert",
    "OrderBackend",
    "OrderNotChangeable",
    "owned_order",
    "get_order_backend",
    "normalise_order_number",
    "product_name",
    "carrier_name",
]

ORDER_STATUSES = ("paid", "packed", "shipped", "delivered", "returned", "cancelled")
CHANGEABLE_STATUSES = ("paid", "packed")
"""Statuses in which we can still cancel an order or change its address (it has not left the warehouse)."""
DEFAULT_BACKEND = "sqlite"

# "M" (optional) + 10 digits, single spaces or hyphens allowed between digits; not part of a longer number
# or of another code such as a tracking number ("JD0026110502").
_ORDER_NUMBER = re.compile(
    r"(?:(?<![0-9])[Mm][ \-]?|(?<![A-Za-z0-9]))((?:\d(?:[ \-](?=\d))?){10})(?!\d)"
)

_PRODUCT_ZH: Dict[str, str] = {
    "Millet Phone 14": "米粒手机 14",
    "Millet Phone 14 Pro": "米粒手机 14 Pro",
    "Millet Band 9": "米粒手环 9",
    "Millet Buds 5": "米粒耳机 Buds 5",
    "Millet Power Bank 20000": "米粒充电宝 20000",
}
_CARRIER_ZH: Dict[str, str] = {
    "SF Express": "顺丰速运",
    "JD Logistics": "京东物流",
    "EMS": "EMS",
}


@dataclass(frozen=True)
class Order:
    """One store order as the customer sees it."""

    number: str
    product: str
    status: str
    carrier: Optional[str]
    tracking_no: Optional[str]
    eta: Optional[date]
    updated_at: datetime
    owner: Optional[str] = None
    """Sender id of the user who placed the order; None: nobody may see it in chat."""
    phone: Optional[str] = None
    address: Optional[str] = None

    def __post_init__(self) -> None:
        if self.status not in ORDER_STATUSES:
            raise ValueError(f"order {self.number}: status {self.status!r} is not one of {', '.join(ORDER_STATUSES)}")

    @property
    def changeable(self) -> bool:
        """Not shipped yet: can still be cancelled or sent to another address."""
        return self.status in CHANGEABLE_STATUSES


@dataclass(frozen=True)
class Repair:
    """A booked repair pickup: the courier collects `device` at `address` in `window`."""

    number: str
    owner: str
    device: str
    fault: str
    address: str
    window: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class RestockAlert:
    """"Tell me when it's back": one per (owner, product), removed once the user has been told."""

    owner: str
    product: str
    language: str
    channel: Optional[str]
    created_at: datetime


class OrderNotChangeable(CanyuError):
    """The order has left the warehouse (or was cancelled): `order` is how it is now."""

    def __init__(self, order: Order) -> None:
        self.order = order
        super().__init__(f"order {order.number} is {order.status}; only {'/'.join(CHANGEABLE_STATUSES)} orders change")


@runtime_checkable
class OrderBackend(Protocol):
    """Where orders, repair pickups and stock live. Store failures raise StorageError.

    Product keys are those of `bot.orders.products` (``phone_14_pro``, ``buds_5``, …).
    """

    def get(self, order_number: str) -> Optional[Order]:
        """The order, or None for an unknown number (whoever owns it: see `owned_order`)."""

    def cancel(self, order_number: str) -> Order:
        """Cancel a paid or packed order and return it; `OrderNotChangeable` once it has shipped."""

    def change_address(self, order_number: str, address: str) -> Order:
        """Ship a paid or packed order to `address`; `OrderNotChangeable` once it has shipped."""

    def create_repair(self, owner: str, device: str, fault: str, address: str, window: str) -> Repair:
        """Book a pickup; the repair number is ``R`` + 10 digits."""

    def get_repair(self, repair_number: str) -> Optional[Repair]:
        ...

    def stock(self, product: str) -> int:
        """Units in stock (0 for a product the store does not know)."""

    def set_stock(self, product: str, quantity: int) -> int:
        """Set the stock level; returns the previous level."""

    def add_restock_alert(self, owner: str, product: str, language: str, channel: Optional[str]) -> bool:
        """Subscribe; False when the user already had an alert for this product (it is refreshed)."""

    def restock_alerts(self, product: Optional[str] = None) -> List[RestockAlert]:
        ...

    def claim_restock_alert(self, owner: str, product: str) -> bool:
        """Remove the alert; True for exactly one caller, so only one process sends the message."""

    def grant_access(self, order_number: str, sender_id: str) -> None:
        """Let `sender_id` see and change the order (it proved ownership with a one-time code)."""

    def set_status(self, order_number: str, status: str) -> Order:
        """The shop's side: the order moved on (shipped, delivered, returned…); returns it."""

    def changed_since(self, since: datetime, status: str) -> List[Order]:
        """Orders now in `status` whose last change is later than `since`, oldest first (the returns check-in
        watches `returned`)."""

    def has_access(self, order_number: str, sender_id: str) -> bool:
        """Whether `sender_id` was granted access to the order (the owner needs no grant)."""


def owned_order(backend: OrderBackend, order_number: str, owner: str) -> Optional[Order]:
    """The order if `owner` placed it (or proved it is theirs), else None: somebody else's order looks exactly
    like an unknown one."""
    order = backend.get(order_number)
    if order is None or not owner:
        return None
    if order.owner == owner or backend.has_access(order.number, owner):
        return order
    return None


def normalise_order_number(text: str) -> Optional[str]:
    """Find an order number in `text` and return it as ``M`` + 10 digits, or None if there is none.

    >>> normalise_order_number("my order is m 2026 110501, where is it?")
    'M2026110501'
    """
    if not text:
        return None
    found = _ORDER_NUMBER.search(unicodedata.normalize("NFKC", text))
    if found is None:
        return None
    return "M" + re.sub(r"\D", "", found.group(1))


def product_name(product: str, language: str) -> str:
    """The product's name in the user's language (English names are the stored ones)."""
    return _PRODUCT_ZH.get(product, product) if language == "zh" else product


def carrier_name(carrier: str, language: str) -> str:
    """The carrier's name in the user's language."""
    return _CARRIER_ZH.get(carrier, carrier) if language == "zh" else carrier


def get_order_backend(env: Optional[Mapping[str, str]] = None) -> OrderBackend:
    """The backend named by ``CANYU_ORDER_BACKEND`` (default ``sqlite``)."""
    env = os.environ if env is None else env
    name = (env.get("CANYU_ORDER_BACKEND") or DEFAULT_BACKEND).strip().lower()
    if name == "sqlite":
        from bot.orders.sqlite import SqliteOrderBackend

        return SqliteOrderBackend()
    raise ConfigError(f"CANYU_ORDER_BACKEND={name!r} is not a known order backend; set it to 'sqlite'")
