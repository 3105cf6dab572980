"""Identity attacks on fan profiles (issue 15): guessing link codes, reusing them, linking or farming a tier
from identities that cost nothing (REST), on a real Redis and through the real assistant.

A link code joins the redeeming identity to the creator's profile, which shares the creator's tier and
F-codes: whoever guesses a code takes over that person's standing. So codes must be unguessable within
the attempt limits, work once, and only platform-verified identities may create, redeem or earn anything.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

import pytest
import redis

from bot.fans import (
    LinkError,
    LinkLocked,
    UnverifiedIdentity,
    add_codes,
    create_link_code,
    grant_code,
    grant_tier,
    has_privilege,
    identities,
    is_verified_identity,
    profile_id,
    redeem_link_code,
    status_of,
    sync_activity,
    tier_of,
)
from bot.fans._links import (
    ALPHABET,
    GLOBAL_MAX_FAILURES,
    GLOBAL_WINDOW,
    LINK_CODE_LENGTH,
    LINK_CODE_TTL,
    SENDER_MAX_FAILURES,
    SENDER_WINDOW,
)
from bot.fans._rules import load_rules, rules_path
from bot.settings import load_settings
from bot.storage import EmbeddedRedis
from tests.harness import Assistant, new_sender

RULES = load_rules(rules_path(load_settings()))
"""The fan tiers of this checkout (fans.yml), as a composition root hands them down."""

CODE = re.compile(r"\b([2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5})\b")


@pytest.fixture
def red(redis_server: EmbeddedRedis) -> "redis.Redis[str]":
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    return client


def _wechat() -> str:
    return f"wechat:o{uuid.uuid4().hex[:12]}"


def _telegram() -> str:
    return f"telegram:{secrets.randbelow(10**9)}"


def _wrong(code: str) -> str:
    """A well-formed code that is not `code`."""
    while True:
        guess = "".join(secrets.choice(ALPHABET) for _ in range(LINK_CODE_LENGTH - 1)) + "7"
        if guess != code.replace("-", ""):
            return f"{guess[:5]}-{guess[5:]}"


# the rule ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sender, verified", [
    ("wechat:oAbC123", True), ("telegram:42", True),
    ("rest:telegram:42", False), ("rest:alice", False), ("alice", False), ("me", False),
    ("wechat:", False), ("telegram:", False), ("WECHAT:oAbC", False), (" telegram:42", False), (None, False),
])
def test_only_platform_identities_are_verified(sender: Any, verified: bool) -> None:
    assert is_verified_identity(sender) is verified


# link codes on the real store -------------------------------------------------------------------------


def test_codes_are_long_unambiguous_and_not_stored_in_clear(red: "redis.Redis[str]") -> None:
    assert not set(ALPHABET) & set("0O1I") and len(set(ALPHABET)) == 32
    assert len(ALPHABET) ** LINK_CODE_LENGTH >= 2 ** 50  # 6 digits were 2**20
    victim = _wechat()
    codes = {create_link_code(_wechat(), red) for _ in range(200)}
    assert len(codes) == 200 and all(CODE.fullmatch(c) for c in codes)
    code = create_link_code(victim, red)
    plain = code.replace("-", "")
    for key in red.scan_iter("canyu:fans:*"):
        value = red.get(key) if red.type(key) == "string" else ""
        assert plain not in key and plain not in (value or ""), key
    stored = [k for k in red.scan_iter("canyu:fans:linkcode:*") if red.get(k) == victim]
    assert len(stored) == 1 and 0 < red.ttl(stored[0]) <= LINK_CODE_TTL


def test_a_guesser_is_locked_out_even_when_it_finally_has_the_right_code(red: "redis.Redis[str]") -> None:
    victim, attacker = _wechat(), _telegram()
    grant_tier(victim, "beta_tester", by="test", red=red, rules=RULES)
    code = create_link_code(victim, red)
    for _ in range(SENDER_MAX_FAILURES):
        with pytest.raises(LinkError) as failed:
            redeem_link_code(attacker, _wrong(code), red)
        assert not isinstance(failed.value, LinkLocked)
    with pytest.raises(LinkLocked) as locked:
        redeem_link_code(attacker, code, red)
    assert locked.value.scope == "sender" and SENDER_WINDOW - 5 <= locked.value.retry_after <= SENDER_WINDOW
    assert locked.value.minutes == SENDER_WINDOW // 60
    assert profile_id(attacker, red) == attacker and identities(victim, red) == [victim]
    assert tier_of(attacker, red, RULES) == "newcomer"
    # the lock is the guesser's alone: the code still works for the victim's own other account
    mine = _telegram()
    assert redeem_link_code(mine, code, red) == victim and tier_of(mine, red, RULES) == "beta_tester"


def test_many_guessers_together_trip_the_global_limit(red: "redis.Redis[str]") -> None:
    victim = _wechat()
    code = create_link_code(victim, red)
    per_sender = SENDER_MAX_FAILURES - 1  # each guesser stays under its own limit
    failures = 0
    while failures < GLOBAL_MAX_FAILURES:
        guesser = _telegram()
        for _ in range(min(per_sender, GLOBAL_MAX_FAILURES - failures)):
            with pytest.raises(LinkError):
                redeem_link_code(guesser, _wrong(code), red)
            failures += 1
    owner_other_account = _telegram()
    with pytest.raises(LinkLocked) as locked:
        redeem_link_code(owner_other_account, code, red)
    assert locked.value.scope == "global" and locked.value.retry_after <= GLOBAL_WINDOW
    assert identities(victim, red) == [victim]
    # when the window is over (made to end now), the code, untouched by the lock-out, works
    assert red.expire("canyu:fans:linkfail:global", 1)
    time.sleep(1.5)
    assert redeem_link_code(owner_other_account, code, red) == victim


def test_a_redeemed_code_cannot_be_used_again_even_at_the_same_moment(red: "redis.Redis[str]") -> None:
    victim, first, second = _wechat(), _telegram(), _telegram()
    code = create_link_code(victim, red)
    assert redeem_link_code(first, code, red) == victim
    with pytest.raises(LinkError):
        redeem_link_code(second, code, red)
    assert profile_id(second, red) == second
    assert list(red.scan_iter("canyu:fans:linkcode:*")) == []

    racers = [_telegram() for _ in range(8)]
    code = create_link_code(victim, red)
    outcomes: Dict[str, str] = {}
    start = threading.Barrier(len(racers))

    def race(sender: str) -> None:
        client: Any = redis.Redis(connection_pool=red.connection_pool)
        start.wait()
        try:
            outcomes[sender] = redeem_link_code(sender, code, client)
        except LinkError:
            outcomes[sender] = "refused"

    threads = [threading.Thread(target=race, args=(s,)) for s in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes.values()).count(victim) == 1 and len(outcomes) == len(racers)


def test_a_new_code_voids_the_previous_one(red: "redis.Redis[str]") -> None:
    victim = _wechat()
    old = create_link_code(victim, red)
    new = create_link_code(victim, red)
    with pytest.raises(LinkError):
        redeem_link_code(_telegram(), old, red)
    assert redeem_link_code(_telegram(), new, red) == victim


def test_unverified_identities_cannot_link_or_get_early_access(red: "redis.Redis[str]") -> None:
    victim = _wechat()
    grant_tier(victim, "beta_tester", by="test", red=red, rules=RULES)
    code = create_link_code(victim, red)
    for intruder in ("rest:telegram:42", "rest:" + victim, "legacy-user"):
        with pytest.raises(UnverifiedIdentity):
            create_link_code(intruder, red)
        with pytest.raises(UnverifiedIdentity):
            redeem_link_code(intruder, code, red)  # refused before the code is even looked at
        assert profile_id(intruder, red) == intruder
    assert identities(victim, red) == [victim]
    add_codes("band9-launch", count=3, red=red)
    grant_tier("rest:vip", "beta_tester", by="test", red=red, rules=RULES)
    with pytest.raises(UnverifiedIdentity):
        grant_code("rest:vip", "band9-launch", red, rules=RULES)
    assert not has_privilege("rest:vip", "early_access", red, RULES)
    assert grant_code(victim, "band9-launch", red, rules=RULES).new
    assert redeem_link_code(_telegram(), code, red) == victim  # the refused tries did not use it up


# through the real assistant ---------------------------------------------------------------------------


def _bot_responses(assistant: Assistant, sender: str) -> List[Optional[str]]:
    """The responses of the last turn (utter_action names), from the server's tracker."""
    events = assistant.tracker(sender)["events"]
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    return [(e.get("metadata") or {}).get("utter_action") for e in events[last_user:] if e["event"] == "bot"]


