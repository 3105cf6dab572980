"""HAProxy in front of several Rasa servers (and action servers): `bot run --workers N`.

Why HAProxy: it is a Debian package (`./canyu setup` installs it as root), checks its servers' health by
itself, and can hash on a field of the request body, which is where the REST channel names its sender.

The layout (`Layout`): the public Rasa port (5005) and the public action server port (5055) stay what
they were, so every client, the console and `endpoints.yml` keep their URLs; with N > 1 the Rasa servers
listen on free loopback ports behind a HAProxy frontend on the public port, and with M > 1 so do the
action servers. With N = 1 and M = 1 there is no HAProxy at all (today's layout).

Routing: a sender's messages go to the same Rasa server (consistent hashing on the sender, so one server
going down moves only its own senders):
- REST webhook: the body's `sender` (HAProxy buffers the request body; `json_query('$.sender')`);
- REST outbox and `/conversations/<id>/…`: the path, which names the sender;
- WeChat: the `openid` URL parameter that WeChat signs into every push;
- Telegram: the body's `message.chat.id`;
- anything else (a callback query, health probes): round robin.
Stickiness is not what keeps a sender's messages in order: Rasa's Redis lock store does that across
servers (a ticket per message, taken in arrival order; tests/test_scale_out.py). It saves the lock waits
(a second server waiting for a ticket polls Redis once a second) when one sender sends in bursts.

Health: HAProxy checks every Rasa server's `/status` (with the Rasa token) every 2 s and expects a loaded
model (`"model_file": "…"`), and every action server's `/health`; a server failing three checks in a row
(`CHECK_TIMEOUT`) gets no traffic until one check passes. `/canyu/balancer` on the public port is HAProxy's own liveness
(`monitor-uri`). The stats socket in the data dir (`show stat`) tells `Stack.ready()` how many servers
HAProxy sees up (`check()`); the supervisor takes a crashed server out through it at once and hands it back
to the checks when it has restarted (`set_server()`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from bot.errors import ConfigError

__all__ = ["Layout", "haproxy_binary", "render_config", "write_config", "command", "backend_of", "set_server",
           "show_stat", "server_states", "check",
           "MONITOR_PATH", "RASA_BACKEND", "ACTIONS_BACKEND", "RASA_CHECK_PATH", "ACTIONS_CHECK_PATH",
           "default_action_workers"]

MONITOR_PATH = "/canyu/balancer"
RASA_BACKEND = "rasa"
ACTIONS_BACKEND = "actions"
RASA_CHECK_PATH = "/status"
ACTIONS_CHECK_PATH = "/health"
CHECK_INTERVAL = "2s"
CHECK_TIMEOUT = "5s"
"""A Rasa server busy with a message (its event loop runs the NLU) answers a check late, not never: three checks
that fail or take over 5 s, 1 s apart, mark it down; a refused connection (a dead server) fails at once, and the
request is sent to another server."""
SERVER_TIMEOUT = "130s"
"""Longer than any answer (the REST client's own timeout is 120 s in the tests)."""
_SOCKET_PATH_MAX = 100
"""A unix socket path must fit in sun_path (108 bytes on Linux)."""


def default_action_workers(workers: int) -> int:
    """M = min(N, 2): one action server per Rasa server up to two (each holds the sentence models, ~0.9 GB)."""
    return min(max(1, workers), 2)


@dataclass(frozen=True)
class Layout:
    """The ports of one balanced stack: the public ones and the servers' own."""

    rasa_port: int
    rasa_ports: List[int]
    actions_port: int
    action_ports: List[int]
    run_dir: Path

    @property
    def balances_rasa(self) -> bool:
        return self.rasa_ports != [self.rasa_port]

    @property
    def balances_actions(self) -> bool:
        return self.action_ports != [self.actions_port]

    @property
    def needed(self) -> bool:
        return self.balances_rasa or self.balances_actions

    @property
    def config_file(self) -> Path:
        return self.run_dir / f"haproxy-{self.rasa_port}.cfg"

    @property
    def stats_socket(self) -> Path:
        path = self.run_dir / f"haproxy-{self.rasa_port}.sock"
        if len(str(path)) <= _SOCKET_PATH_MAX:
            return path
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]  # a deep data dir (pytest's): short name in /tmp
        return Path(tempfile.gettempdir()) / f"canyu-haproxy-{digest}.sock"


def haproxy_binary(env: Mapping[str, str]) -> str:
    """The `haproxy` executable (`CANYU_HAPROXY` of `env`, else on PATH or in /usr/sbin), or a ConfigError saying
    how to install it."""
    named = env.get("CANYU_HAPROXY", "").strip()
    if named:
        if not os.access(named, os.X_OK):
            raise ConfigError(f"CANYU_HAPROXY={named!r} is not an executable file; unset it to use haproxy on PATH")
        return named
    found = shutil.which("haproxy", path=env.get("PATH")) or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise ConfigError("more than one worker needs HAProxy as the load balancer, and it is not installed: "
                          "run `./canyu setup` as root, or `sudo apt-get install haproxy`, or use --workers 1")
    return found


def _servers(prefix: str, ports: List[int]) -> List[str]:
    return [f"    server {prefix}-{port} 127.0.0.1:{port} check" for port in ports]


