"""`bot report`: the week at a glance for trainers — top unanswered groups, escalation reasons, ratings.

`build_report()` reads the review inbox (synced from `canyu:events` first) and its daily counts;
`write_report()` draws three PNGs and saves `report.json`; the console's trainer page shows the same.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, Dict, Optional

from bot.settings import Settings
from bot.trainer import charts
from bot.trainer.cluster import group_items
from bot.trainer.config import load_config
from bot.trainer.inbox import UNANSWERED, WRONG_ANSWER, Inbox

__all__ = ["build_report", "write_report", "main", "CHARTS"]

# The top missed questions: not answered, or answered wrongly (👎, rephrased, a person asked for, marked wrong).
UNANSWERED_REASONS = set(UNANSWERED) | set(WRONG_ANSWER)
CHARTS = ("unanswered.png", "escalations.png", "ratings.png")


def build_report(redis: Any, repo_root: str, days: int = 7, now: Optional[float] = None,
                 top: int = 10) -> Dict[str, Any]:
    """The numbers behind the charts, as plain JSON-able data."""
    now = now or time.time()
    config = load_config(repo_root)
    inbox = Inbox(redis, low_confidence=float(config["review"]["low_confidence"]))
    inbox.sync()
    since = now - days * 86400
    items = [i for i in inbox.all_items(since=since) if set(i.get("reasons") or []) & UNANSWERED_REASONS]
    groups = group_items(items, threshold=float(config["review"]["cluster_threshold"]))[:top]
    stats = inbox.stats(days=days, until=now)
    escalations: Dict[str, int] = {}
    for counts in stats.values():
        for key, n in counts.items():
            if key.startswith("escalation:"):
                escalations[key.split(":", 1)[1]] = escalations.get(key.split(":", 1)[1], 0) + n
    day_list = list(stats)
    return {
        "from": day_list[0], "to": day_list[-1], "days": days,
        "unanswered": [{"label": g["label"], "size": g["size"], "reasons": g["reasons"],
                        "examples": [i["text"] for i in g["items"][:5]]} for g in groups],
        "escalations": dict(sorted(escalations.items(), key=lambda kv: -kv[1])),
        "ratings": {"days": day_list, "up": [stats[d].get("rating:up", 0) for d in day_list],
                    "down": [stats[d].get("rating:down", 0) for d in day_list]},
        "messages": sum(c.get("messages", 0) for c in stats.values()),
        "unanswered_messages": sum(c.get("unanswered", 0) for c in stats.values()),
        "wrong_answers": sum(n for c in stats.values() for k, n in c.items() if k.startswith("wrong:")),
    }


def write_report(report: Dict[str, Any], out_dir: str) -> Dict[str, str]:
    """Draw the charts and save report.json into `out_dir`; return {name: path}."""
    os.makedirs(out_dir, exist_ok=True)
    period = f"{report['from']} – {report['to']}"
    un = report["unanswered"]
    paths = {
        "unanswered": charts.bar_chart(os.path.join(out_dir, CHARTS[0]), [g["label"] for g in un],
                                       [g["size"] for g in un], f"Top unanswered questions, {period}",
                                       "messages in the group"),
        "escalations": charts.bar_chart(os.path.join(out_dir, CHARTS[1]), list(report["escalations"]),
                                        list(report["escalations"].values()),
                                        f"Why conversations went to a person, {period}", "escalations",
                                        color="#4a6fa5"),
        "ratings": charts.ratings_chart(os.path.join(out_dir, CHARTS[2]), report["ratings"]["days"],
                                        report["ratings"]["up"], report["ratings"]["down"]),
    }
    path = os.path.join(out_dir, "report.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(report, fh, ensure_ascii=False, indent=1)
    paths["json"] = path
    return paths


def format_text(report: Dict[str, Any]) -> str:
    lines = [f"Week {report['from']} – {report['to']}: {report['messages']} messages, "
             f"{report['unanswered_messages']} not answered, {report.get('wrong_answers', 0)} answered wrongly "
             "(👎, rephrased, a person asked for, marked wrong)."]
    lines.append("Top missed groups (not answered or answered wrongly):")
    for n, g in enumerate(report["unanswered"], 1):
        lines.append(f"  {n:>2}. {g['size']:>3} × {g['label']}")
    if not report["unanswered"]:
        lines.append("   (none)")
    lines.append("Escalations: " + (", ".join(f"{k} {v}" for k, v in report["escalations"].items()) or "none"))
    up, down = sum(report["ratings"]["up"]), sum(report["ratings"]["down"])
    lines.append(f"Ratings: {up} up, {down} down" + (f" ({100 * up / (up + down):.0f}% helpful)" if up + down else ""))
    return "\n".join(lines)


def register_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    p.add_argument("--out", default=None, help="folder for the PNGs and report.json (default: reports/week-<date>)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")


def main(args: argparse.Namespace, redis: Any, settings: Settings) -> int:
    """`bot report`; the CLI hands in its context's Redis and settings (bot/cli/trainer.py)."""
    report = build_report(redis, str(settings.home), days=args.days)
    out = args.out or os.path.join(str(settings.home), "reports", f"week-{report['to']}")
    paths = write_report(report, out)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print(format_text(report))
        print("charts: " + ", ".join(paths[k] for k in ("unanswered", "escalations", "ratings")))
    return 0