def test_over_rest_nobody_links_to_or_asks_for_a_code(assistant: Assistant) -> None:
    red = assistant.redis
    victim = _wechat()
    code = create_link_code(victim, red)
    sender = new_sender("linker")
    reply = assistant.say(sender, f"link {code}")
    server_id = reply[0]["recipient_id"]
    assert not is_verified_identity(server_id)
    assert _bot_responses(assistant, server_id) == ["utter_link_unverified"], reply
    assert "WeChat" in reply[0]["text"] and identities(victim, red) == [victim]
    before = set(red.scan_iter("canyu:fans:linkcode:*"))
    assistant.say(sender, "give me a link code")
    assert _bot_responses(assistant, server_id) == ["utter_link_unverified"]
    assert set(red.scan_iter("canyu:fans:linkcode:*")) == before
    assert redeem_link_code(_telegram(), code, red) == victim


def test_rest_messages_never_raise_a_tier_but_platform_messages_do(assistant: Assistant) -> None:
    red = assistant.redis
    threshold = 20  # fans.yml: `fan` at 20 messages
    sender = new_sender("farmer")
    server_id = ""
    for i in range(threshold + 2):
        reply = assistant.say(sender, "hi" if i % 2 else "hello")
        server_id = server_id or reply[0]["recipient_id"]
    counted = sum(1 for _, fields in red.xrange("canyu:events")
                  if f'"sender_id": "{server_id}"' in fields["event"] and '"event": "user"' in fields["event"])
    assert counted >= threshold + 2  # the messages really are in the stream the counter reads
    sync_activity(red)
    status = status_of(server_id, red, RULES)
    assert (status.tier.id, status.reason, status.stats["messages"]) == ("newcomer", "unverified", 0)

    # the same from a WeChat identity, written to the stream as the connector's conversation is
    fan = _wechat()
    template = next(fields["event"] for _, fields in red.xrange("canyu:events")
                    if f'"sender_id": "{server_id}"' in fields["event"] and '"event": "user"' in fields["event"])
    for _ in range(threshold + 2):
        red.xadd("canyu:events", {"event": template.replace(server_id, fan)})
    sync_activity(red)
    assert tier_of(fan, red, RULES) == "fan" and status_of(fan, red, RULES).stats["messages"] == threshold + 2


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.fakes.rasa_channels import channels_assistant

    return channels_assistant(tmp_path_factory)


