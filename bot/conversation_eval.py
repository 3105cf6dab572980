"""`bot eval conversations FILE`: how often the real assistant gets a fan's first message right.

FILE (e.g. `tests/conversations/first_questions.yml`) is a YAML list of items:

    - text: "耳机左边突然没声了咋回事"
      lang: zh
      expect: "entry:buds_one_side"        # or a list of acceptable outcomes; fnmatch patterns allowed
      tags: [typo, slang]

Each item is sent as the first message of a fresh sender over the REST webhook of a running assistant
(started here like `tests/harness.py` does, or given by URL + token); the outcome is read from that
sender's tracker (`outcome_from_events`, precedence below) and compared with `expect`.

Outcomes: `handoff`, `flow:<name>`, `entry:<faq id>`, `spec:<product>[+<product>]:<spec>`,
`catalog:lineup[:<category>]`, `suggest` (a "did you mean"), `unsure`, `reply:<utter_name>`, `none`.
A KB entry id that already names its kind (`spec:…`, `catalog:…`) is the outcome itself;
`entry:spec:…` in an expectation means the same as `spec:…`.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import tempfile
import time
import unicodedata
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import requests
import yaml

from bot.errors import DataError

LANGUAGES = ("zh", "en")
TAGS = ("typo", "slang", "mixed", "multi", "emotional", "unanswerable", "task", "spec", "catalog", "issue")

# Actions that start a task flow (first one run wins).
FLOW_ACTIONS = (
    "order_form",
    "cancel_order_form",
    "change_address_form",
    "repair_booking_form",
    "restock_alert_form",
    "action_file_feedback",
    "action_feedback_status",
    "action_explain_tier",
    "action_grant_fcode",
    "action_link_identity",
)
HANDOFF_ACTION = "action_handoff"
# Responses that mean "I don't know / can't help with that".
UNSURE_RESPONSES = ("utter_product_unsure", "utter_ask_rephrase", "utter_offer_human", "utter_out_of_scope")
# KB entry ids that carry their own kind.
_KINDED_IDS = ("spec:", "catalog:")

REQUEST_TIMEOUT = 120
DEFAULT_WORKERS = 4


# --------------------------------------------------------------------------------------------- the set


@dataclass(frozen=True)
class Item:
    text: str
    lang: str
    expect: Tuple[str, ...]
    tags: Tuple[str, ...] = ()
    line: int = 0


def canonical(outcome: str) -> str:
    """`entry:spec:x` → `spec:x` (and catalog); anything else unchanged."""
    outcome = outcome.strip()
    if outcome.startswith("entry:") and outcome[len("entry:"):].startswith(_KINDED_IDS):
        return outcome[len("entry:"):]
    return outcome


def kind(outcome: str) -> str:
    """The source of an outcome: entry, spec, catalog, flow, reply, handoff, suggest, unsure, none."""
    return canonical(outcome).split(":", 1)[0]


def load_items(path: Path) -> List[Item]:
    """Read and check a conversation set; every problem is reported as `file:line: …`."""
    path = Path(path)
    try:
        raw = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read the conversation set: {exc}") from exc
    if raw is None:
        raise DataError(f"{path}: empty file")
    if isinstance(raw, yaml.MappingNode):  # also accept {items: [...]}
        nodes = [v for k, v in raw.value if getattr(k, "value", None) == "items"]
        raw = nodes[0] if nodes else None
    if not isinstance(raw, yaml.SequenceNode):
        raise DataError(f"{path}: expected a list of items (- text: …, lang: …, expect: …, tags: […])")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("items")
    problems: List[str] = []
    items: List[Item] = []
    for node, entry in zip(raw.value, data):
        line = node.start_mark.line + 1
        where = f"{path}:{line}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: an item must be a mapping with text, lang, expect, tags")
            continue
        text, lang, expect, tags = entry.get("text"), entry.get("lang"), entry.get("expect"), entry.get("tags") or []
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: `text` is missing or empty")
            continue
        if lang not in LANGUAGES:
            problems.append(f"{where}: `lang` must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        if isinstance(expect, str):
            expect = [expect]
        if not isinstance(expect, list) or not expect or not all(isinstance(e, str) and e.strip() for e in expect):
            problems.append(f"{where}: `expect` must be an outcome or a non-empty list of outcomes")
            expect = []
        bad_tags = [t for t in tags if t not in TAGS] if isinstance(tags, list) else [tags]
        if bad_tags:
            problems.append(f"{where}: unknown tag(s) {bad_tags}; use {', '.join(TAGS)}")
        items.append(Item(text=text, lang=str(lang), expect=tuple(canonical(e) for e in expect),
                          tags=tuple(tags) if isinstance(tags, list) else (), line=line))
    if problems:
        raise DataError("\n".join(problems))
    return items


def matches(item_expect: Iterable[str], got: str) -> bool:
    got = canonical(got)
    return any(fnmatch.fnmatchcase(got, canonical(pattern)) for pattern in item_expect)


# --------------------------------------------------------------------------------- outcome of a turn


def _metadata(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return event.get("metadata") or {}


def events_after_first_user_message(events: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The events of the first turn: after the first user message, up to the next one."""
    turn: List[Mapping[str, Any]] = []
    seen_user = False
    for event in events:
        if event.get("event") == "user":
            if seen_user:
                break
            seen_user = True
            continue
        if seen_user:
            turn.append(event)
    return turn


