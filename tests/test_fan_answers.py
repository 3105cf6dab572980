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
from bot.fan_answers import (
    OFFERS_PER_DAY,
    POINTS_PER_ANSWER,
    PROPOSALS_PER_DAY,
    FanAnswers,
    NotEligible,
    NotOptedIn,
    RateLimited,
    entries,
    message_for,
)
from bot.fan_answers._texts import KINDS, text_for
from bot.fans import load_rules, rules_path
from bot.knowledge.loader import load_kb
from bot.settings import load_settings
from bot.storage import EmbeddedRedis
from bot.texts import Texts
from bot.trainer.inbox import ITEMS

REPO = Path(__file__).resolve().parents[1]
RULES = load_rules(rules_path(load_settings()))
"""The fan tiers of this checkout (fans.yml), as a composition root hands them down."""
TEXTS = Texts(REPO / "responses")
"""The bot texts of this checkout (responses/), as a composition root hands them down (`ctx.texts`)."""
FAN = "telegram:4101"
QUESTION_ZH = "充电宝能给无人机充电吗"
QUESTION_EN = "Can the power bank charge my drone?"
ANSWER_ZH = "能。我用 20000 给航拍无人机充过，接 USB-C 口，一块电池大约 1 小时充满，能充 2 块左右。"
ANSWER_EN = ("Yes. I charge my camera drone from the 20000 over USB-C: about an hour per battery, "
             "and it fills roughly 2 of them.")


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


def _fan_answers(red: Any, kb: Path) -> FanAnswers:
    """Fan answers on the copied knowledge folder; a publication touches the reload marker of its own data dir."""
    cache = kb.parent / "data" / "kb"
    cache.mkdir(parents=True, exist_ok=True)
    return FanAnswers(red, kb, str(REPO), rules=RULES, cache=cache)


def _ask(red: Any, sender: str, text: str, intent: str = "nlu_fallback", confidence: float = 0.2) -> None:
    """A user message the bot could not answer, as the event broker writes it (the inbox files it)."""
    event = {"event": "user", "sender_id": sender, "timestamp": time.time(), "text": text, "input_channel": "rest",
             "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": [],
                            "intent_ranking": [{"name": intent, "confidence": confidence}]}}
    red.xadd("canyu:events", {"event": json.dumps(event, ensure_ascii=False)})


def _core_fan(red: Any, sender: str = FAN) -> None:
    from bot.fans import grant_tier

    grant_tier(sender, "core_fan", by="test", red=red, rules=RULES)


def _approve(fans: FanAnswers, proposal_id: str) -> Dict[str, Any]:
    return fans.approve(proposal_id, "tina", answer={"zh": ANSWER_ZH, "en": ANSWER_EN},
                        questions={"zh": [QUESTION_ZH], "en": [QUESTION_EN]},
                        name={"zh": "小北", "en": "xiaobei"}, products=["power_bank_20000"])


def test_only_verified_core_fans_opt_in(red: Any, kb: Path) -> None:
    fans = _fan_answers(red, kb)
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
    fans = _fan_answers(red, kb)
    fans.opt_in(FAN, "zh")
    offered = fans.next_question(FAN)
    assert offered is not None and offered["text"] == QUESTION_ZH and offered["language"] == "zh"
    assert fans.next_question(FAN) is None  # offered once; the other one is the fan's own
    proposal = fans.propose(FAN, offered["item"], "能，接 USB-C 就行，一块电池一小时左右。")
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
    thanks = message_for(TEXTS, fans.get(proposal["id"]), POINTS_PER_ANSWER)
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
        _ask(red, f"rest:asker{n}", f"question number {n} about drones and the power bank {n}")
    _core_fan(red)
    fans = _fan_answers(red, kb)
    fans.opt_in(FAN, "en")
    offered = [fans.next_question(FAN) for _ in range(OFFERS_PER_DAY)]
    assert all(offered) and len({o["item"] for o in offered if o}) == OFFERS_PER_DAY
    with pytest.raises(RateLimited) as too_many:
        fans.next_question(FAN)
    assert too_many.value.kind == "offers" and too_many.value.limit == OFFERS_PER_DAY
    for o in offered[:PROPOSALS_PER_DAY]:
        assert o is not None
        fans.propose(FAN, o["item"], "Yes, over USB-C; about an hour per drone battery.")
    last = offered[PROPOSALS_PER_DAY]
    assert last is not None
    with pytest.raises(RateLimited, match="proposals"):
        fans.propose(FAN, last["item"], "Another answer that would be one too many today.")
    with pytest.raises(DataError, match="characters"):
        fans.propose(FAN, last["item"], "ok")


