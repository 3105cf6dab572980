"""The few Rasa HTTP API calls the console needs (tracker, append events, execute an action).

The token goes in the `token` query parameter (Rasa's scheme); it never appears in our logs or errors.
Every failure (refused connection, timeout, an HTTP error status) is a `ConnectorError` with platform "rasa".
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

from bot.errors import ConnectorError

__all__ = ["RasaClient"]


class RasaClient:
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

    async def _call(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        url = f"{self.url}{path}"
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.request(method, url, json=body, params=self._params(**params)) as resp:
                    if resp.status >= 400:
                        detail = (await resp.text())[:300]
                        raise ConnectorError(f"Rasa API {method} {path} answered {resp.status}: {detail}",
                                             platform="rasa", code=resp.status)
                    return await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise ConnectorError(f"Rasa API {method} {path} failed: {type(exc).__name__} (is Rasa running at "
                                 f"{self.url}?)", platform="rasa") from None

    @staticmethod
    def _conv(sender_id: str) -> str:
        return "/conversations/" + quote(sender_id, safe="")

    async def tracker(self, sender_id: str) -> Dict[str, Any]:
        return await self._call("GET", self._conv(sender_id) + "/tracker", include_events="ALL")  # type: ignore[no-any-return]

    async def append_events(self, sender_id: str, events: List[Dict[str, Any]]) -> Dict[str, Any]:
        return await self._call("POST", self._conv(sender_id) + "/tracker/events", events, include_events="NONE")  # type: ignore[no-any-return]

    async def execute(self, sender_id: str, action: str) -> List[Dict[str, Any]]:
        """Run `action` in the conversation; returns the messages it produced (not yet sent anywhere)."""
        result = await self._call("POST", self._conv(sender_id) + "/execute", {"name": action}, include_events="NONE")
        return list(result.get("messages") or [])
