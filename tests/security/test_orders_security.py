"""Order attacks (issue 15): a stranger who knows (or guesses) an order number learns nothing about it
through the real assistant: no status, carrier, tracking number, product or date, and the reply is the
one an order that does not exist gets. The ownership checks live in bot/orders and
bot/actions/orders.py (`own_order`, `find_own_order`); proof from another account goes through the
order's phone (bot/orders/verify.py, tested in tests/test_order_tasks.py)."""

from __future__ import annotations

from typing import List, Optional

from bot.orders import ORDER_STATUSES, Order, carrier_name, product_name
from bot.orders.sqlite import demo_orders
from tests.harness import Assistant, new_sender
from tests.order_fixtures import fresh_number, give_order, orders_in


def _say(assistant: Assistant, sender: str, text: str) -> str:
    return " ".join(m.get("text") or "" for m in assistant.say(sender, text))


def _responses(assistant: Assistant, sender: str) -> List[Optional[str]]:
    events = assistant.tracker(sender)["events"]
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    return [(e.get("metadata") or {}).get("utter_action") for e in events[last_user:] if e["event"] == "bot"]


def _secrets_of(order: Order) -> List[str]:
    found = [order.tracking_no or "", order.carrier or "", order.product]
    for language in ("en", "zh"):
        found += [carrier_name(order.carrier or "", language), product_name(order.product, language)]
    return [s for s in found if s]


def _leaks(text: str, order: Order) -> List[str]:
    return [s for s in _secrets_of(order) if s in text]


def test_a_stranger_gets_no_status_or_tracking_number(assistant: Assistant) -> None:
    owner, stranger = new_sender("owner"), new_sender("stranger")
    number = give_order(assistant, owner, like="M2026110501")  # shipped, with a tracking number
    order = orders_in(assistant.data_dir).get(number)
    assert order is not None and order.tracking_no

    asked = _say(assistant, stranger, f"where is order {number}")
    assert not _leaks(asked, order), asked
    said = _responses(assistant, stranger)
    assert "utter_order_not_found" in said and not any(f"utter_order_{s}" == r for s in ORDER_STATUSES for r in said)
    # exactly what a number nobody has gets
    unknown = fresh_number()
    _say(assistant, stranger, "never mind")
    nobody = _say(assistant, stranger, f"where is order {unknown}")
    assert asked.replace(number, "N") == nobody.replace(unknown, "N")
    _say(assistant, stranger, "never mind")

    zh = _say(assistant, stranger, f"我的订单 {number} 到哪了")
    assert not _leaks(zh, order) and "utter_order_not_found" in _responses(assistant, stranger), zh
    _say(assistant, stranger, "算了")

    # the owner, on the same assistant, does see it: the refusal above is about who asks
    mine = _say(assistant, owner, f"where is order {number}")
    assert order.tracking_no in mine and "utter_order_shipped" in _responses(assistant, owner), mine


def test_walking_sequential_numbers_reveals_nothing(assistant: Assistant) -> None:
    stranger = new_sender("walker")
    demo = {o.number: o for o in demo_orders()}
    _say(assistant, stranger, "where is my order")
    replies = []
    for number, order in demo.items():
        text = _say(assistant, stranger, number)
        replies.append(text)
        assert not _leaks(text, order), (number, text)
        said = _responses(assistant, stranger)
        assert not any(f"utter_order_{s}" == r for s in ORDER_STATUSES for r in said), (number, said)
        if "utter_order_give_up" in said:
            _say(assistant, stranger, "no")
            _say(assistant, stranger, "where is my order")
    assert any("M20261105" in r for r in replies)  # the bot did answer about the numbers, without their data
