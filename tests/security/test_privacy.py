"""The rights of access and erasure on the real assistant: `bot privacy export` shows one person's data
from every store, `bot privacy erase` leaves nothing of it, and a scan of all of Redis (every key name,
string, hash field and value, list item, set and sorted-set member, stream entry) proves it.

A REST user talks to the assistant (a unique marker word, a complaint, a handoff) and has agent notes, a
perk, a rating, a fan tier, a co-authored feedback voice and an outbox message; a second person has linked
Telegram and WeChat identities (a tier, an early-access code, a feedback item of their own, a voice on a
shared item, a WeChat message waiting) and is erased through one identity. A bystander's data survives.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from tests.harness import Assistant, new_sender

REPO = Path(__file__).resolve().parents[2]


def bot_cli(assistant: Assistant, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, REDIS_URL=assistant.redis_url, PYTHONPATH=str(REPO), RASA_TELEMETRY_ENABLED="false")
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=str(REPO), env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def rest_user(prefix: str) -> str:
    """A fresh REST sender id as Rasa knows it (the REST channel keeps ids already under `rest:`)."""
    sender = new_sender(prefix)
    return sender if sender.startswith("rest:") else f"rest:{sender}"


def everything(red: Any) -> Iterator[Tuple[str, str]]:
    """(key, text) for every key name and every piece of every value in Redis."""
    for key in red.scan_iter(count=1000):
        yield key, key
        kind = red.type(key)
        if kind == "string":
            yield key, red.get(key) or ""
        elif kind == "hash":
            for field, value in red.hgetall(key).items():
                yield key, field
                yield key, value
        elif kind == "list":
            for item in red.lrange(key, 0, -1):
                yield key, item
        elif kind == "set":
            for member in red.smembers(key):
                yield key, member
        elif kind == "zset":
            for member in red.zrange(key, 0, -1):
                yield key, member
        elif kind == "stream":
            for _entry_id, fields in red.xrange(key):
                for field, value in fields.items():
                    yield key, field
                    yield key, value


def found(red: Any, needles: List[str]) -> List[str]:
    hits = []
    for key, text in everything(red):
        for needle in needles:
            if needle in text or needle in json.dumps(text):
                hits.append(f"{needle!r} in {key}: {text[:160]!r}")
    return hits


@pytest.fixture(scope="module")
def person(assistant: Assistant) -> Dict[str, Any]:
    """A REST user with data in every store, a person with two linked platform identities, and a bystander."""
    from bot.analytics._records import record_rating
    from bot.fans import (
        add_codes,
        create_link_code,
        grant_code,
        grant_tier,
        load_rules,
        redeem_link_code,
        rules_path,
        sync_activity,
    )
    from bot.feedback import FeedbackStore
    from bot.handoff.perks import PerkStore
    from bot.handoff.store import HandoffStore
    from bot.outbound import Outbound
    from bot.trainer.inbox import Inbox

    red = assistant.redis
    tag = secrets.token_hex(5)
    marker, words, alone = f"zorblax{tag}", f"quuxword{tag}", f"solofeed{tag}"
    user = rest_user("privacy")
    telegram = f"telegram:{secrets.randbelow(10 ** 11) + 9 * 10 ** 11}"
    wechat = f"wechat:oPriv{secrets.token_hex(8)}"
    bystander = rest_user("bystander")

    # the REST user: a conversation, a complaint, a handoff, notes, a perk, a rating, a fan profile, an outbox
    assert assistant.say(user, "hi")
    assistant.say(user, f"what colours does the {marker} come in")
    assistant.say(bystander, "hi")
    assistant.say(user, f"Honestly disappointed: my Millet Phone 14 Pro battery drains really fast {marker}")
    assert assistant.tracker(user)["sender_id"] == user
    replies = assistant.say(user, "转人工")
    assert red.hget(f"canyu:handoff:{user}", "state") == "queued", replies
    assistant.say(user, f"still waiting, {marker} here")
    HandoffStore(red).add_note(user, "lin", f"calls back about {marker}, prefers mornings")
    PerkStore(red).add_codes("sorry", [f"PERK{tag}"])
    PerkStore(red).grant("sorry", user, "lin")
    record_rating(user, "down", red=red, comment=f"{marker} not helpful")
    grant_tier(user, load_rules(rules_path(assistant.ctx.settings)).tiers[0].id, by="test", red=red,
               rules=load_rules(rules_path(assistant.ctx.settings)))
    asyncio.run(Outbound(red).send_to_user(user, [f"Agent Lin: we will call about {marker}"]))

    # a person on Telegram and WeChat, linked: a tier, an early-access code, feedback, a pending message
    code = create_link_code(telegram, red)
    redeem_link_code(wechat, code, red)
    grant_tier(wechat, load_rules(rules_path(assistant.ctx.settings)).tiers[0].id, by="test", red=red,
               rules=load_rules(rules_path(assistant.ctx.settings)))
    add_codes(f"launch-{tag}", count=2, red=red)
    grant_code(telegram, f"launch-{tag}", red=red, check_tier=False)
    store = FeedbackStore(red, use_vectors=False)
    shared = store.create(f"the band 9 strap breaks {tag}", sender_id=bystander, kind="complaint")
    store.add_voice(shared.id, wechat, f"band strap snapped {words}", how="matched")
    store.add_voice(shared.id, user, f"my strap broke too {marker}", how="matched")
    solo = store.create(f"please add a dark mode to the {alone} app", sender_id=telegram, kind="suggestion")
    asyncio.run(Outbound(red).send_to_user(wechat, [f"the {alone} item is planned"]))
    assert red.llen(f"canyu:pending:{wechat}") == 1

    Inbox(red).sync()
    sync_activity(red)
    return {"red": red, "user": user, "telegram": telegram, "wechat": wechat, "bystander": bystander,
            "marker": marker, "words": words, "alone": alone, "shared": shared.id, "solo": solo.id,
            "needles": [user.rsplit("-", 1)[-1], telegram.split(":")[1], wechat.split(":")[1], marker, words, alone]}


def export(assistant: Assistant, user: str) -> Dict[str, Any]:
    run = bot_cli(assistant, "privacy", "export", user)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_export_shows_every_store(assistant: Assistant, person: Dict[str, Any]) -> None:
    data = export(assistant, person["user"])
    stores = data["stores"]
    for name in ("trackers", "events", "handoff_record", "handoff_waiting", "handoff_log", "handoff_notes",
                 "perk_grants", "perk_codes", "answer_ratings", "outbox", "fans_profile", "feedback", "user_routes",
                 "review_convo"):
        assert name in stores, (name, sorted(stores))
    text = lambda name: json.dumps(stores[name], ensure_ascii=False)  # noqa: E731
    for name in ("trackers", "events", "handoff_notes", "outbox", "answer_ratings", "feedback"):
        assert person["marker"] in text(name), name
    assert "battery drains really fast" in text("feedback")  # the complaint filed through the assistant
    assert person["bystander"] not in json.dumps(data)  # nobody else's data


def test_export_covers_every_linked_identity(assistant: Assistant, person: Dict[str, Any]) -> None:
    data = export(assistant, person["wechat"])
    assert {person["telegram"], person["wechat"]} <= set(data["sender_ids"]), data["sender_ids"]
    stores = data["stores"]
    for name in ("fans_identity", "fans_identities", "fans_profile", "fcode_grants", "fcodes", "feedback", "pending"):
        assert name in stores, (name, sorted(stores))
    feedback = json.dumps(stores["feedback"], ensure_ascii=False)
    assert person["words"] in feedback and person["alone"] in feedback


def test_erase_asks_first(assistant: Assistant, person: Dict[str, Any]) -> None:
    run = bot_cli(assistant, "privacy", "erase", person["user"], stdin="")
    assert run.returncode == 1 and "--yes" in run.stderr, run.stdout + run.stderr
    assert person["red"].exists(f"canyu:tracker:{person['user']}")


def test_erase_leaves_nothing_of_the_person_anywhere(assistant: Assistant, person: Dict[str, Any]) -> None:
    red = person["red"]
    needles = person["needles"]
    before = found(red, needles)
    for family in ("canyu:tracker:", "canyu:events", "canyu:feedback:", "canyu:fans:", "canyu:handoff",
                   "canyu:outbox:", "canyu:pending:", "canyu:review:"):
        assert any(f" in {family}" in h for h in before), (family, before[:8])

    for who in (person["user"], person["telegram"]):  # the linked person through one of their identities
        run = bot_cli(assistant, "privacy", "erase", who, "--yes")
        assert run.returncode == 0, run.stdout + run.stderr
    assert found(red, needles) == []

    # the bystander and the item they share keep their own data
    assert red.exists(f"canyu:tracker:{person['bystander']}")
    shared = red.hgetall(f"canyu:feedback:voices:{person['shared']}")
    assert list(shared) == [person["bystander"]], shared
    assert red.exists(f"canyu:feedback:item:{person['shared']}")
    assert not red.exists(f"canyu:feedback:item:{person['solo']}")
    assert person["solo"] not in red.zrange("canyu:feedback:items", 0, -1)

    # the user can start again: a new conversation, nothing from before
    assistant.say(person["user"], "hi")
    assert person["marker"] not in json.dumps(assistant.tracker(person["user"]))


# ---------------------------------------------------------------- shared records, on a Redis of our own
@pytest.fixture
def red(redis_server: Any) -> Iterator[Any]:
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()


def test_a_co_authored_item_keeps_the_others_and_loses_the_persons_words(red: Any) -> None:
    from bot.feedback import FeedbackStore
    from bot.privacy import erase_user, resolve_person

    store = FeedbackStore(red, use_vectors=False)
    item = store.create("the camera app zorbtitle freezes at night", sender_id="rest:first", kind="complaint")
    store.add_voice(item.id, "rest:second", "camera freezes in night mode", how="matched")
    store.set_status(item.id, "planned", by="rest:first")
    red.hset(f"canyu:feedback:notified:{item.id}", "rest:first", "1")
    report = erase_user(red, "first")  # a bare REST name covers its rest: form
    assert resolve_person(red, "first").sender_ids == ("first", "rest:first")
    assert report.left == [] and report.redacted == {"feedback": 3}, report
    kept = store.get(item.id)
    assert kept.count == 1 and kept.status == "planned"
    assert kept.title_en == "camera freezes in night mode"
    assert [v.sender_id for v in store.voices(item.id)] == ["rest:second"]
    assert all("zorbtitle" not in x for x in red.lrange(f"canyu:feedback:exemplars:{item.id}", 0, -1))
    assert {h["by"] for h in store.history(item.id)} == {"erased"}
    assert store.notified(item.id) == {}
    assert store.items_of("rest:first") == []


def test_codes_stay_used_without_their_owner(red: Any) -> None:
    from bot.fans import add_codes, grant_code, redeem_code
    from bot.handoff.perks import PerkStore
    from bot.privacy import erase_user

    add_codes("launch", codes=["F-AAAA2222"], red=red)
    grant = grant_code("telegram:7", "launch", red=red, check_tier=False)
    redeem_code(grant.code, "telegram:7", red=red)
    PerkStore(red).add_codes("sorry", ["P1"])
    PerkStore(red).grant("sorry", "telegram:7", "lin")
    erase_user(red, "telegram:7")
    info = red.hgetall(f"canyu:fans:fcode:{grant.code}")
    assert info["granted_to"] == info["granted_sender"] == info["redeemed_by"] == "erased" and info["redeemed_at"]
    record = json.loads(red.lindex("canyu:fans:redemptions", 0))
    assert record["profile"] == record["redeemed_by"] == "erased" and record["code"] == grant.code
    assert red.hget("canyu:perk_code:P1", "sender_id") == "erased" and red.hget("canyu:perk_code:P1", "pool") == "sorry"
    assert not red.exists("canyu:fans:fgrant:launch:telegram:7") and not red.exists("canyu:perk_grants:telegram:7")


def test_messages_on_their_way_and_dead_letters_are_erased(red: Any) -> None:
    from bot.delivery._queue import DeliveryQueue
    from bot.privacy import erase_user
    from bot.privacy.inventory import dump_key

    queue = DeliveryQueue(red, "wechat")
    waiting = queue.create("wechat:oGone", [{"text": "zorbparcel is on its way"}], processing=False)
    dead = queue.create("wechat:oGone", [{"text": "zorbparcel refund"}])
    queue.bury(dead, "errcode 43004")
    kept = queue.create("wechat:oStays", [{"text": "hello"}], processing=False)
    report = erase_user(red, "wechat:oGone")
    assert report.left == [], report
    assert [i.sender for i in queue.of_user("wechat:oGone")] == []
    assert [i.id for i in queue.of_user("wechat:oStays")] == [kept.id]
    everything = " ".join(k + json.dumps(dump_key(red, k), ensure_ascii=False) for k in red.scan_iter("*"))
    assert "oGone" not in everything and "zorbparcel" not in everything and waiting.id not in everything


def test_participation_media_and_goodwill_records_are_erased(red: Any) -> None:
    """The stores added with issue 18 (news opt-outs, the digest, beta sign-ups, what the person was told, their
    pictures, goodwill credit and priority) are in the inventory: erase leaves nothing of the person, and a
    bystander's records stay."""
    from bot.feedback._subscriptions import beta_signup, offer_digest_once, subscribe_digest, unsubscribe
    from bot.handoff.discretion import DiscretionLog, discretion_path, load_discretion
    from bot.media import MediaStore
    from bot.privacy import erase_user
    from bot.privacy.inventory import dump_key
    from tests.fakes.media import png

    gone, stays = "telegram:9191", "telegram:8282"
    for sender in (gone, stays):
        unsubscribe(red, sender, "FB7")
        offer_digest_once(red, sender)
        subscribe_digest(red, sender, "en")
        beta_signup(red, "FB7", sender)
        red.hset("canyu:feedback:told:planned:FB7", sender, "1800000000")
        red.hset("canyu:feedback:digest:sent:2026-W49", sender, "1800000000")
        MediaStore(red).save(png(), sender, "telegram")
        DiscretionLog(red).grant(load_discretion(discretion_path({})), role="admin", agent="li", sender_id=sender, kind="credit",
                                 amount=20)
        DiscretionLog(red).grant(load_discretion(discretion_path({})), role="admin", agent="li", sender_id=sender, kind="priority_repair")
    report = erase_user(red, gone)
    assert report.left == [], report
    everything = " ".join(k + json.dumps(dump_key(red, k), ensure_ascii=False) for k in red.scan_iter("*"))
    assert "9191" not in everything
    assert everything.count("8282") >= 9, everything  # the bystander's records are all still there
