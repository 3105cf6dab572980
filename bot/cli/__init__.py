"""The `bot` command: every module in this package with a `register(subparsers)` adds its sub-commands.

`main` is the CLI's composition root: it builds one `AppContext` per run and hands it to the command as `args.ctx`.
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
    from bot.context import build_context
    from bot.redaction import install, redact, secrets_from_env

    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = None
    try:
        ctx = args.ctx = build_context()
        install(ctx.env)
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
