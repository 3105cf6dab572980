"""`bot run` as users run it: a crashed child (kill -9) comes back by itself, /ready says so, messages are
answered again, and SIGTERM (or the supervisor's own death) leaves no process behind.

Slow (several Rasa restarts). One `bot run` serves the module, started on a data dir where a daemonized
Redis of an earlier, dead owner is still running: `bot run` must replace it, keeping its data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import redis
import requests

from bot.runner import free_port
from bot.storage import EmbeddedRedis
from tests.harness import ensure_model

HOME = Path(__file__).resolve().parent.parent
START_TIMEOUT = 400.0
RECOVERY_TIMEOUT = 240.0
LEFTOVER_KEY = "canyu:test:left-by-an-earlier-run"


@dataclass
class Run:
    process: "subprocess.Popen[bytes]"
    data_dir: Path
    health: str
    rasa: str
    out: Path
    leftover_pid: Optional[int] = None

    def ready(self) -> Tuple[int, Dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{self.health}/ready", timeout=15) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def wait_ready(self, timeout: float) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"bot run exited ({self.process.returncode}):\n{self.output()}"
            try:
                status, last = self.ready()
                if status == 200:
                    return last
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                last = exc
            time.sleep(0.5)
        raise AssertionError(f"/ready not 200 within {timeout:.0f} s; last answer: {last}\n{self.output()[-3000:]}")

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        response = requests.post(f"{self.rasa}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                 timeout=120)
        response.raise_for_status()
        return response.json()

    def output(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""


def _env(data_dir: Path, health_port: int, actions: str = "") -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "CANYU_REST_TOKEN", "RASA_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "CANYU_ACTIONS")
           and not k.startswith(("WECHAT_", "TELEGRAM_"))}
    if actions:
        env["CANYU_ACTIONS"] = actions
    env.update(CANYU_DATA_DIR=str(data_dir), CANYU_HEALTH_PORT=str(health_port), PYTHONPATH=str(HOME),
               RASA_TELEMETRY_ENABLED="false", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2")
    return env


def start_bot_run(data_dir: Path, *extra: str, actions: str = "") -> Run:
    """`bot run` with `extra` arguments; `actions`: `CANYU_ACTIONS` ("": `bot run`'s default, in the Rasa process)."""
    health_port, rasa_port = free_port(), free_port()
    out = data_dir.parent / f"bot-run-{health_port}.out"
    args = [sys.executable, "-m", "bot.cli", "run", "--port", str(rasa_port), "--actions-port", str(free_port()),
            "--console-port", str(free_port()), *extra]
    with open(out, "wb") as log:
        process = subprocess.Popen(args, cwd=HOME, env=_env(data_dir, health_port, actions), stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return Run(process, data_dir, f"http://127.0.0.1:{health_port}", f"http://127.0.0.1:{rasa_port}", out)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return False


def _processes_using(data_dir: Path) -> List[str]:
    """Processes whose command line names the data dir (redis-server's --dir and socket do)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(data_dir) in cmd and _alive(int(entry.name)):
            found.append(f"{entry.name}: {cmd[:160]}")
    return found


def _stop(run: Run) -> None:
    if run.process.poll() is None:
        run.process.send_signal(signal.SIGTERM)
        try:
            run.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()


@pytest.fixture(scope="module")
def bot_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    ensure_model()
    data_dir = tmp_path_factory.mktemp("supervised") / "data"
    leftover = EmbeddedRedis(data_dir / "redis").start(daemonize=True)  # an earlier run's, owner long gone
    leftover_pid = leftover.pid
    redis.Redis(unix_socket_path=str(leftover.socket)).set(LEFTOVER_KEY, "kept")
    run = start_bot_run(data_dir)
    run.leftover_pid = leftover_pid
    try:
        run.wait_ready(START_TIMEOUT)
        yield run
    finally:
        _stop(run)
        if leftover_pid and _alive(leftover_pid):
            os.kill(leftover_pid, signal.SIGKILL)


def _answered(run: Run, text: str = "hi") -> None:
    replies = run.say(f"sup-{time.monotonic_ns()}", text)
    assert replies and all(r.get("text") for r in replies), f"empty or missing reply: {replies}"


def test_bot_run_replaces_a_leftover_redis_and_reports_every_child_ready(bot_run: Run) -> None:
    status, report = bot_run.ready()
    assert status == 200 and report["ready"] and report["reasons"] == []
    names = set(report["children"])
    assert {"redis", "encoder", "console"} <= names and any(n.startswith("rasa-") for n in names), names
    assert "actions" in names  # the action server beside Rasa (the default; CANYU_ACTIONS=inprocess: none)
    assert set(report["checks"]) == {"redis", "encoder", "actions", "rasa", "console"}
    assert report["checks"]["actions"]["ok"] and "warm" in report["checks"]["actions"], report["checks"]["actions"]
    assert report["checks"]["rasa"]["detail"].startswith("model ")
    with urllib.request.urlopen(f"{bot_run.health}/health", timeout=5) as response:
        assert response.status == 200 and json.loads(response.read())["pid"] == bot_run.process.pid

    assert bot_run.leftover_pid and not _alive(bot_run.leftover_pid), "the leftover Redis is still running"
    assert report["children"]["redis"]["pid"] != bot_run.leftover_pid
    socket_path = bot_run.data_dir / "redis" / "redis.sock"
    red = redis.Redis(unix_socket_path=str(socket_path), decode_responses=True)
    assert red.get(LEFTOVER_KEY) == "kept"
    leader = red.get("canyu:jobs:leader") or ""
    job_pids = {str(bot_run.process.pid), str(report["children"]["console"]["pid"])}
    assert leader.split(":")[1] in job_pids, f"the background jobs have no leader in this stack: {leader!r}"
    _answered(bot_run)


@pytest.mark.parametrize("which", ["rasa", "console", "redis", "encoder"])  # an action server: test_ctrl_c…
def test_a_killed_child_is_restarted_and_messages_are_answered_again(bot_run: Run, which: str) -> None:
    _, before = bot_run.ready()
    name = next(n for n in before["children"] if n.startswith(which))
    old = before["children"][name]
    os.kill(old["pid"], signal.SIGKILL)

    deadline = time.monotonic() + 15
    while True:
        status, report = bot_run.ready()
        if status == 503:
            break
        assert time.monotonic() < deadline, f"/ready stayed 200 after kill -9 of {name}: {report}"
        time.sleep(0.1)
    assert report["ready"] is False and report["reasons"], report

    after = bot_run.wait_ready(RECOVERY_TIMEOUT)["children"][name]
    assert after["restarts"] == old["restarts"] + 1
    assert after["last_exit_code"] == -signal.SIGKILL
    assert after["pid"] != old["pid"] and _alive(after["pid"]) and not _alive(old["pid"])
    assert f"{name} exited (code -9); restarting in 1 s" in bot_run.output()
    _answered(bot_run, "where is my order")


def test_restarts_are_counted_in_metrics(bot_run: Run) -> None:
    _, report = bot_run.ready()
    with urllib.request.urlopen(f"{bot_run.health}/metrics", timeout=15) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        page = response.read().decode()
    for name, child in report["children"].items():
        if child["restarts"]:
            assert f'canyu_child_restarts_total{{child="{name}"}} {float(child["restarts"])}' in page, page
    assert "canyu_redis_up 1.0" in page
    assert "# TYPE canyu_handoffs_waiting gauge" in page and "# TYPE canyu_delivery_dead_letters gauge" in page


def test_sigterm_drains_and_leaves_no_process(bot_run: Run) -> None:
    _, report = bot_run.ready()
    pids = [child["pid"] for child in report["children"].values()]
    bot_run.process.send_signal(signal.SIGTERM)
    assert bot_run.process.wait(timeout=90) == 0
    out = bot_run.output()
    assert "stopping" in out and out.rstrip().endswith("[canyu] stopped"), out[-2000:]
    assert not [pid for pid in pids if _alive(pid)], "children left running after SIGTERM"
    assert not _processes_using(bot_run.data_dir), _processes_using(bot_run.data_dir)
    assert not (bot_run.data_dir / "redis" / "owner.pid").exists()


def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    run = start_bot_run(tmp_path / "data", "--no-console")
    try:
        report = run.wait_ready(START_TIMEOUT)
        pids = [child["pid"] for child in report["children"].values()]
        os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait(timeout=10)
        deadline = time.monotonic() + 30
        while [pid for pid in pids if _alive(pid)] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in pids if _alive(pid)], "children outlived their killed supervisor"
        assert not _processes_using(run.data_dir), _processes_using(run.data_dir)
    finally:
        _stop(run)
        for line in _processes_using(run.data_dir):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _redis_only_stack(tmp_path: Path) -> Any:
    from dataclasses import replace

    from bot.runner import Stack
    from bot.settings import DEFAULT_ACTIONS_PORT, DEFAULT_CONSOLE_PORT, DEFAULT_RASA_PORT, load_settings

    settings = replace(load_settings(), home=HOME, data_dir=tmp_path / "data", redis_url=None,
                       rasa_port=DEFAULT_RASA_PORT, actions_port=DEFAULT_ACTIONS_PORT, console_port=DEFAULT_CONSOLE_PORT)
    return Stack(settings=settings, model=HOME / "models" / "unused.tar.gz", with_actions=False, with_rasa=False,
                 with_console=False).start()


def test_backoff_doubles_while_a_child_keeps_crashing_and_resets_once_it_stayed_up(tmp_path: Path) -> None:
    from bot.supervisor import BACKOFF_CAP_S, STABLE_S, Supervisor

    stack = _redis_only_stack(tmp_path)
    said: List[str] = []
    clock = _Clock()
    supervisor = Supervisor(stack, said.append, clock=clock)
    try:
        def crash_and_recover() -> str:
            stack.redis.process.kill()
            stack.redis.process.wait()
            supervisor.poll()
            message = said[-1]
            assert supervisor.states()["redis"]["state"] == "backoff"
            supervisor.poll()
            assert supervisor.states()["redis"]["state"] == "backoff", "restarted before its backoff ran out"
            clock.now += BACKOFF_CAP_S
            supervisor.poll()  # starts it
            supervisor.poll()  # sees it healthy
            assert supervisor.states()["redis"]["state"] == "running", said
            return message

        delays = [crash_and_recover() for _ in range(4)]
        assert [d.rsplit("restarting in ", 1)[1] for d in delays] == ["1 s", "2 s", "4 s", "8 s"]
        clock.now += STABLE_S
        supervisor.poll()
        assert crash_and_recover().endswith("restarting in 1 s")
        state = supervisor.states()["redis"]
        assert state["restarts"] == 5 and state["last_exit_code"] == -signal.SIGKILL
        assert redis.Redis(unix_socket_path=str(stack.redis.socket)).ping()
    finally:
        stack.stop()


def test_stack_ready_fails_with_the_reason_while_redis_is_down(tmp_path: Path) -> None:
    stack = _redis_only_stack(tmp_path)
    try:
        assert stack.ready() == {"ready": True, "checks": {"redis": {"ok": True, "detail": "PONG"}}}
        stack.redis.process.kill()
        stack.redis.process.wait()
        report = stack.ready()
        assert report["ready"] is False
        assert report["checks"]["redis"]["detail"].startswith("Redis PING failed"), report
    finally:
        stack.stop()


def test_public_surfaces_are_declared() -> None:
    import inspect

    import bot.jobs
    import bot.runner
    import bot.supervisor

    for module in (bot.jobs, bot.runner, bot.supervisor):
        defined = {name for name, value in vars(module).items()
                   if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
                   and value.__module__ == module.__name__}
        assert defined <= set(module.__all__), (module.__name__, defined - set(module.__all__))
        assert all(hasattr(module, name) for name in module.__all__), module.__name__


def test_ctrl_c_lets_rasa_finish_a_message_in_flight(tmp_path: Path) -> None:
    """Ctrl-C in a terminal signals the whole process group: Redis must outlive Rasa's drain."""
    import threading

    run = start_bot_run(tmp_path / "data", "--no-console", actions="http")  # its action server is stopped below
    actions_pid = 0
    try:
        report = run.wait_ready(START_TIMEOUT)
        actions_pid = report["children"]["actions"]["pid"]
        pids = [child["pid"] for child in report["children"].values()]
        os.kill(actions_pid, signal.SIGSTOP)  # the message below waits for its custom action
        result: Dict[str, Any] = {}

        def send() -> None:
            try:
                result["replies"] = run.say("drain-me", "where is my order")
            except Exception as exc:
                result["error"] = exc

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(2.0)
        assert sender.is_alive(), f"the message was not in flight: {result}"
        os.killpg(run.process.pid, signal.SIGINT)  # what Ctrl-C does
        time.sleep(2.0)
        assert run.ready() == (503, {"ready": False, "reasons": ["the stack is stopping"],
                                     "children": run.ready()[1]["children"], "checks": {}})
        os.kill(actions_pid, signal.SIGCONT)
        sender.join(timeout=60)
        assert "error" not in result, result
        assert result["replies"] and all(r.get("text") for r in result["replies"]), result
        assert run.process.wait(timeout=90) == 0
        assert not [pid for pid in pids if _alive(pid)]
        assert not _processes_using(run.data_dir), _processes_using(run.data_dir)
    finally:
        if actions_pid and _alive(actions_pid):
            os.kill(actions_pid, signal.SIGCONT)
        _stop(run)
