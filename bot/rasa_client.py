"""The one client of Rasa's HTTP API: a conversation's tracker, appending events, running an action, loading a model.

Used by the handoff service and the console (tracker, events, actions), the follow-up sender and the jobs
(actions), and the trainer's `retrain_and_reload` (`PUT /model`). The token goes in the `token` query
parameter (Rasa's scheme); it never appears in our logs or errors, which is why the network error is not
chained (its text carries the URL, token included). Every failure (refused connection, timeout, an HTTP
error status) is a `bot.errors.RasaUnavailable` (a `ConnectorError` with platform "rasa").
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

from bot.errors import RasaUnavailable

__all__ = ["RasaClient", "RasaUnavailable", "MODEL_LOAD_TIMEOUT"]

MODEL_LOAD_TIMEOUT = 300.0  # seconds: Rasa answers `PUT /model` once the model is loaded


class RasaClient:
    """Calls to one Rasa server (`url`, e.g. http://127.0.0.1:5005), each in its own HTTP session."""

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"RasaClient(url={self.url}, token={'***' if self._token else '-'})"

    def _params(self, **extra: str) -> Dict[str, str]:
        params = dict(extra)
        if self._token:
            params["token"] = self._token
        return params

    async def _call(self, method: str, path: str, body: Any = None, timeout: Optional[float] = None,
                    **params: str) -> Any:
        url = f"{self.url}{path}"
        session_timeout = aiohttp.ClientTimeout(total=timeout) if timeout is not None else self.timeout
        try:
            async with aiohttp.ClientSession(timeout=session_timeout) as session:
                async with session.request(method, url, json=body, params=self._params(**params)) as resp:
                    if resp.status >= 400:
                        detail = (await resp.text())[:300]
                        raise RasaUnavailable(f"Rasa API {method} {path} answered {resp.status}: {detail}",
                                              code=resp.status, detail=detail)
                    return await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            # cause dropped: aiohttp's error holds the URL, whose query holds the token
            raise RasaUnavailable(f"Rasa API {method} {path} failed: {type(exc).__name__} (is Rasa running at "
                                  f"{self.url}?)", detail=type(exc).__name__) from None

    @staticmethod
    def _conv(sender_id: str) -> str:
        return "/conversations/" + quote(sender_id, safe="")

    async def tracker(self, sender_id: str) -> Dict[str, Any]:
        tracker: Dict[str, Any] = await self._call("GET", self._conv(sender_id) + "/tracker", include_events="ALL")
        return tracker

    async def append_events(self, sender_id: str, events: List[Dict[str, Any]]) -> Dict[str, Any]:
        tracker: Dict[str, Any] = await self._call("POST", self._conv(sender_id) + "/tracker/events", events,
                                                   include_events="NONE")
        return tracker

    async def execute(self, sender_id: str, action: str) -> List[Dict[str, Any]]:
        """Run `action` in the conversation; returns the messages it produced (not yet sent anywhere)."""
        result = await self._call("POST", self._conv(sender_id) + "/execute", {"name": action}, include_events="NONE")
        return list(result.get("messages") or [])

    async def replace_model(self, model_file: str, timeout: float = MODEL_LOAD_TIMEOUT) -> None:
        """Load `model_file` (a path on Rasa's machine) into the running server (`PUT /model`)."""
        await self._call("PUT", "/model", {"model_file": model_file}, timeout=timeout)
