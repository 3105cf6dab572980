"""Start and stop the whole assistant: Redis, the encoder, action server, Rasa server, agent console.

The encoder (bot/encoder_service/: the host's one copy of the torch sentence models) starts first and must answer
before the others start, since they encode through it from their warm-up on (`CANYU_ENCODER_URL`).

`bot run` and the test harness both use `Stack`, so what the tests run is what users run. Each child process logs
to `<data dir>/logs/<name>.log`; every child is started as `python -m bot.child <module> …` (the log redaction
filter everywhere, and Canyu's patches in the Rasa server: see bot/child.py).

With `workers` > 1 (`bot run --workers N`) the stack runs N Rasa servers and `action_workers` action servers
(default min(N, 2)) on free loopback ports, behind HAProxy on the public ports (bot/balancer.py); one Redis
serves them all, and the Rasa servers take their locks with `bot.locks.AtomicLockStore`. With one of each
there is no HAProxy and the layout is exactly the single-server one.

One Rasa server runs the custom actions itself by default, without an action server (`runs_action_servers`).

`Stack.ready()` is the readiness of the whole deployment (Redis PING, the action servers' /health, every Rasa
server's /status with a loaded model, the console's /health, HAProxy seeing every server up); the Rasa and action
servers warm up before they listen (bot/warmup.py), and their checks carry what they warmed (`warm`); `bot run` serves
it on its health port and restarts crashed children (bot/supervisor.py). `Stack.stop()` drains: every Rasa
server first, all at once (SIGTERM, so Sanic finishes the requests in flight within its graceful timeout),
then HAProxy, the action servers, the console, and Redis last (SHUTDOWN SAVE).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from bot import balancer, encoder_service
from bot.errors import CanyuError, ConfigError
from bot.probes import CHECK_TIMEOUT, Check, check_http, check_rasa, free_port, http_ok, signal_group
from bot.settings import Settings, child_env, load_settings
from bot.speedups import actions_in_rasa
from bot.storage import EmbeddedRedis, die_with_parent_hook, open_redis
from bot.warmup import read_report

__all__ = ["Stack", "Child", "Check", "free_port", "http_ok", "signal_group", "default_stack", "STARTUP_TIMEOUT",
           "STOP_TIMEOUT", "RASA_DRAIN_TIMEOUT", "CHECK_TIMEOUT"]

STARTUP_TIMEOUT = 240.0
STOP_TIMEOUT = 15.0
RASA_DRAIN_TIMEOUT = 20.0
"""Sanic's GRACEFUL_SHUTDOWN_TIMEOUT (15 s) for requests in flight, and some."""