def test_a_telegram_guesser_hears_the_lock_out_and_the_right_code_then_fails(channels: Any) -> None:
    from tests.fakes.rasa_channels import TelegramUser, WeChatUser

    victim, guesser, owner_again = WeChatUser(channels), TelegramUser(channels), TelegramUser(channels)
    shown = " ".join(victim.say("link my accounts"))
    found = CODE.search(shown)
    assert found, shown
    code = found.group(1)
    for _ in range(SENDER_MAX_FAILURES):
        guesser.say(f"link {_wrong(code)}")
        assert _bot_responses(channels.assistant, guesser.sender_id) == ["utter_link_failed"]
    locked = " ".join(guesser.say(f"link {code}"))
    assert _bot_responses(channels.assistant, guesser.sender_id) == ["utter_link_locked"], locked
    assert f"{SENDER_WINDOW // 60} min" in locked, locked
    red = channels.assistant.redis
    assert identities(victim.sender_id, red) == [victim.sender_id]
    done = " ".join(owner_again.say(f"绑定 {code.lower()}"))
    assert _bot_responses(channels.assistant, owner_again.sender_id) == ["utter_link_done"], done
    assert profile_id(owner_again.sender_id, red) == victim.sender_id
    locked_zh = " ".join(guesser.say(f"绑定 {_wrong(code)}"))
    assert _bot_responses(channels.assistant, guesser.sender_id) == ["utter_link_locked"]
    assert "分钟" in locked_zh, locked_zh