def outcome_from_events(events: Sequence[Mapping[str, Any]]) -> str:
    """What the bot did in a turn (the events after the user message), in this precedence:
    handoff > flow:<first flow action> > entry (kb answer) > suggest > unsure > reply:<first response>."""
    actions = [e.get("name") for e in events if e.get("event") == "action"]
    if HANDOFF_ACTION in actions:
        return "handoff"
    for name in actions:
        if name in FLOW_ACTIONS:
            return f"flow:{name}"
    bots = [e for e in events if e.get("event") == "bot"]
    kb_records = [_metadata(e).get("kb") or {} for e in bots]
    for record in kb_records:
        if record.get("outcome") == "answer" and record.get("entry"):
            entry = str(record["entry"])
            return entry if entry.startswith(_KINDED_IDS) else f"entry:{entry}"
    if any(r.get("outcome") == "suggest" for r in kb_records):
        return "suggest"
    responses = [_metadata(e).get("utter_action") for e in bots]
    if any(r in UNSURE_RESPONSES for r in responses) or any(r.get("outcome") == "unsure" for r in kb_records):
        return "unsure"
    for name in responses:
        if name:
            return f"reply:{name}"
    return "none"


# ------------------------------------------------------------------------------------------ running


@dataclass
class Result:
    text: str
    lang: str
    expect: List[str]
    tags: List[str]
    got: str
    ok: bool
    sender: str
    replies: List[str] = field(default_factory=list)
    kb: Optional[Dict[str, Any]] = None
    seconds: float = 0.0
    error: Optional[str] = None


def ask(url: str, token: str, item: Item, sender: Optional[str] = None, rest_token: str = "") -> Result:
    """Send `item` as the first message of a fresh sender; read the outcome from its tracker."""
    from connectors._rest_auth import auth_headers

    sender = sender or f"rest:eval-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    try:
        response = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": item.text},
                                 headers=auth_headers(token=rest_token),
                                 timeout=REQUEST_TIMEOUT)
        response.raise_for_status()
        replies = [m.get("text") or "" for m in response.json()]
        tracker = requests.get(f"{url}/conversations/{sender}/tracker", params={"token": token},
                               timeout=REQUEST_TIMEOUT)
        tracker.raise_for_status()
        turn = events_after_first_user_message(tracker.json().get("events") or [])
    except (requests.RequestException, ValueError) as exc:
        return Result(item.text, item.lang, list(item.expect), list(item.tags), got="error", ok=False, sender=sender,
                      seconds=time.monotonic() - started, error=str(exc))
    got = outcome_from_events(turn)
    kb = next((dict(_metadata(e)["kb"]) for e in turn if e.get("event") == "bot" and _metadata(e).get("kb")), None)
    if kb:
        kb.pop("candidates", None)
    return Result(item.text, item.lang, list(item.expect), list(item.tags), got=got, ok=matches(item.expect, got),
                  sender=sender, replies=replies, kb=kb, seconds=time.monotonic() - started)


