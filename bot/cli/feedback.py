"""`bot feedback ...`, `bot fans ...` and `bot analytics`: the participation loop from the terminal.

    bot feedback list [--status planned]
    bot feedback show FB3
    bot feedback set-status FB3 shipped --release "MilletOS 2.3 this Friday" [--release-zh "本周五的 MilletOS 2.3"]
    bot feedback set-status FB4 declined --reason "the 14 Pro has no room for a bigger battery" \
        --instead "Battery saver in Settings adds about 2 hours"
    bot feedback set-status FB5 in_beta [--campaign band9-beta] [--signup https://…]   # F-code or sign-up
    bot feedback notify FB3              # (re)send the current status news to voices not told yet
    bot feedback digest [--lang zh] [--days 7 | --all]
    bot feedback digest --send           # send this week's digest to subscribers now if due (once each)
    bot fans show SENDER_ID
    bot fans grant SENDER_ID beta_tester | bot fans revoke SENDER_ID
    bot fans fcodes add band9-launch --count 50 [--title-en "the Band 9 launch"] | bot fans fcodes list
    bot fans redeem F-ABCDEFGH --by ORDER_OR_USER
    bot analytics [--days 30 | --since 2026-11-01 --until 2026-11-30] [--csv FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timezone
from typing import Any, Optional

from bot.errors import ConfigError
from bot.texts import Texts


def _red(args: argparse.Namespace) -> Any:
    """The Redis client of the CLI run's context (`args.ctx`, built by the CLI main)."""
    return args.ctx.redis


def _store(args: argparse.Namespace) -> Any:
    from bot.feedback import FeedbackStore

    return FeedbackStore(_red(args))


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if ts else "—"


def _list(args: argparse.Namespace) -> int:
    items = _store(args).all(args.status)
    if args.json:
        print(json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2))
        return 0
    if not items:
        print("no feedback items" + (f" with status {args.status}" if args.status else ""))
        return 0
    for item in sorted(items, key=lambda i: -i.count):
        title = item.title_en or item.title_zh
        print(f"{item.id}\t{item.status}\t{item.count} voice(s)\t{item.kind}\t{title}")
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store(args)
    item = store.get(args.id)
    print(json.dumps(item.to_dict(), ensure_ascii=False, indent=2))
    from bot.feedback import ANNOUNCED

    told_of = {s: store.told(item.id, s) for s in ANNOUNCED}
    print(f"voices ({item.count}):")
    for v in store.voices(item.id):
        heard = [s for s in ANNOUNCED if v.sender_id in told_of[s]]
        told = f" [told: {', '.join(heard)}]" if heard else ""
        print(f"  {_when(v.ts)}  {v.sender_id} ({v.channel or '?'}, {v.language}, {v.how}){told}: {v.text}")
    print("history:")
    for h in store.history(item.id):
        extra = h.get("release") or h.get("reason") or ""
        print(f"  {_when(h['ts'])}  {h['status']}  by {h.get('by', '?')}  {extra}")
    return 0


def _notify(store: Any, item_id: str, texts: Texts) -> int:
    from bot.feedback import notify_status

    report = asyncio.run(notify_status(store, item_id, texts=texts))
    print(f"{report.item_id}: {report.status} message sent to {len(report.sent)}, waiting for next contact "
          f"{len(report.queued)}, already told {len(report.skipped)}, unsubscribed {len(report.unsubscribed)}, "
          f"failed {len(report.failed)}")
    for sender, error in report.failed.items():
        print(f"  failed {sender}: {error} (run `bot feedback notify {report.item_id}` to retry)", file=sys.stderr)
    return 1 if report.failed else 0


def _set_status(args: argparse.Namespace) -> int:
    store = _store(args)
    extra = {k: getattr(args, k) or "" for k in ("reason_zh", "instead", "instead_zh", "campaign", "signup")}
    item = store.set_status(args.id, args.status, reason=args.reason or "", release=args.release or "",
                            release_zh=args.release_zh or "", by=args.by, **extra)
    print(f"{item.id} is now {item.status} ({item.count} voice(s))")
    if item.status != "new" and not args.no_notify:
        return _notify(store, item.id, args.ctx.texts)
    return 0


def _notify_cmd(args: argparse.Namespace) -> int:
    store = _store(args)
    if store.get(args.id).status == "new":
        raise ConfigError(f"{args.id} is new: there is no news yet; set a status with "
                          f"`bot feedback set-status {args.id} planned`")
    return _notify(store, args.id, args.ctx.texts)


