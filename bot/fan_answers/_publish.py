"""Fan answers in the knowledge base: `knowledge/faq/fan_answers.yml`, written only by this module.

A published answer is an FAQ entry with `credit: {fan: <profile id>, name: {en, zh}}` (the loader adds the
credit line to its answer). Every change rewrites the file under a Redis lock, checks the whole KB with
`load_kb` (a bad edit is rolled back with the loader's file:line errors) and touches the reload marker, so
running action servers answer with it within `reload_check_seconds`, without retraining.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

from bot.errors import DataError
from bot.fan_answers._keys import KB_LOCK

__all__ = ["FAN_FILE", "fan_file", "entries", "upsert_entry", "drop_credit", "entry_id_for"]

FAN_FILE = "fan_answers.yml"
_HEADER = ("# Fan-written answers, published from the console's Fan answers page (bot/fan_answers).\n"
           "# Written by the bot: edit answers in the console; a trainer may remove a `credit:` there too.\n")


def fan_file(root: Path) -> Path:
    """The fan answers file of the knowledge folder `root` (`knowledge_dir(settings.env)`, or a copy in tests)."""
    return Path(root) / "faq" / FAN_FILE


def entry_id_for(proposal_id: str) -> str:
    return f"fan-{proposal_id.lower()}"


def entries(root: Path) -> List[Dict[str, Any]]:
    """The entries of the fan answers file (raw YAML mappings; [] when there is none yet)."""
    path = fan_file(root)
    if not path.exists():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(doc.get("faq") or [])


def _write(path: Path, items: List[Dict[str, Any]]) -> None:
    body = _HEADER + yaml.safe_dump({"faq": items}, allow_unicode=True, sort_keys=False, width=1000)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, path)


def _change(red: Any, root: Path, change: Callable[[List[Dict[str, Any]]], None], cache: Optional[Path]) -> None:
    """Read, change, write and validate the file under the lock; roll back when the KB no longer loads. Then
    touch the reload marker of the index cache folder `cache` (`cache_dir(settings.env)`; None: no action server
    reads this folder, e.g. a copy in a test)."""
    from bot.knowledge.loader import load_kb
    from bot.knowledge.store import touch_reload_marker

    kb_root = fan_file(root).parent.parent
    with red.lock(KB_LOCK, timeout=60, blocking_timeout=30):
        path = fan_file(root)
        before = path.read_text(encoding="utf-8") if path.exists() else None
        items = entries(root)
        change(items)
        _write(path, items)
        try:
            load_kb(kb_root)
        except DataError as exc:
            if before is None:
                path.unlink()
            else:
                path.write_text(before, encoding="utf-8")
            raise DataError(f"the fan answer was not published, the knowledge base would not load: {exc}") from exc
    if cache is not None:
        touch_reload_marker(cache)


def upsert_entry(red: Any, entry: Dict[str, Any], root: Path, cache: Optional[Path]) -> None:
    """Add (or replace, by id) one entry in the fan answers file."""

    def change(items: List[Dict[str, Any]]) -> None:
        for n, item in enumerate(items):
            if item.get("id") == entry["id"]:
                items[n] = entry
                return
        items.append(entry)

    _change(red, root, change, cache)


def drop_credit(red: Any, keep: Callable[[Dict[str, Any]], bool], root: Path, cache: Optional[Path]) -> List[str]:
    """Remove `credit:` from every entry for which `keep(credit)` is False; returns their ids.

    The answer stays in the KB, without the fan's name (a trainer's removal, or the fan's erasure)."""
    dropped: List[str] = []

    def change(items: List[Dict[str, Any]]) -> None:
        for item in items:
            credit = item.get("credit")
            if isinstance(credit, dict) and not keep(credit):
                item.pop("credit")
                dropped.append(str(item.get("id")))

    if any(isinstance(i.get("credit"), dict) and not keep(i["credit"]) for i in entries(root)):
        _change(red, root, change, cache)
    return dropped
