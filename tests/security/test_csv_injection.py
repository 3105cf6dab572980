"""A user's message cannot become a live formula in a trainer's spreadsheet: every CSV the project writes
(analytics.csv, from the console and from `bot analytics --csv`) escapes text cells that start like a formula."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any, Dict, Iterator, List

import pytest
import redis

from bot.analytics import add_entry, compute_report, report_csv
from bot.analytics._report import csv_cell
from bot.cli.console import add_user
from bot.storage import EmbeddedRedis
from tests.security.test_console_security import login, start_console

FORMULAS = ['=HYPERLINK("http://x","y")', "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A2)"]


@pytest.fixture(scope="module")
def red(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    now = time.time() - 3600
    for i, text in enumerate(FORMULAS):
        event = {"event": "user", "sender_id": f"u{i}", "text": text, "timestamp": now + i,
                 "parse_data": {"intent": {"name": "nlu_fallback"}}}
        add_entry(client, "canyu:events", {"event": json.dumps(event)}, now + i)
    client.rpush("canyu:handoff_log:u0", json.dumps({"what": "queued", "at": now, "reason": "=1+1"}))
    add_entry(client, "canyu:events", {"event": json.dumps({"event": "action", "sender_id": "u0",
                                                             "name": "action_handoff", "timestamp": now + 9})}, now + 9)
    return client


def _rows(text: str) -> List[List[str]]:
    return list(csv.reader(io.StringIO(text)))


def _by_section(rows: List[List[str]]) -> Dict[str, List[List[str]]]:
    out: Dict[str, List[List[str]]] = {}
    for row in rows[1:]:
        out.setdefault(row[0], []).append(row)
    return out


def test_formula_cells_in_analytics_csv_stay_text(red: "redis.Redis[str]") -> None:
    rows = _rows(report_csv(compute_report(time.time() - 86400, time.time() + 60, red)))
    unanswered = {row[1] for row in _by_section(rows)["unanswered"]}
    assert """'=HYPERLINK("http://x","y")""" in unanswered
    assert unanswered == {"'" + f for f in FORMULAS}
    assert _by_section(rows)["escalation_reason"] == [["escalation_reason", "'=1+1", "1"]]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit(), row


def test_numbers_stay_numbers() -> None:
    assert csv_cell(-3) == -3 and csv_cell(2.5) == 2.5 and csv_cell(None) is None
    assert csv_cell("-3") == "'-3"  # text that looks like a number is still text from a user
    assert csv_cell("\t=1+1") == "'\t=1+1" and csv_cell("\r=1+1") == "'\r=1+1"
    assert csv_cell("hello =1") == "hello =1"


@pytest.fixture(scope="module")
def console(red: "redis.Redis[str]", redis_server: EmbeddedRedis,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    add_user("tess", "trainer", "tess-Secret-Pass-1", redis=red)
    with start_console(redis_server.url, tmp_path_factory.mktemp("csv") / "console.log") as url:
        yield url


def test_the_console_export_escapes_too(console: str, red: Any) -> None:
    s, r = login(console, "tess", "tess-Secret-Pass-1")
    assert r.status_code == 302
    exported = s.get(console + "/analytics.csv?days=2", timeout=30)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    unanswered = {row[1] for row in _by_section(_rows(exported.text))["unanswered"]}
    assert """'=HYPERLINK("http://x","y")""" in unanswered
