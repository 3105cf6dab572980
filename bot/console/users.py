"""Console users (agents, trainers, admins) stored in Redis with scrypt-hashed passwords.

Redis keys (owned here):
- `canyu:console_user:{name}` hash: `role`, `password` (`scrypt$n$r$p$salt$hash`, base64), `display`, `created`
- `canyu:console_users` set of user names
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, List, Optional

from bot.errors import ConfigError

__all__ = ["ROLES", "User", "UserStore", "hash_password", "verify_password"]

ROLES = ("agent", "trainer", "admin")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{2,40}$")
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32
MIN_PASSWORD = 8
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = None


@dataclass(frozen=True)
class User:
    name: str
    role: str
    display: str = ""

    def has_role(self, *roles: str) -> bool:
        """True if the user has one of `roles`; admins have every role."""
        return self.role == "admin" or self.role in roles


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, salt: Optional[bytes] = None) -> str:
    """scrypt hash in the form `scrypt$n$r$p$salt$hash`."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of `password` against a `hash_password` string."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


class UserStore:
    """Add, check and list console users in Redis."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    @staticmethod
    def _key(name: str) -> str:
        return f"canyu:console_user:{name}"

    def add(self, name: str, password: str, role: str, display: str = "") -> User:
        """Create or update a user (the password is stored hashed only)."""
        if not _NAME.match(name or ""):
            raise ConfigError(f"user name {name!r} is not valid; use 2-40 letters, digits, '_', '.' or '-'")
        if role not in ROLES:
            raise ConfigError(f"role {role!r} is not known; use one of {', '.join(ROLES)}")
        if len(password or "") < MIN_PASSWORD:
            raise ConfigError(f"the password is too short; use at least {MIN_PASSWORD} characters")
        self.redis.hset(
            self._key(name),
            mapping={"role": role, "password": hash_password(password), "display": display or name,
                     "created": f"{time.time():.0f}"},
        )
        self.redis.sadd("canyu:console_users", name)
        return User(name, role, display or name)

    def get(self, name: str) -> Optional[User]:
        if not _NAME.match(name or ""):
            return None
        data = self.redis.hgetall(self._key(name))
        if not data:
            return None
        return User(name, data.get("role", ""), data.get("display", name))

    def authenticate(self, name: str, password: str) -> Optional[User]:
        """The user if `password` is right, else None (same cost either way)."""
        stored = self.redis.hget(self._key(name), "password") if _NAME.match(name or "") else None
        ok = verify_password(password or "", stored or _dummy_hash())
        if not (ok and stored):
            return None
        return self.get(name)

    def list(self, role: Optional[str] = None) -> List[User]:
        users = [self.get(n) for n in sorted(self.redis.smembers("canyu:console_users"))]
        return [u for u in users if u is not None and (role is None or u.role == role)]

    def remove(self, name: str) -> bool:
        self.redis.srem("canyu:console_users", name)
        return bool(self.redis.delete(self._key(name)))
