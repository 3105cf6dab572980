"""Order backend and order-number parsing (unit tests, no Rasa)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from bot.errors import ConfigError, StorageError
from bot.orders import (
    ORDER_STATUSES,
    Order,
    OrderBackend,
    carrier_name,
    get_order_backend,
    normalise_order_number,
    product_name,
)
from bot.orders.sqlite import DB_NAME, SqliteOrderBackend, demo_orders


@pytest.mark.parametrize(
    "text",
    [
        "M2026110501",
        "m2026110501",
        "M 2026 110501",
        "M-2026-110501",
        "2026110501",
        "订单M2026110501到哪了",
        "my order is m 2026 110501, where is it?",
        "M2026110501 12点前能到吗",
        "Ｍ２０２６１１０５０１",
        "  M2026110501\n",
    ],
)
def test_normalise_finds_the_number(text: str) -> None:
    assert normalise_order_number(text) == "M2026110501"


@pytest.mark.parametrize(
    "text",
    ["", "where is my order", "M202611050", "M20261105011", "13812345678", "JD0026110502", "14pro", "🙂🙂", "M"],
)
def test_normalise_rejects_what_is_not_an_order_number(text: str) -> None:
    assert normalise_order_number(text) is None


def test_sqlite_backend_seeds_the_demo_orders(tmp_path: Path) -> None:
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    assert isinstance(backend, OrderBackend)
    first = backend.get("M2026110501")
    assert first is not None
    assert (first.status, first.carrier, first.product) == ("shipped", "SF Express", "Millet Phone 14 Pro")
    assert first.tracking_no and isinstance(first.eta, date) and isinstance(first.updated_at, datetime)
    statuses = {backend.get(o.number).status for o in demo_orders()}  # type: ignore[union-attr]
    assert statuses == set(ORDER_STATUSES)
    assert backend.get("M2026110502").status == "delivered"  # type: ignore[union-attr]
    assert backend.get("M2026110504").status == "returned"  # type: ignore[union-attr]


def test_unknown_numbers_are_none(tmp_path: Path) -> None:
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    assert backend.get("M2026110599") is None
    assert backend.get("m2026110501") is None  # the backend takes normalised numbers only
    assert backend.get("") is None


def test_seed_only_when_empty_and_put_replaces(tmp_path: Path) -> None:
    path = tmp_path / "orders.sqlite"
    backend = SqliteOrderBackend(path)
    backend.put(Order("M2026110501", "Millet Buds 5", "delivered", "JD Logistics", "JD1", None, datetime(2026, 1, 1)))
    again = SqliteOrderBackend(path)  # reopening does not re-seed over the change
    assert again.get("M2026110501").status == "delivered"  # type: ignore[union-attr]
    empty = SqliteOrderBackend(tmp_path / "empty.sqlite", seed=False)
    assert empty.get("M2026110501") is None


def test_order_rejects_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="lost"):
        Order("M2026110501", "Millet Band 9", "lost", None, None, None, datetime(2026, 1, 1))


def test_get_order_backend_uses_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANYU_DATA_DIR", str(tmp_path))
    backend = get_order_backend({"CANYU_ORDER_BACKEND": "sqlite"})
    assert backend.get("M2026110503") is not None
    assert (tmp_path / DB_NAME).is_file()
    with pytest.raises(ConfigError, match="CANYU_ORDER_BACKEND='shopify'"):
        get_order_backend({"CANYU_ORDER_BACKEND": "shopify"})


def test_unwritable_database_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="data dir is writable"):
        SqliteOrderBackend(blocker / "orders.sqlite")


def test_names_in_the_users_language() -> None:
    assert product_name("Millet Band 9", "zh") == "米粒手环 9"
    assert product_name("Millet Band 9", "en") == "Millet Band 9"
    assert carrier_name("SF Express", "zh") == "顺丰速运"
    assert carrier_name("Unknown Carrier", "zh") == "Unknown Carrier"


def _bot(response: str) -> dict:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


def test_bad_tries_are_counted_since_the_form_started() -> None:
    from bot.actions.orders import _bad_tries_so_far

    earlier_form = [{"event": "active_loop", "name": "order_form"}, _bot("utter_order_bad_format"),
                    {"event": "active_loop", "name": None}]
    this_form = [{"event": "user", "text": "where is my order"}, {"event": "active_loop", "name": "order_form"},
                 _bot("utter_ask_order_number"), {"event": "user", "text": "123"}, _bot("utter_order_bad_format"),
                 {"event": "user", "text": "how long does shipping take"}, _bot("utter_shipping"),
                 {"event": "user", "text": "M2026110599"}, _bot("utter_order_not_found")]
    assert _bad_tries_so_far(earlier_form + this_form) == 2
    assert _bad_tries_so_far(this_form[:3]) == 0


def test_public_surface_is_complete() -> None:
    import bot.orders
    import bot.orders.sqlite

    for module in (bot.orders, bot.orders.sqlite):
        assert all(hasattr(module, name) for name in module.__all__), module.__name__
