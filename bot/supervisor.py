"""Keep a running `Stack` up: restart crashed children with backoff, and answer health probes.

`bot run` starts the stack, then hands it to a `Supervisor` and polls it until Ctrl-C or SIGTERM:

    supervisor = Supervisor(stack, say)
    server = HealthServer(supervisor, host, port).start()     # GET /health, /ready, /metrics
    while True:
        supervisor.poll()
        time.sleep(POLL_S)

A child that exits (the encoder, an action server, a Rasa server, HAProxy with `--workers N`, the console, or
the embedded Redis, which is started again on the same data dir so its append-only file is replayed; a Rasa server
comes back on its own port, and HAProxy's checks send it traffic again) is started again after 1 s, then 2, 4, 8 …
seconds while it keeps failing, at most `BACKOFF_CAP_S`; once it has stayed healthy for `STABLE_S` seconds
the next crash waits 1 s again. A restart that does not become healthy within the start-up timeout is
killed and counts as a crash. Every crash is printed (`[canyu] rasa-5005 exited (code -9); restarting in
1 s`), kept in the child's state (`/ready`), and counted in `canyu_child_restarts{child=…}`.

Readiness (`/ready`) is 200 only when every child runs and `Stack.ready()`'s checks all pass (Redis PING,
the encoder, the action servers, every Rasa server with a loaded model, HAProxy seeing all of them up, the
console); otherwise 503 with the reasons. With the custom actions in the Rasa server (`CANYU_ACTIONS=inprocess`,
`bot run`'s default for one Rasa server) no action server runs, and the `actions` check follows Rasa's.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

from bot import balancer
from bot.errors import CanyuError, ConfigError
from bot.runner import STARTUP_TIMEOUT, Stack, http_ok, signal_group

if TYPE_CHECKING:
    import redis

__all__ = ["Supervisor", "ChildState", "HealthServer", "health_address", "BACKOFF_FIRST_S", "BACKOFF_CAP_S",
           "STABLE_S", "POLL_S", "DEFAULT_HEALTH_PORT"]

logger = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 30.0
STABLE_S = 60.0
"""A child healthy this long has its backoff reset."""
POLL_S = 0.5
DEFAULT_HEALTH_PORT = 5003
DEFAULT_HEALTH_HOST = "127.0.0.1"
REDIS = "redis"


@dataclass
class ChildState:
    """What `/ready` says about one supervised process."""

    name: str
    state: str = "running"
    """starting | running | backoff | stopped"""
    pid: Optional[int] = None
    restarts: int = 0
    last_exit_code: Optional[int] = None
    last_exit_at: Optional[float] = None
    """Epoch seconds of the last crash."""
    next_start_in: Optional[float] = None
    _failures: int = 0
    _next_start: float = 0.0
    _started: float = 0.0
    _healthy_since: Optional[float] = None

    def public(self) -> Dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


class Supervisor:
    """Restarts the children of `stack` that exit; `poll()` is one look at all of them."""

    def __init__(self, stack: Stack, say: Callable[[str], None] = lambda message: None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stack = stack
        self.say = say
        self.clock = clock
        self.started_at = time.time()
        self.stopping = False  # set when the stack begins to drain: /ready answers 503 from then on
        self._lock = threading.Lock()
        self.children: Dict[str, ChildState] = {}
        now = clock()
        names = ([REDIS] if stack.redis is not None else []) + list(stack.children)
        for name in names:
            self.children[name] = ChildState(name, pid=self._pid(name), _started=now, _healthy_since=now)

    # --- one process, whatever its kind ---------------------------------------------------------------
    def _pid(self, name: str) -> Optional[int]:
        if name == REDIS:
            return self.stack.redis.pid if self.stack.redis is not None else None
        child = self.stack.children.get(name)
        return child.process.pid if child is not None and child.process is not None else None

    def _exit_code(self, name: str) -> Tuple[bool, Optional[int]]:
        """(exited, code): code is None when the process is gone but was not ours to reap."""
        if name == REDIS:
            server = self.stack.redis
            if server is None:
                return True, None
            if server.process is not None:
                code = server.process.poll()
                return code is not None, code
            return (False, None) if server.is_running() else (True, None)
        child = self.stack.children.get(name)
        if child is None or child.process is None:
            return True, None
        code = child.process.poll()
        return code is not None, code

    def _healthy(self, name: str) -> bool:
        if name == REDIS:
            return self.stack.redis is not None and self.stack.redis.is_running()
        child = self.stack.children.get(name)
        return child is not None and child.running() and http_ok(child.health_url)

    def _spawn(self, name: str) -> None:
        if name == REDIS:
            assert self.stack.redis is not None
            self.stack.redis.process = None
            self.stack.redis.start()  # same data dir: the append-only file is replayed
            return
        old = self.stack.children.get(name)
        if old is not None and old.process is not None:
            signal_group(old.process.pid, signal.SIGKILL)  # anything the dead child left in its session
        self.stack.start_child(self.stack.planned(name))

    def _kill(self, name: str) -> None:
        if name == REDIS:
            if self.stack.redis is not None and self.stack.redis.process is not None:
                self.stack.redis.process.kill()
                self.stack.redis.process.wait()
            return
        child = self.stack.children.get(name)
        if child is not None and child.process is not None:
            signal_group(child.process.pid, signal.SIGKILL)
            child.process.wait()

    # --- the loop -------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Look at every child once: note crashes, start what is due, mark what came up."""
        for name, st in list(self.children.items()):
            now = self.clock()
            if st.state in ("running", "starting"):
                exited, code = self._exit_code(name)
                if exited:
                    self._crashed(st, code, now)
                elif st.state == "starting":
                    if self._healthy(name):
                        with self._lock:
                            st.state, st._healthy_since = "running", now
                        self.say(f"{name} is back (pid {st.pid}, restart {st.restarts})")
                        self._balance(name, True)
                    elif now - st._started > STARTUP_TIMEOUT:
                        self.say(f"{name} not healthy {STARTUP_TIMEOUT:.0f} s after its restart; killing it")
                        self._kill(name)
                        self._crashed(st, None, self.clock())
                elif st._healthy_since is not None and now - st._healthy_since >= STABLE_S and st._failures:
                    with self._lock:
                        st._failures = 0
            if st.state == "backoff" and now >= st._next_start:
                self._restart(st)
            with self._lock:
                st.next_start_in = round(max(0.0, st._next_start - now), 1) if st.state == "backoff" else None

    def _balance(self, name: str, enabled: bool) -> None:
        """Out of HAProxy's rotation at a crash, back (to its checks) once restarted; see balancer.set_server."""
        if "balancer" not in self.stack.children or name == "balancer":
            return
        try:
            balancer.set_server(self.stack.layout, name, enabled)
        except OSError as exc:  # HAProxy itself down: it restarts with every server in, checked
            logger.warning("could not %s %s in HAProxy: %s", "enable" if enabled else "disable", name, exc)

    def _crashed(self, st: ChildState, code: Optional[int], now: float) -> None:
        self._balance(st.name, False)
        delay = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** st._failures)
        with self._lock:
            st.state, st.last_exit_code, st.last_exit_at = "backoff", code, time.time()
            st._failures += 1
            st._next_start, st._healthy_since = now + delay, None
        described = f"code {code}" if code is not None else "gone"
        self.say(f"{st.name} exited ({described}); restarting in {delay:g} s")
        child = self.stack.children.get(st.name)
        if child is not None and child.log is not None:
            logger.warning("%s exited (%s); last lines of %s:\n%s", st.name, described, child.log,
                           self.stack.tail(child, 10))

    def _restart(self, st: ChildState) -> None:
        from bot import metrics

        with self._lock:
            st.restarts += 1
            st._started = self.clock()
        metrics.CHILD_RESTARTS.labels(st.name).inc()
        try:
            self._spawn(st.name)
        except CanyuError as exc:
            self.say(f"{st.name} could not be started: {exc}")
            self._crashed(st, None, self.clock())
            return
        with self._lock:
            st.state, st.pid = "starting", self._pid(st.name)

    # --- what the health server shows ------------------------------------------------------------------
    def states(self) -> Dict[str, Dict[str, Any]]:
        with self._lock:
            return {name: st.public() for name, st in self.children.items()}

    def readiness(self) -> Dict[str, Any]:
        """{"ready", "reasons", "children", "checks"}: ready only when all children run and all checks pass."""
        states = self.states()
        report: Dict[str, Any] = self.stack.ready() if states and not self.stopping else {"ready": False, "checks": {}}
        reasons: List[str] = []
        if self.stopping:
            reasons.append("the stack is stopping")
        elif not states:
            reasons.append("the stack is starting")
        for name, st in states.items():
            if st["state"] != "running":
                wait = f", next start in {st['next_start_in']} s" if st["next_start_in"] is not None else ""
                reasons.append(f"{name} is {st['state']} (last exit code {st['last_exit_code']}{wait})")
        for name, check in report["checks"].items():
            if not check["ok"]:
                reasons.append(f"{name}: {check['detail']}")
        return {"ready": not reasons, "reasons": reasons, "children": states, "checks": report["checks"]}


