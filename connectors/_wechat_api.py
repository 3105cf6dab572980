"""WeChat Official Account HTTP API: a shared access_token and the customer-service message API.

wechatpy's `WeChatClient` does the calls (synchronous, `requests`); we subclass it so that
- the API base URL is configurable (`WECHAT_API_BASE`, a fake server in tests),
- the access_token lives in Redis (`wechatpy.session.redisstorage.RedisStorage`, key
  `canyu:wechat:token:{appid}_access_token`) and only one instance refreshes it at a time
  (Redis lock `canyu:wechat:token_lock:{appid}`; `canyu:lock:` belongs to Rasa's conversation locks),
  fetched from `stable_token` (or the classic `token`),
- an expired/invalid token (40001, 40014, 42001) is refreshed once and the call retried once
  (wechatpy's own auto-retry recurses without a bound, so it is off),
- transient failures (network, HTTP 5xx, errcode -1) are retried with backoff,
- a closed 48-hour window (45015) or its used-up reply quota (45047) raises `bot.errors.WindowClosed`.

WeChat's customer-service API takes no idempotency key: a call that timed out after WeChat accepted it is sent
again by a retry. `bot.delivery` keeps that to the one part in flight (progress is saved per accepted part).

`WeChatApi` is synchronous; async callers use `await asyncio.to_thread(api.send_text, ...)`.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, Optional, cast

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from bot import keys
from bot.errors import ConnectorError, WindowClosed

__all__ = ["DEFAULT_API_BASE", "WeChatApi", "WindowClosed", "TOKEN_ERRORS"]

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com/cgi-bin/"
TOKEN_ERRORS = (40001, 40014, 42001)
WINDOW_ERRORS = (45015, 45047)
RATE_LIMITED = 45009
_TRANSIENT = (-1,)


class _Client(WeChatClient):
    """WeChatClient with a configurable base URL and a locked, Redis-shared token refresh."""

    def __init__(self, appid: str, secret: str, redis: Any, api_base: str, token_mode: str,
                 timeout: float) -> None:
        super().__init__(appid, secret, session=RedisStorage(redis, prefix=keys.WECHAT_TOKEN_PREFIX),
                         timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base
        self._redis = redis
        self._token_mode = token_mode

    def fetch_access_token(self, stale: Optional[str] = None) -> Dict[str, Any]:
        """Fetch a token unless another instance already replaced `stale` while we waited for the lock."""
        lock = self._redis.lock(keys.wechat_token_lock(self.appid), timeout=20, blocking_timeout=20)
        with lock:
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return {"access_token": current}
            # Classic mode puts the AppSecret in the URL, and requests' errors quote the URL: report the
            # failure without the exception's text.
            try:
                if self._token_mode == "classic":
                    res = self._http.get(self.API_BASE_URL + "token", timeout=self.timeout, params={
                        "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})
                else:
                    res = self._http.post(self.API_BASE_URL + "stable_token", timeout=self.timeout, json={
                        "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                        "force_refresh": stale is not None})
            except requests.RequestException as exc:
                # cause dropped: the request error holds the URL, whose query holds the app secret
                raise ConnectorError(f"WeChat token request to {self.API_BASE_URL} failed ({type(exc).__name__})",
                                     platform="wechat") from None
            if res.status_code >= 400:
                raise ConnectorError(f"WeChat token request to {self.API_BASE_URL} failed: HTTP {res.status_code}",
                                     platform="wechat", code=res.status_code)
            result = res.json()
            if result.get("errcode"):
                raise ConnectorError(f"WeChat token request failed: errcode {result['errcode']} "
                                     f"{result.get('errmsg', '')}", platform="wechat", code=result["errcode"])
            expires_in = int(result.get("expires_in", 7200))
            # Keep a margin so a token is never used in its last minutes.
            self.session.set(self.access_token_key, result["access_token"], max(expires_in - 300, 60))
            self.expires_at = int(time.time()) + expires_in
            logger.info("wechat: access_token refreshed (expires in %s s)", expires_in)
            return cast(Dict[str, Any], result)

    @property
    def access_token(self) -> str:
        token = self.session.get(self.access_token_key)
        if not token:
            self.fetch_access_token()
            token = self.session.get(self.access_token_key)
        return cast(str, token)


class WeChatApi:
    """Send customer-service messages for one Official Account."""

    def __init__(self, app_id: str, app_secret: str, redis: Any, api_base: str = DEFAULT_API_BASE,
                 token_mode: str = "stable", timeout: float = 5.0, attempts: int = 3,
                 backoff: float = 0.5) -> None:
        if not api_base.endswith("/"):
            api_base += "/"
        self.app_id = app_id
        self.client = _Client(app_id, app_secret, redis, api_base, token_mode, timeout)
        self.attempts = attempts
        self.backoff = backoff

    def __repr__(self) -> str:
        return f"WeChatApi(app_id={self.app_id!r}, api_base={self.client.API_BASE_URL!r}, secret=***)"

    def call(self, endpoint: str, data: Dict[str, Any]) -> Dict[str, Any]:
        """POST `data` to `endpoint`; refresh the token once on 40001/42001; retry transient errors."""
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = self.client.access_token
            try:
                return cast(Dict[str, Any], self.client.post(endpoint, data=data, params={"access_token": token}))
            except WeChatClientException as exc:
                code = exc.errcode
                if code in TOKEN_ERRORS and not refreshed:
                    logger.info("wechat: token rejected (%s), refreshing once", code)
                    self.client.fetch_access_token(stale=token)
                    refreshed = True
                    attempt -= 1
                    continue
                if code in WINDOW_ERRORS:
                    # cause dropped: wechatpy's error holds the request, whose URL holds the access token
                    raise WindowClosed(f"WeChat refused {endpoint}: errcode {code} (48-hour window closed "
                                       "or reply quota used)", platform="wechat", code=code) from None
                if code == RATE_LIMITED:
                    # cause dropped: wechatpy's error holds the request, whose URL holds the access token
                    raise ConnectorError(f"WeChat API quota exhausted on {endpoint} (45009)",
                                         platform="wechat", code=code) from None
                transient = code is None or code in _TRANSIENT
                if not transient or attempt >= self.attempts:
                    status = getattr(getattr(exc, "response", None), "status_code", None)
                    detail = f"errcode {code} {exc.errmsg}" if code is not None else f"HTTP {status}"
                    # cause dropped: wechatpy's error holds the request, whose URL holds the access token
                    raise ConnectorError(f"WeChat {endpoint} failed: {detail}", platform="wechat",
                                         code=code) from None
            except requests.RequestException as exc:
                if attempt >= self.attempts:
                    # cause dropped: the request error holds the URL, whose query holds the access token
                    raise ConnectorError(f"WeChat {endpoint} unreachable: {type(exc).__name__}",
                                         platform="wechat") from None
            time.sleep(self.backoff * 2 ** (attempt - 1))

    def send_text(self, openid: str, text: str) -> Dict[str, Any]:
        """message/custom/send with a text message."""
        return self.call("message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": text}})

    def typing(self, openid: str, typing: bool = True) -> None:
        """message/custom/typing (best effort: failures are logged, never raised)."""
        try:
            self.call("message/custom/typing", {"touser": openid, "command": "Typing" if typing else "CancelTyping"})
        except ConnectorError as exc:
            logger.debug("wechat: typing indicator refused: %s", exc)
