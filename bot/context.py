"""The application context: what one process shares, built once by its entry point and handed down.

Every entry point is a composition root that calls `build_context()` once and passes the result (or the parts a
callee needs) down; nothing below reaches for a shared object on its own:

| entry point | builds the context in |
|---|---|
| the CLI (`bot …`) | `bot.cli.main` |
| the action server | `bot.actions.server.main` |
| the agent console | `bot.console.app.create_app` (or its caller) |
| a Rasa channel | the channel's `from_credentials` (connectors/) |
| a Rasa tracker store, lock store, event broker | the plug-in's constructor (Rasa builds it from endpoints.yml) |
| benchmarks and tests | `bench/…`, `tests/harness.py` |

What the context holds, each made on first use and kept for the context's life:
- `settings`: read once from the environment (`bot.settings`);
- `redis` / `async_redis`: one client each (with no `REDIS_URL`, first use starts or joins the embedded server);
- `senders`: the channel registry of this process (`bot.delivery.SenderRegistry`);
- `encoder(model)`: the sentence encoder (models are cached per process: `bot.embeddings`, a documented cache);
- `knowledge`: the knowledge service (answers from `knowledge/`), `orders`: the order backend;
- `outbound`: sending to users on their channel (`bot.outbound.Outbound` over `redis` and `senders`);
- `texts`: the bot texts sent outside a Rasa turn, from this checkout's `responses/` (`bot.texts.Texts`).

Importing this module has no side effects; building a context connects to nothing until a part is used.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any, Mapping, Optional

from bot.delivery import SenderRegistry
from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    import redis
    from redis.asyncio import Redis as AsyncRedis

    from bot.embeddings import Encoder
    from bot.knowledge.store import KnowledgeService
    from bot.orders import OrderBackend
    from bot.outbound import Outbound
    from bot.texts import Texts

__all__ = ["AppContext", "build_context"]


class AppContext:
    """One process's shared things (see the module docstring). Thread-safe: parts are made once."""

    def __init__(self, settings: Settings, *, redis: Optional["redis.Redis[str]"] = None,
                 senders: Optional[SenderRegistry] = None) -> None:
        self.settings = settings
        self.senders = senders if senders is not None else SenderRegistry()
        self._redis = redis
        self._async_redis: Optional["AsyncRedis[str]"] = None
        self._knowledge: Optional["KnowledgeService"] = None
        self._orders: Optional["OrderBackend"] = None
        self._lock = threading.Lock()

    @property
    def env(self) -> Mapping[str, str]:
        """The environment the settings were read from (read-only)."""
        return self.settings.env

    @property
    def redis(self) -> "redis.Redis[str]":
        """This context's Redis client (responses decoded to `str`)."""
        if self._redis is None:
            from bot.storage import open_redis

            with self._lock:
                if self._redis is None:
                    self._redis = open_redis(self.settings)
        return self._redis

    @property
    def async_redis(self) -> "AsyncRedis[str]":
        """This context's asyncio Redis client (for code on an event loop that must not block)."""
        if self._async_redis is None:
            from bot.storage import open_async_redis

            with self._lock:
                if self._async_redis is None:
                    self._async_redis = open_async_redis(self.settings)
        return self._async_redis

    def encoder(self, model: Optional[str] = None) -> "Encoder":
        """The sentence encoder for `model` (default: `CANYU_EMBEDDING_MODEL`, else the bundled one), made with
        this context's embedding settings."""
        from bot.embeddings import EmbeddingSettings, get_encoder

        return get_encoder(model, EmbeddingSettings.from_env(self.env))

    @property
    def knowledge(self) -> "KnowledgeService":
        """The knowledge service (loads `knowledge/` and its index on first use, reloads on change)."""
        if self._knowledge is None:
            from bot.knowledge.store import KnowledgeService

            with self._lock:
                if self._knowledge is None:
                    self._knowledge = KnowledgeService.from_settings(self.settings)
        return self._knowledge

    @property
    def orders(self) -> "OrderBackend":
        """The order backend (`CANYU_ORDER_BACKEND`; the demo shop's SQLite file by default)."""
        if self._orders is None:
            from bot.orders import get_order_backend

            with self._lock:
                if self._orders is None:
                    self._orders = get_order_backend(self.env)
        return self._orders

    @cached_property
    def outbound(self) -> "Outbound":
        """Sending to users on their channel (`bot.outbound`) with this context's Redis, senders and delivery
        settings (`CANYU_DELIVERY_*`, read once)."""
        from bot.delivery import DeliverySettings
        from bot.outbound import Outbound

        return Outbound(self.redis, self.senders, DeliverySettings.from_env(self.env))

    @cached_property
    def texts(self) -> "Texts":
        """The bot texts sent outside a Rasa turn, from `<home>/responses` of these settings (`bot.texts`)."""
        from bot.texts import Texts

        return Texts.of(self.settings)

    def close(self) -> None:
        """Close the connections this context opened (the async client must be closed on its loop)."""
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def __repr__(self) -> str:
        return f"AppContext({self.settings!r})"


def build_context(env: Optional[Mapping[str, Any]] = None, *, redis: Optional["redis.Redis[str]"] = None,
                  settings: Optional[Settings] = None) -> AppContext:
    """The composition root's one call: settings from `env` (default: the process environment), and a context
    around them. `redis` hands in a client (tests with their own server); `settings` skips reading `env`."""
    return AppContext(settings or load_settings(env), redis=redis)
