"""The `bot` command: every module in this package with a `register(subparsers)` adds its sub-commands.

`main` is the CLI's composition root: it builds one `AppContext` per run and hands it to the command as `args.ctx`.
A command whose process environment must be set before that (`bot run`: prometheus_client reads
`PROMETHEUS_MULTIPROC_DIR` when it is imported) sets a `prepare(args, settings)` default, run first.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import List, Optional

from bot.errors import CanyuError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="Canyu (参与感) customer-service assistant")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run one `bot` command with the run's one context (`args.ctx`: settings read once, Redis on first use)."""
    from bot.redaction import install, redact, secrets_from_env
    from bot.settings import load_settings

    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = None
    try:
        settings = load_settings()
        install(settings.env)
        prepare = getattr(args, "prepare", None)
        if prepare is not None:  # what the process environment needs before the context's imports (bot run)
            prepare(args, settings)
        from bot.context import build_context

        ctx = args.ctx = build_context(settings=settings)
        return int(args.func(args) or 0)
    except CanyuError as exc:
        print(f"error: {redact(str(exc), secrets_from_env(ctx.env) if ctx else ())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if ctx is not None:
            ctx.close()


if __name__ == "__main__":
    sys.exit(main())
