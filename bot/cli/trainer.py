"""`bot lint | review | report`: the trainer's commands (`bot validate` is wired in core.py to bot.trainer.validate)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import AppContext


def _context(args: argparse.Namespace) -> AppContext:
    """The CLI run's context (`args.ctx`, built once by the CLI main, `bot.cli.main`)."""
    ctx: AppContext = args.ctx
    return ctx


def _lint(args: argparse.Namespace) -> int:
    from bot.trainer.lint import main

    return main(args)


def _review(args: argparse.Namespace) -> int:
    from bot.trainer.review_tui import main

    ctx = _context(args)
    return main(args, redis=ctx.redis, settings=ctx.settings)


def _report(args: argparse.Namespace) -> int:
    """Charts for trainers (bot.trainer.report) and the participation figures (bot.analytics), same period."""
    import sys
    import time

    from bot.analytics import compute_report, report_csv, report_text
    from bot.trainer.report import main

    ctx = _context(args)
    end = time.time()
    figures = compute_report(end - args.days * 86400, end, red=ctx.redis)
    if args.csv:
        with open(args.csv, "w", encoding="utf-8", newline="") as fh:
            fh.write(report_csv(figures))
        print(f"wrote {args.csv}", file=sys.stderr)
    code = main(args, redis=ctx.redis, settings=ctx.settings)
    if not args.json:
        print()
        print(report_text(figures))
    return code


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from bot.trainer import lint, report, review_tui

    p = sub.add_parser("lint", help="check responses and KB answers against the voice rules (voice.yml)")
    lint.register_arguments(p)
    p.set_defaults(func=_lint)

    p = sub.add_parser("review", help="the review inbox: what the bot missed or answered wrong, grouped; "
                                      "assign, draft, dismiss, mark answers wrong, retrain")
    review_tui.register_arguments(p)
    p.set_defaults(func=_review)

    p = sub.add_parser("report",
                       help="charts of the week (unanswered groups, escalations, ratings) and the analytics figures")
    report.register_arguments(p)
    p.add_argument("--csv", default=None, help="also write the analytics figures (containment, CSAT, …) as CSV")
    p.set_defaults(func=_report)
