"""`bot train | run | shell | validate | test`: the everyday commands.

Each command gets the CLI run's context as `args.ctx` (built once by `bot.cli.main`); `bot run` also builds the
context of the stack it starts (its Redis is the stack's), for the jobs and the retention sweep.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import CanyuError
from bot.settings import Settings, apply_quiet_env, child_env

if TYPE_CHECKING:
    from bot.context import AppContext

METRICS_REDIS_TIMEOUT = 2.0
"""Seconds `/metrics` of `bot run` waits for Redis before it leaves the Redis gauges out."""


def _say(message: str) -> None:
    print(f"[canyu] {message}", flush=True)


def _ctx(args: argparse.Namespace) -> "AppContext":
    """The CLI run's context (`args.ctx`, built by the CLI main)."""
    ctx: "AppContext" = args.ctx
    return ctx


def _train(args: argparse.Namespace) -> int:
    from bot.training import train

    apply_quiet_env()
    _say("training (skipped when nothing changed)…")
    result = train(_ctx(args).settings.home, force=args.force)
    if result.trained:
        _say(f"trained {result.model} in {result.seconds:.1f} s")
    else:
        _say(f"nothing changed: {result.model} is up to date")
    return 0


def _ensure_model(settings: Settings) -> Path:
    """Train in a child process if needed, so the supervisor does not keep TensorFlow in memory."""
    from bot.training import model_path

    if subprocess.call([sys.executable, "-m", "bot.cli", "train"], env=child_env(settings)) != 0:
        raise CanyuError("training failed; run `bot validate` to see what is wrong in the data")
    return model_path(settings.home)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both end `bot run` cleanly (also when started from a script, where SIGINT is ignored)."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _prepare_run(args: argparse.Namespace, settings: Settings) -> None:
    """Before prometheus_client is imported (the context imports it): `bot run` counts restarts into the stack's
    shared metrics folder (`Stack.metrics_dir`, which every child counts into too)."""
    apply_quiet_env({"PROMETHEUS_MULTIPROC_DIR": str(settings.data_dir / "metrics")})


def _run(args: argparse.Namespace) -> int:
    """Start the stack, keep it up (crashed children restart with backoff), serve health, drain on stop."""
    from bot.context import build_context
    from bot.runner import RASA_DRAIN_TIMEOUT, Stack
    from bot.storage import open_redis
    from bot.supervisor import POLL_S, HealthServer, Supervisor, health_address

    _stop_on_signals()
    settings = _ctx(args).settings
    if args.workers < 1 or (args.action_workers is not None and args.action_workers < 1):
        raise CanyuError(f"--workers {args.workers} --action-workers {args.action_workers}: each must be 1 or more")
    if args.workers > 1 and args.telegram_polling:
        raise CanyuError("--telegram-polling needs --workers 1: Telegram lets one process poll a bot at a time; "
                         "with several workers use the webhook (TELEGRAM_WEBHOOK_URL, TELEGRAM_SECRET_TOKEN)")
    if args.workers > 1 or (args.action_workers or 1) > 1:
        from bot.balancer import haproxy_binary

        haproxy_binary(settings.env)  # before anything starts: a clear message when HAProxy is missing
    model = _ensure_model(settings)
    settings = replace(
        settings,
        rasa_port=args.port or settings.rasa_port,
        actions_port=args.actions_port or settings.actions_port,
        console_port=args.console_port or settings.console_port,
    )
    extra = {"TELEGRAM_MODE": "polling"} if args.telegram_polling else {}
    stack = Stack(settings=settings, model=model, extra_env=extra, with_console=not args.no_console, progress=_say,
                  die_with_parent=True, workers=args.workers, action_workers=args.action_workers)
    host, port = health_address(settings.env)
    metrics_env = {**settings.env, "PROMETHEUS_MULTIPROC_DIR": str(stack.metrics_dir)}
    health = HealthServer(None, host, port, env=metrics_env).start()
    jobs = None
    run_ctx = None
    try:
        stack.start()
        from bot.deployment_jobs import deployment_jobs
        from bot.jobs import JobRunner
        from bot.privacy.policy import policy_path
        from bot.privacy.retention import start_retention_thread

        supervisor = Supervisor(stack, _say)
        health.supervisor = supervisor
        stack_settings = replace(settings, redis_url=stack.redis_url)
        health.redis = open_redis(stack_settings, timeout=METRICS_REDIS_TIMEOUT)
        run_ctx = build_context(settings=stack_settings)  # the running stack's context: its Redis
        red = run_ctx.redis
        start_retention_thread(red, policy_file=policy_path(settings.env))  # privacy.yml's retention, every few min
        jobs = JobRunner(red, deployment_jobs(red, stack.rasa_url, stack.rasa_token,
                                                 settings=settings)).start_thread()
        _say(f"REST channel:  POST {stack.rasa_url}/webhooks/rest/webhook  {{\"sender\": \"me\", \"message\": \"hi\"}}"
             + ("  (with Authorization: Bearer $CANYU_REST_TOKEN)" if stack.env().get("CANYU_REST_TOKEN") else ""))
        if "balancer" in stack.children:
            _say(f"HAProxy on :{settings.rasa_port} balances {len(stack.layout.rasa_ports)} Rasa server(s) by sender"
                 f" and {len(stack.layout.action_ports)} action server(s); one Redis for all")
        if "console" in stack.children:
            _say(f"agent console: {stack.console_url}")
        _say(f"Redis: {'REDIS_URL' if settings.redis_url else 'embedded, data in ' + str(settings.data_dir / 'redis')}")
        _say(f"health: http://{host}:{port}/health, /ready, /metrics; crashed processes are restarted")
        _say(f"logs: {stack.log_dir}   (Ctrl-C to stop)")
        while True:
            supervisor.poll()
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        _say(f"stopping: Rasa finishes the messages in flight (up to {RASA_DRAIN_TIMEOUT:.0f} s), then the rest…")
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not leave half the stack running
            signal.signal(signum, signal.SIG_IGN)
        if health.supervisor is not None:
            health.supervisor.stopping = True  # /ready says 503 while Rasa drains
        if jobs is not None:
            jobs.stop()
        stack.stop()
        health.stop()
        if health.redis is not None:
            health.redis.close()
        if run_ctx is not None:
            run_ctx.close()
        _say("stopped")


