"""Console users (agents, trainers, admins) stored in Redis with scrypt-hashed passwords.

Passwords are hashed with scrypt at OWASP's current parameters (N=2^17, r=8, p=1: 128 MiB and about a
third of a second per hash). The stored string carries its parameters, so a hash made with older ones
still verifies and is rehashed with the current ones on the next successful log-in. The console hashes
off the event loop (`UserStore.authenticate_async`), at most `HASH_WORKERS` at a time, which also bounds
the memory a flood of log-ins can take.

`UserStorage` is what callers use; `RedisUserStore` (also named `UserStore`) keeps the users in Redis,
`bot.console._users_memory.MemoryUserStore` in memory (unit tests); tests/contracts/test_users.py runs the same
checks on both.

Redis keys (owned here; names and TTLs in bot/keys.py):
- `canyu:console_user:{name}` hash: `role`, `password` (`scrypt$n$r$p$salt$hash`, base64), `display`, `created`
- `canyu:console_users` set of user names
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Protocol, Tuple, cast

from redis.exceptions import WatchError

from bot import keys
from bot.errors import ConfigError
from bot.redis_errors import maps_redis_errors

if TYPE_CHECKING:
    import redis

__all__ = ["ROLES", "SCRYPT_N", "SCRYPT_P", "SCRYPT_R", "RedisUserStore", "User", "UserStorage", "UserStore",
           "hash_password", "in_hashing_pool", "needs_rehash", "new_user_fields", "password_matches",
           "valid_name", "verify_password"]

ROLES = ("agent", "lead", "trainer", "admin")
"""A lead is an agent who also closes call-backs and gives more goodwill (bot/handoff/discretion.yml)."""
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{2,40}$")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1  # OWASP Password Storage Cheat Sheet
_DKLEN = 32
_MAX_N = 2**20  # refuse to verify a stored hash asking for more (1 GiB at r=8)
HASH_WORKERS = 2
MIN_PASSWORD = 8


@dataclass(frozen=True)
class User:
    name: str
    role: str
    display: str = ""

    def has_role(self, *roles: str) -> bool:
        """True if the user has one of `roles`; admins have every role, and a lead is an agent too."""
        return self.role == "admin" or self.role in roles or (self.role == "lead" and "agent" in roles)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    maxmem = 128 * r * (n + p + 2) + (1 << 20)  # OpenSSL needs 128·r·(N+2) for V plus 128·r·p for B
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=maxmem)


def hash_password(password: str, salt: Optional[bytes] = None, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    """scrypt hash in the form `scrypt$n$r$p$salt$hash` (CPU- and memory-heavy: call it off the event loop)."""
    salt = salt or secrets.token_bytes(16)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_scrypt(password, salt, n, r, p, _DKLEN))}"


def _parameters(stored: str) -> Optional[Tuple[int, int, int, bytes, bytes]]:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return None
        return int(n), int(r), int(p), base64.b64decode(salt), base64.b64decode(digest)
    except (ValueError, TypeError):
        return None


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of `password` against a `hash_password` string (made with any parameters)."""
    parsed = _parameters(stored)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    if not (1 < n <= _MAX_N and 0 < r <= 32 and 0 < p <= 16 and expected):
        return False
    try:
        actual = _scrypt(password, salt, n, r, p, len(expected))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    """True if `stored` was made with other scrypt parameters than the current ones."""
    parsed = _parameters(stored)
    return parsed is None or parsed[:3] != (SCRYPT_N, SCRYPT_R, SCRYPT_P)


