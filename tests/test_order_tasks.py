"""Order tasks end to end against the real assistant: cancel, change the address, book a repair, restock
alerts (subscribe over REST, raise the stock with the CLI or directly in the backend, read the REST outbox),
and that only the owner sees or changes an order."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import pytest
import requests

from bot.orders.sqlite import SqliteOrderBackend
from bot.orders.verify import DemoCodeSender
from tests.harness import Assistant, new_sender
from tests.order_fixtures import give_order, orders_in

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CJK = re.compile(r"[\u4e00-\u9fff]")


def say(assistant: Assistant, sender: str, text: str) -> str:
    return " ".join(m.get("text") or "" for m in assistant.say(sender, text))


def last_turn(assistant: Assistant, sender: str) -> List[Dict[str, Any]]:
    events = assistant.tracker(sender)["events"]
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    return events[last_user:]


def responses(assistant: Assistant, sender: str) -> List[Optional[str]]:
    return [(e.get("metadata") or {}).get("utter_action") for e in last_turn(assistant, sender) if e["event"] == "bot"]


def actions(assistant: Assistant, sender: str) -> List[str]:
    return [e["name"] for e in last_turn(assistant, sender) if e["event"] == "action" and e["name"] != "action_listen"]


def active_form(assistant: Assistant, sender: str) -> Optional[str]:
    return (assistant.tracker(sender).get("active_loop") or {}).get("name")


def forms_run(assistant: Assistant, sender: str) -> List[str]:
    return [e["name"] for e in assistant.tracker(sender)["events"] if e["event"] == "active_loop" and e.get("name")]


def backend(assistant: Assistant) -> SqliteOrderBackend:
    return orders_in(assistant.data_dir)


def outbox(assistant: Assistant, sender: str, wait: float = 0) -> List[Dict[str, Any]]:
    return assistant.outbox(sender, wait)


def bot_cli(assistant: Assistant, *args: str) -> subprocess.CompletedProcess:
    env = dict(assistant.stack.env(), PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


# cancel


def test_cancel_asks_for_the_number_and_a_yes_then_really_cancels(assistant: Assistant) -> None:
    sender = new_sender("cancel-en")
    number = give_order(assistant, sender, like="M2026110503")  # paid
    say(assistant, sender, "cancel my order")
    assert active_form(assistant, sender) == "cancel_order_form"
    assert responses(assistant, sender) == ["utter_ask_cancel_order_form_order_number"]
    asked = say(assistant, sender, number)
    assert responses(assistant, sender) == ["utter_ask_cancel_confirmed"]
    assert number in asked and "Millet Band 9" in asked
    assert backend(assistant).get(number).status == "paid"  # type: ignore[union-attr]
    done = say(assistant, sender, "yes")
    assert responses(assistant, sender) == ["utter_cancel_done"], done
    assert "cancelled" in done and number in done
    assert backend(assistant).get(number).status == "cancelled"  # type: ignore[union-attr]
    assert active_form(assistant, sender) is None
    assert "cancel_order_form" in forms_run(assistant, sender)
    assert assistant.tracker(sender)["slots"]["cancel_confirmed"] is None


def test_cancel_in_chinese_with_the_number_in_the_first_message(assistant: Assistant) -> None:
    sender = new_sender("cancel-zh")
    number = give_order(assistant, sender, like="M2026110506")  # packed
    asked = say(assistant, sender, f"帮我取消订单 {number}")
    assert responses(assistant, sender) == ["utter_ask_cancel_confirmed"], asked
    assert _CJK.search(asked)
    done = say(assistant, sender, "确认")
    assert "已取消" in done, done
    assert backend(assistant).get(number).status == "cancelled"  # type: ignore[union-attr]


def test_no_at_the_confirmation_keeps_the_order(assistant: Assistant) -> None:
    sender = new_sender("cancel-no")
    number = give_order(assistant, sender, like="M2026110503")
    say(assistant, sender, f"please cancel order {number}")
    say(assistant, sender, "no")
    assert "utter_cancel_kept" in responses(assistant, sender) or "utter_order_task_stopped" in responses(
        assistant, sender)
    assert backend(assistant).get(number).status == "paid"  # type: ignore[union-attr]
    assert active_form(assistant, sender) is None


@pytest.mark.parametrize("like, reply, words", [
    ("M2026110501", "utter_cancel_too_late_shipped", "refuse the parcel"),
    ("M2026110502", "utter_cancel_too_late_delivered", "7 days"),
])
def test_a_shipped_order_is_not_cancelled_and_the_user_hears_what_to_do(
    assistant: Assistant, like: str, reply: str, words: str
) -> None:
    sender = new_sender("cancel-late")
    number = give_order(assistant, sender, like=like)
    status = backend(assistant).get(number).status  # type: ignore[union-attr]
    text = say(assistant, sender, f"cancel order {number}")
    assert responses(assistant, sender) == [reply], text
    assert words in text
    assert backend(assistant).get(number).status == status  # type: ignore[union-attr]
    assert active_form(assistant, sender) is None


# address


def test_change_the_address_before_shipping(assistant: Assistant) -> None:
    sender = new_sender("address")
    number = give_order(assistant, sender, like="M2026110506")  # packed
    say(assistant, sender, "i need to change my delivery address")
    assert active_form(assistant, sender) == "change_address_form"
    say(assistant, sender, number)
    assert responses(assistant, sender) == ["utter_ask_new_address"]
    say(assistant, sender, "Shanghai")
    assert responses(assistant, sender) == ["utter_address_too_short", "utter_ask_new_address"]
    new = "Room 501, 27 Zhongguancun Street, Haidian, Beijing"
    asked = say(assistant, sender, new)
    assert responses(assistant, sender) == ["utter_ask_address_confirmed"] and new in asked
    done = say(assistant, sender, "yes please")
    assert responses(assistant, sender) == ["utter_address_changed"], done
    assert backend(assistant).get(number).address == new  # type: ignore[union-attr]


def test_after_shipping_the_address_is_not_changed_and_the_courier_is_named(assistant: Assistant) -> None:
    sender = new_sender("address-late")
    number = give_order(assistant, sender, like="M2026110501")  # shipped, SF Express
    before = backend(assistant).get(number).address  # type: ignore[union-attr]
    text = say(assistant, sender, f"订单 {number} 改一下地址")
    assert responses(assistant, sender) == ["utter_address_too_late"], text
    assert "顺丰速运" in text and "SF1402611050017" in text
    assert backend(assistant).get(number).address == before  # type: ignore[union-attr]


# ownership


def test_somebody_elses_order_gets_the_unknown_number_reply(assistant: Assistant) -> None:
    owner, other = new_sender("owner"), new_sender("other")
    number = give_order(assistant, owner, like="M2026110501")
    say(assistant, other, "where is my order")
    theirs = say(assistant, other, number)
    assert responses(assistant, other) == ["utter_order_not_found"]  # it asks again itself
    unknown = say(assistant, other, "M2026110599")
    assert theirs.replace(number, "N") == unknown.replace("M2026110599", "N")
    for secret in ("SF1402611050017", "SF Express", "Phone 14 Pro", "shipped"):
        assert secret not in theirs
    say(assistant, other, "never mind")
    # the demo orders belong to the demo owner, not to a random sender
    say(assistant, other, "cancel order M2026110503")
    assert "utter_order_not_found" in responses(assistant, other)
    assert backend(assistant).get("M2026110503").status == "paid"  # type: ignore[union-attr]
    say(assistant, other, "never mind")
    # and the owner still sees it
    assert "SF1402611050017" in say(assistant, owner, f"where is order {number}")


def test_the_demo_owner_sees_the_demo_orders(assistant: Assistant) -> None:
    assert "SF1402611050017" in say(assistant, "me", "where is order M2026110501")


def test_somebody_elses_order_is_not_changed(assistant: Assistant) -> None:
    owner, other = new_sender("owner"), new_sender("other")
    number = give_order(assistant, owner, like="M2026110506")
    say(assistant, other, f"change the address on {number}")
    assert responses(assistant, other) == ["utter_order_not_found"]  # "check the number and send it again"
    say(assistant, other, "算了")
    assert responses(assistant, other) == ["utter_order_task_stopped"]
    assert active_form(assistant, other) is None


# repairs


def test_book_a_repair_pickup_in_chinese(assistant: Assistant) -> None:
    sender = new_sender("repair-zh")
    say(assistant, sender, "我要寄修")
    assert active_form(assistant, sender) == "repair_booking_form"
    assert responses(assistant, sender) == ["utter_ask_repair_device"]
    say(assistant, sender, "手机")
    assert responses(assistant, sender) == ["utter_repair_which_phone"]
    say(assistant, sender, "14pro")
    assert responses(assistant, sender) == ["utter_ask_repair_fault"]
    say(assistant, sender, "屏幕碎了")
    assert responses(assistant, sender) == ["utter_ask_pickup_address"]
    say(assistant, sender, "上海市徐汇区漕溪北路 398 号 5 楼")
    assert responses(assistant, sender) == ["utter_ask_pickup_window"]
    say(assistant, sender, "今天")
    assert responses(assistant, sender) == ["utter_pickup_window_bad", "utter_ask_pickup_window"]
    say(assistant, sender, "后天")
    assert responses(assistant, sender) == ["utter_pickup_which_half"]
    asked = say(assistant, sender, "下午")
    assert responses(assistant, sender) == ["utter_ask_repair_confirmed"], asked
    assert "米粒手机 14 Pro" in asked and "下午 14–18 点" in asked
    done = say(assistant, sender, "确认")
    found = re.search(r"R\d{10}", done)
    assert found, done
    repair = backend(assistant).get_repair(found.group(0))
    assert repair is not None and repair.owner == sender and repair.device == "phone_14_pro"
    assert repair.fault == "屏幕碎了" and repair.window.endswith(" pm")
    assert active_form(assistant, sender) is None


def test_book_a_repair_in_english_with_the_device_in_the_first_message(assistant: Assistant) -> None:
    sender = new_sender("repair-en")
    say(assistant, sender, "my buds are broken, book a repair")
    assert responses(assistant, sender) == ["utter_ask_repair_fault"]
    say(assistant, sender, "left bud has no sound")
    say(assistant, sender, "88 Nanjing Road, Huangpu, Shanghai")
    asked = say(assistant, sender, "tomorrow 9-12")
    assert responses(assistant, sender) == ["utter_ask_repair_confirmed"], asked
    assert "Millet Buds 5" in asked and "9:00–12:00" in asked
    done = say(assistant, sender, "yes")
    assert re.search(r"R\d{10}", done), done


# restock alerts


def test_restock_alert_sent_once_when_the_cli_raises_the_stock(assistant: Assistant) -> None:
    backend(assistant).set_stock("phone_14_pro", 0)
    sender = new_sender("restock-cli")
    say(assistant, sender, "tell me when the 14 Pro is back")
    assert responses(assistant, sender) == ["utter_restock_subscribed"]
    assert "restock_alert_form" in forms_run(assistant, sender)
    say(assistant, sender, "notify me when the 14 pro is back in stock")
    assert responses(assistant, sender) == ["utter_restock_already"]
    assert [a.owner for a in backend(assistant).restock_alerts("phone_14_pro")].count(sender) == 1

    done = bot_cli(assistant, "orders", "stock", "phone_14_pro", "5")
    assert done.returncode == 0, done.stderr
    messages = outbox(assistant, sender, wait=5)
    assert len(messages) == 1 and "Millet Phone 14 Pro" in messages[0]["text"] and "back in stock" in messages[0]["text"]
    assert sender not in [a.owner for a in backend(assistant).restock_alerts()]

    assert bot_cli(assistant, "orders", "stock", "phone_14_pro", "0").returncode == 0
    assert bot_cli(assistant, "orders", "stock", "phone_14_pro", "9").returncode == 0
    assert outbox(assistant, sender, wait=2) == []  # exactly once


def test_restock_alert_in_chinese_when_the_stock_changes_in_the_backend(assistant: Assistant) -> None:
    orders = backend(assistant)
    orders.set_stock("buds_5", 0)
    sender = new_sender("restock-db")
    say(assistant, sender, "耳机到货了通知我")
    assert responses(assistant, sender) == ["utter_restock_subscribed"]
    orders.set_stock("buds_5", 3)  # directly in the backend: the action server's periodic check finds it
    messages: List[Dict[str, Any]] = []
    deadline = time.time() + 40
    while not messages and time.time() < deadline:
        messages = outbox(assistant, sender, wait=10)
    assert len(messages) == 1, messages
    assert "米粒耳机" in messages[0]["text"] and "到货" in messages[0]["text"]
    assert outbox(assistant, sender, wait=12) == []


def test_restock_alert_for_a_product_in_stock_says_so(assistant: Assistant) -> None:
    backend(assistant).set_stock("band_9", 300)
    sender = new_sender("restock-in")
    text = say(assistant, sender, "let me know when the band 9 is back")
    assert responses(assistant, sender) == ["utter_restock_in_stock"], text
    assert sender not in [a.owner for a in backend(assistant).restock_alerts()]


# inside the forms, and starting them from another action


def test_never_mind_and_a_person_stop_the_forms(assistant: Assistant) -> None:
    sender = new_sender("stop")
    say(assistant, sender, "我要寄修")
    say(assistant, sender, "算了")
    assert responses(assistant, sender) == ["utter_order_task_stopped"]
    assert active_form(assistant, sender) is None
    say(assistant, sender, "change address")
    say(assistant, sender, "talk to a human")
    assert "action_handoff" in actions(assistant, sender)
    assert active_form(assistant, sender) is None


@pytest.mark.parametrize("form, first_reply", [
    ("change_address_form", "utter_ask_change_address_form_order_number"),
    ("repair_booking_form", "utter_ask_repair_device"),
    ("restock_alert_form", "utter_ask_restock_product"),
    ("cancel_order_form", "utter_ask_cancel_order_form_order_number"),
])
def test_every_form_starts_from_another_action(assistant: Assistant, form: str, first_reply: str) -> None:
    """What FollowupAction("<form>") does after a "yes" to an offer: the form starts and asks its question."""
    sender = new_sender("followup")
    say(assistant, sender, "hi")
    say(assistant, sender, "yes")
    response = requests.post(f"{assistant.url}/conversations/{sender}/execute", params={"token": assistant.token},
                             json={"name": form}, timeout=60)
    response.raise_for_status()
    assert active_form(assistant, sender) == form
    events = assistant.tracker(sender)["events"]
    last_action = max(i for i, e in enumerate(events) if e["event"] == "action" and e["name"] == form)
    asked = [(e.get("metadata") or {}).get("utter_action") for e in events[last_action:] if e["event"] == "bot"]
    assert asked == [first_reply]
    assert assistant.tracker(sender)["slots"].get("cancel_confirmed") is None  # the "yes" is not a confirmation


def test_the_new_address_in_the_request_skips_the_question(assistant: Assistant) -> None:
    sender = new_sender("address-direct")
    number = give_order(assistant, sender, like="M2026110503")
    asked = say(assistant, sender, f"change the address on {number} to 88 Nanjing Road, Huangpu, Shanghai")
    assert responses(assistant, sender) == ["utter_ask_address_confirmed"], asked
    say(assistant, sender, "确认")
    assert backend(assistant).get(number).address == "88 Nanjing Road, Huangpu, Shanghai"  # type: ignore[union-attr]


def test_restock_alert_asks_which_product_and_which_phone(assistant: Assistant) -> None:
    backend(assistant).set_stock("phone_14_pro", 0)
    sender = new_sender("restock-ask")
    say(assistant, sender, "到货通知我")
    assert responses(assistant, sender) == ["utter_ask_restock_product"]
    say(assistant, sender, "手机")
    assert responses(assistant, sender) == ["utter_restock_which_phone"]
    text = say(assistant, sender, "14 pro")
    assert responses(assistant, sender) == ["utter_restock_subscribed"] and "米粒手机 14 Pro" in text
    assert sender in [a.owner for a in backend(assistant).restock_alerts("phone_14_pro")]


# proving an order on another account is yours


def _fresh_phone() -> str:
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


def test_the_right_phone_and_code_link_an_order_from_another_account(assistant: Assistant) -> None:
    owner, me = new_sender("web-account"), new_sender("wechat-account")
    phone = _fresh_phone()
    number = give_order(assistant, owner, like="M2026110501", phone=phone)
    say(assistant, me, "where is my order")
    not_found = say(assistant, me, number)
    assert responses(assistant, me) == ["utter_order_not_found"]  # it asks again itself
    assert "verify my order" in not_found
    say(assistant, me, "verify my order")
    assert active_form(assistant, me) == "verify_order_form"
    assert responses(assistant, me) == ["utter_ask_verify_phone"]  # the number tried before is kept
    say(assistant, me, f"{phone[:3]} {phone[3:7]} {phone[7:]}")
    assert responses(assistant, me) == ["utter_ask_verify_code"]
    code = DemoCodeSender(assistant.redis).last_code(phone)
    assert code and len(code) == 6
    say(assistant, me, "000000" if code != "000000" else "111111")
    assert responses(assistant, me) == ["utter_verify_code_wrong", "utter_ask_verify_code"]
    text = say(assistant, me, f"the code is {code}")
    assert responses(assistant, me)[0] == "utter_order_verified", text
    assert "SF1402611050017" in text  # the status follows
    assert "SF1402611050017" in say(assistant, me, f"where is order {number}")
    assert active_form(assistant, me) is None


def test_a_wrong_phone_gets_the_same_reply_and_no_code(assistant: Assistant) -> None:
    owner, other = new_sender("owner"), new_sender("guesser")
    phone = _fresh_phone()
    number = give_order(assistant, owner, like="M2026110506", phone=phone)
    say(assistant, other, f"verify order {number}")
    assert responses(assistant, other) == ["utter_ask_verify_phone"]
    wrong = _fresh_phone()
    say(assistant, other, wrong)
    assert responses(assistant, other) == ["utter_ask_verify_code"]  # same words as for the right phone
    assert DemoCodeSender(assistant.redis).last_code(phone) is None
    assert DemoCodeSender(assistant.redis).last_code(wrong) is None
    for attempt in ("123456", "654321", "111111"):
        say(assistant, other, attempt)
    assert responses(assistant, other) == ["utter_verify_give_up"]
    assert active_form(assistant, other) is None
    say(assistant, other, f"where is order {number}")
    assert "utter_order_not_found" in responses(assistant, other)
