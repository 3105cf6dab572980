"""The review inbox on real Redis: events in `canyu:events` -> items -> groups -> assign / dismiss / draft."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import redis

from bot.settings import Settings
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


def _settings(root: Path) -> Settings:
    """What the CLI's context hands `bot review`: the project folder's settings."""
    return Settings(home=root, data_dir=root / "var")


def test_bot_review_cli_lists_and_assigns(red, tmp_path, capsys):
    import argparse

    from bot.trainer.review_tui import main

    _conversations(red)
    root = tmp_path / "proj"
    shutil.copytree(BROKEN, root)
    args = dict(list=True, json=False, assign=None, draft=None, dismiss=None, retrain=False, rasa_url=None, rasa_token=None)
    assert main(argparse.Namespace(**args), redis=red, repo_root=str(root), settings=_settings(root)) == 0
    out = capsys.readouterr().out
    assert "Review inbox — 8 messages in 5 groups" in out and "paypal" in out
    assert main(argparse.Namespace(**dict(args, list=False, assign=["1", "shipping"])), redis=red, repo_root=str(root), settings=_settings(root)) == 0
    out = capsys.readouterr().out
    assert "+    - can I pay with paypal" in out and "intents/shop.yml" in out
    assert "can I pay with paypal" in (root / "intents" / "shop.yml").read_text(encoding="utf-8")


# ---------------------------------------------------------------- answers that look wrong
# Event shapes as Rasa publishes them (checked against a running assistant): a knowledge answer is a bot event
# with metadata `kb`; the 👎 button's payload brings an entity, then the `rating` slot, set again when the
# comment form starts; the user's comment fills `answer_comment` while the form is active.

def _answer(sender, text, ts, entry="os_update_how", confidence=0.981, kind="faq"):
    return {"event": "bot", "sender_id": sender, "timestamp": ts, "text": text,
            "metadata": {"kb": {"outcome": "answer", "entry": entry, "kind": kind, "confidence": confidence,
                                "reason": "confidence >= 0.5", "candidates": [{"entry": entry, "confidence": confidence}]}}}


def _bot(sender, text, ts):
    return {"event": "bot", "sender_id": sender, "timestamp": ts, "text": text, "metadata": {"utter_action": "utter_x"}}


def _slot(sender, name, value, ts):
    return {"event": "slot", "sender_id": sender, "timestamp": ts, "name": name, "value": value}


def _thumbs_down_flow(sender, rating_event, t, comment=None):
    events = [rating_event, _slot(sender, "rating", None, t + 0.2),
              {"event": "active_loop", "sender_id": sender, "timestamp": t + 0.3, "name": "answer_comment_form"},
              _slot(sender, "rating", "down", t + 0.4),  # the form's slot extraction sets it once more
              _bot(sender, "Thanks for telling me. What was missing?", t + 0.5)]
    if comment:
        events += [_user(sender, comment, "nlu_fallback", 0.47, t + 1),
                   _slot(sender, "answer_comment", comment, t + 1.1),
                   {"event": "active_loop", "sender_id": sender, "timestamp": t + 1.2, "name": None},
                   _bot(sender, "Got it, filed as FB1.", t + 1.3)]
    return events


UPDATE_EN = "Go to Settings > About phone > MilletOS version and tap Check for updates."
UPDATE_ZH = "打开 设置 > 我的设备 > 米粒OS 版本，点「检查更新」。"
T0 = 1_800_000_000.0


def test_rated_down_points_at_the_rated_answer_once_per_rating(red):
    payload = _user("r1", '/rate_answer{"rating":"down"}', "rate_answer", 1.0, T0 + 2, [{"entity": "rating", "value": "down"}])
    _publish(
        red,
        _user("r1", "How do I update MilletOS?", "ask_product", 0.99, T0),
        _answer("r1", UPDATE_EN, T0 + 1),
        _slot("r1", "kb_entry", "os_update_how", T0 + 1.1),
        payload, _slot("r1", "rating", "down", T0 + 2.1),  # the payload's entity fills the slot
        *_thumbs_down_flow("r1", _bot("r1", "(record)", T0 + 2.15), T0 + 2.15, comment="没说要多久"),
        # typed 👎 and 没用 (classified rate_answer, no entity)
        _user("r2", "米粒OS怎么升级？", "ask_product", 0.83, T0 + 10),
        _answer("r2", UPDATE_ZH, T0 + 11, confidence=0.944),
        *_thumbs_down_flow("r2", _user("r2", "👎", "rate_answer", 0.99, T0 + 12), T0 + 12),
        _user("r3", "米粒OS怎么升级？", "ask_product", 0.83, T0 + 20),
        _answer("r3", UPDATE_ZH, T0 + 21, confidence=0.944),
        *_thumbs_down_flow("r3", _user("r3", "没用", "rate_answer", 0.96, T0 + 22), T0 + 22),
        # a 👍 is counted, files nothing
        _user("r4", "How do I update MilletOS?", "ask_product", 0.99, T0 + 30),
        _answer("r4", UPDATE_EN, T0 + 31),
        _user("r4", '/rate_answer{"rating":"up"}', "rate_answer", 1.0, T0 + 32, [{"entity": "rating", "value": "up"}]),
        _slot("r4", "rating", "up", T0 + 32.1),
    )
    inbox = Inbox(red)
    inbox.sync()
    items = {i["sender"]: i for i in inbox.open_items()}
    assert set(items) == {"r1", "r2", "r3"}  # the comment "没说要多久" is not a question of its own
    for sender, question, confidence in (("r1", "How do I update MilletOS?", 0.981), ("r2", "米粒OS怎么升级？", 0.944),
                                         ("r3", "米粒OS怎么升级？", 0.944)):
        item = items[sender]
        assert item["text"] == question and item["reasons"] == ["rated_down"]
        assert item["answer"]["entry"] == "os_update_how" and item["answer"]["kind"] == "faq"
        assert item["answer"]["confidence"] == confidence
        assert item["answer"]["text"] == item["rated_answer"] == (UPDATE_EN if sender == "r1" else UPDATE_ZH)
    assert items["r1"]["comment"] == "没说要多久"
    day = next(iter(inbox.stats(days=1, until=T0).values()))
    assert day["rating:down"] == 3 and day["rating:up"] == 1  # the payload (entity + slot twice) counts once
    assert "unanswered" not in day


def test_rated_down_without_a_knowledge_answer_keeps_the_last_question(red):
    _publish(red, _user("o1", "where is my order M2026110501", "order_status", 0.97, T0),
             _bot("o1", "It ships tomorrow.", T0 + 1),
             _user("o1", "not helpful at all", "rate_answer", 0.8, T0 + 2))
    inbox = Inbox(red)
    inbox.sync()
    [item] = inbox.open_items()
    assert item["text"] == "where is my order M2026110501" and item["reasons"] == ["rated_down"]
    assert item["rated_answer"] == "It ships tomorrow." and "answer" not in item


def test_rephrase_within_two_turns_files_the_original_question(red):
    _publish(
        red,
        # asked again right away (English words)
        _user("p1", "How do I update MilletOS?", "ask_product", 0.99, T0),
        _answer("p1", UPDATE_EN, T0 + 1),
        _user("p1", "how do I update milletos please", "ask_product", 0.99, T0 + 2),
        _answer("p1", UPDATE_EN, T0 + 3),
        # asked again on the second turn (Chinese bigrams), after something else
        _user("p2", "14 Pro 电池多大", "ask_product", 0.9, T0 + 10),
        _answer("p2", "5000 mAh.", T0 + 11, entry="spec:phone_14_pro:battery", kind="spec", confidence=0.91),
        _user("p2", "好的", "affirm", 0.9, T0 + 12),
        _user("p2", "14 Pro 电池容量多大", "ask_product", 0.9, T0 + 13),
        # said so: "不是这个" (the NLU calls it deny)
        _user("p3", "How do I update MilletOS?", "ask_product", 0.99, T0 + 20),
        _answer("p3", UPDATE_EN, T0 + 21),
        _user("p3", "不是这个", "deny", 0.87, T0 + 22),
        # negatives: a different next question; the same question again only on the third turn
        _user("n1", "How do I update MilletOS?", "ask_product", 0.99, T0 + 30),
        _answer("n1", UPDATE_EN, T0 + 31),
        _user("n1", "how long does shipping take", "shipping", 0.95, T0 + 32),
        _user("n2", "How do I update MilletOS?", "ask_product", 0.99, T0 + 40),
        _answer("n2", UPDATE_EN, T0 + 41),
        _user("n2", "thanks", "thanks", 0.99, T0 + 42),
        _user("n2", "what colours does the band 9 come in", "ask_product", 0.9, T0 + 43),
        _answer("n2", "Black, white and green.", T0 + 44, entry="band_9_colours"),
        _user("n2", "how do I update MilletOS", "ask_product", 0.99, T0 + 45),
        # a fallback's "could you rephrase?" is not an answer: rephrasing after it is what we asked for
        _user("n3", "paypal?", "nlu_fallback", 0.2, T0 + 50),
        _bot("n3", "Sorry, could you say that another way?", T0 + 51),
        _user("n3", "paypal ok?", "nlu_fallback", 0.3, T0 + 52),
    )
    inbox = Inbox(red)
    inbox.sync()
    rephrased = {(i["sender"], i["text"]): i for i in inbox.open_items(reasons=["rephrased"])}
    assert set(rephrased) == {("p1", "How do I update MilletOS?"), ("p2", "14 Pro 电池多大"),
                              ("p3", "How do I update MilletOS?")}
    p1 = rephrased[("p1", "How do I update MilletOS?")]
    assert p1["reasons"] == ["rephrased"] and p1["answer"]["entry"] == "os_update_how" and p1["answer"]["text"] == UPDATE_EN
    assert p1["signals"][0]["text"] == "how do I update milletos please" and p1["signals"][0]["how"] == "asked again"
    p2 = rephrased[("p2", "14 Pro 电池多大")]
    assert p2["answer"] == {"id": p2["answer"]["id"], "text": "5000 mAh.", "entry": "spec:phone_14_pro:battery",
                            "kind": "spec", "confidence": 0.91, "ts": T0 + 11}
    assert p2["signals"][0]["similarity"] >= 0.5
    assert rephrased[("p3", "How do I update MilletOS?")]["signals"][0] == {
        "reason": "rephrased", "text": "不是这个", "ts": T0 + 22, "how": "said so"}
    assert not [i for i in inbox.open_items() if i["sender"].startswith("n") and "rephrased" in i["reasons"]]
    assert next(iter(inbox.stats(days=1, until=T0).values()))["wrong:rephrased"] == 3


def test_similarity_is_lexical_and_bilingual():
    from bot.trainer.inbox import similarity

    assert similarity("How do I update MilletOS?", "how do I update milletos please") >= 0.5
    assert similarity("14 Pro 电池多大", "14 Pro 电池容量多大") >= 0.5
    assert similarity("How do I update MilletOS?", "how long does shipping take") == 0.0
    assert similarity("米粒OS怎么升级？", "退货要多久") == 0.0
    assert similarity("", "anything") == 0.0


def test_asked_for_person_within_two_turns(red):
    _publish(
        red,
        _user("h1", "How do I update MilletOS?", "ask_product", 0.99, T0),
        _answer("h1", UPDATE_EN, T0 + 1),
        _user("h1", "I want to talk to a real person", "human_handoff", 0.99, T0 + 2),
        {"event": "action", "sender_id": "h1", "timestamp": T0 + 3, "name": "action_handoff"},
        # second turn, and the NLU did not call it human_handoff: the words say it
        _user("h2", "米粒OS怎么升级？", "ask_product", 0.83, T0 + 10),
        _answer("h2", UPDATE_ZH, T0 + 11, confidence=0.944),
        _user("h2", "嗯", "affirm", 0.7, T0 + 12),
        _user("h2", "还是转人工吧", "complain", 0.6, T0 + 13),
        # negative: three turns later
        _user("h3", "How do I update MilletOS?", "ask_product", 0.99, T0 + 20),
        _answer("h3", UPDATE_EN, T0 + 21),
        _user("h3", "ok", "affirm", 0.9, T0 + 22),
        _user("h3", "thanks", "thanks", 0.9, T0 + 23),
        _user("h3", "I want a human", "human_handoff", 0.99, T0 + 24),
        {"event": "action", "sender_id": "h3", "timestamp": T0 + 25, "name": "action_handoff"},
    )
    inbox = Inbox(red)
    inbox.sync()
    items = {(i["sender"], i["text"]): i for i in inbox.open_items()}
    h1 = items[("h1", "How do I update MilletOS?")]
    assert h1["reasons"] == ["asked_for_person"] and h1["answer"]["entry"] == "os_update_how"
    assert h1["signals"] == [{"reason": "asked_for_person", "text": "I want to talk to a real person", "ts": T0 + 2}]
    assert items[("h1", "I want to talk to a real person")]["reasons"] == ["escalated"]  # as before
    assert items[("h2", "米粒OS怎么升级？")]["reasons"] == ["asked_for_person"]
    assert items[("h2", "米粒OS怎么升级？")]["signals"][0]["text"] == "还是转人工吧"
    assert ("h3", "How do I update MilletOS?") not in items
    assert items[("h3", "I want a human")]["reasons"] == ["escalated"]
    assert [i["text"] for i in inbox.open_items(reasons=["asked_for_person"])] == ["米粒OS怎么升级？", "How do I update MilletOS?"]


def test_a_trainer_marks_a_recent_answer_wrong(red):
    from bot.errors import DataError

    _publish(red, _user("m1", "does the band 9 work with iphone", "ask_product", 0.95, T0),
             _answer("m1", "Yes, with iOS 15 or later.", T0 + 1, entry="band_9_phones", confidence=0.88),
             _user("m1", "thanks", "thanks", 0.99, T0 + 2),
             _user("m2", "How do I update MilletOS?", "ask_product", 0.99, T0 + 10),
             _answer("m2", UPDATE_EN, T0 + 11))
    inbox = Inbox(red)
    inbox.sync()
    assert inbox.open_items() == []
    recent = inbox.recent_answers(10)
    assert [(a["question"]["text"], a["entry"], a["confidence"], a["reasons"]) for a in recent] == [
        ("How do I update MilletOS?", "os_update_how", 0.981, []),
        ("does the band 9 work with iphone", "band_9_phones", 0.88, [])]
    item = inbox.mark_wrong(recent[1]["id"], by="tina", note="the Band 9 has no iOS app")
    assert item["text"] == "does the band 9 work with iphone" and item["reasons"] == ["marked_wrong"]
    assert item["answer"]["entry"] == "band_9_phones" and item["answer"]["text"] == "Yes, with iOS 15 or later."
    assert item["signals"][0]["by"] == "tina" and item["signals"][0]["note"] == "the Band 9 has no iOS app"
    assert [i["id"] for i in inbox.open_items(reasons=["marked_wrong"])] == [item["id"]]
    assert inbox.recent_answers(10)[1]["reasons"] == ["marked_wrong"]
    # dismissed, then marked again: a trainer's mark opens it again
    inbox.dismiss([item["id"]])
    assert inbox.open_items() == []
    assert inbox.mark_wrong(recent[1]["id"], by="tom")["status"] == "open"
    assert len(inbox.open_items()) == 1
    with pytest.raises(DataError):
        inbox.mark_wrong("0-1", by="tina")


def test_review_and_cli_filter_by_reason_and_mark_wrong(red, tmp_path, capsys, monkeypatch):
    import argparse

    from bot.errors import DataError
    from bot.trainer.review_tui import main

    _conversations(red)
    _publish(red, _user("w1", "How do I update MilletOS?", "ask_product", 0.99, T0 + 100),
             _answer("w1", UPDATE_EN, T0 + 101),
             _user("w1", "how do I update milletos please", "ask_product", 0.99, T0 + 102))
    root = tmp_path / "proj"
    shutil.copytree(BROKEN, root)
    review = Review(red, str(root))
    assert [i["text"] for g in review.groups(reasons=["rephrased"]) for i in g["items"]] == ["How do I update MilletOS?"]
    with pytest.raises(DataError):
        review.groups(reasons=["bogus"])
    args = dict(list=True, json=False, assign=None, draft=None, dismiss=None, retrain=False, rasa_url=None,
                rasa_token=None, reason=["rephrased,rated_down"], answers=None, wrong=None, note="")
    monkeypatch.setenv("COLUMNS", "240")  # rich wraps table cells to the terminal's width
    assert main(argparse.Namespace(**args), redis=red, repo_root=str(root), settings=_settings(root)) == 0
    out = capsys.readouterr().out
    assert "3 messages in" in out and "asked again" in out and "rated 👎" in out and "paypal" not in out
    assert "answered with os_update_how" in out
    # --answers lists the knowledge answers; --wrong N marks one
    assert main(argparse.Namespace(**dict(args, list=False, reason=None, answers=5)), redis=red, repo_root=str(root), settings=_settings(root)) == 0
    out = capsys.readouterr().out
    assert "How do I update MilletOS?" in out and "os_update_how" in out
    assert main(argparse.Namespace(**dict(args, list=True, reason=["marked_wrong"], wrong="1", note="old menu path")),
                redis=red, repo_root=str(root), settings=_settings(root)) == 0
    out = capsys.readouterr().out
    assert "marked wrong: “How do I update MilletOS?” answered with os_update_how (faq 98%)" in out
    assert "1 messages in 1 groups" in out and "marked wrong 1" in out and "asked again 1" in out


# ---------------------------------------------------------------- the console: recent answers, "wrong answer"
@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """The real console process on its own embedded Redis, with a trainer and an agent."""
    from bot.cli.console import add_user
    from tests.harness import lone_console

    folder = tmp_path_factory.mktemp("trainer-console")
    server = EmbeddedRedis(folder / "redis").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    add_user("tina", "trainer", "tina-Secret-Pass-1", redis=client)
    add_user("lin", "agent", "lin-Secret-Pass-2", redis=client)
    try:
        with lone_console(server.url, folder / "console.log") as url:
            yield url, client
    finally:
        server.stop()


def _console_login(url, name, password):
    import re

    import requests

    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(url + "/login").text).group(1)
    r = s.post(url + "/login", data={"username": name, "password": password, "csrf_token": token}, allow_redirects=False)
    assert r.status_code in (302, 303), r.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', s.get(url + "/").text).group(1)
    return s, csrf, s.get(url + "/trainer")


def test_console_recent_answers_and_wrong_answer_button(console):
    url, client = console
    _publish(client, _user("c1", "does the band 9 work with iphone", "ask_product", 0.95, T0),
             _answer("c1", "Yes, with iOS 15 or later.", T0 + 1, entry="band_9_phones", confidence=0.88),
             _user("c2", "How do I update MilletOS?", "ask_product", 0.99, T0 + 10),
             _answer("c2", UPDATE_EN, T0 + 11))
    s, csrf, page = _console_login(url, "tina", "tina-Secret-Pass-1")
    assert page.status_code == 200 and 'id="answers"' in page.text and "Recent answers" in page.text
    answers = s.get(url + "/api/trainer/answers").json()["answers"]
    assert [(a["question"], a["entry"], a["confidence"]) for a in answers] == [
        ("How do I update MilletOS?", "os_update_how", 0.981), ("does the band 9 work with iphone", "band_9_phones", 0.88)]
    band = answers[1]
    # like every trainer POST: no CSRF token, no change; an agent may not
    assert s.post(url + "/api/trainer/wrong", json={"answer": band["id"]}).status_code == 403
    agent, agent_csrf, _ = _console_login(url, "lin", "lin-Secret-Pass-2")
    assert agent.post(url + "/api/trainer/wrong", json={"answer": band["id"]},
                      headers={"X-CSRF-Token": agent_csrf}).status_code == 403
    assert s.get(url + "/api/trainer/groups?reason=marked_wrong").json()["groups"] == []
    r = s.post(url + "/api/trainer/wrong", json={"answer": band["id"], "note": "no iOS app"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    item = r.json()["item"]
    assert item["text"] == "does the band 9 work with iphone" and item["reasons"] == ["marked_wrong"]
    assert item["answer"]["entry"] == "band_9_phones" and item["signals"][0]["by"] == "tina"
    data = s.get(url + "/api/trainer/groups?reason=marked_wrong").json()
    assert "marked_wrong" in data["reasons"]
    [group] = data["groups"]
    [listed] = group["items"]
    assert listed["text"] == "does the band 9 work with iphone" and listed["answer"]["text"] == "Yes, with iOS 15 or later."
    assert listed["signals"][0]["note"] == "no iOS app"
    assert s.get(url + "/api/trainer/answers").json()["answers"][1]["reasons"] == ["marked_wrong"]
    bad = s.post(url + "/api/trainer/wrong", json={"answer": "0-1"}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 400 and "reload" in bad.json()["error"]
    assert s.get(url + "/api/trainer/groups?reason=bogus").status_code == 400


def test_a_hedged_answer_is_filed_to_confirm(red):
    hedged = _answer("g1", UPDATE_EN, T0 + 1, confidence=0.41)
    hedged["metadata"]["kb"]["hedged"] = True
    _publish(
        red,
        _user("g1", "os update how??", "ask_product", 0.7, T0),
        hedged,
        _user("g2", "How do I update MilletOS?", "ask_product", 0.99, T0 + 10),
        _answer("g2", UPDATE_EN, T0 + 11),  # a sure answer: not filed
    )
    inbox = Inbox(red)
    inbox.sync()
    items = inbox.open_items(reasons=["hedged"])
    assert [(i["sender"], i["text"]) for i in items] == [("g1", "os update how??")]
    assert items[0]["answer"]["entry"] == "os_update_how" and items[0]["signals"][0]["confidence"] == 0.41
