"""Orders as data: the statuses, an order, a repair pickup, a restock alert, and the backend interface.

Why apart from `bot.orders`: the backends (`bot.orders.sqlite`, a shop's own) implement `OrderBackend` with these
types, and `bot.orders.get_order_backend` picks a backend; the types sit below both. `bot.orders` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import List, Optional, Protocol, runtime_checkable

from bot.errors import CanyuError

__all__ = ["ORDER_STATUSES", "CHANGEABLE_STATUSES", "Order", "Repair", "RestockAlert", "OrderNotChangeable",
           "OrderBackend"]

ORDER_STATUSES = ("paid", "packed", "shipped", "delivered", "returned", "cancelled")
CHANGEABLE_STATUSES = ("paid", "packed")
"""Statuses in which we can still cancel an order or change its address (it has not left the warehouse)."""

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
