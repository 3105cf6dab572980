"""Keeping the set out of the training data: an item whose text, normalised, equals an NLU example or a KB
question or answer would measure memory, not understanding."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import yaml

from bot.conversation_eval._set import Item

__all__ = ["normalise", "training_texts", "leaked"]


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
