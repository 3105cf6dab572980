"""Orders: the backend interface the order actions talk to, plus order-number parsing.

An order number is ``M`` followed by 10 digits (``M2026110501``). Customers type it in lower case,
with spaces (``M 2026 110501``), as digits only, or inside a sentence; `normalise_order_number`
turns all of these into the canonical form.

Backends implement `OrderBackend.get`. The demo backend is SQLite (`bot.orders.sqlite`); a real shop
plugs in its own class and a name for ``CANYU_ORDER_BACKEND``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Dict, Mapping, Optional, Protocol, runtime_checkable

from bot.errors import ConfigError

__all__ = [
    "ORDER_STATUSES",
    "Order",
    "OrderBackend",
    "get_order_backend",
    "normalise_order_number",
    "product_name",
    "carrier_name",
]

ORDER_STATUSES = ("paid", "packed", "shipped", "delivered", "returned")
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

    def __post_init__(self) -> None:
        if self.status not in ORDER_STATUSES:
            raise ValueError(f"order {self.number}: status {self.status!r} is not one of {', '.join(ORDER_STATUSES)}")


@runtime_checkable
class OrderBackend(Protocol):
    """Where orders come from. `get` returns None for an unknown number; store failures raise StorageError."""

    def get(self, order_number: str) -> Optional[Order]:
        ...


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