def test_rejected_answer_and_bad_approval_change_nothing(red: Any, kb: Path) -> None:
    _ask(red, "rest:asker", QUESTION_ZH)
    _core_fan(red)
    fans = _fan_answers(red, kb)
    fans.opt_in(FAN, "zh")
    offered = fans.next_question(FAN)
    assert offered is not None
    proposal = fans.propose(FAN, offered["item"], "不能充，会把无人机烧坏的。")
    with pytest.raises(DataError, match="answer.en"):
        fans.approve(proposal["id"], "tina", answer={"zh": ANSWER_ZH}, questions={"zh": [QUESTION_ZH], "en": ["x?"]},
                     name={"zh": "小北", "en": "xiaobei"})
    with pytest.raises(DataError, match="name.en"):
        fans.approve(proposal["id"], "tina", answer={"zh": ANSWER_ZH, "en": ANSWER_EN},
                     questions={"zh": [QUESTION_ZH], "en": [QUESTION_EN]}, name={"zh": "小北"})
    with pytest.raises(DataError, match="would not load"):  # the loader's check rolls the file back
        fans.approve(proposal["id"], "tina", answer={"zh": ANSWER_ZH, "en": ANSWER_EN},
                     questions={"zh": [QUESTION_ZH], "en": ["Sauna?"]}, name={"zh": "@小北", "en": "xiaobei"})
    assert entries(kb) == [] and fans.get(proposal["id"])["status"] == "proposed"
    red.hset(f"canyu:fan_answers:proposal:{proposal['id']}", "deciding", "lin")  # another trainer, right now
    with pytest.raises(DataError, match="being decided by lin"):
        fans.reject(proposal["id"], "tina", "x")
    red.hdel(f"canyu:fan_answers:proposal:{proposal['id']}", "deciding")
    rejected = fans.reject(proposal["id"], "tina", "其实可以充，不能这么说")
    assert rejected["status"] == "rejected" and fans.pending() == []
    assert "不能这么说" in message_for(TEXTS, rejected, 0)


def test_erasing_the_fan_removes_the_credit(red: Any, kb: Path) -> None:
    from bot.privacy import erase, find_all, resolve_person

    _ask(red, "rest:asker", QUESTION_ZH)
    _core_fan(red)
    fans = _fan_answers(red, kb)
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
        {"id": "fan-b", "credit": {"fan": "telegram:1", "name": {"zh": "小北"}},
         "questions": {"en": ["b?"], "zh": ["乙？"]}, "answer": {"en": "B.", "zh": "乙。"}},
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

    values = {"question": "耳机能连两台手机吗", "name": "xiaobei", "points": "10", "reason": "too short"}
    items = [TextItem(kind="response", key=f"fan_answers:{kind}", lang=lang, text=text_for(TEXTS, kind, lang, **values),
                      file="responses/fan_answers.yml", line=1)
             for kind in KINDS for lang in ("zh", "en")]
    problems, _ = lint_texts(items, load_config(str(REPO)))
    assert problems == []


