"""Fake Telegram Bot API server (`https://api.telegram.org/bot<TOKEN>/<method>`).

    fake = FakeTelegram(token="123:ABC"); api = fake.start()          # PTB: Bot(token, base_url=api + "/bot")
    fake.push_update({...})                                             # for getUpdates (long polling)
    fake.texts(42)                                                      # texts sent to chat 42, in order
    fake.rejected                                                       # the 429 answers it gave
    fake.add_file("FILE_ID", png_bytes)                                 # for getFile + /file/bot<TOKEN>/<path>

Flood control like Telegram's: at most one message per `chat_interval` seconds in one chat (1 s) and
`overall_rate` messages per `overall_period` (30 per 1 s) for the bot; over the limit the answer is
`429 {"ok": false, "error_code": 429, "parameters": {"retry_after": N}}` and the message is NOT delivered.
`force_429(n, retry_after)` makes the next n send calls fail that way regardless of pacing; `fail_http(n, status)`
makes the next n send calls answer `status` (500: a server error) without delivering.
Every call is recorded in `.calls` as `{"method", "params", "status", "time"}`.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import math
import time
from typing import Any, Deque, Dict, List, Optional

from aiohttp import web

from tests.fakes._server import ThreadedServer

SEND_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "sendLocation"}
_FAILURES = {400: "Bad Request: chat not found", 403: "Forbidden: bot was blocked by the user",
             500: "Internal Server Error", 502: "Bad Gateway"}


class FakeTelegram(ThreadedServer):
    def __init__(self, token: str = "123456:TEST-token_canyu", bot_id: int = 123456,
                 username: str = "canyu_test_bot", chat_interval: float = 1.0,
                 overall_rate: int = 30, overall_period: float = 1.0) -> None:
        super().__init__()
        self.token = token
        self.bot_id = bot_id
        self.username = username
        self.chat_interval = chat_interval
        self.overall_rate = overall_rate
        self.overall_period = overall_period
        self.calls: List[Dict[str, Any]] = []
        self.sent: List[Dict[str, Any]] = []
        self.rejected: List[Dict[str, Any]] = []
        self.webhook: Dict[str, Any] = {}
        self._last_by_chat: Dict[str, float] = {}
        self._recent: Deque[float] = collections.deque()
        self._forced: List[float] = []
        self._http_fail: List[int] = []
        self._updates: List[Dict[str, Any]] = []
        self._message_ids = itertools.count(1000)
        self.files: Dict[str, Dict[str, Any]] = {}

    # switches and views -----------------------------------------------------------------------
    def force_429(self, times: int = 1, retry_after: float = 1) -> None:
        with self.lock:
            self._forced.extend([retry_after] * times)

    def fail_http(self, times: int = 1, status: int = 500) -> None:
        with self.lock:
            self._http_fail.extend([status] * times)

    def add_file(self, file_id: str, data: bytes, file_path: str = "") -> str:
        """A file users sent (a photo size's `file_id`); returns its `file_path` on the file server."""
        path = file_path or f"photos/file_{len(self.files)}.jpg"
        with self.lock:
            self.files[file_id] = {"data": data, "file_path": path, "unique": f"u{len(self.files)}"}
        return path

    def push_update(self, update: Dict[str, Any]) -> None:
        with self.lock:
            self._updates.append(update)

    def texts(self, chat_id: Optional[Any] = None) -> List[str]:
        with self.lock:
            return [m["text"] for m in self.sent
                    if m["method"] == "sendMessage" and (chat_id is None or str(m["chat_id"]) == str(chat_id))]

    def messages(self, chat_id: Optional[Any] = None) -> List[Dict[str, Any]]:
        with self.lock:
            return [m for m in self.sent if chat_id is None or str(m["chat_id"]) == str(chat_id)]

    def methods(self) -> List[str]:
        with self.lock:
            return [c["method"] for c in self.calls]

    # server ----------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def _params(self, request: web.Request) -> Dict[str, Any]:
        params: Dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        try:
                            params[key] = json.loads(value) if value[:1] in "[{" else value
                        except ValueError:
                            params[key] = value
        return params

    def _reply(self, method: str, params: Dict[str, Any], status: int, body: Dict[str, Any]) -> web.Response:
        with self.lock:
            self.calls.append({"method": method, "params": params, "status": status, "time": time.time()})
        return web.json_response(body, status=status)

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if request.match_info["token"] != self.token:
            return self._reply(method, params, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._reply(method, params, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if method in SEND_METHODS:
            with self.lock:
                failing = self._http_fail.pop(0) if self._http_fail else None
            if failing is not None:
                return self._reply(method, params, failing, {"ok": False, "error_code": failing,
                                                             "description": _FAILURES.get(failing, "Server Error")})
            limited = self._flood_check(str(params.get("chat_id")))
            if limited is not None:
                body = {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {limited}",
                        "parameters": {"retry_after": limited}}
                with self.lock:
                    self.rejected.append({"method": method, "params": params, "retry_after": limited})
                return self._reply(method, params, 429, body)
        result = await handler(params)
        if isinstance(result, tuple):
            status, body = result
            return self._reply(method, params, status, body)
        return self._reply(method, params, 200, {"ok": True, "result": result})

    def _flood_check(self, chat_id: str) -> Optional[int]:
        now = time.monotonic()
        with self.lock:
            if self._forced:
                return int(self._forced.pop(0))
            last = self._last_by_chat.get(chat_id)
            if last is not None and now - last < self.chat_interval:
                return max(1, math.ceil(self.chat_interval - (now - last)))
            while self._recent and now - self._recent[0] >= self.overall_period:
                self._recent.popleft()
            if len(self._recent) >= self.overall_rate:
                return max(1, math.ceil(self.overall_period - (now - self._recent[0])))
            self._last_by_chat[chat_id] = now
            self._recent.append(now)
        return None

    async def _download(self, request: web.Request) -> web.Response:
        """`https://api.telegram.org/file/bot<token>/<file_path>`: the bytes (404 for an unknown path)."""
        path = request.match_info["path"]
        with self.lock:
            self.calls.append({"method": "download", "params": {"path": path}, "status": 0, "time": time.time()})
            found = next((f for f in self.files.values() if f["file_path"] == path), None)
        if request.match_info["token"] != self.token or found is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=found["data"], content_type="application/octet-stream")

    async def _not_found(self, request: web.Request) -> web.Response:
        return self._reply(request.path, {}, 404, {"ok": False, "error_code": 404, "description": "Not Found"})

    # methods ---------------------------------------------------------------------------------
    def _me(self) -> Dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Canyu", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _m_getMe(self, params: Dict[str, Any]) -> Any:
        return self._me()

    async def _m_sendMessage(self, params: Dict[str, Any]) -> Any:
        text = params.get("text")
        if not text:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        if len(str(text)) > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        chat_id = params.get("chat_id")
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": int(str(chat_id)), "type": "private"}, "from": self._me(), "text": text}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        with self.lock:
            self.sent.append({"method": "sendMessage", "chat_id": chat_id, "text": text,
                              "reply_markup": params.get("reply_markup"), "time": time.time()})
        return message

    async def _m_getFile(self, params: Dict[str, Any]) -> Any:
        with self.lock:
            found = self.files.get(str(params.get("file_id") or ""))
        if found is None:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
        return {"file_id": params["file_id"], "file_unique_id": found["unique"], "file_size": len(found["data"]),
                "file_path": found["file_path"]}

    async def _m_sendChatAction(self, params: Dict[str, Any]) -> Any:
        return True

    async def _m_answerCallbackQuery(self, params: Dict[str, Any]) -> Any:
        return True

    async def _m_setWebhook(self, params: Dict[str, Any]) -> Any:
        with self.lock:
            self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
        return True

    async def _m_deleteWebhook(self, params: Dict[str, Any]) -> Any:
        with self.lock:
            self.webhook = {}
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: Dict[str, Any]) -> Any:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}

    async def _m_getUpdates(self, params: Dict[str, Any]) -> Any:
        if self.webhook.get("url"):
            return 409, {"ok": False, "error_code": 409,
                         "description": "Conflict: can't use getUpdates method while webhook is active"}
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 2.0)
        while True:
            with self.lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            if ready or time.monotonic() >= deadline:
                return ready[: int(params.get("limit") or 100)]
            await asyncio.sleep(0.05)


