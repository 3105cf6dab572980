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
(`bot.orders.sqlite`); a real shop plugs in its own class and a name for ``CANYU_ORDER_BACKEND``. The types
(`Order`, `OrderBackend`, …) are in `bot.orders._model`, below the backends; they are re-exported here.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict, Mapping, Optional

from bot.errors import ConfigError
from bot.orders._model import (
    CHANGEABLE_STATUSES,
    ORDER_STATUSES,
    Order,
    OrderBackend,
    OrderNotChangeable,
    Repair,
    RestockAlert,
)
from bot.orders.sqlite import SqliteOrderBackend

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


def get_order_backend(env: Mapping[str, str]) -> OrderBackend:
    """The backend named by ``CANYU_ORDER_BACKEND`` of `env` (default ``sqlite``), with its settings from `env`:
    the composition root passes its settings' environment (`AppContext.orders` does)."""
    name = (env.get("CANYU_ORDER_BACKEND") or DEFAULT_BACKEND).strip().lower()
    if name == "sqlite":
        return SqliteOrderBackend.from_env(env)
    raise ConfigError(f"CANYU_ORDER_BACKEND={name!r} is not a known order backend; set it to 'sqlite'")