# ---------------------------------------------------------------- over the real stack
@pytest.fixture(scope="module")
def fan_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The whole assistant on its own copy of the KB (reloaded at once), with Telegram on the fake Bot API."""
    from bot.console.users import UserStore
    from tests.fakes.rasa_channels import CREDENTIALS, ChannelsStack, platform_env
    from tests.fakes.telegram import FakeTelegram
    from tests.fakes.wechat import FakeWeChat
    from tests.harness import start_assistant

    folder = tmp_path_factory.mktemp("fan-e2e")
    root = folder / "knowledge"
    shutil.copytree(REPO / "knowledge", root, ignore=shutil.ignore_patterns("fan_answers.yml"))
    config = root / "config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("reload_check_seconds: 3", "reload_check_seconds: 0"),
                      encoding="utf-8")
    wechat, telegram = FakeWeChat(), FakeTelegram()
    wechat.start()
    telegram.start()
    credentials = folder / "credentials.yml"
    credentials.write_text(CREDENTIALS, encoding="utf-8")
    env = dict(platform_env(wechat, telegram), CANYU_KNOWLEDGE_DIR=str(root))
    try:
        assistant = start_assistant(folder / "data", credentials=credentials, env=env)
    except Exception:
        wechat.stop()
        telegram.stop()
        raise
    UserStore(assistant.redis).add("tina", "trainer-pass-123", "trainer", "Tina")
    try:
        yield ChannelsStack(assistant, wechat, telegram, env), root
    finally:
        assistant.stop()
        wechat.stop()
        telegram.stop()


def _console(url: str) -> requests.Session:
    import re

    s = requests.Session()
    page = s.get(url + "/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    s.post(url + "/login", data={"username": "tina", "password": "trainer-pass-123", "csrf_token": token},
           allow_redirects=False, timeout=30)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', s.get(url + "/fan-answers", timeout=30).text)
    assert csrf, "the trainer could not open the Fan answers page"
    s.headers["X-CSRF-Token"] = csrf.group(1)
    return s


def _said(replies: Any) -> str:
    return " ".join(r.get("text") or "" for r in replies)


def test_a_fan_answer_goes_from_chat_through_approval_to_the_credited_answer_the_bot_gives(fan_stack: Any) -> None:
    from bot.fans import grant_tier, stats_of
    from tests.fakes.rasa_channels import TelegramUser
    from tests.harness import new_sender

    stack, root = fan_stack
    assistant = stack.assistant
    fans = FanAnswers(assistant.redis, root, str(REPO), rules=RULES)
    asker = new_sender("sauna")
    before = _said(assistant.say(asker, QUESTION_ZH))
    assert "小北" not in before
    inbox = fans._inbox()
    inbox.sync()
    if not any(i["text"] == QUESTION_ZH for i in inbox.open_items(reasons=("out_of_scope", "fallback", "low_confidence",
                                                                            "rated_down", "rephrased"))):
        assistant.say(asker, '/rate_answer{"rating":"down"}')  # answered by a near entry: the asker says it missed
        assistant.say(asker, "不是我要的")

    fan = TelegramUser(stack)
    fan.say("你好")
    grant_tier(fan.sender_id, "core_fan", by="test", red=assistant.redis, rules=RULES)
    offered = " ".join(fan.say("我想帮忙回答问题"))
    assert "米粉答疑" in offered and QUESTION_ZH in offered, offered
    filed = " ".join(fan.say("能，我给航拍无人机充过，接 USB-C 就行，一块电池一小时左右。"))
    assert "FA1" in filed and "训练师" in filed, filed
    assert [p["id"] for p in fans.pending()] == ["FA1"]
    assert "小北" not in _said(assistant.say(new_sender("early"), QUESTION_ZH))
    assert not entries(root)  # not before a trainer approves

    console = _console(assistant.console_url)
    listed = console.get(assistant.console_url + "/api/fan_answers", timeout=30).json()
    assert listed["pending"][0]["question"] == QUESTION_ZH and listed["pending"][0]["sender"] == fan.sender_id
    approved = console.post(assistant.console_url + "/api/fan_answers/FA1/approve", timeout=120, json={
        "answer": {"zh": ANSWER_ZH, "en": ANSWER_EN},
        "questions": {"zh": [QUESTION_ZH], "en": [QUESTION_EN]},
        "name": {"zh": "小北", "en": "xiaobei"}, "products": ["power_bank_20000"]})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published" and approved.json()["told"] is True
    deadline = time.monotonic() + 30
    while not any("@小北" in t for t in fan.texts()) and time.monotonic() < deadline:
        time.sleep(0.2)
    thanks = [t for t in fan.texts() if "@小北" in t]
    assert thanks and "上线" in thanks[0] and f"+{POINTS_PER_ANSWER}" in thanks[0], fan.texts()
    assert stats_of(fan.sender_id, assistant.redis)["points"] == POINTS_PER_ANSWER

    zh = _said(assistant.say(new_sender("zh"), QUESTION_ZH))
    assert ANSWER_ZH[:12] in zh and "这条答案由米粉 @小北 贡献" in zh, zh
    en = _said(assistant.say(new_sender("en"), QUESTION_EN))
    assert "Answer by fan @xiaobei" in en, en

    removed = console.post(assistant.console_url + "/api/fan_answers/FA1/remove_credit", timeout=120)
    assert removed.status_code == 200 and removed.json()["status"] == "credit_removed", removed.text
    after = _said(assistant.say(new_sender("zh2"), QUESTION_ZH))
    assert ANSWER_ZH[:12] in after and "小北" not in after, after
    stats = console.get(assistant.console_url + "/api/fan_answers", timeout=30).json()["stats"]
    assert (stats["proposed"], stats["approved"], stats["published"], stats["credit_removed"]) == (1, 1, 1, 1)
    page = console.get(assistant.console_url + "/fan-answers", timeout=30).text
    assert "published 1" in page and "credit removed 1" in page

    from bot.analytics import compute_report, report_text

    report = compute_report(time.time() - 3600, time.time() + 60, assistant.redis)
    assert report["fan_answers"] == {"proposed": 1, "approved": 1, "rejected": 0, "published": 1, "credit_removed": 1}
    assert "fan answers             1 proposed, 1 approved, 1 published" in report_text(report)
    analytics = console.get(assistant.console_url + "/analytics?days=1", timeout=120).text
    assert "1 proposed, 1 approved, 1 published" in analytics


def test_chat_refuses_a_newcomer_and_a_rest_user(fan_stack: Any) -> None:
    from tests.fakes.rasa_channels import TelegramUser
    from tests.harness import new_sender

    stack, _ = fan_stack
    newcomer = " ".join(TelegramUser(stack).say("I want to help answer questions"))
    assert "core fans" in newcomer, newcomer
    rest = _said(stack.assistant.say(new_sender("rest"), "我想帮忙回答问题"))
    assert "微信或 Telegram" in rest, rest
