"""`bot lint | review | report`: the trainer's commands (`bot validate` is wired in core.py to bot.trainer.validate)."""

from __future__ import annotations

import argparse


def _lint(args: argparse.Namespace) -> int:
    from bot.trainer.lint import main

    return main(args)


def _review(args: argparse.Namespace) -> int:
    from bot.trainer.review_tui import main

    return main(args)


def _report(args: argparse.Namespace) -> int:
    from bot.trainer.report import main

    return main(args)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from bot.trainer import lint, report, review_tui

    p = sub.add_parser("lint", help="check responses and KB answers against the voice rules (voice.yml)")
    lint.register_arguments(p)
    p.set_defaults(func=_lint)

    p = sub.add_parser("review", help="the review inbox: what the bot missed, grouped; assign, draft, dismiss, retrain")
    review_tui.register_arguments(p)
    p.set_defaults(func=_review)

    p = sub.add_parser("report", help="the week's unanswered groups, escalation reasons and ratings as charts")
    report.register_arguments(p)
    p.set_defaults(func=_report)