def update_message(update_id: int, chat_id: int, text: str, first_name: str = "Alex") -> Dict[str, Any]:
    """A Bot API Update with a private text message."""
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": first_name},
        "from": {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "en"},
        "text": text}}


def update_callback(update_id: int, chat_id: int, data: str) -> Dict[str, Any]:
    """A Bot API Update with an inline-keyboard button press."""
    return {"update_id": update_id, "callback_query": {
        "id": f"cb{update_id}", "chat_instance": "ci", "data": data,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Alex"},
        "message": {"message_id": 1, "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"}, "text": "…"}}}


def update_photo(update_id: int, chat_id: int, file_id: str, size: int, caption: str = "") -> Dict[str, Any]:
    """A Bot API Update with a photo (a small thumbnail size and the full size, both named `file_id`-ish)."""
    message: Dict[str, Any] = {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Alex", "language_code": "en"},
        "photo": [{"file_id": f"{file_id}-thumb", "file_unique_id": f"{file_id}-t", "width": 90, "height": 60,
                   "file_size": 1200},
                  {"file_id": file_id, "file_unique_id": f"{file_id}-f", "width": 1280, "height": 853,
                   "file_size": size}]}
    if caption:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def update_location(update_id: int, chat_id: int, latitude: float, longitude: float,
                    language_code: str = "en") -> Dict[str, Any]:
    """A Bot API Update with a shared location."""
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Alex", "language_code": language_code},
        "location": {"latitude": latitude, "longitude": longitude}}}
