"""Who may call the webhooks (issue 15): REST authentication, and platform channels that fail closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import requests

from bot.errors import CanyuError, ConfigError
from connectors._rest_auth import MAX_SKEW_S, RestAuth, auth_headers
from connectors.telegram import TelegramConfig, TelegramInput
from tests.fakes.rasa_channels import channels_assistant
from tests.fakes.telegram import FakeTelegram
from tests.harness import new_sender, start_assistant

PATH = "/webhooks/rest/webhook"


def _lower(headers: dict) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def test_rest_needs_credentials_when_a_platform_shares_the_port(tmp_path_factory: Any) -> None:
    stack = channels_assistant(tmp_path_factory)
    sender, url = new_sender(), stack.url
    body = {"sender": sender, "message": "hi"}
    assert requests.post(url + PATH, json=body, timeout=60).status_code == 401
    wrong = requests.post(url + PATH, json=body, headers={"Authorization": "Bearer nope"}, timeout=60)
    assert wrong.status_code == 401 and "nope" not in wrong.text
    assert requests.get(f"{url}/webhooks/rest/outbox/{sender}", timeout=60).status_code == 401
    assert stack.assistant.say(sender, "hi")  # the real client, with its token, is answered


def test_rest_platform_metadata_and_channel_name_are_not_trusted(tmp_path_factory: Any) -> None:
    stack = channels_assistant(tmp_path_factory)
    sender = new_sender()
    response = requests.post(stack.url + PATH, headers=stack.assistant.rest_headers, timeout=60, json={
        "sender": sender, "message": "hi", "input_channel": "telegram",
        "metadata": {"telegram": {"chat_id": 42, "user_id": 42}, "source": "app"}})
    assert response.status_code == 200
    latest = stack.assistant.tracker(sender)["latest_message"]
    assert latest["metadata"] == {"source": "app"}
    assert stack.assistant.tracker(sender)["latest_input_channel"] == "rest"


def test_rest_channel_is_closed_when_required_and_nothing_is_configured() -> None:
    auth = RestAuth.load({}, {"TELEGRAM_TOKEN": "1:x"})
    assert auth.required(platform_enabled=True) and not auth.required(platform_enabled=False)
    why = auth.refusal("POST", PATH, {}, b"")
    assert why and "CANYU_REST_TOKEN" in why
    assert not RestAuth.load({"auth": "off"}, {}).required(platform_enabled=True)
    with pytest.raises(ConfigError, match="CANYU_REST_AUTH"):
        RestAuth.load({}, {"CANYU_REST_AUTH": "maybe"})


def test_hmac_signature_is_checked_and_used_once(redis_server: Any) -> None:
    red = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    auth = RestAuth(hmac_secret="s3cret-hmac")
    body = b'{"sender": "a", "message": "hi"}'
    signed = _lower(auth_headers("POST", PATH, body, hmac_secret="s3cret-hmac"))
    assert auth.refusal("POST", PATH, signed, body, red) is None
    assert "already used" in (auth.refusal("POST", PATH, signed, body, red) or "")
    other = _lower(auth_headers("POST", PATH, body, hmac_secret="s3cret-hmac"))
    assert auth.refusal("POST", PATH, other, body + b" ", red) == "wrong signature"
    forged = _lower(auth_headers("POST", PATH, body, hmac_secret="guess"))
    assert auth.refusal("POST", PATH, forged, body, red) == "wrong signature"
    old = _lower(auth_headers("POST", PATH, body, hmac_secret="s3cret-hmac", now=1_000_000))
    assert str(MAX_SKEW_S) in (auth.refusal("POST", PATH, old, body, red) or "")


def test_telegram_webhook_mode_without_a_secret_refuses_to_start(tmp_path: Path) -> None:
    fake = FakeTelegram()
    fake.start()
    env = {"TELEGRAM_TOKEN": fake.token, "TELEGRAM_API_BASE": fake.url, "TELEGRAM_MODE": "webhook"}
    try:
        with pytest.raises(CanyuError) as refused:
            start_assistant(tmp_path / "data", env=env, with_console=False)
    finally:
        fake.stop()
    assert "TELEGRAM_SECRET_TOKEN" in str(refused.value)
    assert fake.token not in str(refused.value)


def test_telegram_polling_mode_needs_no_secret() -> None:
    from bot.context import build_context

    ctx = build_context({})
    TelegramInput(TelegramConfig(token="1:abc", mode="polling"), ctx)
    with pytest.raises(ConfigError, match="TELEGRAM_SECRET_TOKEN"):
        TelegramInput(TelegramConfig(token="1:abc", mode="webhook"), ctx)