def _shell(args: argparse.Namespace) -> int:
    from bot.runner import Stack

    _stop_on_signals()
    settings = _ctx(args).settings
    model = _ensure_model(settings)
    stack = Stack(settings=settings, model=model, with_console=False, with_rasa=False, progress=_say,
                  die_with_parent=True)
    try:
        stack.start()  # Redis + action server in the background, Rasa's own shell in the foreground
        cmd = [sys.executable, "-m", "bot.child", "rasa", "shell", "--model", str(model), "--endpoints", str(stack.endpoints_file()),
               "--port", str(args.port)]
        return subprocess.call(cmd, cwd=stack.settings.home, env=stack.env())
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


def _validate(args: argparse.Namespace) -> int:
    from bot.trainer.validate import main as trainer_validate

    return int(trainer_validate(args) or 0)


def _test(args: argparse.Namespace) -> int:
    """Rasa's conversation tests (tests/stories) against the real action server, plus the NLU report."""
    from bot.runner import Stack, free_port

    model = _ensure_model(_ctx(args).settings)
    settings = replace(_ctx(args).settings, actions_port=free_port())
    out = settings.home / "reports" / "rasa-test"
    stack = Stack(settings=settings, model=model, with_console=False, with_rasa=False, progress=_say)
    try:
        stack.start()
        cmd = [sys.executable, "-m", "rasa", "test", "core", "--model", str(model), "--stories", "tests/stories",
               "--endpoints", str(stack.endpoints_file()), "--out", str(out), "--fail-on-prediction-errors"]
        code = subprocess.call(cmd, cwd=settings.home, env=stack.env())
    finally:
        stack.stop()
    _say(f"conversation tests: {'passed' if code == 0 else 'FAILED'}; details in {out}")
    from bot.trainer.nlu_report import main as nlu_report

    return max(code, int(nlu_report(args) or 0))


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("train", help="train the Rasa model (skips when nothing changed)")
    p.add_argument("--force", action="store_true", help="train even if nothing changed")
    p.set_defaults(func=_train)

    p = sub.add_parser("run", help="run Redis, the action server, Rasa (REST on :5005) and the agent console")
    p.add_argument("--port", type=int, default=None, help="Rasa server / REST port (default 5005)")
    p.add_argument("--actions-port", type=int, default=None, help="action server port (default 5055)")
    p.add_argument("--console-port", type=int, default=None, help="agent console port (default 5002)")
    p.add_argument("--no-console", action="store_true", help="do not start the agent console")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="Rasa servers behind HAProxy on the Rasa port (default 1: no HAProxy)")
    p.add_argument("--action-workers", type=int, default=None, metavar="M",
                   help="action servers (default min(N, 2)); more than one run behind HAProxy on the actions port")
    p.add_argument("--telegram-polling", action="store_true", help="Telegram by long polling instead of webhook")
    p.set_defaults(func=_run, prepare=_prepare_run)

    p = sub.add_parser("shell", help="chat with the assistant in the terminal")
    p.add_argument("--port", type=int, default=5006, help="port of the shell's own Rasa server")
    p.set_defaults(func=_shell)

    p = sub.add_parser("validate", help="check intents, responses, dialogue and knowledge")
    from bot.trainer.validate import register_arguments

    register_arguments(p)
    p.set_defaults(func=_validate)

    p = sub.add_parser("test", help="run the conversation tests (tests/stories) and write reports")
    p.set_defaults(func=_test)
