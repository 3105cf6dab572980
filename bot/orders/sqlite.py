"""Demo order backend: a SQLite file at ``<data dir>/orders.sqlite``, seeded with six orders on first use.

The data dir is ``CANYU_DATA_DIR`` (see `bot.settings`). The seed orders are dated relative to the day
the database is created, so a fresh demo always has parcels on their way:

| number | product | status |
|---|---|---|
| M2026110501 | Millet Phone 14 Pro | shipped (SF Express) |
| M2026110502 | Millet Buds 5 | delivered (JD Logistics) |
| M2026110503 | Millet Band 9 | paid, being packed |
| M2026110504 | Millet Power Bank 20000 | returned |
| M2026110505 | Millet Phone 14 | shipped (JD Logistics) |
| M2026110506 | Millet Band 9 | packed (SF Express) |
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterable, List, Optional, Union

from bot.errors import StorageError
from bot.orders import Order

__all__ = ["SqliteOrderBackend", "demo_orders"]

DB_NAME = "orders.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    number      TEXT PRIMARY KEY,
    product     TEXT NOT NULL,
    status      TEXT NOT NULL,
    carrier     TEXT,
    tracking_no TEXT,
    eta         TEXT,
    updated_at  TEXT NOT NULL
)
"""


def demo_orders(today: Optional[date] = None) -> List[Order]:
    """The seed orders, dated around `today`."""
    today = today or date.today()

    def at(days: int, hour: int, minute: int = 0) -> datetime:
        day = today + timedelta(days=days)
        return datetime(day.year, day.month, day.day, hour, minute)

    def on(days: int) -> date:
        return today + timedelta(days=days)

    return [
        Order("M2026110501", "Millet Phone 14 Pro", "shipped", "SF Express", "SF1402611050017", on(2), at(0, 9, 12)),
        Order("M2026110502", "Millet Buds 5", "delivered", "JD Logistics", "JDVA26110502831", on(-3), at(-3, 15, 40)),
        Order("M2026110503", "Millet Band 9", "paid", None, None, on(3), at(0, 8, 5)),
        Order("M2026110504", "Millet Power Bank 20000", "returned", "SF Express", "SF1402611050044", None, at(-1, 11, 30)),
        Order("M2026110505", "Millet Phone 14", "shipped", "JD Logistics", "JDVA26110505119", on(1), at(-1, 18, 20)),
        Order("M2026110506", "Millet Band 9", "packed", "SF Express", None, on(2), at(0, 10, 45)),
    ]


class SqliteOrderBackend:
    """Orders in one SQLite file; each call opens its own connection, so it is safe across threads."""

    def __init__(self, path: Union[str, Path, None] = None, seed: bool = True) -> None:
        if path is None:
            from bot.settings import load_settings

            path = load_settings().data_dir / DB_NAME
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute(_SCHEMA)
                if seed and db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0:
                    self._insert(db, demo_orders())
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"order database {self.path}: {exc}; check that the data dir is writable") from exc

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    @staticmethod
    def _insert(db: sqlite3.Connection, orders: Iterable[Order]) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (o.number, o.product, o.status, o.carrier, o.tracking_no,
                 o.eta.isoformat() if o.eta else None, o.updated_at.isoformat(timespec="minutes"))
                for o in orders
            ],
        )

    def put(self, *orders: Order) -> None:
        """Add or replace orders (used by tests and by anyone loading a demo data set)."""
        try:
            with self._connect() as db:
                self._insert(db, orders)
        except sqlite3.Error as exc:
            raise StorageError(f"order database {self.path}: {exc}") from exc

    def get(self, order_number: str) -> Optional[Order]:
        try:
            with self._connect() as db:
                row = db.execute(
                    "SELECT number, product, status, carrier, tracking_no, eta, updated_at FROM orders WHERE number = ?",
                    (order_number,),
                ).fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"order database {self.path}: {exc}") from exc
        if row is None:
            return None
        number, product, status, carrier, tracking_no, eta, updated_at = row
        return Order(
            number=number,
            product=product,
            status=status,
            carrier=carrier,
            tracking_no=tracking_no,
            eta=date.fromisoformat(eta) if eta else None,
            updated_at=datetime.fromisoformat(updated_at),
        )
