"""The console user store contract: `RedisUserStore` (on a real embedded Redis) and `MemoryUserStore` behave the
same for every operation of `UserStorage`: add (again: update), get, list by name and role, remove, and log-in
checks, including the rehash of a password stored with older scrypt parameters. Hashing is the real scrypt
(about a third of a second a hash), so the tests hash sparingly."""

from __future__ import annotations

import asyncio
import socket
from typing import Iterator, Optional, Tuple

import pytest
import redis

from bot import keys
from bot.console._users_memory import MemoryUserStore
from bot.console.users import RedisUserStore, User, UserStorage, UserStore, hash_password, needs_rehash
from bot.errors import ConfigError, StorageError


class Users:
    """A store and a way to read and write a stored password hash directly (as an older console left it)."""

    def __init__(self, store: UserStorage, client: Optional["redis.Redis[str]"] = None) -> None:
        self.store, self._client = store, client

    def stored(self, name: str) -> Optional[str]:
        if self._client is not None:
            return self._client.hget(keys.console_user(name), "password")
        assert isinstance(self.store, MemoryUserStore)
        return self.store.stored_password(name)

    def put_stored(self, name: str, stored: str) -> None:
        if self._client is not None:
            self._client.hset(keys.console_user(name), "password", stored)
        else:
            assert isinstance(self.store, MemoryUserStore)
            self.store.set_stored_password(name, stored)



@pytest.fixture(params=["memory", "redis"])
def users(request: pytest.FixtureRequest) -> Iterator[Users]:
    if request.param == "memory":
        yield Users(MemoryUserStore())
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    yield Users(RedisUserStore(client), client)


def test_the_old_name_builds_the_redis_store(red: "redis.Redis[str]") -> None:
    assert UserStore is RedisUserStore and isinstance(UserStore(red), RedisUserStore)


def test_add_get_list_remove(users: Users) -> None:
    store = users.store
    assert store.get("lin") is None and store.list() == [] and not store.remove("lin")
    assert store.add("tina", "tina-pass-1", "lead", "蒂娜") == User("tina", "lead", "蒂娜")
    assert store.add("lin", "lin-pass-12", "agent") == User("lin", "agent", "lin")
    assert store.add("amy", "amy-pass-12", "admin", "Amy") == User("amy", "admin", "Amy")
    assert [u.name for u in store.list()] == ["amy", "lin", "tina"]
    assert store.list("agent") == [User("lin", "agent", "lin")] and store.list("trainer") == []
    assert store.get("tina") == User("tina", "lead", "蒂娜")
    assert (users.stored("lin") or "").startswith("scrypt$") and "lin-pass-12" not in (users.stored("lin") or "")
    assert store.add("lin", "lin-pass-99", "trainer", "Lin") == User("lin", "trainer", "Lin")
    assert store.get("lin") == User("lin", "trainer", "Lin") and len(store.list()) == 3
    assert store.remove("lin") and not store.remove("lin")
    assert store.get("lin") is None and [u.name for u in store.list()] == ["amy", "tina"]


@pytest.mark.parametrize("name, password, role, message", [
    ("a", "long-enough", "agent", "user name 'a' is not valid"),
    ("bad name", "long-enough", "agent", "user name 'bad name' is not valid"),
    ("lin", "long-enough", "boss", "role 'boss' is not known; use one of agent, lead, trainer, admin"),
    ("lin", "short", "agent", "the password is too short; use at least 8 characters"),
])
def test_a_bad_user_is_refused(users: Users, name: str, password: str, role: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        users.store.add(name, password, role)
    assert users.store.list() == []


def test_invalid_names_are_nobody(users: Users) -> None:
    assert users.store.get("x") is None and users.store.get("../etc") is None and users.store.get("") is None


def test_log_in(users: Users) -> None:
    users.store.add("lin", "lin-pass-12", "agent", "小林")
    stored = users.stored("lin")
    assert users.store.authenticate("lin", "lin-pass-12") == User("lin", "agent", "小林")
    assert users.stored("lin") == stored  # current parameters: not rehashed
    assert users.store.authenticate("lin", "wrong-pass") is None
    assert users.store.authenticate("nobody", "lin-pass-12") is None
    assert users.store.authenticate("x", "lin-pass-12") is None
    assert asyncio.run(users.store.authenticate_async("lin", "lin-pass-12")) == User("lin", "agent", "小林")


def test_an_old_hash_is_rehashed_on_a_right_password_only(users: Users) -> None:
    users.store.add("lin", "lin-pass-12", "agent")
    old = hash_password("lin-pass-12", n=2**14)
    users.put_stored("lin", old)
    assert users.store.authenticate("lin", "wrong-pass") is None and users.stored("lin") == old
    assert users.store.authenticate("lin", "lin-pass-12") == User("lin", "agent", "lin")
    fresh = users.stored("lin")
    assert fresh is not None and fresh != old and not needs_rehash(fresh)
    assert users.store.authenticate("lin", "lin-pass-12") is not None


def _closed_port() -> Tuple[str, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return "127.0.0.1", int(s.getsockname()[1])


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    host, port = _closed_port()
    store = RedisUserStore(redis.Redis(host=host, port=port, socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError, match=r"RedisUserStore\.list: Redis is unreachable") as caught:
        store.list()
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
    with pytest.raises(StorageError, match=r"RedisUserStore\.authenticate: Redis is unreachable"):
        asyncio.run(store.authenticate_async("lin", "lin-pass-12"))
