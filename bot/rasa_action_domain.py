"""The domain goes to the action server once, not with every custom action call.

Why: Rasa puts the whole domain (~74 KB here, the same dict on every call) into the body of every call to the
action server, and the action server parses it every time: parsing the body was ~22% of the action server's CPU
at c=16 (bench/profile_rasa.py --child actions), and writing it ~4% of Rasa's (aiohttp's `_write`).

The protocol (both ends are ours; a server that does not know it still gets every domain):
- Rasa sends `X-Canyu-Domain: <digest>` (`domain_digest`: SHA-256 of the domain's canonical JSON) with every
  call that carries a domain;
- our action server (bot/actions/server.py) keeps the domain it parsed by that digest, after checking that the
  digest is the one of what it parsed (`DomainCache`), and answers with the same header: an acknowledgement;
- once an endpoint acknowledged a digest, Rasa sends its calls without `"domain"` (with the header); the server
  puts the domain it keeps back. A server that does not have it (restarted; another instance behind a load
  balancer) answers 409 `{"error": DOMAIN_UNKNOWN}` and Rasa sends that call again with the domain.

Rasa's side is part of the `action-keepalive` transport in bot/rasa_patches.py (the kept session notes the
acknowledgements, `ack_tracer`); the server's side is `DomainCache`, one per app. The action's `domain`
argument is the kept dict, shared between calls: actions read it, none writes it (as with rasa_sdk, where
each call parsed its own copy, writing to it was never a way to change the domain).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any, Dict, Optional

__all__ = ["DOMAIN_UNKNOWN", "HEADER", "DomainCache", "DomainUnknown", "ack_tracer", "acknowledged",
           "asks_for_the_domain", "domain_digest", "forget_ack"]

HEADER = "X-Canyu-Domain"
DOMAIN_UNKNOWN = "domain unknown to this action server (Canyu), send it again with the domain"
"""The error of the 409 a server answers to a call without a domain it does not keep."""
_ACK = "_canyu_domain_ack"
_KEPT = 4


def domain_digest(domain: Any) -> Optional[str]:
    """SHA-256 of the domain's canonical JSON (sorted keys, compact, ASCII); None for a domain JSON cannot
    sort (then the domain goes with every call)."""
    try:
        text = json.dumps(domain, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class DomainUnknown(Exception):
    """A call without a domain, naming a digest this server does not keep."""

    def __init__(self, digest: str) -> None:
        super().__init__(f"{DOMAIN_UNKNOWN} (digest {digest[:12]})")
        self.digest = digest


class DomainCache:
    """The action server's domains by digest (the last few: a new model brings a new domain)."""

    def __init__(self, size: int = _KEPT) -> None:
        self._size = size
        self._domains: "OrderedDict[str, Dict[str, Any]]" = OrderedDict()

    def complete(self, call: Any, digest: Optional[str]) -> Optional[str]:
        """Give `call` (a parsed action call) the domain it names by `digest` when it has none, or keep the one
        it brings; the digest to acknowledge (None: nothing kept, e.g. the digest is not the domain's).
        Raises DomainUnknown for a call without a domain whose digest is not kept."""
        if not digest or not isinstance(call, dict):
            return None
        domain = call.get("domain")
        if domain is None:
            kept = self._domains.get(digest)
            if kept is None:
                raise DomainUnknown(digest)
            call["domain"] = kept
            return digest
        if digest in self._domains:
            self._domains.move_to_end(digest)
            call["domain"] = self._domains[digest]
            return digest
        if not isinstance(domain, dict) or domain_digest(domain) != digest:
            return None
        self._domains[digest] = domain
        while len(self._domains) > self._size:
            self._domains.popitem(last=False)
        return digest


def asks_for_the_domain(status: int, text: Any) -> bool:
    """Whether an error response (Rasa's `ClientResponseError`: its status and body, bytes or text) is our
    server's 409 for a domain it does not keep."""
    body = text.decode("utf-8", "replace") if isinstance(text, (bytes, bytearray)) else str(text)
    return status == 409 and DOMAIN_UNKNOWN in body


def acknowledged(endpoint: Any) -> Optional[str]:
    """The digest this action endpoint acknowledged last (Rasa's side)."""
    ack: Optional[str] = getattr(endpoint, _ACK, None)
    return ack


def forget_ack(endpoint: Any) -> None:
    setattr(endpoint, _ACK, None)


def ack_tracer(endpoint: Any) -> Any:
    """An aiohttp TraceConfig noting on `endpoint` the digest a successful response acknowledges."""
    import aiohttp

    async def on_request_end(_session: aiohttp.ClientSession, _ctx: SimpleNamespace,
                             params: aiohttp.TraceRequestEndParams) -> None:
        digest = params.response.headers.get(HEADER)
        if digest and params.response.status < 400:
            setattr(endpoint, _ACK, digest)

    tracer = aiohttp.TraceConfig()
    tracer.on_request_end.append(on_request_end)  # type: ignore[arg-type]  # aiohttp 3.8 types the signal oddly
    return tracer
