"""Fake WeChat Official Account API server (the parts of `https://api.weixin.qq.com/cgi-bin/` we use).

    fake = FakeWeChat(app_id="wx123", secret="s3cret"); base = fake.start() + "/cgi-bin/"
    fake.expire_tokens()          # every issued token now answers 42001 (expired)
    fake.invalidate_tokens()      # … or 40001 (invalid credential)
    fake.close_window("openid")   # message/custom/send to that user answers 45015
    fake.fail_next(45009)         # the next API call answers 45009 (quota)
    fake.fail_http(3, 500)        # the next 3 message/custom/send calls answer HTTP 500 (nothing delivered)
    fake.texts("openid")          # contents delivered through message/custom/send, in order
    fake.add_media("MEDIA_ID", png_bytes)   # served by media/get (binary, as WeChat does; unknown ids: 40007)

Tokens behave like WeChat's: `token` always issues a new one and keeps the previous valid for a while;
`stable_token` returns the current one unless `force_refresh` is true.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from aiohttp import web

from tests.fakes._server import ThreadedServer

ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40013: "invalid appid",
    40125: "invalid appsecret",
    42001: "access_token expired",
    45009: "reach max api daily quota limit",
    40007: "invalid media_id",
    45015: "response out of time limit or subscription is canceled",
    44002: "empty post data",
    47001: "data format error",
}


class FakeWeChat(ThreadedServer):
    def __init__(self, app_id: str = "wxcanyutest0000001", secret: str = "test-secret") -> None:
        super().__init__()
        self.app_id = app_id
        self.secret = secret
        self.calls: List[Dict[str, Any]] = []
        self.sent: List[Dict[str, Any]] = []
        self.typing: List[Dict[str, Any]] = []
        self._valid: Set[str] = set()
        self._expired: Set[str] = set()
        self._invalid: Set[str] = set()
        self._current: Optional[str] = None
        self._counter = itertools.count(1)
        self._fail: List[int] = []
        self._http_fail: List[int] = []
        self.closed_windows: Set[str] = set()
        self.token_requests = 0
        self.media: Dict[str, Tuple[bytes, str]] = {}

    # switches -----------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        with self.lock:
            self._expired |= self._valid
            self._valid.clear()
            self._current = None

    def invalidate_tokens(self) -> None:
        with self.lock:
            self._invalid |= self._valid
            self._valid.clear()
            self._current = None

    def fail_next(self, errcode: int, times: int = 1) -> None:
        with self.lock:
            self._fail.extend([errcode] * times)

    def fail_http(self, times: int = 1, status: int = 500) -> None:
        with self.lock:
            self._http_fail.extend([status] * times)

    def close_window(self, openid: str) -> None:
        with self.lock:
            self.closed_windows.add(openid)

    def open_window(self, openid: str) -> None:
        with self.lock:
            self.closed_windows.discard(openid)

    def add_media(self, media_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        """A temporary material a user sent (what `MediaId` in an image message points at)."""
        with self.lock:
            self.media[media_id] = (data, content_type)

    def texts(self, openid: Optional[str] = None) -> List[str]:
        with self.lock:
            return [m["text"]["content"] for m in self.sent
                    if m.get("msgtype") == "text" and (openid is None or m.get("touser") == openid)]

    # server -------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/custom/typing", self._custom_typing)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    def _record(self, path: str, query: Mapping[str, str], body: Any, result: Dict[str, Any]) -> None:
        with self.lock:
            self.calls.append({"path": path, "query": dict(query), "body": body, "result": result,
                               "time": time.time()})

    def _issue(self) -> Dict[str, Any]:
        token = f"ACCESS_TOKEN_{next(self._counter)}_{'x' * 40}"
        self._valid.add(token)
        self._current = token
        self.token_requests += 1
        return {"access_token": token, "expires_in": 7200}

    def _credentials_error(self, appid: Optional[str], secret: Optional[str]) -> Optional[Dict[str, Any]]:
        if appid != self.app_id:
            return {"errcode": 40013, "errmsg": ERRMSG[40013]}
        if secret != self.secret:
            return {"errcode": 40125, "errmsg": ERRMSG[40125]}
        return None

    async def _token(self, request: web.Request) -> web.Response:
        q = request.query
        with self.lock:
            result = self._credentials_error(q.get("appid"), q.get("secret")) or self._issue()
        self._record("token", q, None, result)
        return web.json_response(result)

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.lock:
            result = self._credentials_error(body.get("appid"), body.get("secret"))
            if result is None:
                if body.get("force_refresh") or self._current is None:
                    result = self._issue()
                else:
                    result = {"access_token": self._current, "expires_in": 7000}
        self._record("stable_token", request.query, body, result)
        return web.json_response(result)

    def _check_token(self, token: Optional[str]) -> Optional[Dict[str, Any]]:
        with self.lock:
            if self._fail:
                code = self._fail.pop(0)
                if code in (40001, 42001):  # a token error means the token really is dead now
                    (self._invalid if code == 40001 else self._expired).update(self._valid)
                    self._valid.clear()
                    self._current = None
                return {"errcode": code, "errmsg": ERRMSG.get(code, "error")}
            if token in self._valid:
                return None
            if token in self._expired:
                return {"errcode": 42001, "errmsg": ERRMSG[42001]}
            return {"errcode": 40001, "errmsg": ERRMSG[40001]}

    async def _custom_send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        with self.lock:
            failing = self._http_fail.pop(0) if self._http_fail else None
        if failing is not None:
            self._record("message/custom/send", request.query, body, {"errcode": None, "http": failing})
            return web.Response(status=failing, text="server error")
        result = self._check_token(request.query.get("access_token"))
        if result is None:
            if not isinstance(body, dict) or "touser" not in body or "msgtype" not in body:
                result = {"errcode": 47001, "errmsg": ERRMSG[47001]}
            elif body["touser"] in self.closed_windows:
                result = {"errcode": 45015, "errmsg": ERRMSG[45015]}
            else:
                with self.lock:
                    self.sent.append(body)
                result = {"errcode": 0, "errmsg": "ok"}
        self._record("message/custom/send", request.query, body, result)
        return web.json_response(result)

    async def _custom_typing(self, request: web.Request) -> web.Response:
        body = await request.json()
        result = self._check_token(request.query.get("access_token"))
        if result is None:
            with self.lock:
                self.typing.append(body)
            result = {"errcode": 0, "errmsg": "ok"}
        self._record("message/custom/typing", request.query, body, result)
        return web.json_response(result)

    async def _media_get(self, request: web.Request) -> web.Response:
        """Like WeChat: the file itself with its Content-Type and a Content-disposition, or a JSON error."""
        result = self._check_token(request.query.get("access_token"))
        media_id = request.query.get("media_id", "")
        with self.lock:
            found = self.media.get(media_id)
        if result is None and found is None:
            result = {"errcode": 40007, "errmsg": ERRMSG[40007]}
        self._record("media/get", request.query, None, result or {"errcode": 0, "bytes": len(found[0]) if found else 0})
        if result is not None:
            return web.json_response(result, content_type="text/plain")
        data, content_type = found  # type: ignore[misc]
        return web.Response(body=data, content_type=content_type,
                            headers={"Content-disposition": f'attachment; filename="{media_id}.jpg"'})

    async def _unknown(self, request: web.Request) -> web.Response:
        self._record(request.path, request.query, None, {"errcode": 404})
        return web.json_response({"errcode": 48001, "errmsg": f"api unauthorized (fake has no {request.path})"},
                                 status=404)
