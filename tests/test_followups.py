"""Follow-ups and call-backs (issue 18): a check-in after a resolved handoff or a repair, sent once by the
deployment's job after its delay (the clock injected), through the durable outbound (a closed WeChat window
queues it); "yes" closes warmly, "no" goes back to a person with the history; a 1–2 rating opens a call-back
that the console lists and a lead closes, and the user is told by when.

The first tests use a real embedded Redis, the real job runner and the real WeChat sender against the fake
WeChat server; the end-to-end ones the shared real stack (Rasa, action server, console).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict, Iterator, List

import pytest
import redis as redislib
import requests

from bot.analytics import compute_report, report_text
from bot.cli.console import add_user
from bot.delivery import SenderRegistry
from bot.followups import (
    DUE_KEY,
    OPEN_KEY,
    CallbackStore,
    FollowupStore,
    after_repair,
    config_from_env,
    due_text,
    followup_figures,
    followup_job,
    load_config,
    send_due,
    subject_of,
)
from bot.handoff.store import HandoffStore
from bot.jobs import JobRunner
from bot.outbound import Outbound
from bot.privacy import find_all, resolve_person
from bot.privacy.erase import erase_user
from bot.rasa_client import RasaClient
from bot.texts import Texts
from connectors._wechat_api import WeChatApi
from connectors._wechat_send import WeChatSender
from tests.fakes.wechat import FakeWeChat
from tests.harness import Assistant, new_sender

DAY = 86400.0
CONFIG = config_from_env({})
TEXTS = Texts(Path(__file__).resolve().parents[1] / "responses")  # the checkout's bot texts
"""The shipped follow-up settings (bot/followups/followups.yml), as a composition root hands them down."""
LEAD, AGENT, OPS, PW = "fu-lead", "fu-agent", "fu-ops", "Followups-Pass-1"


@pytest.fixture(scope="module")
def red(redis_server: Any) -> Iterator["redislib.Redis[str]"]:
    r = redislib.Redis.from_url(redis_server.url, decode_responses=True)
    yield r
    r.close()


@pytest.fixture(scope="module")
def run() -> Iterator[Callable[..., Any]]:
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


def _outbox(red: Any, sender: str) -> List[Dict[str, Any]]:
    return Outbound(red).read_outbox(sender, "0")


def _earbud_followup(red: Any, sender: str, now: float, language: str = "zh") -> Dict[str, Any]:
    history = {"handoff": {"rule": "explicit_request", "reason": "Asked for a person", "agent": "lin"}}
    return FollowupStore(red, CONFIG).schedule(sender, "handoff", subject=subject_of(["我的左耳耳机没声音了", "转人工"]),
                                       language=language, history=history, now=now)


# ------------------------------------------------------------------ the job, the clock, once
def test_a_checkin_fires_after_its_delay_about_the_left_earbud(red: Any, run: Callable[..., Any]) -> None:
    sender, start = new_sender("fu"), time.time()
    record = _earbud_followup(red, sender, start)
    assert record["due_at"] == pytest.approx(start + 2 * DAY)  # followups.yml: handoff 2 days
    clock = [start + 1 * DAY]
    runner = JobRunner(red, [followup_job(red, CONFIG, texts=TEXTS, clock=lambda: clock[0], every=0)], owner="fu-one",
                       key=f"canyu:test:leader:{uuid.uuid4().hex}")
    assert run(runner.tick()) == ["followups"]
    assert _outbox(red, sender) == []  # a day later: not yet
    clock[0] = start + 2 * DAY + 1
    run(runner.tick())
    got = _outbox(red, sender)
    assert len(got) == 1 and got[0]["text"].startswith("左耳好了吗？"), got
    assert [b["title"] for b in got[0]["buttons"]] == ["好了", "还没好"]
    assert json.loads(got[0]["buttons"][1]["payload"][len("/followup_answer"):]) == {
        "followup_id": record["id"], "followup_reply": "no"}
    clock[0] += DAY
    run(runner.tick())
    assert len(_outbox(red, sender)) == 1  # sent once
    assert FollowupStore(red, CONFIG).get(sender, record["id"])["outcome"] == "queued"  # REST: waits in the outbox


def test_english_and_general_checkins(red: Any, run: Callable[..., Any]) -> None:
    start = time.time()
    buds, vague = new_sender("fu-en"), new_sender("fu-gen")
    _earbud_followup(red, buds, start, language="en")
    FollowupStore(red, CONFIG).schedule(vague, "handoff", subject=subject_of(["hello", "agent please"]), language="en",
                                now=start)
    run(send_due(red, now=start + 3 * DAY, config=CONFIG, texts=TEXTS))
    assert _outbox(red, buds)[0]["text"].startswith("Is the left earbud OK now?")
    assert _outbox(red, vague)[0]["text"].startswith("Is everything sorted since last time?")
    assert [b["title"] for b in _outbox(red, vague)[0]["buttons"]] == ["Yes, all good", "No, not yet"]


def test_sent_once_with_two_runners_and_a_takeover(red: Any, run: Callable[..., Any]) -> None:
    start = time.time()
    later = start + 2 * DAY + 5
    racing = [new_sender("fu-race") for _ in range(6)]
    for s in racing:
        _earbud_followup(red, s, start)
    # a takeover in the middle of a run: two job bodies at once, on the same due check-ins
    async def two_bodies() -> List[Any]:
        return list(await asyncio.gather(send_due(red, now=later, config=CONFIG, texts=TEXTS), send_due(red, now=later, config=CONFIG, texts=TEXTS)))

    reports = run(two_bodies())
    for s in racing:
        assert len(_outbox(red, s)) == 1, s
    mine = {FollowupStore(red, CONFIG).of_user(s)[0]["id"] for s in racing}
    assert mine <= set(reports[0].queued) | set(reports[1].queued)
    assert not mine & set(reports[0].queued) & set(reports[1].queued)
    # two runners (two consoles, or a console and `bot run`): only the leader runs the job
    led = [new_sender("fu-two") for _ in range(3)]
    for s in led:
        _earbud_followup(red, s, start)
    key = f"canyu:test:leader:{uuid.uuid4().hex}"
    runners = [JobRunner(red, [followup_job(red, CONFIG, texts=TEXTS, clock=lambda: later, every=0)], owner=f"fu-{i}", key=key)
               for i in range(2)]

    async def both() -> List[List[str]]:
        return list(await asyncio.gather(*(r.tick() for r in runners)))

    assert sorted(len(r) for r in run(both())) == [0, 1]
    assert sorted(len(r) for r in run(both())) == [0, 1]
    for s in led:
        assert len(_outbox(red, s)) == 1, s


def test_a_user_with_a_person_when_it_is_due_is_asked_an_hour_later(red: Any, run: Callable[..., Any]) -> None:
    sender, start = new_sender("fu-busy"), time.time()
    record = _earbud_followup(red, sender, start)
    red.hset(f"canyu:handoff:{sender}", mapping={"state": "agent", "agent": "lin"})
    due = start + 2 * DAY + 1
    assert record["id"] in run(send_due(red, now=due, config=CONFIG, texts=TEXTS)).postponed
    assert _outbox(red, sender) == []
    red.delete(f"canyu:handoff:{sender}")
    assert record["id"] not in run(send_due(red, now=due + 60, config=CONFIG, texts=TEXTS)).queued  # not before the hour is up
    assert record["id"] in run(send_due(red, now=due + 3601, config=CONFIG, texts=TEXTS)).queued
    assert len(_outbox(red, sender)) == 1


# ------------------------------------------------------------------ WeChat's 48-hour window
@pytest.fixture(scope="module")
def wx() -> Iterator[FakeWeChat]:
    fake = FakeWeChat()
    fake.start()
    yield fake
    fake.stop()


def test_a_closed_wechat_window_queues_the_checkin_until_the_user_writes(red: Any, run: Callable[..., Any],
                                                                          wx: FakeWeChat) -> None:
    sender = WeChatSender(WeChatApi(wx.app_id, wx.secret, red, wx.url + "/cgi-bin/", backoff=0.01), red)
    senders = SenderRegistry()
    senders.register("wechat", sender)
    out = Outbound(red, senders)  # the process with the WeChat sender (the Rasa server's channel)
    try:
        openid = "oFollow" + uuid.uuid4().hex[:10]
        sid, start = f"wechat:{openid}", time.time()
        out.record_inbound(sid, "wechat", now=start - 49 * 3600)  # last wrote 49 h ago
        record = _earbud_followup(red, sid, start - 2 * DAY - 10)
        report = run(send_due(red, now=start, config=CONFIG, texts=TEXTS))
        assert report.queued == [record["id"]] and wx.texts(openid) == []
        assert "左耳好了吗" in red.lindex(f"canyu:pending:{sid}", 0)
        assert FollowupStore(red, CONFIG).get(sid, record["id"])["outcome"] == "queued"
        out.record_inbound(sid, "wechat")  # the user writes again
        run(out.deliver_pending(sid))
        texts = wx.texts(openid)
        assert len(texts) == 1 and texts[0].startswith("左耳好了吗？") and "还没好" in texts[0], texts
        assert run(send_due(red, now=start + DAY, config=CONFIG, texts=TEXTS)).queued == []  # never again
    finally:
        senders.register("wechat", None)


# ------------------------------------------------------------------ repairs, settings, privacy
def test_a_repair_booking_schedules_one_checkin_a_week_later(red: Any, run: Callable[..., Any]) -> None:
    sender, start = new_sender("fu-rep"), time.time()
    repair = SimpleNamespace(number="R" + uuid.uuid4().hex[:10], device="buds_5", fault="右耳充不进电", window="")
    after_repair(red, sender, repair, "zh", now=start, config=CONFIG)
    after_repair(red, sender, repair, "zh", now=start, config=CONFIG)  # the same booking again: one follow-up
    [record] = FollowupStore(red, CONFIG).of_user(sender)
    assert record["due_at"] == pytest.approx(start + 7 * DAY) and record["ref"] == repair.number
    run(send_due(red, now=start + 6 * DAY, config=CONFIG, texts=TEXTS))
    assert _outbox(red, sender) == []
    run(send_due(red, now=start + 7 * DAY + 1, config=CONFIG, texts=TEXTS))
    text = _outbox(red, sender)[0]["text"]
    assert text.startswith("右耳好了吗？") and repair.number in text, text


def test_bad_settings_name_the_file_and_key(tmp_path: Any) -> None:
    from bot.errors import ConfigError

    path = tmp_path / "followups.yml"
    path.write_text("delays_days: {handoff: soon}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="handoff='soon' is not a number"):
        load_config(str(path))
    path.write_text("delays_days: {handoff: 0.5}\ncallback: {days: 2, hour: 10}\n", encoding="utf-8")
    config = load_config(str(path))
    assert config.delay_seconds("handoff") == 0.5 * DAY and config.delay_seconds("repair") == 7 * DAY
    assert config.local(config.callback_due(time.time())).hour == 10


def test_the_promised_time_is_tomorrow_18h_beijing_time_in_the_users_words() -> None:
    from datetime import datetime, timezone

    config = CONFIG
    for utc_hour in (3, 17):  # 11:00 Beijing, and 01:00 of the next Beijing day
        now = datetime(2026, 11, 30, utc_hour, tzinfo=timezone.utc).timestamp()
        due = config.callback_due(now)
        assert config.local(due).hour == 18 and (config.local(due).date() - config.local(now).date()).days == 1
        assert due_text(config, due, now, "zh") == "明天 18 点"
        assert due_text(config, due, now, "en") == "6 pm tomorrow (Beijing time)"
    assert due_text(config, due + 2 * DAY, now, "zh") == "12月4日 18 点"


def test_privacy_export_and_erase_cover_followups_and_callbacks(red: Any) -> None:
    sender, now = new_sender("fu-priv"), time.time()
    _earbud_followup(red, sender, now)
    CallbackStore(red, CONFIG).open(sender, 1, agent="lin", language="zh", now=now)
    families = set(find_all(red, resolve_person(red, sender)))
    assert {"followups", "followups_due", "callbacks", "callbacks_open"} <= families, families
    fid = FollowupStore(red, CONFIG).of_user(sender)[0]["id"]
    report = erase_user(red, sender)
    assert not red.exists(f"canyu:followup:{sender}") and not red.exists(f"canyu:callback:{sender}")
    assert red.zscore(DUE_KEY, f"{fid}|{sender}") is None and red.zscore(OPEN_KEY, sender) is None
    assert not [place for place in report.left if "followup" in place or "callback" in place], report.left


# ------------------------------------------------------------------ end to end on the real stack
def _console(assistant: Assistant, name: str) -> "tuple[requests.Session, Dict[str, str]]":
    s = requests.Session()
    url = assistant.console_url
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(url + "/login").text).group(1)  # type: ignore
    s.post(url + "/login", data={"username": name, "password": PW, "csrf_token": token})
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', s.get(url + "/").text).group(1)  # type: ignore
    return s, {"X-CSRF-Token": csrf}


@pytest.fixture(scope="module")
def consoles(assistant: Assistant) -> Dict[str, Any]:
    add_user(AGENT, "agent", PW, redis=assistant.redis)
    add_user(LEAD, "lead", PW, redis=assistant.redis)  # an agent who also closes call-backs
    add_user(OPS, "admin", PW, redis=assistant.redis)  # the analytics page is for trainers and admins
    return {"agent": _console(assistant, AGENT), "lead": _console(assistant, LEAD), "ops": _console(assistant, OPS)}


def _handoff_and_resolve(assistant: Assistant, consoles: Dict[str, Any], user: str) -> None:
    assistant.say(user, "我的左耳耳机没声音了")
    assistant.say(user, "转人工")
    assert HandoffStore(assistant.redis).get(user) is not None
    s, h = consoles["agent"]
    base = f"{assistant.console_url}/api/conversations/{user}"
    assert s.post(base + "/claim", json={}, headers=h).status_code == 200
    assert s.post(base + "/resolve", json={}, headers=h).status_code == 200
    assert HandoffStore(assistant.redis).get(user) is None


def test_no_after_a_handoff_goes_back_to_a_person_with_the_history(assistant: Assistant, consoles: Dict[str, Any],
                                                                     run: Callable[..., Any]) -> None:
    red, user = assistant.redis, new_sender("fu-no")
    _handoff_and_resolve(assistant, consoles, user)
    [record] = FollowupStore(red, CONFIG).of_user(user)
    assert record["subject"]["zh"] == "左耳" and record["history"]["handoff"]["agent"] == AGENT
    report = run(send_due(red, now=record["due_at"] + 1, rasa=RasaClient(assistant.url, assistant.token), config=CONFIG, texts=TEXTS))
    assert record["id"] in report.queued  # REST: in the user's outbox
    checkin = [m for m in _outbox(red, user) if (m.get("text") or "").startswith("左耳")]
    assert len(checkin) == 1 and checkin[0]["text"].startswith("左耳好了吗？"), checkin
    no = checkin[0]["buttons"][1]["payload"]
    texts = [m.get("text") or "" for m in assistant.say(user, no)]
    assert any("我这就请同事接手" in t for t in texts), texts
    again = HandoffStore(red).get(user)
    assert again is not None and again.state == "queued" and again.rule == "followup"
    assert record["id"] in again.cue and AGENT in again.cue
    entry = [e for e in HandoffStore(red).history(user) if e["what"] == "followup_no"][-1]
    assert entry["history"]["handoff"]["agent"] == AGENT and entry["followup"] == record["id"]
    events = assistant.tracker(user)["events"]
    assert any(e.get("event") == "bot" and (e.get("text") or "").startswith("左耳好了吗") for e in events)
    assert FollowupStore(red, CONFIG).get(user, record["id"])["answer"] == "no"
    s, _ = consoles["agent"]  # the agent who picks it up sees the follow-up and the original handoff
    context = s.get(f"{assistant.console_url}/api/conversations/{user}/context").json()
    seen = [e for e in context["history"] if e["what"] == "followup_no"]
    assert seen and seen[-1]["history"]["handoff"]["agent"] == AGENT and context["record"]["rule"] == "followup"


def test_yes_closes_warmly_and_counts_once(assistant: Assistant, run: Callable[..., Any]) -> None:
    red, user, start = assistant.redis, new_sender("fu-yes"), time.time()
    repair = SimpleNamespace(number="R" + uuid.uuid4().hex[:10], device="band_9", fault="the screen flickers",
                             window="")
    after_repair(red, user, repair, "en", now=start, config=CONFIG)
    before = followup_figures(red, start - 1, start + 30 * DAY)["followups"]
    run(send_due(red, now=start + 7 * DAY + 1, config=CONFIG, texts=TEXTS))
    [checkin] = [m for m in _outbox(red, user) if m.get("buttons")]
    assert checkin["text"].startswith("Is the screen OK now?"), checkin
    yes = checkin["buttons"][0]["payload"]
    texts = [m.get("text") or "" for m in assistant.say(user, yes)]
    assert any(t.startswith("Great to hear!") for t in texts), texts
    assert HandoffStore(red).get(user) is None
    texts = [m.get("text") or "" for m in assistant.say(user, yes)]  # a second tap
    assert any("already noted" in t for t in texts), texts
    after = followup_figures(red, start - 1, start + 30 * DAY)["followups"]
    assert after["yes"] - before["yes"] == 1 and after["queued"] - before["queued"] == 1


def test_a_low_rating_opens_a_callback_the_console_lists_and_a_lead_closes(assistant: Assistant,
                                                                           consoles: Dict[str, Any]) -> None:
    red, user = assistant.redis, new_sender("fu-cb")
    _handoff_and_resolve(assistant, consoles, user)
    texts = [m.get("text") or "" for m in assistant.say(user, "1")]
    assert any("我们的组长会在明天 18 点前联系你" in t for t in texts), texts
    callback = CallbackStore(red, CONFIG).get(user)
    assert callback is not None and callback["state"] == "open" and callback["rating"] == 1
    assert callback["summary"]["resolved_by"] == AGENT
    assert CONFIG.local(callback["due_at"]).hour == 18
    s, h = consoles["agent"]
    page = s.get(assistant.console_url + "/callbacks").text
    assert user in page and "1 ★" in page and "a lead closes it" in page
    [row] = [r for r in s.get(assistant.console_url + "/api/callbacks").json()["open"] if r["sender_id"] == user]
    assert row["reason"] and row["handled_by"] == AGENT and not row["overdue"]
    assert s.post(assistant.console_url + "/api/callbacks/done", json={"sender_id": user}, headers=h).status_code == 403
    lead, lh = consoles["lead"]
    done = lead.post(assistant.console_url + "/api/callbacks/done", json={"sender_id": user, "note": "called"},
                     headers=lh)
    assert done.status_code == 200 and done.json()["callback"]["done_by"] == LEAD
    assert user not in s.get(assistant.console_url + "/callbacks").text
    assert lead.post(assistant.console_url + "/api/callbacks/done", json={"sender_id": user},
                     headers=lh).status_code == 404
    now = time.time()
    report = compute_report(now - DAY, now + 60, red)
    assert report["callbacks"]["opened"] >= 1 and report["callbacks"]["done"] >= 1
    assert "call-backs" in report_text(report) and "follow-ups sent" in report_text(report)
    ops, _ = consoles["ops"]
    analytics = ops.get(assistant.console_url + "/analytics").text
    assert 'id="followups-answered"' in analytics and 'id="callbacks"' in analytics


def test_an_overdue_callback_is_counted(red: Any) -> None:
    sender, now = new_sender("fu-late"), time.time()
    store = CallbackStore(red, CONFIG)
    store.open(sender, 2, agent="lin", now=now - 3 * DAY)
    assert store.overdue(now) >= 1
    assert [c for c in store.open_list(now) if c["sender_id"] == sender][0]["overdue"]
    store.done(sender, LEAD, now=now)
    figures = followup_figures(red, now - 4 * DAY, now + 1, now=now)["callbacks"]
    assert figures["done_late"] >= 1


def test_typed_answers_to_a_checkin(assistant: Assistant, run: Callable[..., Any]) -> None:
    red, start = assistant.redis, time.time()
    parsed = [requests.post(f"{assistant.url}/model/parse", params={"token": assistant.token}, json={"text": t},
                            timeout=60).json()["intent"]["name"] for t in ("还是没修好", "it's fixed, thanks for checking")]
    assert parsed == ["followup_answer", "followup_answer"], parsed
    broken = new_sender("fu-typed")
    repair = SimpleNamespace(number="R" + uuid.uuid4().hex[:10], device="phone_14", fault="屏幕闪", window="")
    after_repair(red, broken, repair, "zh", now=start, config=CONFIG)
    run(send_due(red, now=start + 7 * DAY + 1, config=CONFIG, texts=TEXTS))
    texts = [m.get("text") or "" for m in assistant.say(broken, "还是没修好")]
    assert any("我这就请同事接手" in t for t in texts), texts
    again = HandoffStore(red).get(broken)
    assert again is not None and again.rule == "followup" and repair.number in again.cue
    nothing = new_sender("fu-none")  # no check-in was ever sent to this user
    texts = [m.get("text") or "" for m in assistant.say(nothing, "still broken after the repair")]
    assert texts == ["I don't have a check-in open for you. What's not working? Tell me and I'll help."], texts


# ------------------------------------------------------------------ returns: the shop is the witness
def test_a_return_the_shop_records_gets_its_checkin_once(red: Any, run: Callable[..., Any], tmp_path: Any) -> None:
    """The shop marks an order returned; the leader's job sees it and schedules one check-in for the owner, which
    goes out after the return delay (followups.yml: 3 days). Returns from before the first run get none."""
    from datetime import datetime, timedelta

    from bot.followups import RETURNS_SEEN, returns_job, schedule_returns
    from bot.orders import Order
    from bot.orders.sqlite import SqliteOrderBackend

    red.delete(RETURNS_SEEN)
    backend = SqliteOrderBackend(tmp_path / "orders.db", seed=False)
    owner, old_owner = new_sender("fu-return"), new_sender("fu-old-return")
    long_ago = datetime.now() - timedelta(days=30)
    backend.put(Order("M2026113001", "Millet Buds 5", "delivered", "SF Express", "SF1", None, long_ago, owner=owner),
                Order("M2026113002", "Millet Band 9", "returned", "SF Express", "SF2", None, long_ago, owner=old_owner))
    start = time.time()
    clock = [start]
    runner = JobRunner(red, [returns_job(red, backend, CONFIG, clock=lambda: clock[0], every=0),
                             followup_job(red, CONFIG, texts=TEXTS, clock=lambda: clock[0], every=0)],
                       owner="fu-returns", key=f"canyu:test:leader:{uuid.uuid4().hex}")
    run(runner.tick())  # the first run starts watching: the month-old return gets nothing
    time.sleep(1.1)  # the shop's clock moves on (times are kept to the second)
    backend.set_status("M2026113001", "returned")
    run(runner.tick())
    assert schedule_returns(red, backend, now=clock[0], config=CONFIG) == 0  # seen already: not scheduled twice
    clock[0] = start + 3 * DAY + 1
    run(runner.tick())
    got = _outbox(red, owner)
    assert len(got) == 1 and "M2026113001" in got[0]["text"] and "refund" in got[0]["text"], got
    assert "Buds" in got[0]["text"] or "earbud" in got[0]["text"].lower(), got  # about their thing
    assert [b["title"] for b in got[0].get("buttons", [])], got
    assert _outbox(red, old_owner) == []


def test_a_lead_is_an_agent_who_also_closes_callbacks() -> None:
    from bot.console.users import ROLES, User

    lead, agent = User("li", "lead"), User("lin", "agent")
    assert "lead" in ROLES and lead.has_role("agent") and lead.has_role("lead")
    assert not agent.has_role("lead") and not lead.has_role("trainer") and User("ops", "admin").has_role("lead")
