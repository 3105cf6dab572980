"""`bot validate`: check intents, responses, dialogue and knowledge; print `file:line: what and how to fix`.

This module is the command: its arguments, printing, the exit code, and `--pair` (which writes `twins.lock`).
What is checked is in `bot.trainer.validation` (the rule families are `bot.trainer.checks`); Rasa's own
validator is adapted by `bot.trainer.rasa_validator`, its warnings placed on the first line that mentions
the name they are about.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List

from bot.errors import ConfigError
from bot.trainer import twins as twins_mod
from bot.trainer.problems import Problem, count, print_problems
from bot.trainer.validation import collect, run_validation

__all__ = ["main", "register_arguments"]


def register_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=None, help="project folder (default: CANYU_HOME, the repo)")
    p.add_argument("--no-rasa", action="store_true", help="skip Rasa's own validator (faster)")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="also show notes (info lines)")
    p.add_argument("--pair", nargs="*", metavar="KEY", default=None,
                   help="record the current zh/en texts of these answers (all when no KEY) as paired in twins.lock")


def _home(args: argparse.Namespace) -> str:
    """The project folder of the CLI run's settings (`args.ctx`)."""
    ctx = getattr(args, "ctx", None)
    if ctx is None:
        raise ConfigError("`bot validate` without --root needs the CLI's context (args.ctx) for the project folder")
    return str(ctx.settings.home)


def _pair(root: str, keys: List[str]) -> int:
    """`--pair [KEY …]`: record the current twins as paired; 1 when named keys matched nothing."""
    problems: List[Problem] = []
    _, _, _, texts, kb = collect(root, problems)
    done = twins_mod.pair(root, twins_mod.current_twins(texts + kb.texts), keys or None)
    print(f"paired {len(done)} answer(s) in {twins_mod.TWINS_FILE}")
    if keys and not done:
        print("nothing paired: check the key names (utter_… or a KB entry id) and that both languages exist",
              file=sys.stderr)
        return 1
    return 0


def main(args: argparse.Namespace) -> int:
    """`bot validate`: exit 0 when clean, 1 when there are errors (or warnings with --strict)."""
    root = os.path.abspath(getattr(args, "root", None) or _home(args))
    if getattr(args, "pair", None) is not None:
        return _pair(root, args.pair)
    rasa = not getattr(args, "no_rasa", False)
    if rasa:  # before Rasa and TensorFlow load: no telemetry, quiet logs (what validate.py once set itself)
        from bot.settings import apply_quiet_env

        apply_quiet_env()
    problems = run_validation(root, rasa=rasa)
    print_problems(problems, as_json=getattr(args, "json", False), show_info=getattr(args, "verbose", False))
    if count(problems, "error") or (getattr(args, "strict", False) and count(problems, "warning")):
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bot validate")
    register_arguments(parser)
    sys.exit(main(parser.parse_args()))
