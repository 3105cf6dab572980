"""Agents as people: the name a user is told on claim and an optional personal sign-off, set in the console.

The display name defaults to the console user's `display` (bot/console/users.py), else the log-in name. The
sign-off is the agent's own words, sent as their last message when they resolve a conversation (before the
rating question).

`AgentProfileStorage` is what callers use; `RedisAgentProfiles` (also named `AgentProfiles`) keeps the profiles in
Redis, `bot.handoff._memory.MemoryAgentProfiles` in memory (unit tests); tests/contracts/test_agent_profiles.py
checks both.

Redis keys (owned here; names and TTLs in bot/keys.py):
- `canyu:agent_profile:{agent}` hash: `display`, `signoff`
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Optional, Protocol, Tuple

from bot import keys
from bot.errors import DataError
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["AgentProfile", "AgentProfileStorage", "AgentProfiles", "MAX_DISPLAY", "MAX_SIGNOFF", "RedisAgentProfiles",
           "checked_profile", "profile_of"]

MAX_DISPLAY = 24
MAX_SIGNOFF = 200


@dataclass(frozen=True)
class AgentProfile:
    agent: str
    display: str
    signoff: str = ""

    def as_dict(self) -> Dict[str, str]:
        return {"agent": self.agent, "display": self.display, "signoff": self.signoff}


class AgentProfileStorage(Protocol):
    """An agent's display name and sign-off."""

    def get(self, agent: str) -> AgentProfile: ...

    def save(self, agent: str, display: str, signoff: str) -> AgentProfile: ...


def checked_profile(display: str, signoff: str) -> Tuple[str, str]:
    """`display` and `signoff` stripped, or a DataError saying what is wrong with them."""
    display, signoff = (display or "").strip(), (signoff or "").strip()
    if len(display) > MAX_DISPLAY:
        raise DataError(f"the display name has {len(display)} characters; keep it to {MAX_DISPLAY}, "
                        "e.g. 小李 or Li")
    if len(signoff) > MAX_SIGNOFF:
        raise DataError(f"the sign-off has {len(signoff)} characters; keep it to {MAX_SIGNOFF}")
    if any(ch in display for ch in "{}<>"):
        raise DataError("the display name may not contain { } < or >")
    return display, signoff


def profile_of(agent: str, stored: Dict[str, str], console_display: Optional[str]) -> AgentProfile:
    """The profile from its stored fields, the display falling back to the console user's, then the name."""
    display = (stored.get("display") or "").strip() or (console_display or "").strip() or agent
    return AgentProfile(agent, display, (stored.get("signoff") or "").strip())


@maps_redis_errors
class RedisAgentProfiles:
    """Agent profiles in Redis (decoded responses); the console user's display from `canyu:console_user:{agent}`."""

    def __init__(self, redis: "redis.Redis[str]") -> None:
        self.redis = redis

    @staticmethod
    def key(agent: str) -> str:
        return keys.agent_profile(agent)

    def get(self, agent: str) -> AgentProfile:
        data = self.redis.hgetall(self.key(agent)) or {}
        console = None if (data.get("display") or "").strip() else self.redis.hget(keys.console_user(agent), "display")
        return profile_of(agent, data, console)

    def save(self, agent: str, display: str, signoff: str) -> AgentProfile:
        """Set both (an empty display falls back to the console name; an empty sign-off sends none)."""
        display, signoff = checked_profile(display, signoff)
        self.redis.hset(self.key(agent), mapping={"display": display, "signoff": signoff})
        return self.get(agent)


AgentProfiles = RedisAgentProfiles
"""The name callers build the Redis store by."""
