"""The conversation set: items read from YAML and checked (every problem as `file:line: …`), and what an
expected outcome means (`canonical`, `kind`, `matches` with fnmatch patterns)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Tuple

import yaml

from bot.errors import DataError

__all__ = ["LANGUAGES", "TAGS", "KINDED_IDS", "Item", "canonical", "kind", "load_items", "matches"]

LANGUAGES = ("zh", "en")
TAGS = ("typo", "slang", "mixed", "multi", "emotional", "unanswerable", "task", "spec", "catalog", "issue",
        "follow-up")
# KB entry ids that carry their own kind.
KINDED_IDS = ("spec:", "catalog:")


@dataclass(frozen=True)
class Item:
    text: str
    lang: str
    expect: Tuple[str, ...]
    tags: Tuple[str, ...] = ()
    line: int = 0
    before: Tuple[str, ...] = ()  # messages the same sender sends first (not scored): `text` is their follow-up


def canonical(outcome: str) -> str:
    """`entry:spec:x` → `spec:x` (and catalog); the products of a spec in a fixed order (`spec:phone_14_pro+phone_14:
    battery` is the same answer as `spec:phone_14+phone_14_pro:battery`); anything else unchanged."""
    outcome = outcome.strip()
    if outcome.startswith("entry:") and outcome[len("entry:"):].startswith(KINDED_IDS):
        outcome = outcome[len("entry:"):]
    parts = outcome.split(":")
    if len(parts) == 3 and parts[0] == "spec" and "+" in parts[1] and not any(c in parts[1] for c in "*?["):
        parts[1] = "+".join(sorted(parts[1].split("+")))
        return ":".join(parts)
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
    for node, entry in zip(raw.value, data, strict=False):
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
        before = entry.get("before") or []
        if isinstance(before, str):
            before = [before]
        if not isinstance(before, list) or not all(isinstance(b, str) and b.strip() for b in before):
            problems.append(f"{where}: `before` must be a message or a list of messages sent first")
            before = []
        bad_tags = [t for t in tags if t not in TAGS] if isinstance(tags, list) else [tags]
        if bad_tags:
            problems.append(f"{where}: unknown tag(s) {bad_tags}; use {', '.join(TAGS)}")
        items.append(Item(text=text, lang=str(lang), expect=tuple(canonical(e) for e in expect),
                          tags=tuple(tags) if isinstance(tags, list) else (), line=line, before=tuple(before)))
    if problems:
        raise DataError("\n".join(problems))
    return items


def matches(item_expect: Iterable[str], got: str) -> bool:
    got = canonical(got)
    return any(fnmatch.fnmatchcase(got, canonical(pattern)) for pattern in item_expect)