def evaluate(items: Sequence[Item], url: str, token: str, workers: int = DEFAULT_WORKERS,
             progress: Callable[[int, int], None] = lambda done, total: None, rest_token: str = "") -> List[Result]:
    """Ask every item of the set against a running assistant (a few at a time); results in set order."""
    results: List[Optional[Result]] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(ask, url, token, item, None, rest_token): i for i, item in enumerate(items)}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            progress(done, len(items))
    return [r for r in results if r is not None]


# ------------------------------------------------------------------------------------------- report


def _share(results: Sequence[Result]) -> Dict[str, Any]:
    right = sum(r.ok for r in results)
    return {"right": right, "total": len(results), "share": round(right / len(results), 4) if results else None}


def summarise(results: Sequence[Result]) -> Dict[str, Any]:
    by_lang = {lang: _share([r for r in results if r.lang == lang]) for lang in LANGUAGES}
    by_lang["all"] = _share(results)
    tags = sorted({t for r in results for t in r.tags}, key=lambda t: TAGS.index(t) if t in TAGS else len(TAGS))
    by_tag = {t: _share([r for r in results if t in r.tags]) for t in tags}
    by_expected_kind = {k: _share([r for r in results if kind(r.expect[0]) == k])
                        for k in sorted({kind(r.expect[0]) for r in results})}
    groups: Dict[str, List[Result]] = defaultdict(list)
    for r in results:
        if not r.ok:
            groups[f"{kind(r.expect[0])} → {kind(r.got)}"].append(r)
    confusion = [
        {"group": name, "count": len(rs),
         "items": [{"text": r.text, "lang": r.lang, "expect": r.expect, "got": r.got} for r in rs]}
        for name, rs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    return {"by_language": by_lang, "by_tag": by_tag, "by_expected_kind": by_expected_kind,
            "got_kinds": dict(Counter(kind(r.got) for r in results).most_common()), "confusion": confusion}


def _pct(share: Mapping[str, Any]) -> str:
    if not share["total"]:
        return "   –   "
    return f"{100 * share['share']:5.1f}%  {share['right']:>3}/{share['total']:<3}"


def format_report(summary: Mapping[str, Any], title: str = "first questions") -> str:
    lines = [f"Conversation eval: {title}", "", f"{'':<14} {'right':>7}  {'count':<7}"]
    for lang, share in summary["by_language"].items():
        lines.append(f"{lang:<14} {_pct(share)}")
    lines += ["", "by tag"]
    for tag, share in summary["by_tag"].items():
        lines.append(f"  {tag:<12} {_pct(share)}")
    lines += ["", "by expected kind"]
    for k, share in summary["by_expected_kind"].items():
        lines.append(f"  {k:<12} {_pct(share)}")
    wrong = sum(g["count"] for g in summary["confusion"])
    lines += ["", f"confusion (expected kind → got kind), {wrong} wrong"]
    for group in summary["confusion"]:
        lines.append(f"  {group['group']} ({group['count']})")
        for it in group["items"]:
            expect = it["expect"][0] if len(it["expect"]) == 1 else " | ".join(it["expect"])
            lines.append(f"    [{it['lang']}] {it['text']!r}: {expect} → {it['got']}")
    return "\n".join(lines)


def write_report(out: Path, source: Path, results: Sequence[Result], summary: Mapping[str, Any],
                 seconds: float) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"set": str(source), "items": len(results), "seconds": round(seconds, 1), **summary,
              "results": [asdict(r) for r in results]}
    path = out / "report.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


# ----------------------------------------------------------------- keeping the set out of training data


