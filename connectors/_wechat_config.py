"""Settings of the WeChat channel and its canned texts (split from connectors/wechat.py to keep it small)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from bot.errors import ConfigError
from connectors._channel import Settings
from connectors._inbound import DEFAULT_LEASE_S
from connectors._wechat_api import DEFAULT_API_BASE, WeChatApi
from connectors._wechat_protocol import MAX_BODY_BYTES, REPLAY_WINDOW_S
from connectors._wechat_send import WeChatSender

__all__ = ["WeChatConfig", "REPLIES", "DEFAULT_PASSIVE_DEADLINE_S", "sender_from_env"]

logger = logging.getLogger("connectors.wechat")

DEFAULT_PASSIVE_DEADLINE_S = 4.0
REPLIES = {
    "zh": {
        "image": "收到图片啦！我还看不懂图片，能用文字说说遇到了什么问题吗？",
        "voice": "我暂时听不了语音，打字告诉我好吗？",
        "video": "收到视频！我还看不了视频，用文字描述一下问题吧。",
        "location": "收到你的位置📍 想找附近的小米之家或维修点吗？告诉我你在哪个城市就行。",
        "link": "收到链接！想问这个链接里的什么？直接告诉我吧。",
        "other": "这个我还处理不了，发文字给我吧～",
        "error": "抱歉，我这边出了点问题，请稍后再发一次。",
    },
    "en": {
        "image": "Got your picture! I can't read images yet. Could you tell me in words what's wrong?",
        "voice": "I can't listen to voice messages yet. Could you type it?",
        "video": "Got your video! I can't watch videos yet. Could you describe the problem in words?",
        "location": "Thanks for the location 📍 Looking for a Millet store or repair center? Tell me your city.",
        "link": "Got the link! What would you like to know about it?",
        "other": "I can't handle that yet. Send me a text message?",
        "error": "Sorry, something went wrong on my side. Please send that again in a moment.",
    },
}


@dataclass(frozen=True)
class WeChatConfig:
    """Settings of the WeChat channel (credentials.yml keys override environment variables)."""

    token: str = ""
    app_id: str = ""
    app_secret: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    api_base: str = DEFAULT_API_BASE
    token_mode: str = "stable"
    passive_deadline: float = DEFAULT_PASSIVE_DEADLINE_S
    replay_window: float = REPLAY_WINDOW_S
    max_body: int = MAX_BODY_BYTES
    language: str = "zh"
    lease: float = DEFAULT_LEASE_S

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)

    @classmethod
    def load(cls, credentials: Optional[Mapping[str, Any]], env: Mapping[str, str]) -> "WeChatConfig":
        """The settings: a `credentials` key, else its variable in `env` (the process's `Settings.env`)."""
        settings = Settings(credentials, env)
        pick = settings.text

        def number(key: str, var: str, default: float) -> float:
            return settings.number(key, var, default, unit=" of seconds")

        cfg = cls(
            token=pick("token", "WECHAT_TOKEN"),
            app_id=pick("app_id", "WECHAT_APP_ID"),
            app_secret=pick("app_secret", "WECHAT_APP_SECRET"),
            encoding_aes_key=pick("encoding_aes_key", "WECHAT_ENCODING_AES_KEY"),
            api_base=pick("api_base", "WECHAT_API_BASE", DEFAULT_API_BASE),
            token_mode=pick("token_mode", "WECHAT_TOKEN_MODE", "stable"),
            passive_deadline=number("passive_deadline", "CANYU_WECHAT_PASSIVE_DEADLINE", DEFAULT_PASSIVE_DEADLINE_S),
            replay_window=number("replay_window", "CANYU_WECHAT_REPLAY_WINDOW", REPLAY_WINDOW_S),
            language=pick("language", "WECHAT_DEFAULT_LANGUAGE", "zh"),
            lease=number("lease", "CANYU_INBOUND_LEASE", DEFAULT_LEASE_S),
        )
        if cfg.token_mode not in ("stable", "classic"):
            raise ConfigError(f"WECHAT_TOKEN_MODE={cfg.token_mode!r}; use 'stable' or 'classic'")
        if cfg.encoding_aes_key and len(cfg.encoding_aes_key) != 43:
            raise ConfigError(f"WECHAT_ENCODING_AES_KEY has {len(cfg.encoding_aes_key)} characters; WeChat's "
                              "EncodingAESKey has exactly 43 (copy it from 设置与开发 → 基本配置)")
        if cfg.enabled and not (cfg.app_id and cfg.app_secret):
            logger.warning("wechat: WECHAT_APP_ID/WECHAT_APP_SECRET missing: only passive replies will work")
        return cfg


def sender_from_env(env: Mapping[str, str], redis: Any) -> WeChatSender:
    """A WeChat sender for processes outside the Rasa server (the agent console; the `canyu.channels` entry
    point): settings from `env`, the caller's Redis client (it also keeps the shared access_token)."""
    cfg = WeChatConfig.load(None, env)
    if not (cfg.app_id and cfg.app_secret):
        raise ConfigError("WECHAT_APP_ID and WECHAT_APP_SECRET must be set to send WeChat messages")
    return WeChatSender(WeChatApi(cfg.app_id, cfg.app_secret, redis, cfg.api_base, cfg.token_mode), redis)
