"""The one Rasa HTTP client (bot/rasa_client.py) as the trainer uses it: `PUT /model` with the token in the query,
and every failure a `RasaUnavailable` that says what happened without the token."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from bot.errors import ConnectorError, RasaUnavailable
from bot.rasa_client import RasaClient
from bot.trainer.review import _reload

TOKEN = "rasa-token-5c2e9b10"


class _Rasa(http.server.BaseHTTPRequestHandler):
    calls: List[Tuple[str, str, Dict[str, Any]]] = []
    status = 204

    def do_PUT(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        type(self).calls.append(("PUT", self.path, body))
        self.send_response(type(self).status)
        answer = f"no such model; you sent token={TOKEN}".encode() if type(self).status >= 400 else b""
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def rasa() -> Iterator[Tuple[str, type]]:
    handler = type("Handler", (_Rasa,), {"calls": [], "status": 204})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_replace_model_puts_the_model_file_with_the_token(rasa: Tuple[str, Any]) -> None:
    url, handler = rasa
    asyncio.run(RasaClient(url, TOKEN).replace_model("/models/new.tar.gz"))
    assert handler.calls == [("PUT", f"/model?token={TOKEN}", {"model_file": "/models/new.tar.gz"})]


def test_a_refusal_is_rasa_unavailable_with_the_status_and_no_token(rasa: Tuple[str, Any]) -> None:
    url, handler = rasa
    handler.status = 400
    with pytest.raises(RasaUnavailable) as failed:
        _reload(url, TOKEN, "/models/new.tar.gz")
    assert isinstance(failed.value, ConnectorError) and failed.value.platform == "rasa"
    assert failed.value.code == 400
    assert str(failed.value).startswith(f"Rasa at {url} refused the new model /models/new.tar.gz: HTTP 400 ")
    assert TOKEN not in str(failed.value)


def test_no_answer_is_rasa_unavailable_without_a_code() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(RasaUnavailable) as failed:
        _reload(url, TOKEN, "/models/new.tar.gz")
    assert failed.value.code is None and failed.value.__cause__ is None
    assert f"but Rasa at {url} did not answer" in str(failed.value) and TOKEN not in str(failed.value)