def normalise(text: str) -> str:
    """NFKC, lower case, no punctuation, symbols (emoji) or spaces: what "the same text" means here."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZC")


def _strip_annotations(example: str) -> str:
    """Rasa entity markup `[M2026110501](order_number)` / `[x]{"entity": …}` → its text."""
    import re

    return re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", example)


def training_texts(home: Path) -> Dict[str, str]:
    """Every NLU example (intents/*.yml) and every KB question and answer (knowledge/**/*.yml),
    normalised → where it comes from."""
    found: Dict[str, str] = {}
    for path in sorted((home / "intents").glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in doc.get("nlu") or []:
            examples = block.get("examples") if isinstance(block, dict) else None
            if not isinstance(examples, str):
                continue
            for raw in examples.splitlines():
                raw = raw.strip()
                if raw.startswith("- "):
                    found.setdefault(normalise(_strip_annotations(raw[2:])), f"{path.relative_to(home)}")

    def walk(node: Any, path: Path, collect: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path, collect or key in ("questions", "answer", "out_of_scope"))
        elif isinstance(node, list):
            for value in node:
                walk(value, path, collect)
        elif isinstance(node, str) and collect:
            found.setdefault(normalise(node), f"{path.relative_to(home)}")

    for path in sorted((home / "knowledge").rglob("*.yml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path, False)
    found.pop("", None)
    return found


def leaked(items: Sequence[Item], home: Path) -> List[Tuple[Item, str]]:
    """Items whose text, normalised, equals a training example or a KB question/answer."""
    known = training_texts(home)
    return [(item, known[normalise(item.text)]) for item in items if normalise(item.text) in known]


# ------------------------------------------------------------------------------------- the command


def _progress_printer(stream: Any = sys.stderr) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        if done == total or done % 20 == 0:
            print(f"[canyu] asked {done}/{total}", file=stream, flush=True)

    return show


def start_stack(model: Optional[Path], data_dir: Path, say: Callable[[str], None]) -> Any:
    """The real assistant the way tests/harness.py starts it: temp data dir, embedded Redis, action server,
    Rasa server with the trained model (trained first if stale), no console."""
    from dataclasses import replace

    from bot.runner import Stack, free_port
    from bot.settings import load_settings

    if model is None:
        from bot.training import train

        say("training (skipped when nothing changed)…")
        result = train()
        model = result.model
        if result.trained:
            say(f"trained {model} in {result.seconds:.1f} s")
    if not Path(model).is_file():
        raise DataError(f"no model at {model}: run `bot train` or pass --model")
    settings = replace(load_settings(), data_dir=data_dir, redis_url=None, rasa_port=free_port(),
                       actions_port=free_port(), console_port=free_port())
    stack = Stack(settings=settings, model=Path(model), with_console=False, progress=say)
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    return stack


def run(source: Path, out: Optional[Path] = None, model: Optional[Path] = None,
        url: Optional[str] = None, token: Optional[str] = None, workers: int = DEFAULT_WORKERS,
        stream: Any = sys.stdout, rest_token: Optional[str] = None) -> Dict[str, Any]:
    """Evaluate the set at `source`; against `url`/`token` if given, else a stack started here.

    `rest_token` is the REST channel's bearer token (default: `CANYU_REST_TOKEN`)."""
    rest_token = os.environ.get("CANYU_REST_TOKEN", "") if rest_token is None else rest_token
    def say(message: str) -> None:
        print(f"[canyu] {message}", file=sys.stderr, flush=True)

    items = load_items(source)
    stack = None
    tmp: Optional[tempfile.TemporaryDirectory] = None
    try:
        if url is None:
            from bot.settings import QUIET_ENV

            os.environ.update(QUIET_ENV)
            tmp = tempfile.TemporaryDirectory(prefix="canyu-eval-conv-")
            stack = start_stack(model, Path(tmp.name), say)
            url, token = stack.rasa_url, stack.rasa_token
        say(f"asking {len(items)} first questions ({workers} at a time)")
        started = time.monotonic()
        results = evaluate(items, url, token or "", workers=workers, progress=_progress_printer(),
                           rest_token=rest_token)
        seconds = time.monotonic() - started
    finally:
        if stack is not None:
            stack.stop()
        if tmp is not None:
            tmp.cleanup()
    summary = summarise(results)
    print(format_report(summary, f"{source} ({len(results)} items, {seconds:.0f} s)"), file=stream)
    errors = [r for r in results if r.error]
    if errors:
        print(f"\n{len(errors)} item(s) failed to run, first: {errors[0].error}", file=stream)
    if out is not None:
        path = write_report(out, source, results, summary, seconds)
        print(f"report: {path}", file=stream)
    return {"summary": summary, "results": results, "seconds": seconds}


def main_conversations(args: argparse.Namespace) -> int:
    run(Path(args.file), out=Path(args.out) if args.out else None, model=Path(args.model) if args.model else None,
        url=args.url, token=args.token, workers=args.workers, rest_token=args.rest_token)
    return 0  # a measurement, not a check
