"""Secrets never ride along in error messages (issue 15): the WeChat AppSecret of `classic` token mode
travels in the token URL's query, and the Rasa token in the model-reload URL; errors that quote those
URLs reached logs and a trainer's screen."""

from __future__ import annotations

from typing import Any

import pytest
import redis as redis_lib

from bot.errors import CanyuError, ConnectorError
from bot.runner import free_port
from bot.settings import load_settings
from bot.trainer.review import Review
from connectors._wechat_api import WeChatApi

SECRET = "wechat-app-secret-3f9c1d"
RASA_TOKEN = "rasa-token-8d1e7a42"


def test_wechat_classic_token_failure_does_not_quote_the_app_secret(redis_server: Any) -> None:
    red = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    closed = free_port()  # nothing listens: requests' error quotes the whole URL, query included
    api = WeChatApi("wxsecrettest000001", SECRET, red, f"http://127.0.0.1:{closed}/cgi-bin/", "classic")
    with pytest.raises(ConnectorError) as failed:
        api.client.fetch_access_token()
    assert SECRET not in str(failed.value) and failed.value.__cause__ is None
    assert str(closed) in str(failed.value)  # still says where it failed


def test_model_reload_failure_does_not_quote_the_rasa_token(redis_server: Any) -> None:
    red = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    review = Review(red, str(load_settings().home))
    with pytest.raises(CanyuError) as failed:  # the model is up to date: only the reload is tried, and fails
        review.retrain_and_reload(rasa_url=f"http://127.0.0.1:{free_port()}", token=RASA_TOKEN)
    assert RASA_TOKEN not in str(failed.value)
    assert "did not answer" in str(failed.value)