def _title(args: argparse.Namespace) -> int:
    item = _store(args).set_title(args.id, en=args.en or "", zh=args.zh or "")
    print(f"{item.id}: en={item.title_en!r} zh={item.title_zh!r}")
    return 0


def _digest(args: argparse.Namespace) -> int:
    from bot.feedback import digest_text, send_weekly_digest

    if args.send:
        report = asyncio.run(send_weekly_digest(_red(args), schedule=args.ctx.env.get("CANYU_DIGEST_SCHEDULE"),
                                                 texts=args.ctx.texts))
        if not report.due:
            print(f"{report.week}: the digest is not due yet (CANYU_DIGEST_SCHEDULE)")
            return 0
        print(f"{report.week}: {report.items} item(s); sent {len(report.sent)}, waiting for next contact "
              f"{len(report.queued)}, already sent {len(report.skipped)}, failed {len(report.failed)} "
              f"of {report.subscribers} subscriber(s)")
        return 1 if report.failed else 0

    print(digest_text(_store(args), args.lang, days=None if args.all else args.days))
    return 0


def _fans_show(args: argparse.Namespace) -> int:
    from bot.fans import explain_status, identities, load_rules, rules_path, status_of

    red = _red(args)
    rules = load_rules(rules_path(args.ctx.settings))
    status = status_of(args.sender, red, rules)
    print(f"profile {status.profile} (identities: {', '.join(identities(status.profile, red))})")
    print(f"tier {status.tier.id} (queue boost {status.boost}) because {status.reason}"
          + (f" granted by {status.granted_by}" if status.granted_by else ""))
    stats = {k: v for k, v in status.stats.items() if k != "profile"}
    print(f"stats {json.dumps(stats, ensure_ascii=False)}")
    print(explain_status(args.sender, args.lang, red=red, rules=rules))
    return 0


def _fans_grant(args: argparse.Namespace) -> int:
    from bot.fans import grant_tier, load_rules, rules_path

    status = grant_tier(args.sender, args.tier, by=args.by, red=_red(args),
                        rules=load_rules(rules_path(args.ctx.settings)))
    print(f"{args.sender} (profile {status.profile}) is now {status.tier.id}")
    return 0


def _fans_revoke(args: argparse.Namespace) -> int:
    from bot.fans import load_rules, revoke_tier, rules_path, status_of

    red = _red(args)
    revoke_tier(args.sender, red)
    rules = load_rules(rules_path(args.ctx.settings))
    print(f"{args.sender}: manual tier removed; now {status_of(args.sender, red, rules).tier.id}")
    return 0


def _fcodes_add(args: argparse.Namespace) -> int:
    from bot.fans import add_codes, pool_size

    red = _red(args)
    added = add_codes(args.campaign, count=args.count, codes=args.codes or [], title_en=args.title_en or "",
                      title_zh=args.title_zh or "", red=red)
    for code in added:
        print(code)
    print(f"{len(added)} code(s) added; {pool_size(args.campaign, red)} unused in {args.campaign}", file=sys.stderr)
    return 0


def _fcodes_list(args: argparse.Namespace) -> int:
    from bot.fans import campaigns, pool_size, redemptions

    red = _red(args)
    used = redemptions(red)
    for name, meta in campaigns(red).items():
        done = sum(1 for r in used if r["campaign"] == name)
        print(f"{name}\tunused {pool_size(name, red)}\tredeemed {done}\t{meta.get('title_en', '')}")
    return 0


def _redeem(args: argparse.Namespace) -> int:
    from bot.fans import redeem_code

    record = redeem_code(args.code, args.by, red=_red(args))
    print(f"{record['code']} redeemed by {record['redeemed_by']} (campaign {record['campaign']}, "
          f"person {record['profile']})")
    return 0


def _parse_day(raw: Optional[str]) -> Optional[float]:
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        # cause dropped: the message quotes the bad date and the format
        raise ConfigError(f"date {raw!r} is not YYYY-MM-DD") from None