@dataclass
class Child:
    name: str
    args: List[str]
    health_url: str
    process: Optional["subprocess.Popen[bytes]"] = None
    log: Optional[Path] = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Stack:
    """The assistant's processes for one deployment (one data dir, one set of ports)."""

    settings: Settings
    model: Path
    credentials: Optional[Path] = None
    extra_env: Dict[str, str] = field(default_factory=dict)
    with_console: bool = True
    with_actions: bool = True
    with_rasa: bool = True
    rasa_token: str = ""
    """The Rasa HTTP API token; "" (the default): `RASA_TOKEN` of the settings' environment, else a random one."""
    redis: Optional[EmbeddedRedis] = None
    children: Dict[str, Child] = field(default_factory=dict)
    progress: Callable[[str], None] = lambda message: None
    die_with_parent: bool = False
    """Children (and the embedded Redis) get SIGTERM when the thread that started them dies (`bot run`)."""
    workers: int = 1
    """Rasa servers; more than one run behind HAProxy on `settings.rasa_port`."""
    action_workers: Optional[int] = None
    """Action servers; None: min(workers, 2). More than one run behind HAProxy on `settings.actions_port`."""
    force_balancer: bool = False
    """HAProxy in front even of one Rasa server (bench/scale_out.py: 1 and 2 servers pay the same hop)."""
    _layout: Optional[balancer.Layout] = field(default=None, repr=False)
    _encoder_port: int = field(default_factory=free_port, repr=False)

    def __post_init__(self) -> None:
        if self.workers < 1 or (self.action_workers is not None and self.action_workers < 1):
            raise ConfigError(f"workers={self.workers}, action workers={self.action_workers}: each must be 1 or more")
        if not self.rasa_token:
            self.rasa_token = self.settings.env.get("RASA_TOKEN") or secrets.token_hex(24)

    @property
    def layout(self) -> balancer.Layout:
        """The ports: chosen once per stack, so a restarted server comes back on its own port."""
        if self._layout is None:
            s = self.settings
            actions = 1 if self.actions_in_rasa else (
                self.action_workers or balancer.default_action_workers(self.workers))
            self._layout = balancer.Layout(
                rasa_port=s.rasa_port,
                rasa_ports=[s.rasa_port] if self.workers == 1 and not self.force_balancer
                else [free_port() for _ in range(self.workers)],
                actions_port=s.actions_port,
                action_ports=[s.actions_port] if actions == 1 else [free_port() for _ in range(actions)],
                run_dir=s.data_dir / "run",
            )
        return self._layout

    @property
    def rasa_urls(self) -> List[str]:
        """Each Rasa server's own URL (the balancer's is `rasa_url`)."""
        return [f"http://127.0.0.1:{port}" for port in self.layout.rasa_ports]

    @property
    def redis_url(self) -> str:
        if self.settings.redis_url:
            return self.settings.redis_url
        assert self.redis is not None, "start() first"
        return self.redis.url

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.console_port}"

    @property
    def log_dir(self) -> Path:
        path = self.settings.data_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def metrics_dir(self) -> Path:
        """Where every child counts its Prometheus metrics (`bot.metrics`), emptied when the stack starts."""
        return self.settings.data_dir / "metrics"

    @property
    def own_encoder(self) -> bool:
        """This stack runs the host's encoder (bot/encoder_service/): `CANYU_ENCODER_URL` is unset."""
        return encoder_service.own_encoder({**self.settings.env, **self.extra_env})

    @property
    def actions_in_rasa(self) -> bool:
        """The Rasa servers run the custom actions themselves (bot/speedups.py `actions_in_rasa`: only with
        `CANYU_ACTIONS=inprocess`); the children are told the mode (`env`)."""
        return actions_in_rasa({**self.settings.env, **self.extra_env}, self.with_rasa)

    @property
    def runs_action_servers(self) -> bool:
        """This stack starts action servers: asked for (`with_actions`), and the Rasa servers call them over HTTP."""
        return self.with_actions and not self.actions_in_rasa

    def env(self) -> Dict[str, str]:
        """The children's environment: the settings' (`bot.settings.child_env`), this stack's, then `extra_env`."""
        s = self.settings
        env = child_env(
            s,
            **{
                "CANYU_HOME": str(s.home),
                "CANYU_DATA_DIR": str(s.data_dir),
                "REDIS_URL": self.redis_url,
                "CANYU_RASA_PORT": str(s.rasa_port),
                "CANYU_ACTIONS_PORT": str(s.actions_port),
                "CANYU_CONSOLE_PORT": str(s.console_port),
                "RASA_URL": self.rasa_url,
                "RASA_TOKEN": self.rasa_token,
                "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(s.home), s.env.get("PYTHONPATH", "")])),
            },
        )
        env.update(self.extra_env)
        env["CANYU_ACTIONS"] = "inprocess" if self.actions_in_rasa else "http"
        if self.own_encoder:
            env["CANYU_ENCODER_URL"] = encoder_service.url_for(self._encoder_port)
        return env

    def endpoints_file(self, rasa_port: Optional[int] = None) -> Path:
        """endpoints.yml with this stack's (public) action server port, for the Rasa server on `rasa_port`; with
        several Rasa servers, Rasa's lock store becomes `bot.locks.AtomicLockStore` (Rasa's own lets two servers
        handle one sender at once: bot/locks.py)."""
        source = (self.settings.home / "endpoints.yml").read_text(encoding="utf-8")
        text = source.replace("127.0.0.1:5055", f"127.0.0.1:{self.settings.actions_port}")
        if len(self.layout.rasa_ports) > 1:
            text = text.replace("type: bot.stores.LockStore", "type: bot.locks.AtomicLockStore")
        target = self.settings.data_dir / "run" / f"endpoints-{rasa_port or self.settings.rasa_port}.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def _plan(self) -> List[Child]:
        s, py = self.settings, sys.executable
        layout, port = self.layout, self._encoder_port
        plan = [Child(encoder_service.CHILD_NAME, encoder_service.child_args(port), encoder_service.health_url(port))
                ] if self.own_encoder and (self.with_rasa or self.with_actions) else []
        if self.runs_action_servers:
            for port in layout.action_ports:
                plan.append(Child("actions" if port == s.actions_port else f"actions-{port}",
                                  [py, "-m", "bot.child", "bot.actions.server", "--port", str(port)],
                                  f"http://127.0.0.1:{port}/health"))
        if self.with_rasa:
            plan.extend(self._rasa_child(port) for port in layout.rasa_ports)
        if layout.needed and (self.with_rasa or self.with_actions):
            config = balancer.write_config(layout, self.rasa_token)
            plan.append(Child("balancer", [balancer.haproxy_binary(s.env), "-db", "-f", str(config)],
                              f"http://127.0.0.1:{s.rasa_port if layout.balances_rasa else s.actions_port}"
                              f"{balancer.MONITOR_PATH}"))
        if self.with_console and (s.home / "bot" / "console" / "__main__.py").is_file():
            plan.append(Child("console", [py, "-m", "bot.child", "bot.console", "--host", "127.0.0.1", "--port",
                                          str(s.console_port)], f"{self.console_url}/health"))
        return plan

    def _rasa_child(self, port: Optional[int] = None) -> Child:
        s, py = self.settings, sys.executable
        port = port or s.rasa_port
        return Child(f"rasa-{port}", [
            py, "-m", "bot.child", "rasa", "run", "--model", str(self.model), "--endpoints",
            str(self.endpoints_file(port)), "--credentials", str(self.credentials or s.home / "credentials.yml"),
            "--port", str(port), "--interface", "127.0.0.1", "--enable-api", "--auth-token", self.rasa_token,
        ], f"http://127.0.0.1:{port}/webhooks/rest/")

    def start(self) -> "Stack":
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True)
        shutil.rmtree(self.settings.data_dir / "run" / "warm", ignore_errors=True)  # reports of earlier pids
        if not self.settings.redis_url and self.redis is None:
            self.progress("starting embedded Redis")
            self.redis = EmbeddedRedis(self.settings.data_dir / "redis", die_with_parent=self.die_with_parent)
            self.redis.start()
        for child in self._plan():
            self.start_child(child)
            if child.name == encoder_service.CHILD_NAME:  # the others encode through it from their warm-up on
                self.wait_healthy(child)
        for child in [c for c in self.children.values() if c.name != encoder_service.CHILD_NAME]:
            self.wait_healthy(child)
        if "balancer" in self.children:
            self.wait_balanced()
        return self

    def wait_balanced(self, timeout: float = 120.0) -> None:
        """Until HAProxy's own checks see every server up (a first message must not meet a server it calls down).
        A Rasa server answers before its model is loaded; HAProxy waits for the model (`/status`)."""
        deadline = time.monotonic() + timeout
        report = balancer.check(self.layout)
        while not report["ok"]:
            if time.monotonic() > deadline:
                raise CanyuError(f"HAProxy does not see every server up after {timeout:.0f} s: {report['detail']}; "
                                 f"see {self.log_dir / 'balancer.log'}")
            time.sleep(0.25)
            report = balancer.check(self.layout)
        self.progress(f"balancer ready: {report['detail']}")

    def planned(self, name: str) -> Child:
        """A fresh `Child` for `name` (to start it again after a crash)."""
        for child in self._plan():
            if child.name == name:
                return child
        raise CanyuError(f"no child named {name!r} in this stack; it has {', '.join(c.name for c in self._plan())}")

    def start_child(self, child: Child) -> None:
        self.progress(f"starting {child.name}")
        child.log = self.log_dir / f"{child.name}.log"
        log = open(child.log, "ab")
        child.process = subprocess.Popen(
            child.args, cwd=self.settings.home, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with_parent_hook() if self.die_with_parent else None,
        )
        log.close()
        self.children[child.name] = child

    def wait_healthy(self, child: Child, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.running():
                raise CanyuError(f"{child.name} exited during start-up; last lines of {child.log}:\n{self.tail(child)}")
            if http_ok(child.health_url):
                self.progress(f"{child.name} ready")
                return
            time.sleep(0.25)
        raise CanyuError(f"{child.name} not ready after {timeout:.0f} s; see {child.log}:\n{self.tail(child)}")

    @staticmethod
    def tail(child: Child, lines: int = 30) -> str:
        if not child.log or not child.log.exists():
            return ""
        return "\n".join(child.log.read_text(errors="replace").splitlines()[-lines:])

    def stop_child(self, name: str, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the child's process group, SIGKILL it after `timeout` seconds."""
        child = self.children.pop(name, None)
        if child is None or child.process is None:
            return
        if child.running():
            signal_group(child.process.pid, signal.SIGTERM)
            try:
                child.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.progress(f"{name} did not stop within {timeout:.0f} s; killing it")
                signal_group(child.process.pid, signal.SIGKILL)
                child.process.wait()
        else:
            signal_group(child.process.pid, signal.SIGKILL)  # whatever it left behind in its session

    def restart_rasa(self) -> None:
        """Stop and start the Rasa servers, one after the other (conversations must survive in Redis)."""
        for port in self.layout.rasa_ports:
            self.stop_child(f"rasa-{port}")
            child = self._rasa_child(port)
            self.start_child(child)
            self.wait_healthy(child)
        if "balancer" in self.children:
            self.wait_balanced()

    def stop(self) -> None:
        """Drain and stop: every Rasa server first, at once (no new messages; Sanic finishes those in flight),
        then HAProxy (the answers in flight went through it), the action servers, the console, and Redis last
        (SHUTDOWN SAVE)."""
        rasa = [n for n in self.children if n.startswith("rasa-")]
        for name in rasa:
            child = self.children[name]
            if child.running():
                signal_group(child.process.pid, signal.SIGTERM)  # type: ignore[union-attr]
        actions = [n for n in self.children if n == "actions" or n.startswith("actions-")]
        for name in rasa + [n for n in ("balancer", *actions, "console") if n in self.children] + list(self.children):
            self.stop_child(name, RASA_DRAIN_TIMEOUT if name in rasa else STOP_TIMEOUT)
        if self.redis is not None:
            self.redis.stop()
            self.redis = None

    def ready(self) -> Dict[str, Any]:
        """The deployment's readiness: {"ready": bool, "checks": {name: {"ok", "detail"}}}; every check
        that this stack runs must pass (Redis, actions, Rasa with a loaded model, console)."""
        checks: Dict[str, Check] = {"redis": self._check_redis()}
        s, layout, encoder = self.settings, self.layout, self.children.get(encoder_service.CHILD_NAME)
        if encoder is not None:
            checks[encoder.name] = self._with_warm_up(check_http(encoder.health_url), encoder.name)
        if self.runs_action_servers:
            for port in layout.action_ports:
                name = "actions" if port == s.actions_port else f"actions-{port}"
                checks[name] = self._with_warm_up(check_http(f"http://127.0.0.1:{port}/health"), name)
        if self.with_rasa:
            for port, url in zip(layout.rasa_ports, self.rasa_urls, strict=True):
                checks["rasa" if port == s.rasa_port else f"rasa-{port}"] = self._with_warm_up(
                    check_rasa(url, self.rasa_token), f"rasa-{port}")
        if self.with_actions and self.actions_in_rasa:  # warmed before Rasa listens: ready when Rasa is
            ok = all(checks[n]["ok"] for n in checks if n.startswith("rasa"))
            checks["actions"] = {"ok": ok, "detail": "run by Rasa (CANYU_ACTIONS=inprocess)" + ("" if ok else ": cold")}
        if layout.needed and (self.with_rasa or self.with_actions):
            checks["balancer"] = balancer.check(layout)
        if self.with_console and (s.home / "bot" / "console" / "__main__.py").is_file():
            checks["console"] = check_http(f"{self.console_url}/health")
        return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}

    def _with_warm_up(self, check: Check, child_name: str) -> Check:
        """`check` with `warm`: what the child warmed before it listened ({part: ms}, bot/warmup.py), or None when
        it has not reported (a server that answers has warmed; one without a REST channel does not report)."""
        child = self.children.get(child_name)
        report = read_report(self.settings.data_dir, child.process.pid) if child and child.process else None
        check["warm"] = dict(report["parts"]) if report else None
        if report and report.get("failed"):
            check["detail"] += "; warm-up failed for " + "; ".join(f"{k}: {v}" for k, v in report["failed"].items())
        elif check["ok"] and report is None:
            check["detail"] += "; no warm-up report"
        return check

    def _check_redis(self) -> Check:
        import redis as redis_lib

        try:
            client = open_redis(replace(self.settings, redis_url=self.redis_url), timeout=CHECK_TIMEOUT)
            try:
                return {"ok": bool(client.ping()), "detail": "PONG"}
            finally:
                client.close()
        except (redis_lib.RedisError, OSError, AssertionError, CanyuError) as exc:
            return {"ok": False, "detail": f"Redis PING failed: {type(exc).__name__}: {exc}"}

    def dead_children(self) -> List[Child]:
        return [c for c in self.children.values() if not c.running()]


def default_stack(settings: Optional[Settings] = None, **kwargs: Any) -> Stack:
    """A stack of the trained model with `settings` (default: read from the environment)."""
    from bot.training import model_path

    settings = settings or load_settings()
    return Stack(settings=settings, model=model_path(settings.home), **kwargs)
