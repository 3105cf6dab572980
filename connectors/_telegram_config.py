"""Settings of the Telegram channel, the bot built from them and small update helpers (split from
connectors/telegram.py to keep it small)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.errors import ConfigError
from connectors._channel import Settings
from connectors._inbound import DEFAULT_LEASE_S
from connectors._telegram_send import Pacer, TelegramSender

__all__ = ["TelegramConfig", "DEFAULT_API_BASE", "sender_from_env"]

DEFAULT_API_BASE = "https://api.telegram.org"


@dataclass(frozen=True)
class TelegramConfig:
    """Settings of the Telegram channel (credentials.yml keys override environment variables)."""

    token: str = field(default="", repr=False)
    secret_token: str = field(default="", repr=False)
    webhook_url: str = ""
    api_base: str = DEFAULT_API_BASE
    mode: str = "webhook"
    chat_interval: float = 1.0
    overall_rate: int = 30
    polling_timeout: int = 20
    lease: float = DEFAULT_LEASE_S

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def bot_id(self) -> str:
        return self.token.split(":", 1)[0]

    @classmethod
    def load(cls, credentials: Optional[Mapping[str, Any]], env: Mapping[str, str]) -> "TelegramConfig":
        """The settings: a `credentials` key, else its variable in `env` (the process's `Settings.env`)."""
        settings = Settings(credentials, env)
        pick, number = settings.text, settings.number
        cfg = cls(
            token=pick("access_token", "TELEGRAM_TOKEN") or pick("token", "TELEGRAM_TOKEN"),
            secret_token=pick("secret_token", "TELEGRAM_SECRET_TOKEN"),
            webhook_url=pick("webhook_url", "TELEGRAM_WEBHOOK_URL"),
            api_base=pick("api_base", "TELEGRAM_API_BASE", DEFAULT_API_BASE).rstrip("/"),
            mode=pick("mode", "TELEGRAM_MODE", "webhook").lower(),
            chat_interval=number("chat_interval", "CANYU_TELEGRAM_CHAT_INTERVAL", 1.0),
            overall_rate=int(number("overall_rate", "CANYU_TELEGRAM_OVERALL_RATE", 30)),
            polling_timeout=int(number("polling_timeout", "CANYU_TELEGRAM_POLLING_TIMEOUT", 20)),
            lease=number("lease", "CANYU_INBOUND_LEASE", DEFAULT_LEASE_S),
        )
        if cfg.mode not in ("webhook", "polling"):
            raise ConfigError(f"TELEGRAM_MODE={cfg.mode!r}; use 'webhook' or 'polling'")
        if cfg.secret_token and not all(ch.isalnum() or ch in "_-" for ch in cfg.secret_token):
            raise ConfigError("TELEGRAM_SECRET_TOKEN may only contain A-Z, a-z, 0-9, _ and - (1-256 characters)")
        return cfg

    def check_can_receive(self) -> None:
        """Webhook mode without a secret token would accept anyone's fake updates: refuse to start."""
        if self.enabled and self.mode == "webhook" and not self.secret_token:
            raise ConfigError(
                "Telegram webhook mode needs a secret token, or anyone who finds the URL can post fake updates. "
                "Set TELEGRAM_SECRET_TOKEN (1-256 characters of A-Z, a-z, 0-9, _ and -; e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or use TELEGRAM_MODE=polling")


def _make_bot(cfg: TelegramConfig) -> Bot:
    return Bot(cfg.token, base_url=f"{cfg.api_base}/bot", base_file_url=f"{cfg.api_base}/file/bot",
               request=HTTPXRequest(connection_pool_size=64, read_timeout=15, write_timeout=15),
               get_updates_request=HTTPXRequest(read_timeout=cfg.polling_timeout + 10))


def sender_from_env(env: Mapping[str, str], redis: Any) -> TelegramSender:
    """A Telegram sender for processes outside the Rasa server (the agent console; the `canyu.channels` entry
    point): settings from `env`, the caller's Redis client."""
    cfg = TelegramConfig.load(None, env)
    if not cfg.enabled:
        raise ConfigError("TELEGRAM_TOKEN must be set to send Telegram messages")
    return TelegramSender(_make_bot(cfg), Pacer(cfg.chat_interval, cfg.overall_rate), redis)


def _chat_of(update: Optional[Dict[str, Any]]) -> str:
    """The chat an update (JSON) belongs to, for per-chat ordering ("" when it has none)."""
    update = update or {}
    message = update.get("message") or (update.get("callback_query") or {}).get("message") or {}
    chat = (message.get("chat") or {}).get("id") or ((update.get("callback_query") or {}).get("from") or {}).get("id")
    return str(chat or "")


def _language(code: Optional[str]) -> str:
    return "zh" if (code or "").lower().startswith("zh") else "en"
