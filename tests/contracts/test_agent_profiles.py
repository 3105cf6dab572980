"""The agent profile store contract: `RedisAgentProfiles` (on a real embedded Redis) and `MemoryAgentProfiles`
behave the same for every operation of `AgentProfileStorage`: the display name falls back to the console user's,
then to the log-in name; what is saved is stripped and checked."""

from __future__ import annotations

import socket
from typing import Dict, Iterator, Optional

import pytest
import redis

from bot import keys
from bot.errors import DataError, StorageError
from bot.handoff._memory import MemoryAgentProfiles
from bot.handoff.agents import (
    MAX_DISPLAY,
    MAX_SIGNOFF,
    AgentProfile,
    AgentProfiles,
    AgentProfileStorage,
    RedisAgentProfiles,
)

CONSOLE_DISPLAY = {"lin": " 小林 ", "blank": "  "}
"""The console users' display names (`canyu:console_user:{name}` in Redis)."""



@pytest.fixture(params=["memory", "redis"])
def profiles(request: pytest.FixtureRequest) -> Iterator[AgentProfileStorage]:
    if request.param == "memory":
        console: Dict[str, str] = dict(CONSOLE_DISPLAY)

        def display(agent: str) -> Optional[str]:
            return console.get(agent)

        yield MemoryAgentProfiles(display)
        return
    client: "redis.Redis[str]" = request.getfixturevalue("red")
    client.flushdb()
    for name, display_name in CONSOLE_DISPLAY.items():
        client.hset(keys.console_user(name), mapping={"role": "agent", "display": display_name})
    yield RedisAgentProfiles(client)


def test_the_old_name_builds_the_redis_store(red: "redis.Redis[str]") -> None:
    assert AgentProfiles is RedisAgentProfiles and isinstance(AgentProfiles(red), RedisAgentProfiles)


def test_the_display_falls_back_to_the_console_then_the_name(profiles: AgentProfileStorage) -> None:
    assert profiles.get("lin") == AgentProfile("lin", "小林", "")
    assert profiles.get("blank") == AgentProfile("blank", "blank", "")
    assert profiles.get("nobody") == AgentProfile("nobody", "nobody", "")


def test_save_strips_and_reads_back(profiles: AgentProfileStorage) -> None:
    saved = profiles.save("lin", "  Li  ", "  Thanks, Li  ")
    assert saved == AgentProfile("lin", "Li", "Thanks, Li") and profiles.get("lin") == saved
    assert saved.as_dict() == {"agent": "lin", "display": "Li", "signoff": "Thanks, Li"}
    assert profiles.save("lin", "", "") == AgentProfile("lin", "小林", "")
    assert profiles.save("mei", "", "再见") == AgentProfile("mei", "mei", "再见")
    assert profiles.save("tao", "x" * MAX_DISPLAY, "y" * MAX_SIGNOFF).display == "x" * MAX_DISPLAY


@pytest.mark.parametrize("display, signoff, message", [
    ("x" * (MAX_DISPLAY + 1), "", f"the display name has {MAX_DISPLAY + 1} characters; keep it to {MAX_DISPLAY}"),
    ("Li", "y" * (MAX_SIGNOFF + 1), f"the sign-off has {MAX_SIGNOFF + 1} characters; keep it to {MAX_SIGNOFF}"),
    ("{name}", "", "the display name may not contain"),
    ("<b>Li</b>", "", "the display name may not contain"),
])
def test_a_bad_profile_is_refused_and_nothing_changes(profiles: AgentProfileStorage, display: str, signoff: str,
                                                      message: str) -> None:
    profiles.save("lin", "Li", "bye")
    with pytest.raises(DataError, match=message):
        profiles.save("lin", display, signoff)
    assert profiles.get("lin") == AgentProfile("lin", "Li", "bye")


def test_a_redis_failure_is_a_storage_error_with_its_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    store = RedisAgentProfiles(redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True))
    with pytest.raises(StorageError, match=r"RedisAgentProfiles\.get: Redis is unreachable") as caught:
        store.get("lin")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
