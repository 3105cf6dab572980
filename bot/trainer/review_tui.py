"""`bot review`: the review inbox in the terminal.

Interactive by default: groups are listed biggest first; pick one by number and
[a]ssign it to an intent, draft a [k]b entry, [d]ismiss it, or [s]how its messages;
[r]etrain and reload the running bot, [l]ist again, [q]uit. The same actions work
non-interactively (`--list`, `--assign N INTENT`, `--draft N`, `--dismiss N`, `--retrain`),
for scripts and tests. `--reason R` (repeatable, or comma-separated) keeps only items with one of
those reasons, e.g. `--reason rephrased,asked_for_person,marked_wrong,rated_down` for wrong answers.
`--answers` lists the last knowledge answers; `--wrong N` (number in that list, or the answer id)
marks one wrong: its question goes into the inbox as `marked_wrong`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional

from bot.settings import Settings
from bot.trainer.inbox import REASONS
from bot.trainer.review import Review

__all__ = ["main", "register_arguments"]

_REASON_SHORT = {"out_of_scope": "out of scope", "fallback": "not understood", "low_confidence": "unsure",
                 "escalated": "escalated", "rated_down": "rated 👎", "rephrased": "asked again",
                 "asked_for_person": "wanted a person", "marked_wrong": "marked wrong"}


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _print_groups(groups: List[Dict[str, Any]], out: Any) -> None:
    from rich.table import Table

    if not groups:
        out.print("Inbox empty: nothing the bot missed. 🎉")
        return
    table = Table(title=f"Review inbox — {sum(g['size'] for g in groups)} messages in {len(groups)} groups")
    table.add_column("#", justify="right")
    table.add_column("size", justify="right")
    table.add_column("typical message")
    table.add_column("why")
    table.add_column("bot's guess")
    for n, g in enumerate(groups, 1):
        reasons = sorted(g["reasons"].items(), key=lambda kv: -kv[1])
        why = ", ".join(f"{_REASON_SHORT.get(r, r)} {c}" for r, c in reasons)
        guess = ", ".join(f"{i} {c}" for i, c in sorted(g["intents"].items(), key=lambda kv: -kv[1])[:2])
        entries = sorted({str(i["answer"].get("entry")) for i in g["items"] if i.get("answer")})
        if entries:
            guess += "; answered with " + ", ".join(entries[:3])
        table.add_row(str(n), str(g["size"]), g["label"], why, guess)
    out.print(table)


def _answer_line(answer: Dict[str, Any]) -> str:
    confidence = answer.get("confidence")
    figure = f" {round(float(confidence) * 100)}%" if confidence is not None else ""
    return f"{answer.get('entry')} ({answer.get('kind') or 'kb'}{figure})"


def _signal_line(signal: Dict[str, Any]) -> str:
    reason = str(signal.get("reason", ""))
    what = _REASON_SHORT.get(reason, reason)
    if signal.get("text"):
        what += f": “{signal['text']}”"
    if signal.get("similarity") is not None:
        what += f" (similarity {signal['similarity']})"
    if signal.get("by"):
        what += f" by {signal['by']}"
    if signal.get("note"):
        what += f" — {signal['note']}"
    return what


def _show(group: Dict[str, Any], out: Any) -> None:
    for item in group["items"]:
        why = f"{', '.join(item['reasons'])}; {item.get('intent')} {item.get('confidence')}"
        out.print(f"  • {item['text']}  [dim]({why})[/dim]", markup=True)
        if item.get("answer"):
            out.print(f"      answer {_answer_line(item['answer'])}: {item['answer'].get('text')}", style="dim",
                      markup=False)
            for signal in item.get("signals") or []:
                out.print(f"      then {_signal_line(signal)}", style="dim", markup=False)
            if item.get("comment"):
                out.print(f"      user's comment: {item['comment']}", style="dim", markup=False)
        elif item.get("reply"):
            out.print(f"      bot: {item['reply']}", style="dim", markup=False)


def _print_answers(answers: List[Dict[str, Any]], out: Any) -> None:
    from rich.table import Table

    if not answers:
        out.print("No knowledge answers yet.")
        return
    table = Table(title=f"Last {len(answers)} knowledge answers (newest first); `bot review --wrong N` marks one wrong")
    for name in ("#", "question", "answer", "entry", "in the inbox", "id"):
        table.add_column(name)
    for n, a in enumerate(answers, 1):
        text = a.get("text") or ""
        table.add_row(str(n), a["question"].get("text") or "", text if len(text) <= 60 else text[:57] + "…",
                      _answer_line(a), ", ".join(_REASON_SHORT.get(r, r) for r in a.get("reasons") or []), a["id"])
    out.print(table)


def _reasons(args: argparse.Namespace) -> Optional[List[str]]:
    wanted = [r.strip() for value in getattr(args, "reason", None) or [] for r in value.split(",") if r.strip()]
    return wanted or None


def _pick(groups: List[Dict[str, Any]], number: Any) -> Dict[str, Any]:
    try:
        n = int(number)
        return groups[n - 1]
    except (ValueError, IndexError):
        from bot.errors import DataError

        # cause dropped: the message quotes the bad number and the range
        raise DataError(f"there is no group {number!r}; pick a number from 1 to {len(groups)}") from None


def _retrain(review: Review, args: argparse.Namespace, out: Any, settings: Settings) -> None:
    url = args.rasa_url or f"http://127.0.0.1:{settings.rasa_port}"
    token = args.rasa_token or settings.env.get("RASA_TOKEN")
    out.print("training… (a minute or so)")
    try:
        result = review.retrain_and_reload(url, token)
    except Exception as exc:
        out.print(f"[red]{exc}[/red]")
        return
    what = "trained" if result["trained"] else "unchanged, not retrained"
    out.print(f"model {what} ({result['seconds']} s): {result['model']}; loaded into {url}: {result['reloaded']}")


def _interactive(review: Review, args: argparse.Namespace, out: Any, settings: Settings) -> int:
    from rich.prompt import Prompt

    reasons = _reasons(args)
    groups = review.groups(reasons=reasons)
    _print_groups(groups, out)
    while True:
        choice = Prompt.ask("group number, [r]etrain, [l]ist, [q]uit", default="q").strip().lower()
        if choice in ("q", "quit", ""):
            return 0
        if choice in ("l", "list"):
            groups = review.groups(reasons=reasons)
            _print_groups(groups, out)
            continue
        if choice in ("r", "retrain"):
            _retrain(review, args, out, settings)
            continue
        try:
            group = _pick(groups, choice)
        except Exception as exc:
            out.print(f"[red]{exc}[/red]")
            continue
        _show(group, out)
        action = Prompt.ask("[a]ssign to intent, draft [k]b entry, [d]ismiss, [b]ack", choices=["a", "k", "d", "b"],
                            default="b")
        ids = [i["id"] for i in group["items"]]
        try:
            if action == "a":
                intents = review.known_intents()
                out.print("intents: " + ", ".join(intents))
                intent = Prompt.ask("intent").strip()
                result = review.assign(ids, intent)
                out.print(result["diff"] or "nothing new to add (all examples already there)")
            elif action == "k":
                out.print(f"draft written: {review.draft_kb(ids)['file']} — write the zh/en answers there")
            elif action == "d":
                out.print(f"dismissed {review.dismiss(ids)} message(s)")
            else:
                continue
        except Exception as exc:
            out.print(f"[red]{exc}[/red]")
            continue
        groups = review.groups(sync=False, reasons=reasons)
        _print_groups(groups, out)


def register_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--list", action="store_true", help="print the groups and exit")
    p.add_argument("--json", action="store_true", help="with --list: print the groups as JSON")
    p.add_argument("--assign", nargs=2, metavar=("N", "INTENT"), help="add group N's messages to INTENT's examples")
    p.add_argument("--draft", metavar="N", help="draft a KB entry from group N")
    p.add_argument("--dismiss", metavar="N", help="dismiss group N")
    p.add_argument("--retrain", action="store_true", help="retrain and load the model into the running bot")
    p.add_argument("--reason", action="append", metavar="R",
                   help="only items with this reason (repeatable or comma-separated): " + ", ".join(REASONS))
    p.add_argument("--answers", nargs="?", const=20, type=int, metavar="N",
                   help="list the last N knowledge answers (default 20) with their questions")
    p.add_argument("--wrong", metavar="N",
                   help="mark answer N of --answers (or an answer id) wrong: its question joins the inbox")
    p.add_argument("--note", default="", help="with --wrong: what is wrong with the answer")
    p.add_argument("--rasa-url", default=None, help="Rasa server to reload (default http://127.0.0.1:$CANYU_RASA_PORT)")
    p.add_argument("--rasa-token", default=None, help="Rasa API token (default $RASA_TOKEN)")


def main(args: argparse.Namespace, redis: Any, settings: Settings, repo_root: Optional[str] = None) -> int:
    """`bot review`; the CLI hands in its context's Redis and settings (Rasa port, RASA_TOKEN, USER)
    (bot/cli/trainer.py); `repo_root` defaults to the settings' home."""
    review = Review(redis, repo_root or str(settings.home))
    out = _console()
    answers_wanted = getattr(args, "answers", None)
    wrong = getattr(args, "wrong", None)
    scripted = args.list or args.assign or args.draft or args.dismiss or args.retrain or answers_wanted or wrong
    if not scripted:
        if not sys.stdin.isatty():
            args.list = True
        else:
            return _interactive(review, args, out, settings)
    if wrong:
        answer_id = wrong
        if wrong.isdigit():
            recent = review.recent_answers(limit=max(int(answers_wanted or 20), int(wrong)))
            try:
                answer_id = recent[int(wrong) - 1]["id"]
            except IndexError:
                from bot.errors import DataError

                # cause dropped: the message quotes the bad number and the range
                raise DataError(f"there is no answer {wrong}; `bot review --answers` lists {len(recent)}") from None
        item = review.mark_wrong(answer_id, by=settings.env.get("USER") or "trainer",
                                 note=getattr(args, "note", "") or "")
        print(f"marked wrong: “{item['text']}” answered with {_answer_line(item['answer'])}; it is in the inbox")
    if answers_wanted:
        _print_answers(review.recent_answers(limit=int(answers_wanted)), out)
    if not (args.list or args.assign or args.draft or args.dismiss or args.retrain):
        return 0
    groups = review.groups(reasons=_reasons(args))
    if args.assign:
        group = _pick(groups, args.assign[0])
        result = review.assign([i["id"] for i in group["items"]], args.assign[1])
        print(result["diff"] or "nothing new to add")
    if args.draft:
        print(review.draft_kb([i["id"] for i in _pick(groups, args.draft)["items"]])["file"])
    if args.dismiss:
        print(f"dismissed {review.dismiss([i['id'] for i in _pick(groups, args.dismiss)['items']])} message(s)")
    if args.retrain:
        _retrain(review, args, out, settings)
    if args.list:
        if args.json:
            print(json.dumps(groups, ensure_ascii=False, indent=1))
        else:
            _print_groups(groups, out)
    return 0
