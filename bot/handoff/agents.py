"""Agents as people: the name a user is told on claim and an optional personal sign-off, set in the console.

The display name defaults to the console user's `display` (bot/console/users.py), else the log-in name. The
sign-off is the agent's own words, sent as their last message when they resolve a conversation (before the
rating question).

Redis keys (owned here; names and TTLs in bot/keys.py):
- `canyu:agent_profile:{agent}` hash: `display`, `signoff`
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

from bot import keys
from bot.errors import DataError

__all__ = ["AgentProfile", "AgentProfiles", "MAX_DISPLAY", "MAX_SIGNOFF"]

MAX_DISPLAY = 24
MAX_SIGNOFF = 200


@dataclass(frozen=True)
class AgentProfile:
    agent: str
    display: str
    signoff: str = ""

    def as_dict(self) -> Dict[str, str]:
        return {"agent": self.agent, "display": self.display, "signoff": self.signoff}


class AgentProfiles:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    @staticmethod
    def key(agent: str) -> str:
        return keys.agent_profile(agent)

    def get(self, agent: str) -> AgentProfile:
        data = self.redis.hgetall(self.key(agent)) or {}
        display = (data.get("display") or "").strip()
        if not display:
            user = self.redis.hget(keys.console_user(agent), "display")
            display = (user or "").strip() or agent
        return AgentProfile(agent, display, (data.get("signoff") or "").strip())

    def save(self, agent: str, display: str, signoff: str) -> AgentProfile:
        """Set both (an empty display falls back to the console name; an empty sign-off sends none)."""
        display, signoff = (display or "").strip(), (signoff or "").strip()
        if len(display) > MAX_DISPLAY:
            raise DataError(f"the display name has {len(display)} characters; keep it to {MAX_DISPLAY}, "
                            "e.g. 小李 or Li")
        if len(signoff) > MAX_SIGNOFF:
            raise DataError(f"the sign-off has {len(signoff)} characters; keep it to {MAX_SIGNOFF}")
        if any(ch in display for ch in "{}<>"):
            raise DataError("the display name may not contain { } < or >")
        self.redis.hset(self.key(agent), mapping={"display": display, "signoff": signoff})
        return self.get(agent)
