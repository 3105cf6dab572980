"""The feedback subscriptions contract: `RedisSubscriptions` (on a real embedded Redis) and `MemorySubscriptions`
agree on opt-outs, the weekly digest's subscribers and beta sign-ups, all held per person (profile)."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
import redis

from bot.errors import StorageError
from bot.feedback import MemorySubscriptions, RedisSubscriptions, Subscriptions

PEOPLE = {"telegram:1": "wechat:a", "wechat:a": "wechat:a"}
"""Two identities of one person (linked fan profiles), everyone else on their own."""


def _person(sender_id: str) -> str:
    return PEOPLE.get(sender_id, sender_id)



@pytest.fixture(params=["memory", "redis"])
def subs(request: pytest.FixtureRequest) -> Iterator[Subscriptions]:
    if request.param == "memory":
        yield MemorySubscriptions(profile_of=_person)
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield RedisSubscriptions(client, profile_of=_person)


def test_nobody_opted_out_or_subscribed_at_first(subs: Subscriptions) -> None:
    assert subs.wants_news("u1") and subs.wants_news("u1", "FB1")
    assert not subs.is_digest_subscriber("u1") and subs.digest_subscribers() == []
    assert not subs.unsubscribe_digest("u1")
    assert subs.beta_signups("FB1") == []


def test_an_opt_out_from_one_item_or_from_everything(subs: Subscriptions) -> None:
    assert subs.unsubscribe("u1", "FB1") == "u1"
    assert not subs.wants_news("u1", "FB1") and subs.wants_news("u1", "FB2") and subs.wants_news("u1")
    assert subs.subscribe_digest("u1", "en", now=1.0)
    assert subs.unsubscribe("u1") == "u1"
    assert not subs.wants_news("u1") and not subs.wants_news("u1", "FB2")
    assert not subs.is_digest_subscriber("u1"), "unsubscribing from everything ends the digest"


def test_an_opt_out_holds_for_every_identity_of_the_person(subs: Subscriptions) -> None:
    assert subs.unsubscribe("telegram:1") == "wechat:a"
    assert not subs.wants_news("wechat:a")
    assert subs.wants_news("telegram:2")


def test_subscribing_lifts_a_whole_opt_out_and_counts_once(subs: Subscriptions) -> None:
    subs.unsubscribe("u1")
    subs.unsubscribe("u1", "FB7")
    assert subs.subscribe_digest("u1", "zh", now=5.0)
    assert not subs.subscribe_digest("u1", "en", now=6.0)
    assert subs.wants_news("u1") and not subs.wants_news("u1", "FB7")
    assert subs.is_digest_subscriber("u1")
    [one] = subs.digest_subscribers()
    assert (one.profile, one.sender_id, one.language, one.ts) == ("u1", "u1", "zh", 5.0)


def test_subscribers_earliest_first_with_their_language(subs: Subscriptions) -> None:
    subs.subscribe_digest("u2", "en", now=20.0)
    subs.subscribe_digest("telegram:1", "fr", now=10.0)
    subs.subscribe_digest("u3", "zh", now=30.0)
    assert [(s.profile, s.sender_id, s.language) for s in subs.digest_subscribers()] == [
        ("wechat:a", "telegram:1", "en"), ("u2", "u2", "en"), ("u3", "u3", "zh")]
    assert subs.is_digest_subscriber("wechat:a")
    assert subs.unsubscribe_digest("wechat:a") and not subs.unsubscribe_digest("wechat:a")
    assert [s.profile for s in subs.digest_subscribers()] == ["u2", "u3"]


def test_the_digest_is_offered_once_and_never_to_who_decided(subs: Subscriptions) -> None:
    assert subs.offer_digest_once("u1")
    assert not subs.offer_digest_once("u1")
    subs.subscribe_digest("u2", "en")
    assert not subs.offer_digest_once("u2")
    subs.unsubscribe("u3")
    assert not subs.offer_digest_once("u3")
    subs.unsubscribe("u4", "FB1")
    assert subs.offer_digest_once("u4")
    with ThreadPoolExecutor(max_workers=8) as pool:
        offers = list(pool.map(lambda _: subs.offer_digest_once("u5"), range(8)))
    assert offers.count(True) == 1


def test_beta_sign_ups_once_per_person_first_come_first(subs: Subscriptions) -> None:
    assert subs.beta_signup("FB1", "u2", now=20.0)
    assert subs.beta_signup("FB1", "u1", now=10.0)
    assert not subs.beta_signup("FB1", "u1", now=30.0)
    assert subs.beta_signup("FB1", "telegram:1", now=40.0)
    assert not subs.beta_signup("FB1", "wechat:a", now=50.0)
    assert subs.beta_signups("FB1") == ["u1", "u2", "telegram:1"]
    assert subs.beta_signups("FB2") == []


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    subs = RedisSubscriptions(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True),
                              profile_of=_person)
    with pytest.raises(StorageError, match=r"RedisSubscriptions\.wants_news: Redis is unreachable") as caught:
        subs.wants_news("u1")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