def _report(args: argparse.Namespace) -> int:
    from bot.analytics import compute_report, report_csv, report_text

    end = _parse_day(args.until)
    end = end + 86400 if end else time.time()
    start = _parse_day(args.since) or end - args.days * 86400
    report = compute_report(start, end, red=_red(args))
    if args.csv:
        text = report_csv(report)
        if args.csv == "-":
            sys.stdout.write(text)
        else:
            with open(args.csv, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            print(f"wrote {args.csv}", file=sys.stderr)
        return 0
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(report_text(report))
    return 0


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    fb = sub.add_parser("feedback", help="feedback items: list, statuses, shipped messages, weekly digest")
    fbs = fb.add_subparsers(dest="feedback_command", metavar="ACTION")
    fbs.required = True
    p = fbs.add_parser("list", help="items with their status and number of voices")
    p.add_argument("--status", help="only this status (new, planned, in_beta, shipped, declined)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)
    p = fbs.add_parser("show", help="one item: voices and status history")
    p.add_argument("id")
    p.set_defaults(func=_show)
    p = fbs.add_parser("set-status", help="move an item; every voice is told on their channel")
    p.add_argument("id")
    p.add_argument("status", help="new, planned, in_beta (beta), shipped, declined")
    p.add_argument("--reason", help="why it is declined (users read it)")
    p.add_argument("--reason-zh", help="the reason in Chinese")
    p.add_argument("--instead", help="declined: what users can do instead (told with the reason)")
    p.add_argument("--instead-zh", help="the same in Chinese")
    p.add_argument("--campaign", help="in beta: the F-code campaign whose codes invite the voices")
    p.add_argument("--signup", help="in beta: where voices without a code sign up (a link)")
    p.add_argument("--release", help='where it shipped, e.g. "MilletOS 2.3 this Friday"')
    p.add_argument("--release-zh", help='the same in Chinese, e.g. "本周五的 MilletOS 2.3"')
    p.add_argument("--by", default="cli", help="who made the change (history)")
    p.add_argument("--no-notify", action="store_true", help="do not send the status news now")
    p.set_defaults(func=_set_status)
    p = fbs.add_parser("notify", help="send the current status news to voices not told yet (retries failures)")
    p.add_argument("id")
    p.set_defaults(func=_notify_cmd)
    p = fbs.add_parser("title", help="set an item's public title in English and/or Chinese")
    p.add_argument("id")
    p.add_argument("--en")
    p.add_argument("--zh")
    p.set_defaults(func=_title)
    p = fbs.add_parser("digest", help='"shipped because you asked" text for the weekly post')
    p.add_argument("--lang", choices=("en", "zh"), default="en")
    p.add_argument("--days", type=float, default=7)
    p.add_argument("--all", action="store_true", help="every shipped item, not only the last --days")
    p.add_argument("--send", action="store_true", help="send this week's digest to its subscribers if due")
    p.set_defaults(func=_digest)

    fans = sub.add_parser("fans", help="fan profiles, tiers and early-access codes")
    fs = fans.add_subparsers(dest="fans_command", metavar="ACTION")
    fs.required = True
    p = fs.add_parser("show", help="a person's tier, why, and their numbers")
    p.add_argument("sender")
    p.add_argument("--lang", choices=("en", "zh"), default="en")
    p.set_defaults(func=_fans_show)
    p = fs.add_parser("grant", help="give a tier by hand (e.g. beta_tester)")
    p.add_argument("sender")
    p.add_argument("tier")
    p.add_argument("--by", default="cli")
    p.set_defaults(func=_fans_grant)
    p = fs.add_parser("revoke", help="remove a manual tier")
    p.add_argument("sender")
    p.set_defaults(func=_fans_revoke)
    p = fs.add_parser("fcodes", help="early-access code pools")
    fc = p.add_subparsers(dest="fcodes_command", metavar="ACTION")
    fc.required = True
    q = fc.add_parser("add", help="add codes to a campaign's pool (prints them)")
    q.add_argument("campaign")
    q.add_argument("--count", type=int, default=0, help="this many fresh codes")
    q.add_argument("--codes", nargs="*", help="or these exact codes")
    q.add_argument("--title-en")
    q.add_argument("--title-zh")
    q.set_defaults(func=_fcodes_add)
    q = fc.add_parser("list", help="campaigns with unused and redeemed counts")
    q.set_defaults(func=_fcodes_list)
    p = fs.add_parser("redeem", help="record a code's use at checkout (fails if used before)")
    p.add_argument("code")
    p.add_argument("--by", required=True, help="order number or account that used it")
    p.set_defaults(func=_redeem)

    rp = sub.add_parser("analytics", help="containment, escalations, CSAT, 👍 rate, unanswered, feedback; text, JSON or CSV")
    rp.add_argument("--days", type=float, default=30, help="the last N days (default 30)")
    rp.add_argument("--since", help="YYYY-MM-DD (UTC), first day")
    rp.add_argument("--until", help="YYYY-MM-DD (UTC), last day")
    rp.add_argument("--csv", help="write CSV to this file ('-' for stdout)")
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(func=_report)
