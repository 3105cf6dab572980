"""Fan-written answers: opt-in, offers from the review inbox, proposals, a trainer's decision, the credited KB
answer the real bot gives, rate limits, credit removal (by a trainer and on the fan's erasure)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import redis as redis_lib
import requests
import yaml

from bot.errors import DataError
from bot.fan_answers import (OFFERS_PER_DAY, POINTS_PER_ANSWER, PROPOSALS_PER_DAY, FanAnswers, NotEligible,
                             NotOptedIn, RateLimited, entries, message_for)
from bot.fan_answers._texts import TEXTS
from bot.knowledge.loader import load_kb
from bot.storage import EmbeddedRedis
from bot.trainer.inbox import ITEMS

REPO = Path(__file__).resolve().parents[1]
FAN = "telegram:4101"
QUESTION_ZH = "米粒手环9能戴着蒸桑拿吗"
ANSWER_ZH = "别戴。桑拿的高温和蒸汽会让防水胶圈老化，5ATM 防水只管游泳和洗手。进去前摘下来放外面就好。"
ANSWER_EN = ("Take it off. Sauna heat and steam wear out the water seals; 5 ATM covers swimming and washing hands. "
             "Leave it outside and you're fine.")


@pytest.fixture
def red(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CANYU_DATA_DIR", str(tmp_path / "data"))
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        yield redis_lib.Redis.from_url(server.url, decode_responses=True)
    finally:
        server.stop()


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", root, ignore=shutil.ignore_patterns("fan_answers.yml"))
    return root


def _ask(red: Any, sender: str, text: str, intent: str = "nlu_fallback", confidence: float = 0.2) -> None:
    """A user message the bot could not answer, as the event broker writes it (the inbox files it)."""
    event = {"event": "user", "sender_id": sender, "timestamp": time.time(), "text": text, "input_channel": "rest",
             "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": [],
                            "intent_ranking": [{"name": intent, "confidence": confidence}]}}
    red.xadd("canyu:events", {"event": json.dumps(event, ensure_ascii=False)})


def _core_fan(red: Any, sender: str = FAN) -> None:
    from bot.fans import grant_tier

    grant_tier(sender, "core_fan", by="test", red=red)


def _approve(fans: FanAnswers, proposal_id: str) -> Dict[str, Any]:
    return fans.approve(proposal_id, "tina", answer={"zh": ANSWER_ZH, "en": ANSWER_EN},
                        questions={"zh": [QUESTION_ZH], "en": ["Can I wear the Band 9 in a sauna?"]},
                        name={"zh": "小北", "en": "xiaobei"}, products=["band_9"])


def test_only_verified_core_fans_opt_in(red: Any, kb: Path) -> None:
    fans = FanAnswers(red, kb, str(REPO))
    with pytest.raises(NotEligible) as newcomer:
        fans.opt_in(FAN, "zh")
    assert newcomer.value.tier == "newcomer" and newcomer.value.verified
    _core_fan(red, "rest:someone")  # a staff grant on a free REST id is a queue place, nothing more
    with pytest.raises(NotEligible) as rest:
        fans.opt_in("rest:someone", "en")
    assert not rest.value.verified
    _core_fan(red)
    with pytest.raises(NotOptedIn):
        fans.next_question(FAN)
    fans.opt_in(FAN, "zh")
    assert fans.opted_in(FAN)
    assert fans.opt_out(FAN) and not fans.opted_in(FAN)


def test_proposal_approved_is_a_credited_kb_answer_and_the_fan_gains_points(red: Any, kb: Path) -> None:
    from bot.fans import stats_of

    _ask(red, "rest:asker", QUESTION_ZH)
    _ask(red, FAN, "我自己的问题：充电器多少瓦")  # the fan's own question is never offered to them
    _core_fan(red)
    fans = FanAnswers(red, kb, str(REPO))
    fans.opt_in(FAN, "zh")
    offered = fans.next_question(FAN)
    assert offered is not None and offered["text"] == QUESTION_ZH and offered["language"] == "zh"
    assert fans.next_question(FAN) is None  # offered once; the other one is the fan's own
    proposal = fans.propose(FAN, offered["item"], "别戴。高温蒸汽会让防水胶圈老化，进去前摘下来。")
    assert proposal["status"] == "proposed" and [p["id"] for p in fans.pending()] == [proposal["id"]]
    assert entries(kb) == []  # nothing reaches users before a trainer approves

    published = _approve(fans, proposal["id"])
    assert published["status"] == "published" and published["edited"] is True and published["by"] == "tina"
    entry = next(e for e in entries(kb) if e["id"] == published["entry"])
    assert entry["credit"] == {"fan": FAN, "name": {"en": "xiaobei", "zh": "小北"}}
    loaded = load_kb(kb).faq[published["entry"]]
    assert loaded.answer["zh"].endswith("\n这条答案由米粉 @小北 贡献")
    assert loaded.answer["en"].endswith("\nAnswer by fan @xiaobei")
    assert loaded.credit is not None and loaded.credit.fan == FAN
    assert (Path(kb).parent / "data" / "kb" / "reload").exists()  # running action servers reload the KB
    assert json.loads(red.hget(ITEMS, offered["item"]))["status"] == f"fan_answer:{proposal['id']}"
    stats = stats_of(FAN, red)
    assert stats["points"] == POINTS_PER_ANSWER and stats["fan_answers"] == 1
    assert fans.stats(1) == {"proposed": 1, "approved": 1, "rejected": 0, "published": 1, "credit_removed": 0}
    thanks = message_for(fans.get(proposal["id"]), POINTS_PER_ANSWER)
    assert "@小北" in thanks and QUESTION_ZH in thanks and f"+{POINTS_PER_ANSWER}" in thanks
    with pytest.raises(DataError, match="already published"):
        fans.reject(proposal["id"], "tina")

    removed = fans.remove_credit(proposal["id"], "tina")
    assert removed["status"] == "credit_removed"
    plain = load_kb(kb).faq[published["entry"]]
    assert plain.credit is None and "小北" not in plain.answer["zh"] and plain.answer["zh"] == ANSWER_ZH
    assert fans.stats(1)["credit_removed"] == 1


def test_rate_limits_per_fan_per_day(red: Any, kb: Path) -> None:
    for n in range(OFFERS_PER_DAY + 2):
        _ask(red, f"rest:asker{n}", f"question number {n} about the sauna and the band {n}")
    _core_fan(red)
    fans = FanAnswers(red, kb, str(REPO))
    fans.opt_in(FAN, "en")
    offered = [fans.next_question(FAN) for _ in range(OFFERS_PER_DAY)]
    assert all(offered) and len({o["item"] for o in offered if o}) == OFFERS_PER_DAY
    with pytest.raises(RateLimited) as too_many:
        fans.next_question(FAN)
    assert too_many.value.kind == "offers" and too_many.value.limit == OFFERS_PER_DAY
    for o in offered[:PROPOSALS_PER_DAY]:
        assert o is not None
        fans.propose(FAN, o["item"], "Take it off before the sauna, the heat ages the seals.")
    last = offered[PROPOSALS_PER_DAY]
    assert last is not None
    with pytest.raises(RateLimited, match="proposals"):
        fans.propose(FAN, last["item"], "Another answer that would be one too many today.")
    with pytest.raises(DataError, match="characters"):
        fans.propose(FAN, last["item"], "ok")


def test_rejected_answer_and_bad_approval_change_nothing(red: Any, kb: Path) -> None:
    _ask(red, "rest:asker", QUESTION_ZH)
    _core_fan(red)
    fans = FanAnswers(red, kb, str(REPO))
    fans.opt_in(FAN, "zh")
    offered = fans.next_question(FAN)
    assert offered is not None
    proposal = fans.propose(FAN, offered["item"], "随便戴，没事的，桑拿房很安全。")
    with pytest.raises(DataError, match="answer.en"):
        fans.approve(proposal["id"], "tina", answer={"zh": ANSWER_ZH}, questions={"zh": [QUESTION_ZH], "en": ["x?"]},
                     name={"zh": "小北", "en": "xiaobei"})
    with pytest.raises(DataError, match="would not load"):  # the loader's check rolls the file back
        fans.approve(proposal["id"], "tina", answer={"zh": ANSWER_ZH, "en": ANSWER_EN},
                     questions={"zh": [QUESTION_ZH], "en": ["Sauna?"]}, name={"zh": "@小北", "en": "xiaobei"})
    assert entries(kb) == [] and fans.get(proposal["id"])["status"] == "proposed"
    rejected = fans.reject(proposal["id"], "tina", "桑拿会损坏防水，不能这么说")
    assert rejected["status"] == "rejected" and fans.pending() == []
    assert "不能这么说" in message_for(rejected, 0)


def test_erasing_the_fan_removes_the_credit(red: Any, kb: Path) -> None:
    from bot.privacy import erase, find_all, resolve_person

    _ask(red, "rest:asker", QUESTION_ZH)
    _core_fan(red)
    fans = FanAnswers(red, kb, str(REPO))
    fans.opt_in(FAN, "zh")
    offered = fans.next_question(FAN)
    assert offered is not None
    published = _approve(fans, fans.propose(FAN, offered["item"], ANSWER_ZH)["id"])
    person = resolve_person(red, FAN)
    plan = find_all(red, person)
    assert plan.get("fan_answers_optin") and plan.get("fan_answers_proposals"), sorted(k for k, v in plan.items() if v)
    report = erase(red, person, plan)
    assert report.left == []
    assert fans.drop_orphan_credits() == [published["entry"]]  # the console page runs this on every load
    assert load_kb(kb).faq[published["entry"]].credit is None


def test_loader_checks_the_credit_field(tmp_path: Path) -> None:
    root = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", root, ignore=shutil.ignore_patterns("fan_answers.yml"))
    bad = {"faq": [
        {"id": "fan-a", "credit": {"fan": "", "name": "小北"}, "questions": {"en": ["a?"], "zh": ["甲？"]},
         "answer": {"en": "A.", "zh": "甲。"}},
        {"id": "fan-b", "credit": {"fan": "telegram:1", "name": {"zh": "小北"}}, "questions": {"en": ["b?"], "zh": ["乙？"]},
         "answer": {"en": "B.", "zh": "乙。"}},
        {"id": "fan-c", "credit": "小北", "questions": {"en": ["c?"], "zh": ["丙？"]}, "answer": {"en": "C.", "zh": "丙。"}},
    ]}
    (root / "faq" / "fan_answers.yml").write_text(yaml.safe_dump(bad, allow_unicode=True, sort_keys=False),
                                                   encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_kb(root)
    errors = [e for e in exc.value.errors if "fan_answers.yml" in e]  # type: ignore[attr-defined]
    assert len(errors) == 3, errors
    assert errors[0].startswith("knowledge/faq/fan_answers.yml:") and "no `fan`" in errors[0]
    assert "lacks a language" in errors[1] and "needs exactly `fan:" in errors[2]
    assert all(e.split(":")[1].isdigit() for e in errors)


def test_fan_answer_texts_pass_the_voice_lint() -> None:
    from bot.trainer.config import load_config
    from bot.trainer.lint import lint_texts
    from bot.trainer.sources import TextItem

    items = [TextItem(kind="response", key=f"fan_answers:{kind}", lang=lang, text=text,
                      file="bot/fan_answers/_texts.py", line=1)
             for kind, texts in TEXTS.items() for lang, text in texts.items()]
    problems, _ = lint_texts(items, load_config(str(REPO)))
    assert problems == []