def health_address(env: Mapping[str, str]) -> Tuple[str, int]:
    """(host, port) of the health server: `CANYU_HEALTH_HOST` (127.0.0.1), `CANYU_HEALTH_PORT` (5003) of `env`."""
    raw = env.get("CANYU_HEALTH_PORT", "").strip() or str(DEFAULT_HEALTH_PORT)
    if not raw.isdigit() or not 0 <= int(raw) < 65536:
        raise ConfigError(f"CANYU_HEALTH_PORT={raw!r} is not a port number; set it to e.g. {DEFAULT_HEALTH_PORT}")
    return env.get("CANYU_HEALTH_HOST", "").strip() or DEFAULT_HEALTH_HOST, int(raw)


class HealthServer:
    """`GET /health` (liveness), `/ready` (readiness JSON, 200 or 503), `/metrics` (Prometheus) in a thread."""

    def __init__(self, supervisor: "Supervisor | None", host: str, port: int,
                 redis: Optional["redis.Redis[str]"] = None, env: Mapping[str, str] = MappingProxyType({})) -> None:
        self.supervisor = supervisor
        self.host, self.port = host, port
        self.redis = redis
        """The client `/metrics` reads its Redis gauges with (handed in once Redis runs; None: no such gauges)."""
        self.env = env
        """The environment `/metrics` finds the processes' counters by (`PROMETHEUS_MULTIPROC_DIR`)."""
        self._server: Optional[ThreadingHTTPServer] = None

    def start(self) -> "HealthServer":
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/health":
                    started = outer.supervisor.started_at if outer.supervisor else time.time()
                    body = {"status": "ok", "pid": os.getpid(), "uptime_s": round(time.time() - started, 1)}
                    self._send(200, json.dumps(body).encode())
                elif path == "/ready":
                    if outer.supervisor is None:
                        report: Dict[str, Any] = {"ready": False, "reasons": ["the stack is starting"],
                                                  "children": {}, "checks": {}}
                    else:
                        report = outer.supervisor.readiness()
                    self._send(200 if report["ready"] else 503, json.dumps(report, ensure_ascii=False).encode())
                elif path == "/metrics":
                    import bot.delivery  # noqa: F401  (registers the delivery queue gauges)
                    from bot import metrics

                    self._send(200, metrics.render(outer.redis, outer.env), metrics.CONTENT_TYPE)
                else:
                    self._send(404, b'{"error": "GET /health, /ready or /metrics"}')

        try:
            self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        except OSError as exc:
            raise ConfigError(f"the health server cannot listen on {self.host}:{self.port} ({exc}); "
                              "set CANYU_HEALTH_PORT to a free port") from exc
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="canyu-health", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
