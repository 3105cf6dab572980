"""Asking a running assistant: each item as the first message of a fresh REST sender, the outcome read from
that sender's tracker, a few items in flight at once."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import requests

from bot.conversation_eval._outcome import events_after_first_user_message, metadata, outcome_from_events
from bot.conversation_eval._set import Item, matches
from bot.rest_auth import auth_headers

__all__ = ["REQUEST_TIMEOUT", "DEFAULT_WORKERS", "Result", "ask", "evaluate"]

REQUEST_TIMEOUT = 120
DEFAULT_WORKERS = 4


@dataclass
class Result:
    text: str
    lang: str
    expect: List[str]
    tags: List[str]
    got: str
    ok: bool
    sender: str
    replies: List[str] = field(default_factory=list)
    kb: Optional[Dict[str, Any]] = None
    seconds: float = 0.0
    error: Optional[str] = None


def ask(url: str, token: str, item: Item, sender: Optional[str] = None, rest_token: str = "") -> Result:
    """Send `item` as the first message of a fresh sender (after its `before` messages, if any: then it is their
    follow-up); read the outcome of its own turn from the sender's tracker."""
    sender = sender or f"rest:eval-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    try:
        for text in (*item.before, item.text):
            response = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                     headers=auth_headers(token=rest_token),
                                     timeout=REQUEST_TIMEOUT)
            response.raise_for_status()
        replies = [m.get("text") or "" for m in response.json()]
        tracker = requests.get(f"{url}/conversations/{sender}/tracker", params={"token": token},
                               timeout=REQUEST_TIMEOUT)
        tracker.raise_for_status()
        turn = events_after_first_user_message(tracker.json().get("events") or [], len(item.before))
    except (requests.RequestException, ValueError) as exc:
        return Result(item.text, item.lang, list(item.expect), list(item.tags), got="error", ok=False, sender=sender,
                      seconds=time.monotonic() - started, error=str(exc))
    got = outcome_from_events(turn)
    kb = next((dict(metadata(e)["kb"]) for e in turn if e.get("event") == "bot" and metadata(e).get("kb")), None)
    if kb:
        kb.pop("candidates", None)
    return Result(item.text, item.lang, list(item.expect), list(item.tags), got=got, ok=matches(item.expect, got),
                  sender=sender, replies=replies, kb=kb, seconds=time.monotonic() - started)


def evaluate(items: Sequence[Item], url: str, token: str, workers: int = DEFAULT_WORKERS,
             progress: Callable[[int, int], None] = lambda done, total: None, rest_token: str = "") -> List[Result]:
    """Ask every item of the set against a running assistant (a few at a time); results in set order."""
    results: List[Optional[Result]] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(ask, url, token, item, None, rest_token): i for i, item in enumerate(items)}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            progress(done, len(items))
    return [r for r in results if r is not None]
