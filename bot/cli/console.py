"""`bot console serve|adduser|users|deluser|tier|perks`: run the agent console and manage its users and perk codes."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any, List, Optional

from bot import keys
from bot.console.users import ROLES
from bot.errors import ConfigError

if TYPE_CHECKING:
    from redis import Redis


def _read_password(prompt: bool) -> str:
    if prompt and sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ConfigError("the two passwords differ; run the command again")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _redis(args: argparse.Namespace) -> "Redis[str]":
    """The Redis client of the CLI run's context (`args.ctx`, built by the CLI main)."""
    client: "Redis[str]" = args.ctx.redis
    return client


def add_user(name: str, role: str, password: str, display: str = "", *, redis: "Redis[str]") -> None:
    """Create or update a console user (used by the CLI and by tests)."""
    from bot.console.users import UserStore

    UserStore(redis).add(name, password, role, display)


def _adduser(args: argparse.Namespace) -> int:
    password = _read_password(prompt=not args.stdin)
    add_user(args.name, args.role, password, args.display or "", redis=_redis(args))
    print(f"user {args.name} ({args.role}) saved")
    return 0


def _users(args: argparse.Namespace) -> int:
    from bot.console.users import UserStore

    for user in UserStore(_redis(args)).list():
        print(f"{user.name}\t{user.role}\t{user.display}")
    return 0


def _deluser(args: argparse.Namespace) -> int:
    from bot.console.users import UserStore

    if not UserStore(_redis(args)).remove(args.name):
        raise ConfigError(f"no console user named {args.name!r}; `bot console users` lists them")
    print(f"user {args.name} removed")
    return 0


def _perks(args: argparse.Namespace) -> int:
    from bot.handoff.perks import PerkStore

    store = PerkStore(_redis(args))
    codes: List[str] = list(args.codes or [])
    if not codes and not sys.stdin.isatty():
        codes = [line.strip() for line in sys.stdin if line.strip()]
    if codes:
        added = store.add_codes(args.pool, codes)
        print(f"{added} code(s) added to pool {args.pool}")
    print(f"pool {args.pool}: {store.available(args.pool)} code(s) left")
    return 0


def _tier(args: argparse.Namespace) -> int:
    red = _redis(args)
    key = keys.tier(args.sender)
    if args.tier in (None, ""):
        print(f"{args.sender}: {red.get(key) or '(no tier)'}")
    elif args.tier == "none":
        red.delete(key)
        print(f"{args.sender}: tier removed")
    else:
        red.set(key, args.tier)
        print(f"{args.sender}: tier {args.tier} (queue boost from escalation.yml tiers.boost)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.console.__main__ import main

    argv: List[str] = ["--host", args.host]
    if args.port:
        argv += ["--port", str(args.port)]
    return main(argv, ctx=args.ctx)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]", _unused: Optional[Any] = None) -> None:
    p = sub.add_parser("console", help="the agent console: serve it, manage its users and perk codes")
    cmds = p.add_subparsers(dest="console_command", metavar="SUBCOMMAND")
    cmds.required = True

    ps = cmds.add_parser("serve", help="run the console web app")
    ps.add_argument("--host", default="127.0.0.1")
    ps.add_argument("--port", type=int, default=None, help="default: CANYU_CONSOLE_PORT or 5002")
    ps.set_defaults(func=_serve)

    pa = cmds.add_parser("adduser", help="create or update a user (password prompted, or read from stdin)")
    pa.add_argument("name")
    pa.add_argument("--role", choices=list(ROLES), required=True)
    pa.add_argument("--display", help="name shown to colleagues (default: NAME)")
    pa.add_argument("--stdin", action="store_true", help="read the password from the first line of stdin")
    pa.set_defaults(func=_adduser)

    pu = cmds.add_parser("users", help="list users")
    pu.set_defaults(func=_users)

    pd = cmds.add_parser("deluser", help="remove a user")
    pd.add_argument("name")
    pd.set_defaults(func=_deluser)

    pt = cmds.add_parser("tier", help="show or set a user's tier for the handoff queue (vip, fan, ...; 'none' clears)")
    pt.add_argument("sender")
    pt.add_argument("tier", nargs="?")
    pt.set_defaults(func=_tier)

    pp = cmds.add_parser("perks", help="add one-time perk codes to a pool (arguments or one per line on stdin)")
    pp.add_argument("pool")
    pp.add_argument("codes", nargs="*")
    pp.set_defaults(func=_perks)
