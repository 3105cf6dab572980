"""Demo order backend: a SQLite file at ``<data dir>/orders.sqlite``, seeded on first use.

The data dir is ``CANYU_DATA_DIR`` (see `bot.settings`). The seed orders belong to the sender id in
``CANYU_DEMO_ORDERS_OWNER`` (default ``me``, the README's curl example) and are dated relative to the
day the database is created, so a fresh demo always has parcels on their way:

| number | product | status |
|---|---|---|
| M2026110501 | Millet Phone 14 Pro | shipped (SF Express) |
| M2026110502 | Millet Buds 5 | delivered (JD Logistics) |
| M2026110503 | Millet Band 9 | paid, being packed |
| M2026110504 | Millet Power Bank 20000 | returned |
| M2026110505 | Millet Phone 14 | shipped (JD Logistics) |
| M2026110506 | Millet Band 9 | packed (SF Express) |

Tables: ``orders`` (with ``owner``, ``phone``, ``address``), ``repairs`` (booked pickups, ``R`` + 10
digits), ``stock`` (units per product key; demo: every product in stock except ``phone_14_pro``) and
``restock_alerts`` (one row per user and product until the user has been told), ``order_access`` (senders
that proved with a one-time code that an order placed on another account is theirs). A database from before
the owner column is migrated in place: the demo numbers go to the demo owner.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from bot.errors import DataError, StorageError
from bot.orders._model import CHANGEABLE_STATUSES, ORDER_STATUSES, Order, OrderNotChangeable, Repair, RestockAlert
from bot.orders.products import PRODUCTS

__all__ = ["SqliteOrderBackend", "demo_orders", "demo_owner", "DEMO_STOCK", "DEFAULT_DEMO_OWNER"]

DB_NAME = "orders.sqlite"
DEFAULT_DEMO_OWNER = "rest:me"
DEMO_STOCK = {"phone_14": 120, "phone_14_pro": 0, "band_9": 300, "buds_5": 80, "power_bank_20000": 500}
"""Units per product in a new demo database: the 14 Pro is sold out, so restock alerts can be tried."""

_ORDER_COLUMNS = "number, product, status, carrier, tracking_no, eta, updated_at, owner, phone, address"
_REPAIR_COLUMNS = "number, owner, device, fault, address, window, status, created_at"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS orders (
        number      TEXT PRIMARY KEY,
        product     TEXT NOT NULL,
        status      TEXT NOT NULL,
        carrier     TEXT,
        tracking_no TEXT,
        eta         TEXT,
        updated_at  TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS repairs (
        number     TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        device     TEXT NOT NULL,
        fault      TEXT NOT NULL,
        address    TEXT NOT NULL,
        window     TEXT NOT NULL,
        status     TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS repairs_owner ON repairs (owner)",
    """CREATE TABLE IF NOT EXISTS stock (
        product    TEXT PRIMARY KEY,
        quantity   INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS restock_alerts (
        owner      TEXT NOT NULL,
        product    TEXT NOT NULL,
        language   TEXT NOT NULL,
        channel    TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (owner, product)
    )""",
    """CREATE TABLE IF NOT EXISTS order_access (
        number     TEXT NOT NULL,
        sender     TEXT NOT NULL,
        granted_at TEXT NOT NULL,
        PRIMARY KEY (number, sender)
    )""",
)
_ADDED_ORDER_COLUMNS = ("owner", "phone", "address")


def demo_owner(env: Mapping[str, str]) -> str:
    """Who owns the seed orders: ``CANYU_DEMO_ORDERS_OWNER`` of `env` (the settings' environment), default
    ``rest:me`` (what the REST channel makes of the client name `me`)."""
    return (env.get("CANYU_DEMO_ORDERS_OWNER") or "").strip() or DEFAULT_DEMO_OWNER


def demo_orders(today: Optional[date] = None, owner: str = DEFAULT_DEMO_OWNER) -> List[Order]:
    """The seed orders, dated around `today`, owned by `owner` (a backend seeds them for `demo_owner(env)`)."""
    today = today or date.today()

    def at(days: int, hour: int, minute: int = 0) -> datetime:
        day = today + timedelta(days=days)
        return datetime(day.year, day.month, day.day, hour, minute)

    def on(days: int) -> date:
        return today + timedelta(days=days)

    home = "上海市浦东新区张江路 88 号 2 栋 1201"
    return [
        Order("M2026110501", "Millet Phone 14 Pro", "shipped", "SF Express", "SF1402611050017", on(2), at(0, 9, 12),
              owner, "13800000501", home),
        Order("M2026110502", "Millet Buds 5", "delivered", "JD Logistics", "JDVA26110502831", on(-3), at(-3, 15, 40),
              owner, "13800000501", home),
        Order("M2026110503", "Millet Band 9", "paid", None, None, on(3), at(0, 8, 5), owner, "13800000501", home),
        Order("M2026110504", "Millet Power Bank 20000", "returned", "SF Express", "SF1402611050044", None,
              at(-1, 11, 30), owner, "13800000501", home),
        Order("M2026110505", "Millet Phone 14", "shipped", "JD Logistics", "JDVA26110505119", on(1), at(-1, 18, 20),
              owner, "13800000501", home),
        Order("M2026110506", "Millet Band 9", "packed", "SF Express", None, on(2), at(0, 10, 45),
              owner, "13800000501", home),
    ]


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _order(row: Sequence[Any]) -> Order:
    number, product, status, carrier, tracking_no, eta, updated_at, owner, phone, address = row
    return Order(
        number=number,
        product=product,
        status=status,
        carrier=carrier,
        tracking_no=tracking_no,
        eta=date.fromisoformat(eta) if eta else None,
        updated_at=datetime.fromisoformat(updated_at),
        owner=owner,
        phone=phone,
        address=address,
    )


def _repair(row: Sequence[Any]) -> Repair:
    number, owner, device, fault, address, window, status, created_at = row
    return Repair(number, owner, device, fault, address, window, status, datetime.fromisoformat(created_at))


class SqliteOrderBackend:
    """Orders, repairs, stock and restock alerts in one SQLite file; each call opens its own connection,
    so it is safe across threads and processes (SQLite serialises the writers)."""

    def __init__(self, path: Union[str, Path], seed: bool = True, owner: str = DEFAULT_DEMO_OWNER) -> None:
        """`path`: the database file (``<data dir>/orders.sqlite``, see `from_env`); `owner`: who owns the seed
        orders of a new database."""
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                # one process at a time: two starting together on a new file both saw the columns missing and the
                # second ALTER failed ("duplicate column name: phone"), which stopped its restock watcher
                db.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    db.execute(statement)
                self._migrate(db)
                if seed and db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0:
                    self._insert(db, demo_orders(owner=owner))
                    db.executemany("INSERT OR IGNORE INTO stock VALUES (?, ?, ?)",
                                   [(k, n, _now()) for k, n in DEMO_STOCK.items()])
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"order database {self.path}: {exc}; check that the data dir is writable") from exc

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "SqliteOrderBackend":
        """The demo database of the settings read from `env` (``CANYU_DATA_DIR``/orders.sqlite), seeded for
        ``CANYU_DEMO_ORDERS_OWNER``."""
        from bot.settings import load_settings

        return cls(load_settings(env).data_dir / DB_NAME, owner=demo_owner(env))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Add the owner/phone/address columns to a database made before them; demo orders go to the demo owner."""
        have = {row[1] for row in db.execute("PRAGMA table_info(orders)")}
        missing = [c for c in _ADDED_ORDER_COLUMNS if c not in have]
        for column in missing:
            db.execute(f"ALTER TABLE orders ADD COLUMN {column} TEXT")
        if "owner" in missing:
            for order in demo_orders():
                db.execute("UPDATE orders SET owner = ?, phone = COALESCE(phone, ?), address = COALESCE(address, ?) "
                           "WHERE number = ? AND owner IS NULL", (order.owner, order.phone, order.address, order.number))
            if db.execute("SELECT COUNT(*) FROM stock").fetchone()[0] == 0:
                db.executemany("INSERT OR IGNORE INTO stock VALUES (?, ?, ?)",
                               [(k, n, _now()) for k, n in DEMO_STOCK.items()])

    @staticmethod
    def _insert(db: sqlite3.Connection, orders: Iterable[Order]) -> None:
        db.executemany(
            f"INSERT OR REPLACE INTO orders ({_ORDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (o.number, o.product, o.status, o.carrier, o.tracking_no,
                 o.eta.isoformat() if o.eta else None, o.updated_at.isoformat(timespec="minutes"),
                 o.owner, o.phone, o.address)
                for o in orders
            ],
        )

    def _run(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            with self._connect() as db:
                return db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StorageError(f"order database {self.path}: {exc}") from exc

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Optional[Sequence[Any]]:
        try:
            with self._connect() as db:
                row: Optional[Sequence[Any]] = db.execute(sql, args).fetchone()
                return row
        except sqlite3.Error as exc:
            raise StorageError(f"order database {self.path}: {exc}") from exc

    def _all(self, sql: str, args: Sequence[Any] = ()) -> List[Sequence[Any]]:
        try:
            with self._connect() as db:
                return db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"order database {self.path}: {exc}") from exc

    # orders

    def put(self, *orders: Order) -> None:
        """Add or replace orders (used by tests and by anyone loading a demo data set)."""
        try:
            with self._connect() as db:
                self._insert(db, orders)
        except sqlite3.Error as exc:
            raise StorageError(f"order database {self.path}: {exc}") from exc

    def get(self, order_number: str) -> Optional[Order]:
        row = self._one(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE number = ?", (order_number,))
        return _order(row) if row else None

    def orders_of(self, owner: str) -> List[Order]:
        """The user's orders, newest first."""
        rows = self._all(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE owner = ? ORDER BY updated_at DESC", (owner,))
        return [_order(r) for r in rows]

    def _change_if_not_shipped(self, order_number: str, sql: str, args: Sequence[Any]) -> Order:
        marks = ", ".join("?" for _ in CHANGEABLE_STATUSES)
        done = self._run(f"{sql} WHERE number = ? AND status IN ({marks})",
                         (*args, order_number, *CHANGEABLE_STATUSES)).rowcount
        order = self.get(order_number)
        if order is None:
            raise StorageError(f"order {order_number} is not in {self.path}")
        if not done:
            raise OrderNotChangeable(order)
        return order

    def cancel(self, order_number: str) -> Order:
        return self._change_if_not_shipped(
            order_number, "UPDATE orders SET status = 'cancelled', updated_at = ?",
            (datetime.now().isoformat(timespec="minutes"),))

    def change_address(self, order_number: str, address: str) -> Order:
        return self._change_if_not_shipped(order_number, "UPDATE orders SET address = ?", (address,))

    def set_status(self, order_number: str, status: str) -> Order:
        if status not in ORDER_STATUSES:
            raise DataError(f"unknown order status {status!r}; statuses: {', '.join(ORDER_STATUSES)}")
        self._run("UPDATE orders SET status = ?, updated_at = ? WHERE number = ?",
                  (status, datetime.now().isoformat(timespec="seconds"), order_number))
        order = self.get(order_number)
        if order is None:
            raise DataError(f"order {order_number} is not in {self.path}")
        return order

    def changed_since(self, since: datetime, status: str) -> List[Order]:
        rows = self._all(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status = ? AND updated_at > ? "
                         "ORDER BY updated_at", (status, since.isoformat(timespec="seconds")))
        return [_order(r) for r in rows]

    def grant_access(self, order_number: str, sender_id: str) -> None:
        self._run("INSERT OR REPLACE INTO order_access VALUES (?, ?, ?)", (order_number, sender_id, _now()))

    def has_access(self, order_number: str, sender_id: str) -> bool:
        return self._one("SELECT 1 FROM order_access WHERE number = ? AND sender = ?",
                         (order_number, sender_id)) is not None

    # repairs

    def create_repair(self, owner: str, device: str, fault: str, address: str, window: str) -> Repair:
        created = datetime.now().replace(microsecond=0)
        for _ in range(20):
            number = "R" + created.strftime("%y%m%d") + f"{random.randrange(10_000):04d}"
            try:
                with self._connect() as db:
                    db.execute(f"INSERT INTO repairs ({_REPAIR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (number, owner, device, fault, address, window, "booked", created.isoformat()))
            except sqlite3.IntegrityError:
                continue  # the number is taken: draw another
            except sqlite3.Error as exc:
                raise StorageError(f"order database {self.path}: {exc}") from exc
            return Repair(number, owner, device, fault, address, window, "booked", created)
        raise StorageError(f"order database {self.path}: no free repair number left for {created:%Y-%m-%d}")

    def get_repair(self, repair_number: str) -> Optional[Repair]:
        row = self._one(f"SELECT {_REPAIR_COLUMNS} FROM repairs WHERE number = ?", (repair_number.upper(),))
        return _repair(row) if row else None

    def repairs_of(self, owner: str) -> List[Repair]:
        rows = self._all(f"SELECT {_REPAIR_COLUMNS} FROM repairs WHERE owner = ? ORDER BY created_at DESC", (owner,))
        return [_repair(r) for r in rows]

    # stock and restock alerts

    def stock(self, product: str) -> int:
        row = self._one("SELECT quantity FROM stock WHERE product = ?", (product,))
        return int(row[0]) if row else 0

    def stock_levels(self) -> Dict[str, int]:
        return {p: int(n) for p, n in self._all("SELECT product, quantity FROM stock ORDER BY product")}

    def set_stock(self, product: str, quantity: int) -> int:
        if product not in PRODUCTS:
            raise ValueError(f"unknown product {product!r}; use one of {', '.join(PRODUCTS)}")
        if quantity < 0:
            raise ValueError(f"stock of {product} cannot be {quantity}; use 0 or more")
        try:
            with self._connect() as db:
                row = db.execute("SELECT quantity FROM stock WHERE product = ?", (product,)).fetchone()
                db.execute("INSERT OR REPLACE INTO stock VALUES (?, ?, ?)", (product, quantity, _now()))
        except sqlite3.Error as exc:
            raise StorageError(f"order database {self.path}: {exc}") from exc
        return int(row[0]) if row else 0

    def add_restock_alert(self, owner: str, product: str, language: str, channel: Optional[str]) -> bool:
        try:
            with self._connect() as db:
                existed = db.execute("SELECT 1 FROM restock_alerts WHERE owner = ? AND product = ?",
                                     (owner, product)).fetchone()
                db.execute("INSERT OR REPLACE INTO restock_alerts VALUES (?, ?, ?, ?, ?)",
                           (owner, product, language, channel, _now()))
        except sqlite3.Error as exc:
            raise StorageError(f"order database {self.path}: {exc}") from exc
        return existed is None

    def restock_alerts(self, product: Optional[str] = None) -> List[RestockAlert]:
        sql = "SELECT owner, product, language, channel, created_at FROM restock_alerts"
        rows = self._all(sql + (" WHERE product = ? ORDER BY created_at" if product else " ORDER BY created_at"),
                         (product,) if product else ())
        return [RestockAlert(o, p, lang, ch, datetime.fromisoformat(t)) for o, p, lang, ch, t in rows]

    def claim_restock_alert(self, owner: str, product: str) -> bool:
        return self._run("DELETE FROM restock_alerts WHERE owner = ? AND product = ?", (owner, product)).rowcount == 1

    def restore_restock_alert(self, alert: RestockAlert) -> None:
        """Put a claimed alert back (its message could not be sent; the next check retries)."""
        self._run("INSERT OR IGNORE INTO restock_alerts VALUES (?, ?, ?, ?, ?)",
                  (alert.owner, alert.product, alert.language, alert.channel,
                   alert.created_at.isoformat(timespec="seconds")))