_HASHING = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="canyu-scrypt")


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong name costs as long as a wrong password (one
    scrypt hash of a random password, made once: process-wide cache; reset with _dummy_hash.cache_clear())."""
    return hash_password(secrets.token_urlsafe(16))


class UserStorage(Protocol):
    """Console users: added (or updated), checked, listed, removed."""

    def add(self, name: str, password: str, role: str, display: str = "") -> User: ...

    def get(self, name: str) -> Optional[User]: ...

    def authenticate(self, name: str, password: str) -> Optional[User]: ...

    async def authenticate_async(self, name: str, password: str) -> Optional[User]: ...

    def list(self, role: Optional[str] = None) -> List[User]: ...

    def remove(self, name: str) -> bool: ...


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name or ""))


def new_user_fields(name: str, password: str, role: str, display: str = "") -> Dict[str, str]:
    """The stored fields of a new user (the password hashed), or a ConfigError saying what is wrong."""
    if not valid_name(name):
        raise ConfigError(f"user name {name!r} is not valid; use 2-40 letters, digits, '_', '.' or '-'")
    if role not in ROLES:
        raise ConfigError(f"role {role!r} is not known; use one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD:
        raise ConfigError(f"the password is too short; use at least {MIN_PASSWORD} characters")
    return {"role": role, "password": hash_password(password), "display": display or name,
            "created": f"{time.time():.0f}"}


def password_matches(password: str, stored: Optional[str]) -> bool:
    """`password` against the stored hash; a missing user costs one hash too (against a dummy one)."""
    ok = verify_password(password or "", stored or _dummy_hash())
    return bool(ok and stored)


async def in_hashing_pool(authenticate: Callable[[str, str], Optional[User]], name: str,
                          password: str) -> Optional[User]:
    """`authenticate(name, password)` in the hashing thread pool, so the event loop keeps serving requests."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_HASHING, authenticate, name, password)


@maps_redis_errors
class RedisUserStore:
    """Add, check and list console users in Redis (decoded responses)."""

    def __init__(self, redis: "redis.Redis[str]") -> None:
        self.redis = redis

    @staticmethod
    def _key(name: str) -> str:
        return keys.console_user(name)

    def add(self, name: str, password: str, role: str, display: str = "") -> User:
        """Create or update a user (the password is stored hashed only)."""
        fields = new_user_fields(name, password, role, display)
        self.redis.hset(self._key(name), mapping={k: v for k, v in fields.items()})
        self.redis.sadd(keys.CONSOLE_USERS, name)
        return User(name, role, display or name)

    def get(self, name: str) -> Optional[User]:
        if not valid_name(name):
            return None
        data = self.redis.hgetall(self._key(name))
        if not data:
            return None
        return User(name, data.get("role", ""), data.get("display", name))

    def authenticate(self, name: str, password: str) -> Optional[User]:
        """The user if `password` is right, else None (same cost either way). Blocks for a hash or two:
        in async code use `authenticate_async`. A right password stored with old parameters is rehashed."""
        stored = self.redis.hget(self._key(name), "password") if valid_name(name) else None
        if not password_matches(password, stored) or stored is None:
            return None
        if needs_rehash(stored):
            fresh = hash_password(password)
            # only if nobody changed the password meanwhile
            with self.redis.pipeline() as pipe:
                try:
                    pipe.watch(self._key(name))
                    if cast(Optional[str], pipe.hget(self._key(name), "password")) == stored:  # watched: a value
                        pipe.multi()
                        pipe.hset(self._key(name), "password", fresh)
                        pipe.execute()
                except WatchError:  # changed meanwhile: keep that one
                    pass
        return self.get(name)

    async def authenticate_async(self, name: str, password: str) -> Optional[User]:
        """`authenticate` in the hashing thread pool, so the event loop keeps serving other requests."""
        return await in_hashing_pool(self.authenticate, name, password)

    def list(self, role: Optional[str] = None) -> List[User]:
        """The users (of `role` only, if given), by name."""
        users = [self.get(n) for n in sorted(self.redis.smembers(keys.CONSOLE_USERS))]
        return [u for u in users if u is not None and (role is None or u.role == role)]

    def remove(self, name: str) -> bool:
        self.redis.srem(keys.CONSOLE_USERS, name)
        return bool(self.redis.delete(self._key(name)))


UserStore = RedisUserStore
"""The name callers build the Redis store by."""
