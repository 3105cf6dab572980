"""Personal data in the transcript an agent reads is masked (phone, ID card and bank card numbers by default),
through the real console's live transcript (SSE), fed by the real event broker on a real Redis."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Dict, Iterator

import pytest
import redis

from bot.cli.console import add_user
from bot.console.settings import load_console_settings
from bot.errors import ConfigError
from bot.event_broker import RedisEventBroker
from bot.handoff.transcript import transcript_items
from bot.pii import CARD_RE, ID_RE, PHONE_RE, luhn_ok, mask_pii
from bot.storage import EmbeddedRedis
from tests.security.test_console_security import login, start_console

PASSWORD = "mei-Secret-Pass-1"
PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
CARD = "4111 1111 1111 1111"  # passes Luhn


@pytest.fixture(scope="module")
def console(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    add_user("mei", "agent", PASSWORD, redis=redis.Redis.from_url(redis_server.url, decode_responses=True))
    with start_console(redis_server.url, tmp_path_factory.mktemp("masking") / "console.log") as url:
        yield url


def _next_item(lines: Iterator[str]) -> Dict[str, Any]:
    for line in lines:
        if line.startswith("data: "):
            return json.loads(line[len("data: "):])  # type: ignore[no-any-return]
    raise AssertionError("the stream ended without an item")


def test_agents_read_138_xxxx_5678_in_the_live_transcript(console: str, redis_server: EmbeddedRedis) -> None:
    s, r = login(console, "mei", PASSWORD)
    assert r.status_code == 302
    sender = f"telegram:{uuid.uuid4().hex[:8]}"
    broker = RedisEventBroker(redis_server.url)
    with s.get(console + f"/api/conversations/{sender}/events", stream=True, timeout=30) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines(chunk_size=None, decode_unicode=True)  # type: ignore[call-overload]
        assert next(line for line in lines if line.startswith(": live"))
        broker.publish({"event": "user", "sender_id": sender, "timestamp": time.time(), "input_channel": "telegram",
                        "text": f"call me on {PHONE}, ID {ID_NUMBER}, card {CARD}",
                        "parse_data": {"intent": {"name": "human_handoff", "confidence": 0.9}}})
        broker.publish({"event": "bot", "sender_id": sender, "timestamp": time.time() + 0.001,
                        "text": f"we will call {PHONE}", "metadata": {"agent": "mei"}})
        said = _next_item(lines)
        answered = _next_item(lines)
    assert said["kind"] == "user"
    assert said["text"] == "call me on 138****5678, ID 110***********002X, card 4111 **** **** 1111"
    assert answered == {"kind": "agent", "text": "we will call 138****5678", "at": answered["at"], "agent": "mei"}
    for secret in (PHONE, ID_NUMBER, CARD):
        assert secret not in json.dumps([said, answered])


def test_mask_setting() -> None:
    assert load_console_settings({}).mask == ("phone", "id", "card")
    assert load_console_settings({"CANYU_CONSOLE_MASK": "phone,email"}).mask == ("phone", "email")
    assert load_console_settings({"CANYU_CONSOLE_MASK": "none"}).mask == ()
    with pytest.raises(ConfigError, match="CANYU_CONSOLE_MASK='phone,passport'.*'passport'"):
        load_console_settings({"CANYU_CONSOLE_MASK": "phone,passport"})
    event = {"event": "user", "text": f"{PHONE} lin@example.com"}
    assert transcript_items([event])[0]["text"] == f"{PHONE} lin@example.com"  # nothing asked, nothing masked
    assert transcript_items([event], ("email",))[0]["text"] == f"{PHONE} l***@example.com"


@pytest.mark.parametrize("text, kinds, masked", [
    ("电话13812345678谢谢", ("phone",), "电话138****5678谢谢"),
    ("138 1234 5678", ("phone",), "138 **** 5678"),
    ("+44 20 7946 0958", ("phone",), "+44 2* **** 0958"),
    ("身份证11010519491231002x号", ("id",), "身份证110***********002x号"),
    ("4111111111111111", ("card",), "4111********1111"),
    ("4111111111111112", ("card",), "4111111111111112"),  # fails Luhn: not a card
    ("order M2026110501, 12 pcs, 2026-11-05", ("phone", "id", "card"), "order M2026110501, 12 pcs, 2026-11-05"),
    ("13812345678", ("id", "card"), "13812345678"),  # phone not asked for
])
def test_mask_pii(text: str, kinds: tuple, masked: str) -> None:
    assert mask_pii(text, kinds) == masked


def test_patterns_are_public_for_log_redaction() -> None:
    assert PHONE_RE.search("tel 13912345678") and not PHONE_RE.search("M2026110501")
    assert ID_RE.fullmatch(ID_NUMBER) and not ID_RE.fullmatch("110105194913310021")  # month 13
    assert CARD_RE.fullmatch(CARD) and luhn_ok(CARD) and not luhn_ok("4111 1111 1111 1112")
    with pytest.raises(ValueError, match="passport"):
        mask_pii("x", ["passport"])

