"""`bot eval conversations FILE`: ask every item of the set, print the table, write report.json.

Without `--url` the real assistant is started here the way `tests/harness.py` does (temp data dir, embedded
Redis, action server, Rasa server, no console). The settings and the REST channel's token come from the caller
(the CLI reads them once from the environment), so nothing here reads or changes the process environment.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from bot.conversation_eval._asking import DEFAULT_WORKERS, evaluate
from bot.conversation_eval._report import format_report, summarise, write_report
from bot.conversation_eval._set import load_items
from bot.errors import ConfigError, DataError
from bot.settings import Settings

__all__ = ["start_stack", "run", "main_conversations"]


def _progress_printer(stream: Any = sys.stderr) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        if done == total or done % 20 == 0:
            print(f"[canyu] asked {done}/{total}", file=stream, flush=True)

    return show


def start_stack(model: Optional[Path], data_dir: Path, say: Callable[[str], None], settings: Settings) -> Any:
    """The real assistant the way tests/harness.py starts it: temp data dir, embedded Redis, action server,
    Rasa server with the trained model (trained first if stale), no console."""
    from bot.runner import Stack, free_port

    if model is None:
        from bot.training import train

        say("training (skipped when nothing changed)…")
        result = train(home=settings.home)
        model = result.model
        if result.trained:
            say(f"trained {model} in {result.seconds:.1f} s")
    if not Path(model).is_file():
        raise DataError(f"no model at {model}: run `bot train` or pass --model")
    stack_settings = replace(settings, data_dir=data_dir, redis_url=None, rasa_port=free_port(),
                             actions_port=free_port(), console_port=free_port())
    stack = Stack(settings=stack_settings, model=Path(model), with_console=False, progress=say)
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    return stack


def run(source: Path, out: Optional[Path] = None, model: Optional[Path] = None,
        url: Optional[str] = None, token: Optional[str] = None, workers: int = DEFAULT_WORKERS,
        stream: Any = sys.stdout, rest_token: str = "", settings: Optional[Settings] = None) -> Dict[str, Any]:
    """Evaluate the set at `source`; against `url`/`token` if given, else a stack started here with the caller's
    `settings` (required then). `rest_token` is the REST channel's bearer token."""

    def say(message: str) -> None:
        print(f"[canyu] {message}", file=sys.stderr, flush=True)

    items = load_items(source)
    stack = None
    tmp: Optional[tempfile.TemporaryDirectory[str]] = None
    try:
        if url is None:
            if settings is None:
                raise ConfigError("starting the assistant for an evaluation needs the caller's settings; pass "
                                  "settings= (the CLI's context), or url= of a running assistant")
            tmp = tempfile.TemporaryDirectory(prefix="canyu-eval-conv-")
            stack = start_stack(model, Path(tmp.name), say, settings)
            url, token = stack.rasa_url, stack.rasa_token
        say(f"asking {len(items)} first questions ({workers} at a time)")
        started = time.monotonic()
        results = evaluate(items, str(url), token or "", workers=workers, progress=_progress_printer(),
                           rest_token=rest_token)
        seconds = time.monotonic() - started
    finally:
        if stack is not None:
            stack.stop()
        if tmp is not None:
            tmp.cleanup()
    summary = summarise(results)
    print(format_report(summary, f"{source} ({len(results)} items, {seconds:.0f} s)"), file=stream)
    errors = [r for r in results if r.error]
    if errors:
        print(f"\n{len(errors)} item(s) failed to run, first: {errors[0].error}", file=stream)
    if out is not None:
        path = write_report(out, source, results, summary, seconds)
        print(f"report: {path}", file=stream)
    return {"summary": summary, "results": results, "seconds": seconds}


def main_conversations(args: argparse.Namespace, settings: Settings, rest_token: str) -> int:
    """The command; `settings` and the REST token (`--rest-token`, else `CANYU_REST_TOKEN`) come from the CLI."""
    run(Path(args.file), out=Path(args.out) if args.out else None, model=Path(args.model) if args.model else None,
        url=args.url, token=args.token, workers=args.workers, rest_token=rest_token, settings=settings)
    return 0  # a measurement, not a check
