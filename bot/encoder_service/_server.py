"""The encoder process: one `Encoder` per requested model, served over bot/encoder_client.py's frames.

A thread per connection reads frames; encoding takes one lock, so torch runs one request at a time with the
threads `threads_for` gives it (as it did inside each process). Errors go back to the client as `{"ok": false}`
(it then loads the model itself); the server keeps serving.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
import time
from dataclasses import replace
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional

from bot.embedding_models import E5_LOCATIONS, EmbeddingSettings, resolve
from bot.embeddings import Encoder, get_encoder, loaded_encoders
from bot.encoder_client import MAGIC, read_frame, write_frame
from bot.encoder_service._stack import HEALTH_PATH
from bot.warmup import WARM_TEXTS, WarmReport, freeze_heap

__all__ = ["EncoderServer", "warm"]

logger = logging.getLogger(__name__)

_HTTP_GET = b"GET "
_PRECISIONS = ("auto", "bf16", "fp32")


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # a restarted encoder takes its port back at once
    daemon_threads = True


class EncoderServer:
    """Answers `info` and `encode` requests and `GET /health`; `serve(host, port)` blocks."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = replace(settings, encoder_url=None)  # this process is the encoder: it loads locally
        self.started = time.time()
        self.requests = 0
        self._encode_lock = threading.Lock()
        self._server: Optional[_TCPServer] = None

    def encoder(self, model: Optional[str], precision: Optional[str] = None) -> Encoder:
        """The encoder for `model` (a location, as clients send it) in `precision` (None: the settings')."""
        wanted = (precision or self.settings.precision).lower()
        if wanted not in _PRECISIONS:
            raise ValueError(f"precision {wanted!r} is not one of {', '.join(_PRECISIONS)}")
        return get_encoder(model, replace(self.settings, precision=wanted))

    def answer(self, request: Mapping[str, Any]) -> bytes:
        """The reply frames to one request."""
        body = b""
        try:
            encoder = self.encoder(request.get("model"), request.get("precision"))
            header: Dict[str, Any] = {"ok": True, "dim": encoder.dim, "precision": encoder.precision}
            if request.get("op") == "encode":
                texts = [str(t) for t in request.get("texts") or []]
                with self._encode_lock:
                    self.requests += 1
                    rows = encoder.encode(texts, batch_size=int(request.get("batch_size") or 32))
                header["rows"] = len(texts)
                body = rows.tobytes()
            elif request.get("op") != "info":
                raise ValueError(f"unknown op {request.get('op')!r}: info or encode")
        except Exception as exc:  # the client falls back to a local model; this server keeps serving
            logger.warning("encoder request for %s failed: %s", request.get("model"), exc, exc_info=True)
            header, body = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}, b""
        return write_frame([json.dumps(header).encode("utf-8"), body])

    def health(self) -> Dict[str, Any]:
        """What `GET /health` shows: the models loaded, their precision and cache counters."""
        models: List[Dict[str, Any]] = [
            {"name": e.name, "location": e.location, "dim": e.dim, "precision": e.precision, "stats": dict(e.stats)}
            for e in loaded_encoders().values()
        ]
        return {"status": "ok", "pid": os.getpid(), "uptime_s": round(time.time() - self.started, 1),
                "requests": self.requests, "models": models}

    def handle(self, sock: socket.socket) -> None:
        """One connection: frames until the client hangs up, or one HTTP GET."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            head = b""
            while len(head) < len(MAGIC):
                chunk = sock.recv(len(MAGIC) - len(head))
                if not chunk:
                    return
                head += chunk
            if head == MAGIC:
                sock.sendall(self.answer(json.loads(read_frame(sock))))
            elif head == _HTTP_GET:
                self._http(sock)
                return
            else:
                return

    def _http(self, sock: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 8192:
            chunk = sock.recv(4096)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 1)[0].split(b"?", 1)[0]
        found = path == HEALTH_PATH.encode("ascii")
        status, body = ("200 OK", self.health()) if found else ("404 Not Found", {"error": f"GET {HEALTH_PATH}"})
        raw = json.dumps(body).encode("utf-8")
        sock.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n"
                     f"Connection: close\r\n\r\n".encode("ascii") + raw)

    def serve(self, host: str, port: int) -> None:
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    outer.handle(self.request)
                except (OSError, ValueError) as exc:  # a client gone mid-request, or not speaking our frames
                    logger.debug("encoder connection closed: %s", exc)

        self._server = _TCPServer((host, port), Handler)
        logger.info("encoder listening on %s:%d", host, port)
        self._server.serve_forever()

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


async def warm(server: EncoderServer, report: WarmReport) -> None:
    """Load the default model (when it is a torch one) and encode a message with it, before listening."""
    location = resolve(None, server.settings)
    if location in E5_LOCATIONS:
        return
    encoder = await report.step("model", _sync(lambda: server.encoder(location)))
    if encoder is not None:
        await report.step("encode", _sync(lambda: encoder.encode([WARM_TEXTS["en"]], use_cache=False)))
    await report.step("gc_freeze", _sync(freeze_heap))


def _sync(work: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return work()

    return run
