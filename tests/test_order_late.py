"""A late order is acknowledged before the check (bot/actions/orders.py), against the real assistant."""

from __future__ import annotations

import pytest

from tests.harness import Assistant, new_sender
from tests.test_answer_path import _turn


@pytest.mark.parametrize("text", ["快递三天了还没到 订单M2026110599", "my parcel still hasn't arrived, order M2026110599"])
def test_a_late_order_is_acknowledged_and_still_checked(assistant: Assistant, text: str) -> None:
    turn = _turn(assistant, new_sender("late"), text)
    assert turn["responses"][:2] == ["utter_order_sorry_late", "utter_order_not_found"], turn  # a stranger's number


@pytest.mark.parametrize("text", ["订单M2026110599到哪了", "where is my order", "where's my parcel M2026110599"])
def test_a_plain_question_gets_no_apology(assistant: Assistant, text: str) -> None:
    turn = _turn(assistant, new_sender("late"), text)  # "Sorry it's taking so long!" to a first "where is my order"
    assert "utter_order_sorry_late" not in turn["responses"], turn


def test_a_wait_without_a_number_is_acknowledged_before_the_question(assistant: Assistant) -> None:
    turn = _turn(assistant, new_sender("late"), "我的快递一直显示在途 好几天了")
    assert turn["responses"][:1] == ["utter_order_sorry_late"], turn
