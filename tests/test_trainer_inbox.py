"""The review inbox on real Redis: events in `canyu:events` -> items -> groups -> assign / dismiss / draft."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import redis

from bot.storage import EmbeddedRedis
from bot.trainer.inbox import ITEMS, OPEN, Inbox
from bot.trainer.review import Review

REPO = Path(__file__).resolve().parents[1]
BROKEN = REPO / "tests" / "trainer_corpus" / "broken"


@pytest.fixture
def red(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    yield client
    server.stop()


def _user(sender, text, intent, confidence, ts, entities=()):
    return {"event": "user", "sender_id": sender, "timestamp": ts, "text": text, "input_channel": "rest",
            "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": list(entities),
                           "intent_ranking": [{"name": intent, "confidence": confidence}]}}


def _publish(red, *events):
    for e in events:
        red.xadd("canyu:events", {"event": json.dumps(e, ensure_ascii=False)})


def _conversations(red, t0=1_800_000_000.0):
    _publish(
        red,
        _user("u1", "can I pay with paypal", "nlu_fallback", 0.2, t0),
        {"event": "bot", "sender_id": "u1", "timestamp": t0 + 1, "text": "Sorry, could you say that another way?"},
        _user("u2", "do you accept paypal payments", "out_of_scope", 0.9, t0 + 2),
        _user("u3", "paypal payment possible?", "shipping", 0.31, t0 + 3),
        _user("u4", "支持花呗分期吗", "nlu_fallback", 0.1, t0 + 4),
        _user("u5", "花呗分期可以用吗", "nlu_fallback", 0.2, t0 + 5),
        _user("u6", "where is my order", "order_status", 0.97, t0 + 6),  # answered well: not filed
        _user("u7", "I want a human now", "human_handoff", 0.95, t0 + 7),
        {"event": "action", "sender_id": "u7", "timestamp": t0 + 8, "name": "action_handoff"},
        _user("u8", "does the band 9 work with iphone", "ask_product", 0.9, t0 + 9),
        {"event": "bot", "sender_id": "u8", "timestamp": t0 + 10, "text": "Yes, it does."},
        _user("u8", "/rate_answer", "rate_answer", 1.0, t0 + 11, [{"entity": "rating", "value": "down"}]),
        _user("u9", "how long does shipping take", "shipping", 0.9, t0 + 12),
        {"event": "slot", "sender_id": "u9", "timestamp": t0 + 13, "name": "rating", "value": "up"},
        _user("u10", "is the band waterproof", "ask_product", 0.9, t0 + 14),
        {"event": "bot", "sender_id": "u10", "timestamp": t0 + 15, "text": "Yes, 5 ATM."},
        _user("u10", "not helpful at all", "rate_answer", 0.8, t0 + 16),  # typed, no entity
    )


def test_events_become_items_with_reasons_and_context(red):
    _conversations(red)
    inbox = Inbox(red, low_confidence=0.5)
    assert inbox.sync() == 17
    items = {i["text"]: i for i in inbox.open_items()}
    assert set(items) == {"can I pay with paypal", "do you accept paypal payments", "paypal payment possible?",
                          "支持花呗分期吗", "花呗分期可以用吗", "I want a human now", "does the band 9 work with iphone",
                          "is the band waterproof"}
    assert items["can I pay with paypal"]["reasons"] == ["fallback"]
    assert items["can I pay with paypal"]["reply"] == "Sorry, could you say that another way?"
    assert items["do you accept paypal payments"]["reasons"] == ["out_of_scope"]
    assert items["paypal payment possible?"]["reasons"] == ["low_confidence"]
    assert items["I want a human now"]["reasons"] == ["escalated"]
    assert items["I want a human now"]["escalation"] == "asked for a person"
    assert items["does the band 9 work with iphone"]["reasons"] == ["rated_down"]
    assert items["does the band 9 work with iphone"]["rated_answer"] == "Yes, it does."
    stats = inbox.stats(days=1, until=1_800_000_000.0)
    day = next(iter(stats.values()))
    assert day["rating:up"] == 1 and day["rating:down"] == 2 and day["escalation:asked for a person"] == 1
    assert day["unanswered"] == 5 and day["messages"] == 10
    assert items["is the band waterproof"]["reasons"] == ["rated_down"]
    assert inbox.sync() == 0  # nothing new: nothing filed twice
    assert len(inbox.open_items()) == 8


def test_groups_biggest_first_then_assign_dismiss_draft(red, tmp_path):
    _conversations(red)
    root = tmp_path / "proj"
    shutil.copytree(BROKEN, root)
    review = Review(red, str(root))
    groups = review.groups()
    texts = [sorted(i["text"] for i in g["items"]) for g in groups]
    assert texts[0] == ["can I pay with paypal", "do you accept paypal payments", "paypal payment possible?"]
    assert ["支持花呗分期吗", "花呗分期可以用吗"] in texts
    assert [g["size"] for g in groups] == sorted((g["size"] for g in groups), reverse=True)

    paypal = groups[0]
    result = review.assign([i["id"] for i in paypal["items"]], "shipping")
    assert result["file"] == "intents/shop.yml"
    added = [line for line in result["diff"].splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert sorted(added) == ["+    - can I pay with paypal", "+    - do you accept paypal payments", "+    - paypal payment possible?"]
    shop = (root / "intents" / "shop.yml").read_text(encoding="utf-8")
    original = (BROKEN / "intents" / "shop.yml").read_text(encoding="utf-8")
    assert shop.replace("".join(f"{a[1:]}\n" for a in added), "") == original  # nothing else changed

    huabei = next(g for g in review.groups() if "支持花呗分期吗" in [i["text"] for i in g["items"]])
    draft = review.draft_kb([i["id"] for i in huabei["items"]])
    body = (root / draft["file"]).read_text(encoding="utf-8")
    assert "支持花呗分期吗" in body and "answer:" in body

    rest = review.groups()
    review.dismiss([i["id"] for g in rest for i in g["items"]])
    assert review.groups() == []
    assert red.zcard(OPEN) == 0
    statuses = sorted(json.loads(v)["status"] for v in red.hvals(ITEMS))
    assert statuses.count("assigned:shipping") == 3 and statuses.count("drafted") == 2 and statuses.count("dismissed") == 3
    _publish(red, _user("u10", "paypal ok?", "nlu_fallback", 0.1, 1_800_000_100.0))
    assert [g["label"] for g in review.groups()] == ["paypal ok?"]  # dismissed ones stay dismissed


def test_bot_review_cli_lists_and_assigns(red, tmp_path, capsys):
    import argparse

    from bot.trainer.review_tui import main

    _conversations(red)
    root = tmp_path / "proj"
    shutil.copytree(BROKEN, root)
    args = dict(list=True, json=False, assign=None, draft=None, dismiss=None, retrain=False, rasa_url=None, rasa_token=None)
    assert main(argparse.Namespace(**args), redis=red, repo_root=str(root)) == 0
    out = capsys.readouterr().out
    assert "Review inbox — 8 messages in 5 groups" in out and "paypal" in out
    assert main(argparse.Namespace(**dict(args, list=False, assign=["1", "shipping"])), redis=red, repo_root=str(root)) == 0
    out = capsys.readouterr().out
    assert "+    - can I pay with paypal" in out and "intents/shop.yml" in out
    assert "can I pay with paypal" in (root / "intents" / "shop.yml").read_text(encoding="utf-8")
