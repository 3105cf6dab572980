"""`bot privacy ...`: a user's rights of access and erasure, and the retention policy (privacy.yml).

    bot privacy export wechat:oAbC [--out FILE]   # JSON of everything about the person (all linked identities)
    bot privacy erase telegram:42 [--yes]         # delete it everywhere (asks first unless --yes)
    bot privacy sweep                             # apply privacy.yml's retention limits now
    bot privacy inventory                         # every store that holds personal data
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import AppContext


def _context(args: argparse.Namespace) -> AppContext:
    """The CLI run's context (`args.ctx`, built once by the CLI main, `bot.cli.main`)."""
    ctx: AppContext = args.ctx
    return ctx


def _export(args: argparse.Namespace) -> int:
    from bot.privacy import export_user

    text = json.dumps(export_user(_context(args).redis, args.user), ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def _erase(args: argparse.Namespace) -> int:
    from bot.privacy import erase, find_all, resolve_person

    red = _context(args).redis
    person = resolve_person(red, args.user)
    plan = find_all(red, person)
    count = sum(len(v) for v in plan.values())
    print(f"{args.user}: identities {', '.join(person.sender_ids)}")
    if not count:
        print("nothing stored about this person")
        return 0
    for name, entries in plan.items():
        print(f"  {name}: {len(entries)}")
    if not args.yes:
        if not sys.stdin.isatty():
            print("not erased: confirm with --yes (no terminal to ask on)", file=sys.stderr)
            return 1
        answer = input(f"Erase these {count} entries for good? Type 'erase' to confirm: ")
        if answer.strip().lower() != "erase":
            print("not erased")
            return 1
    report = erase(red, person, plan)
    redacted = sum(report.redacted.values())
    print(f"erased {sum(report.erased.values())} entries" + (f", removed the person from {redacted} shared records"
                                                              if redacted else ""))
    if report.left:
        print("still naming this person (written while erasing, or a store missing from bot/privacy/inventory.py):")
        for place in report.left:
            print(f"  {place}")
        return 3
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from bot.privacy import apply_retention, load_policy, policy_path

    ctx = _context(args)
    policy = load_policy(Path(args.config) if args.config else policy_path(ctx.settings.env))
    report = apply_retention(ctx.redis, policy)
    days = ", ".join(f"{k} {v if v is not None else 'kept'}" for k, v in policy.retention.items())
    print(f"retention ({policy.source}): {days}")
    if not report:
        print("nothing to do")
    for family, counts in sorted(report.items()):
        print(f"  {family}: " + ", ".join(f"{what} {n}" for what, n in sorted(counts.items())))
    return 0


def _inventory(args: argparse.Namespace) -> int:
    from bot.privacy import FAMILIES

    for fam in FAMILIES:
        print(f"{fam.name:18} {fam.retention:14} {fam.pattern}\n{'':33} {fam.holds} ({fam.owner})")
    return 0


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("privacy", help="export or erase one user's data; apply the retention policy")
    psub = p.add_subparsers(dest="privacy_command", metavar="WHAT")
    psub.required = True

    q = psub.add_parser("export", help="print JSON of one user's data in every store (all linked identities)")
    q.add_argument("user", help="a sender id: wechat:oAbC, telegram:42, rest:x")
    q.add_argument("--out", help="write to this file instead of printing")
    q.set_defaults(func=_export)

    q = psub.add_parser("erase", help="delete one user's data everywhere (all linked identities)")
    q.add_argument("user", help="a sender id: wechat:oAbC, telegram:42, rest:x")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    q.set_defaults(func=_erase)

    q = psub.add_parser("sweep", help="apply privacy.yml's retention limits now")
    q.add_argument("--config", help="another privacy.yml (default: CANYU_PRIVACY_FILE or ./privacy.yml)")
    q.set_defaults(func=_sweep)

    q = psub.add_parser("inventory", help="list every store that holds personal data")
    q.set_defaults(func=_inventory)