def render_config(layout: Layout, rasa_token: str) -> str:
    """haproxy.cfg for `layout` (see the module docstring for the routing and the checks)."""
    status_check = f"{RASA_CHECK_PATH}?token={rasa_token}"
    lines = [
        "# Written by bot run (bot/balancer.py) at every start; edits are lost.",
        "global",
        "    maxconn 4096",
        f"    stats socket {layout.stats_socket} mode 600 level admin",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client " + SERVER_TIMEOUT,
        "    timeout server " + SERVER_TIMEOUT,
        "    timeout http-request 15s",
        "    timeout queue 30s",
        f"    timeout check {CHECK_TIMEOUT}",
        "    retries 2",
        "    option redispatch",
        f"    default-server inter {CHECK_INTERVAL} fastinter 1s downinter 1s rise 1 fall 3",
        "",
    ]
    if layout.balances_rasa:
        lines += [
            f"frontend {RASA_BACKEND}",
            f"    bind 127.0.0.1:{layout.rasa_port}",
            f"    monitor-uri {MONITOR_PATH}",
            "    option http-buffer-request",
            "    http-request set-var(txn.sticky) req.body,json_query('$.sender') if { path /webhooks/rest/webhook }",
            "    http-request set-var(txn.sticky) path if { path_beg /webhooks/rest/outbox/ /conversations/ }",
            "    http-request set-var(txn.sticky) url_param(openid) if { path_beg /webhooks/wechat/ }",
            "    http-request set-var(txn.sticky) req.body,json_query('$.message.chat.id') "
            "if { path_beg /webhooks/telegram/ }",
            f"    default_backend {RASA_BACKEND}",
            "",
            f"backend {RASA_BACKEND}",
            "    balance hash var(txn.sticky)",
            "    hash-type consistent",
            f"    option httpchk GET {status_check}",
            '    http-check expect rstring \\"model_file\\":\\ ?\\"',
            *_servers("rasa", layout.rasa_ports),
            "",
        ]
    if layout.balances_actions:
        lines += [
            f"frontend {ACTIONS_BACKEND}",
            f"    bind 127.0.0.1:{layout.actions_port}",
            f"    monitor-uri {MONITOR_PATH}",
            f"    default_backend {ACTIONS_BACKEND}",
            "",
            f"backend {ACTIONS_BACKEND}",
            "    balance leastconn",
            f"    option httpchk GET {ACTIONS_CHECK_PATH}",
            "    http-check expect status 200",
            *_servers("actions", layout.action_ports),
            "",
        ]
    return "\n".join(lines)


def write_config(layout: Layout, rasa_token: str) -> Path:
    """Write the config (mode 600: it holds the Rasa token for the health checks); return its path."""
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    path = layout.config_file
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render_config(layout, rasa_token))
    os.chmod(path, 0o600)
    return path


def command(stats_socket: Path, line: str, timeout: float = 2.0) -> str:
    """One command on HAProxy's stats socket (mode 600, in the data dir); its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(stats_socket))
        conn.sendall(line.encode() + b"\n")
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def backend_of(layout: Layout, child: str) -> Optional[str]:
    """The HAProxy backend that has the stack's child `child` as a server (named alike), or None."""
    if child.startswith("rasa-") and layout.balances_rasa:
        return RASA_BACKEND
    if child.startswith("actions-") and layout.balances_actions:
        return ACTIONS_BACKEND
    return None


def set_server(layout: Layout, child: str, enabled: bool) -> None:
    """Take a crashed server out of rotation at once, or hand it back to the health checks once restarted.

    HAProxy's checks need seconds to see a crash, and a restarted Rasa server listens before its model is
    loaded: without this, messages hashed to it fail in between. Back in, a server gets traffic only once its
    checks pass (a loaded model)."""
    backend = backend_of(layout, child)
    if backend is None:
        return
    server = f"{backend}/{child}"
    # enabled, HAProxy would call it UP at once; marked down, only a passing check brings it back
    command(layout.stats_socket, f"enable server {server}; set server {server} health down" if enabled
            else f"disable server {server}")


def show_stat(stats_socket: Path, timeout: float = 2.0) -> List[Dict[str, str]]:
    """HAProxy's `show stat`: one dict per frontend, backend and server (`pxname`, `svname`, `status`, `stot` …)."""
    lines = command(stats_socket, "show stat", timeout).splitlines()
    if not lines or not lines[0].startswith("# "):
        raise OSError(f"unexpected answer to `show stat`: {lines[:1]}")
    header = lines[0][2:].split(",")
    return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line.strip()]


def server_states(stats_socket: Path, timeout: float = 2.0) -> Dict[str, Dict[str, str]]:
    """{backend: {server: status}} (status UP, DOWN, MAINT, "UP 1/2" …)."""
    states: Dict[str, Dict[str, str]] = {}
    for row in show_stat(stats_socket, timeout):
        if row.get("svname") not in (None, "FRONTEND", "BACKEND"):
            states.setdefault(row["pxname"], {})[row["svname"]] = row.get("status", "")
    return states


def check(layout: Layout) -> Dict[str, Any]:
    """The readiness check of the balancer: ok when HAProxy answers and sees every server up."""
    try:
        states = server_states(layout.stats_socket)
    except OSError as exc:
        return {"ok": False, "detail": f"HAProxy's stats socket {layout.stats_socket} did not answer: {exc}"}
    parts, ok = [], True
    for backend, wanted in ((RASA_BACKEND, layout.balances_rasa), (ACTIONS_BACKEND, layout.balances_actions)):
        if not wanted:
            continue
        servers = states.get(backend, {})
        up = sorted(name for name, status in servers.items() if status.startswith("UP"))
        down = sorted(f"{name} {status}" for name, status in servers.items() if not status.startswith("UP"))
        ok = ok and bool(servers) and not down
        parts.append(f"{backend} {len(up)}/{len(servers)} up" + (f" ({', '.join(down)})" if down else ""))
    return {"ok": ok, "detail": "; ".join(parts)}
