"""Redis errors become `StorageError`, with the Redis error kept as the cause.

Callers of a store catch one error type (`bot.errors.StorageError`) whatever the store is made of, and the log
still shows what Redis said (`raise StorageError(...) from exc`). A Redis store applies `maps_redis_errors` to its
class; every public method (sync or async) is then wrapped:

    @maps_redis_errors
    class RedisFeedbackStore:
        def add(self, ...) -> Entry: ...

A method's own `StorageError` (or any non-Redis error) passes through unchanged.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Type, TypeVar

import redis

from bot.errors import StorageError

__all__ = ["maps_redis_errors", "storage_error"]

C = TypeVar("C", bound=Type[Any])


def storage_error(exc: redis.RedisError, where: str) -> StorageError:
    """The `StorageError` for a Redis error met in `where` (raise it `from exc`)."""
    kind = "timed out" if isinstance(exc, redis.TimeoutError) else \
        "is unreachable" if isinstance(exc, redis.ConnectionError) else "failed"
    return StorageError(f"{where}: Redis {kind} ({type(exc).__name__}: {exc})")


def _wrap(where: str, method: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except redis.RedisError as exc:
                raise storage_error(exc, where) from exc

        return run_async

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise storage_error(exc, where) from exc

    return run


def maps_redis_errors(cls: C) -> C:
    """Wrap every public method defined on `cls` (not inherited ones, not properties) so that a
    `redis.RedisError` leaves it as a `StorageError` whose `__cause__` is the Redis error."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        setattr(cls, name, _wrap(f"{cls.__name__}.{name}", member))
    return cls
