"""Console users in memory: the `UserStorage` of unit tests, with the Redis store's semantics (a user added again
is updated, names listed in order, a right password with old scrypt parameters rehashed unless it changed
meanwhile). Passwords are hashed as in Redis. Thread-safe (log-ins hash in a thread pool)."""

from __future__ import annotations

import threading
from typing import Dict, List, Optional

from bot.console.users import (
    User,
    hash_password,
    in_hashing_pool,
    needs_rehash,
    new_user_fields,
    password_matches,
    valid_name,
)

__all__ = ["MemoryUserStore"]


class MemoryUserStore:
    """Console users in a dict of their stored fields (see `UserStorage`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: Dict[str, Dict[str, str]] = {}

    def add(self, name: str, password: str, role: str, display: str = "") -> User:
        fields = new_user_fields(name, password, role, display)
        with self._lock:
            self._users.setdefault(name, {}).update(fields)
        return User(name, role, display or name)

    def get(self, name: str) -> Optional[User]:
        if not valid_name(name):
            return None
        with self._lock:
            data = dict(self._users.get(name, {}))
        return User(name, data.get("role", ""), data.get("display", name)) if data else None

    def authenticate(self, name: str, password: str) -> Optional[User]:
        with self._lock:
            stored = self._users.get(name, {}).get("password") if valid_name(name) else None
        if not password_matches(password, stored) or stored is None:
            return None
        if needs_rehash(stored):
            fresh = hash_password(password)
            with self._lock:
                data = self._users.get(name)
                if data is not None and data.get("password") == stored:  # only if nobody changed it meanwhile
                    data["password"] = fresh
        return self.get(name)

    async def authenticate_async(self, name: str, password: str) -> Optional[User]:
        return await in_hashing_pool(self.authenticate, name, password)

    def list(self, role: Optional[str] = None) -> List[User]:
        with self._lock:
            names = sorted(self._users)
        users = [self.get(n) for n in names]
        return [u for u in users if u is not None and (role is None or u.role == role)]

    def remove(self, name: str) -> bool:
        with self._lock:
            return self._users.pop(name, None) is not None

    def stored_password(self, name: str) -> Optional[str]:
        """The stored hash (tests compare it before and after a log-in)."""
        with self._lock:
            return self._users.get(name, {}).get("password")

    def set_stored_password(self, name: str, stored: str) -> None:
        """Put a hash in place as an older version of the console would have stored it (tests)."""
        with self._lock:
            self._users.setdefault(name, {})["password"] = stored
