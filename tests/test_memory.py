"""Memory the user can see, over the real stack: the return greeting with what is open, "what do you know about
me?", deleting it from the chat, and the history the agent console shows."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, List

import requests

from bot.memory._texts import LINES
from bot.orders import Order
from bot.orders.sqlite import DB_NAME, SqliteOrderBackend
from tests.harness import Assistant, new_sender

REPO = Path(__file__).resolve().parents[1]


def _texts(replies: List[Any]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


def _order(assistant: Assistant, owner: str, number: str, status: str = "shipped") -> Order:
    order = Order(number, "Millet Phone 14 Pro", status, "SF Express", "SF1400000000001",
                  date.today() + timedelta(days=2),
                  datetime.now().replace(microsecond=0), owner, "13800000000", "上海市浦东新区张江路 1 号")
    SqliteOrderBackend(assistant.data_dir / DB_NAME).put(order)
    return order


def test_a_returning_user_is_greeted_with_the_order_in_transit(assistant: Assistant) -> None:
    sender = new_sender("back")
    first = _texts(assistant.say(sender, "你好"))
    assert "欢迎回来" not in first
    _order(assistant, sender, "M2099000001")
    _order(assistant, sender, "M2099000002", status="delivered")  # arrived: nothing to say about it
    back = assistant.say(sender, "/session_start")
    note = _texts(back)
    assert note.startswith("欢迎回来") and "M2099000001" in note and "米粒手机 14 Pro" in note, back
    assert "M2099000002" not in note
    events = assistant.tracker(sender)["events"]
    greeting = [e for e in events if e.get("event") == "bot" and (e.get("metadata") or {}).get("memory")]
    assert greeting and events.index(greeting[-1]) > max(i for i, e in enumerate(events)
                                                         if e.get("event") == "session_started")
    again = _texts(assistant.say(sender, "hi"))  # the same session: said once
    assert "M2099000001" not in again


def test_open_feedback_is_in_the_greeting_and_nothing_open_says_nothing(assistant: Assistant) -> None:
    from bot.feedback import FeedbackStore

    quiet = new_sender("quiet")
    assistant.say(quiet, "hello")
    assert "Welcome back" not in _texts(assistant.say(quiet, "/session_start"))

    fan = new_sender("fb")
    assistant.say(fan, "hello there")
    store = FeedbackStore(assistant.redis, use_vectors=False)
    filing = store.file(fan, "Please let the Band 9 show the weather for tomorrow", kind="suggestion", language="en",
                        ask_when_unsure=False)
    assert filing.item is not None
    store.set_status(filing.item.id, "planned")
    note = _texts(assistant.say(fan, "/session_start"))
    assert note.startswith("Welcome back") and filing.item.id in note and "planned" in note, note

    newcomer = new_sender("first")
    _order(assistant, newcomer, "M2099000003")
    assert "M2099000003" not in _texts(assistant.say(newcomer, "hi"))  # a first-timer is not "back"


def test_what_do_you_know_about_me_lists_it_and_the_erase_button_erases_it(assistant: Assistant) -> None:
    from bot.privacy import find_all, leftovers, resolve_person

    sender = new_sender("know")
    assistant.say(sender, "你好")
    _order(assistant, sender, "M2099000004")
    known = assistant.say(sender, "你都知道我什么")
    text = _texts(known)
    assert "M2099000004" in text and "聊天记录" in text, known
    buttons = [b for r in known for b in r.get("buttons") or []]
    assert [b["payload"] for b in buttons] == ["/erase_my_data"], known
    assert "订单 M2099000004" in text

    for product_question in ("how do I delete an app", "what do you know about the band 9?"):
        reply = _texts(assistant.say(new_sender("not-me"), product_question))
        assert "can't be brought back" not in reply and "Here's what I keep" not in reply, reply

    english = _texts(assistant.say(new_sender("know-en"), "what do you know about me?"))
    assert "this chat" in english or "our chat history" in english, english

    confirm = assistant.say(sender, "/erase_my_data")
    yes = [b for r in confirm for b in r.get("buttons") or []]
    assert yes and "删了就找不回来" in _texts(confirm), confirm
    assert assistant.redis.exists(f"canyu:tracker:{sender}")  # asking is not erasing
    started = _texts(assistant.say(sender, yes[0]["payload"]))
    assert "正在删除" in started, started
    red = assistant.redis
    deadline = time.monotonic() + 30
    while red.exists(f"canyu:tracker:{sender}") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not red.exists(f"canyu:tracker:{sender}")
    left = {k: v for k, v in find_all(red, resolve_person(red, sender)).items() if v}
    assert left == {}, left
    assert leftovers(red, resolve_person(red, sender)) == []
    fresh = assistant.say(sender, "你好")
    assert fresh and "欢迎回来" not in _texts(fresh)


def test_the_agent_console_shows_the_history_across_conversations(assistant: Assistant) -> None:
    import re

    from bot.console.users import UserStore
    from bot.handoff.store import HandoffStore

    sender = new_sender("hist")
    assistant.say(sender, "hello")
    _order(assistant, sender, "M2099000005")
    HandoffStore(assistant.redis).log_event(sender, "resolved", by="lin")
    UserStore(assistant.redis).add("mem-agent", "agent-pass-123", "agent", "Mei")
    s = requests.Session()
    url = assistant.console_url
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(url + "/login", timeout=30).text)
    assert token
    s.post(url + "/login", data={"username": "mem-agent", "password": "agent-pass-123", "csrf_token": token.group(1)},
           allow_redirects=False, timeout=30)
    context = s.get(url + f"/api/conversations/{sender}/context", timeout=60)
    assert context.status_code == 200, context.text
    memory = context.json()["memory"]
    assert [o["number"] for o in memory["orders"]] == ["M2099000005"]
    assert memory["handoffs"] and memory["handoffs"][0]["what"] == "resolved"


def test_memory_texts_pass_the_voice_lint() -> None:
    from bot.trainer.config import load_config
    from bot.trainer.lint import lint_texts
    from bot.trainer.sources import TextItem

    items = [TextItem(kind="response", key=f"memory:{kind}", lang=lang, text=text, file="bot/memory/_texts.py", line=1)
             for kind, texts in LINES.items() for lang, text in texts.items()]
    problems, _ = lint_texts(items, load_config(str(REPO)))
    assert problems == []
