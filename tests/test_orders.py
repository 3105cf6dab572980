"""Order backend and order-number parsing (unit tests, no Rasa)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any, List, Optional

import pytest
import redis

from bot.actions.repairs import bookable, parse_window, window_label
from bot.errors import ConfigError, ConnectorError, StorageError
from bot.orders import (
    ORDER_STATUSES,
    Order,
    OrderBackend,
    OrderNotChangeable,
    carrier_name,
    get_order_backend,
    normalise_order_number,
    owned_order,
    product_name,
)
from bot.orders.products import AMBIGUOUS_PHONE, find_product
from bot.orders.restock import LOCK_KEY, notify_restocked
from bot.orders.sqlite import DB_NAME, SqliteOrderBackend, demo_orders, demo_owner
from bot.orders.verify import MAX_CODE_TRIES, DemoCodeSender, OwnershipCheck, get_code_sender, same_phone
from bot.texts import Texts

TEXTS = Texts(Path(__file__).resolve().parents[1] / "responses")  # the checkout's bot texts


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
    assert statuses == set(ORDER_STATUSES) - {"cancelled"}
    assert {backend.get(o.number).owner for o in demo_orders()} == {"rest:me"}  # type: ignore[union-attr]
    assert backend.get("M2026110502").status == "delivered"  # type: ignore[union-attr]
    assert backend.get("M2026110504").status == "returned"  # type: ignore[union-attr]


def test_processes_opening_a_new_database_together_all_get_it(tmp_path: Path) -> None:
    """The action server and Rasa start together on a new data dir: the schema and its added columns are made
    once (before: "duplicate column name: phone" in one of them, whose restock watcher then never started)."""
    import threading

    def open_it(path: Path, start: threading.Barrier, errors: List[StorageError]) -> None:
        start.wait()
        try:
            SqliteOrderBackend(path)
        except StorageError as exc:
            errors.append(exc)

    for round_ in range(80):
        path = tmp_path / f"orders-{round_}.sqlite"
        start, errors = threading.Barrier(6), []  # type: threading.Barrier, List[StorageError]
        threads = [threading.Thread(target=open_it, args=(path, start, errors)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [], errors
        assert len(SqliteOrderBackend(path).restock_alerts()) == 0


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


def test_get_order_backend_uses_the_data_dir(tmp_path: Path) -> None:
    backend = get_order_backend({"CANYU_ORDER_BACKEND": "sqlite", "CANYU_DATA_DIR": str(tmp_path)})
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
    import bot.orders.products
    import bot.orders.restock
    import bot.orders.sqlite
    import bot.orders.verify

    for module in (bot.orders, bot.orders.sqlite, bot.orders.products, bot.orders.restock, bot.orders.verify):
        assert all(hasattr(module, name) for name in module.__all__), module.__name__


# ownership, cancel, address


def _mine(backend: SqliteOrderBackend, like: str, owner: str = "alice", number: str = "M1000000001") -> Order:
    order = dataclasses.replace(next(o for o in demo_orders() if o.number == like), number=number, owner=owner)
    backend.put(order)
    return order


def test_only_the_owner_gets_the_order(tmp_path: Path) -> None:
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    _mine(backend, "M2026110501")
    assert owned_order(backend, "M1000000001", "alice") is not None
    assert owned_order(backend, "M1000000001", "bob") is None
    assert owned_order(backend, "M1000000001", "") is None
    assert owned_order(backend, "M2026110501", "alice") is None  # the demo orders are the demo owner's
    assert owned_order(backend, "M2026110501", "rest:me") is not None
    assert owned_order(backend, "M2026110599", "alice") is None


def test_demo_owner_comes_from_the_environment(tmp_path: Path) -> None:
    assert demo_owner({}) == "rest:me"
    assert demo_owner({"CANYU_DEMO_ORDERS_OWNER": " wechat:oDemo "}) == "wechat:oDemo"
    backend = get_order_backend({"CANYU_DATA_DIR": str(tmp_path), "CANYU_DEMO_ORDERS_OWNER": "telegram:42"})
    assert (tmp_path / DB_NAME).is_file()
    assert backend.get("M2026110503").owner == "telegram:42"  # type: ignore[union-attr]


def test_cancel_and_address_change_only_before_shipping(tmp_path: Path) -> None:
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    for like in ("M2026110503", "M2026110506"):
        assert backend.get(like).changeable  # type: ignore[union-attr]
    assert backend.change_address("M2026110506", "北京市海淀区中关村大街 27 号").address == "北京市海淀区中关村大街 27 号"
    assert backend.cancel("M2026110503").status == "cancelled"
    assert backend.get("M2026110503").status == "cancelled"  # type: ignore[union-attr]
    for number in ("M2026110501", "M2026110502", "M2026110504", "M2026110503"):
        before = backend.get(number)
        with pytest.raises(OrderNotChangeable) as refused:
            backend.cancel(number)
        assert refused.value.order == before
        with pytest.raises(OrderNotChangeable):
            backend.change_address(number, "somewhere 1")
        assert backend.get(number) == before


def test_an_old_database_gets_the_owner_column(tmp_path: Path) -> None:
    path = tmp_path / "orders.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (number TEXT PRIMARY KEY, product TEXT NOT NULL, status TEXT NOT NULL, "
                   "carrier TEXT, tracking_no TEXT, eta TEXT, updated_at TEXT NOT NULL)")
        db.execute("INSERT INTO orders VALUES ('M2026110501', 'Millet Phone 14 Pro', 'shipped', 'SF Express', "
                   "'SF1', NULL, '2026-11-01T09:00')")
        db.execute("INSERT INTO orders VALUES ('M3000000001', 'Millet Band 9', 'paid', NULL, NULL, NULL, "
                   "'2026-11-01T09:00')")
    backend = SqliteOrderBackend(path)
    assert backend.get("M2026110501").owner == "rest:me"  # type: ignore[union-attr]
    assert backend.get("M3000000001").owner is None  # type: ignore[union-attr]
    assert backend.stock("phone_14_pro") == 0 and backend.stock("band_9") > 0


# repairs, stock, restock alerts


def test_repairs_are_stored_with_a_number(tmp_path: Path) -> None:
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    first = backend.create_repair("alice", "buds_5", "left bud silent", "上海市徐汇区漕溪北路 398 号", "2026-12-01 am")
    second = backend.create_repair("alice", "band_9", "won't charge", "88 Nanjing Road", "2026-12-02 pm")
    assert re.fullmatch(r"R\d{10}", first.number) and first.number != second.number
    assert backend.get_repair(first.number) == first
    assert backend.get_repair(first.number.lower()) == first
    assert backend.get_repair("R0000000000") is None
    assert [r.number for r in backend.repairs_of("alice")] == sorted([first.number, second.number], reverse=True) or \
        {r.number for r in backend.repairs_of("alice")} == {first.number, second.number}


def test_stock_and_one_alert_per_user_and_product(tmp_path: Path) -> None:
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    assert backend.stock("phone_14_pro") == 0 and backend.stock("nothing") == 0
    assert backend.set_stock("phone_14_pro", 4) == 0 and backend.stock("phone_14_pro") == 4
    with pytest.raises(ValueError, match="unknown product 'phone_15'"):
        backend.set_stock("phone_15", 1)
    with pytest.raises(ValueError, match="-1"):
        backend.set_stock("buds_5", -1)
    assert backend.add_restock_alert("alice", "buds_5", "en", None) is True
    assert backend.add_restock_alert("alice", "buds_5", "zh", None) is False  # refreshed, not doubled
    assert backend.add_restock_alert("bob", "buds_5", "en", "telegram") is True
    alerts = backend.restock_alerts("buds_5")
    assert [(a.owner, a.language) for a in alerts] == [("alice", "zh"), ("bob", "en")] or len(alerts) == 2
    assert backend.claim_restock_alert("alice", "buds_5") is True
    assert backend.claim_restock_alert("alice", "buds_5") is False  # exactly one claimer
    assert [a.owner for a in backend.restock_alerts()] == ["bob"]


def test_restock_messages_go_once_in_each_language(tmp_path: Path, redis_server: Any) -> None:
    red = redis.Redis.from_url(redis_server.url, decode_responses=True)
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    backend.add_restock_alert("alice", "phone_14_pro", "zh", None)
    backend.add_restock_alert("bob", "phone_14_pro", "en", "rest")
    sent: List[tuple] = []

    async def send(sender: str, messages: List[str], channel: Any = None, redis: Any = None) -> None:
        sent.append((sender, messages[0]))

    report = asyncio.run(notify_restocked(backend, send=send, redis=red, texts=TEXTS))
    assert report.sent == [] and sent == []  # still sold out: nobody is told, nobody forgotten
    backend.set_stock("phone_14_pro", 10)
    report = asyncio.run(notify_restocked(backend, send=send, redis=red, texts=TEXTS))
    assert sorted(report.sent) == ["alice/phone_14_pro", "bob/phone_14_pro"]
    texts = dict(sent)
    assert "米粒手机 14 Pro" in texts["alice"] and "Millet Phone 14 Pro" in texts["bob"]
    assert backend.restock_alerts() == []
    asyncio.run(notify_restocked(backend, send=send, redis=red, texts=TEXTS))
    assert len(sent) == 2  # exactly once


def test_a_failed_restock_message_is_kept_for_the_next_check(tmp_path: Path, redis_server: Any) -> None:
    red = redis.Redis.from_url(redis_server.url, decode_responses=True)
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    backend.set_stock("band_9", 5)
    backend.add_restock_alert("carol", "band_9", "en", None)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectorError("telegram said no", platform="telegram", code=500)

    report = asyncio.run(notify_restocked(backend, send=broken, redis=red, texts=TEXTS))
    assert "carol/band_9" in report.failed
    assert [a.owner for a in backend.restock_alerts()] == ["carol"]


def test_the_restock_lock_keeps_a_second_process_out(tmp_path: Path, redis_server: Any) -> None:
    red = redis.Redis.from_url(redis_server.url, decode_responses=True)
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    backend.set_stock("band_9", 5)
    backend.add_restock_alert("dave", "band_9", "en", None)
    red.set(LOCK_KEY, "another process", ex=30)
    try:
        report = asyncio.run(notify_restocked(backend, send=None, redis=red, texts=TEXTS))
        assert report.busy and report.sent == []
        assert [a.owner for a in backend.restock_alerts()] == ["dave"]
    finally:
        red.delete(LOCK_KEY)


# what customers type


@pytest.mark.parametrize("text, key", [
    ("14pro", "phone_14_pro"), ("我的 14 Pro 屏幕碎了", "phone_14_pro"), ("Millet Phone 14", "phone_14"),
    ("米粒14", "phone_14"), ("耳机", "buds_5"), ("my buds", "buds_5"), ("手环", "band_9"), ("Band 9", "band_9"),
    ("充电宝", "power_bank_20000"), ("power bank", "power_bank_20000"), ("手机", AMBIGUOUS_PHONE),
    ("my phone", AMBIGUOUS_PHONE), ("a toaster", None), ("", None),
])
def test_find_product(text: str, key: Optional[str]) -> None:
    assert find_product(text) == key


TODAY = date(2026, 11, 30)  # a Monday


@pytest.mark.parametrize("text, day, half", [
    ("tomorrow 9-12", date(2026, 12, 1), "am"),
    ("明天下午", date(2026, 12, 1), "pm"),
    ("后天 14-18", date(2026, 12, 2), "pm"),
    ("12月3日上午", date(2026, 12, 3), "am"),
    ("Dec 3 afternoon", date(2026, 12, 3), "pm"),
    ("3 dec 2-6pm", date(2026, 12, 3), "pm"),
    ("2026-12-04 9:00-12:00", date(2026, 12, 4), "am"),
    ("周五上午", date(2026, 12, 4), "am"),
    ("friday", date(2026, 12, 4), None),
    ("下午", None, "pm"),
    ("whenever", None, None),
])
def test_parse_window(text: str, day: Optional[date], half: Optional[str]) -> None:
    assert parse_window(text, TODAY) == (day, half)


def test_bookable_days_and_labels() -> None:
    assert not bookable(TODAY, TODAY) and bookable(date(2026, 12, 1), TODAY)
    assert bookable(date(2026, 12, 14), TODAY) and not bookable(date(2026, 12, 15), TODAY)
    assert window_label("2026-12-03 pm", "en") == "Thu 3 Dec, 14:00–18:00"
    assert window_label("2026-12-03 am", "zh") == "12月3日（周四）上午 9–12 点"


def test_yes_and_no_at_a_confirmation() -> None:
    from rasa_sdk import Tracker

    from bot.actions.order_tasks import yes_or_no

    def tracker(text: str, intent: str = "nlu_fallback") -> Tracker:
        return Tracker("s", {}, {"text": text, "intent": {"name": intent}}, [], False, None, {}, "")

    assert yes_or_no(tracker("whatever", "affirm")) is True and yes_or_no(tracker("whatever", "deny")) is False
    for text in ("确认", "好的", "yes please", "OK", "sure"):
        assert yes_or_no(tracker(text)) is True, text
    for text in ("不用了", "算了", "no", "nope", "don't"):
        assert yes_or_no(tracker(text)) is False, text
    assert yes_or_no(tracker("what colour is it")) is None


def test_a_one_time_code_to_the_orders_phone_grants_access(tmp_path: Path, redis_server: Any) -> None:
    red = redis.Redis.from_url(redis_server.url, decode_responses=True)
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    codes = DemoCodeSender(red)
    check = OwnershipCheck(backend, red, codes)
    check.start("wechat:oNew", "M2026110501", "+86 138-0000-0501", "zh")
    code = codes.last_code("13800000501")
    assert code and re.fullmatch(r"\d{6}", code)
    assert check.verify("wechat:oNew", "000000" if code != "000000" else "111111") is None
    assert check.tries_left("wechat:oNew") == MAX_CODE_TRIES - 1
    assert owned_order(backend, "M2026110501", "wechat:oNew") is None
    assert check.verify("wechat:oNew", code) == "M2026110501"
    assert owned_order(backend, "M2026110501", "wechat:oNew") is not None
    assert owned_order(backend, "M2026110501", "rest:me") is not None  # the owner keeps it
    assert check.verify("wechat:oNew", code) is None  # used up


def test_a_wrong_phone_or_unknown_order_sends_nothing_and_never_verifies(tmp_path: Path, redis_server: Any) -> None:
    red = redis.Redis.from_url(redis_server.url, decode_responses=True)
    backend = SqliteOrderBackend(tmp_path / "orders.sqlite")
    sent: List[tuple] = []

    class Recorder:
        def send(self, phone: str, code: str, language: str) -> None:
            sent.append((phone, code))

    check = OwnershipCheck(backend, red, Recorder())
    check.start("guesser", "M2026110501", "13999999999", "en")
    check.start("guesser2", "M2026110599", "13800000501", "en")
    assert sent == []
    for code in ("000000", "123456", "999999", "555555"):
        assert check.verify("guesser", code) is None
    assert check.tries_left("guesser") == 0
    assert same_phone("+86 138 0000 0501", "13800000501") and not same_phone("", "")
    with pytest.raises(ConfigError, match="CANYU_CODE_SENDER='sms'"):
        get_code_sender(red, {"CANYU_CODE_SENDER": "sms"})


def test_the_orders_cli_sets_stock_and_tells_subscribers(tmp_path: Path, redis_server: Any,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    from bot.cli import main
    from bot.outbound import Outbound

    monkeypatch.setenv("CANYU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    backend = SqliteOrderBackend(tmp_path / DB_NAME)
    backend.add_restock_alert("rest-erin", "phone_14_pro", "en", "rest")
    assert main(["orders", "stock"]) == 0
    assert "phone_14_pro\t0\t1 waiting" in capsys.readouterr().out
    assert main(["orders", "stock", "14 Pro", "12"]) == 0
    assert "phone_14_pro: 0 → 12" in capsys.readouterr().out
    red = redis.Redis.from_url(redis_server.url, decode_responses=True)
    messages = Outbound(red).pop_outbox("rest-erin")
    assert len(messages) == 1 and "Millet Phone 14 Pro" in messages[0]["text"]
    assert main(["orders", "stock", "toaster", "1"]) == 2
    assert main(["orders", "show", "M2026110501"]) == 0
    assert "owner\trest:me" in capsys.readouterr().out


@pytest.mark.parametrize("text, intent, diverts", [
    ("M7264812378", "verify_order", False),           # the answer to "which order?", whatever the NLU says
    ("订单 M7264812378 是我的，帮我验证", "verify_order", True),
    ("verify my order", "verify_order", True),
    ("M7264812378", "order_status", False),
])
def test_only_a_request_to_verify_leaves_the_order_form(text: str, intent: str, diverts: bool) -> None:
    from rasa_sdk import Tracker

    from bot.actions.orders import _asks_to_verify

    tracker = Tracker("s", {}, {"text": text, "intent": {"name": intent, "confidence": 0.6}, "entities": []},
                      [], False, None, {"name": "order_form"}, "action_listen")
    assert _asks_to_verify(tracker) is diverts


def test_the_shop_moves_an_order_on_from_the_cli(tmp_path: "Path") -> None:
    """`bot orders status` (the demo shop's side): the order's status and time change; a bad number or status is a
    clear error."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, CANYU_DATA_DIR=str(tmp_path), PYTHONPATH=str(repo))

    def bot(*args: str) -> "subprocess.CompletedProcess[str]":
        return subprocess.run([sys.executable, "-m", "bot.cli", "orders", *args], cwd=str(repo), env=env,
                              capture_output=True, text=True, timeout=120)

    moved = bot("status", "M2026110502", "returned")
    assert moved.returncode == 0 and moved.stdout.startswith("M2026110502\treturned\t"), moved.stderr
    assert "status\treturned" in bot("show", "M2026110502").stdout
    unknown = bot("status", "M2026119999", "returned")
    assert unknown.returncode == 2 and "not in the order database" in unknown.stderr
    assert bot("status", "M2026110502", "lost").returncode == 2  # not a status: argparse says which are
