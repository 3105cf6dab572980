"""Add examples to an intent in `intents/*.yml`, keeping every comment, blank line and the order.

The file is edited as text: new `- example` lines go right after the intent's last example, with
the same indentation, so the diff is exactly the added lines. The result is re-read (ruamel.yaml)
and must contain the new examples, or the file is restored and a DataError raised.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import List, Optional, Tuple

from bot.errors import DataError
from bot.trainer.checks.nlu import normalize_example
from bot.trainer.problems import relpath
from bot.trainer.sources import _block_examples, key_line, load_yaml, nlu_examples, yaml_files

__all__ = ["add_examples", "clean_example"]

NEW_INTENTS_FILE = os.path.join("intents", "review.yml")


def clean_example(text: str) -> str:
    """One line, no characters Rasa would read as entity markup."""
    text = re.sub(r"\s+", " ", text).strip()
    return text.replace("[", "（").replace("]", "）").replace("{", "(").replace("}", ")")


def _find_block(root: str, intent: str) -> Optional[Tuple[str, int, int, str]]:
    """(path, examples key line, last example line, example indent) of the intent's first examples block."""
    for path in yaml_files(root, "intents"):
        data, errs = load_yaml(path, root)
        if errs or not hasattr(data, "get"):
            continue
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        for entry in data.get("nlu") or []:
            if hasattr(entry, "get") and str(entry.get("intent")) == intent and "examples" in entry:
                kline = key_line(entry, "examples")
                found = list(_block_examples(lines, kline))
                if not found:
                    continue
                last = found[-1][0]
                indent = lines[last - 1][: len(lines[last - 1]) - len(lines[last - 1].lstrip())]
                return path, kline, last, indent
    return None


def add_examples(root: str, intent: str, texts: List[str]) -> Tuple[str, str, List[str]]:
    """Append `texts` to `intent`; return (file relative to root, unified diff, examples added).

    Texts already present anywhere under the intent (ignoring case and punctuation) are skipped.
    """
    root = os.path.abspath(root)
    existing, _ = nlu_examples(root, [])
    taken = {normalize_example(e.text): e for e in existing}
    new: List[str] = []
    for text in texts:
        clean = clean_example(text)
        norm = normalize_example(clean)
        if not clean or norm in taken or norm in {normalize_example(n) for n in new}:
            other = taken.get(norm)
            if other is not None and other.intent != intent:
                raise DataError(f"'{clean}' is already an example of intent '{other.intent}'; move it there by hand "
                                f"if it belongs to '{intent}'", file=other.file, line=other.line)
            continue
        new.append(clean)
    block = _find_block(root, intent)
    if block is None:
        path = os.path.join(root, NEW_INTENTS_FILE)
        before = Path(path).read_text(encoding="utf-8") if os.path.exists(path) else 'version: "3.1"\nnlu:\n'
        if not before.endswith("\n"):
            before += "\n"
        after = before + f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {t}\n" for t in new)
    else:
        path, _, last, indent = block
        before = Path(path).read_text(encoding="utf-8")
        lines = before.splitlines(keepends=True)
        if not lines[last - 1].endswith("\n"):
            lines[last - 1] += "\n"
        lines[last:last] = [f"{indent}- {t}\n" for t in new]
        after = "".join(lines)
    rel = relpath(path, root)
    if not new:
        return rel, "", []
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(after)
    check, _ = nlu_examples(root, [])
    have = {(e.intent, e.text) for e in check}
    if not all((intent, t) in have for t in new):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(before)
        raise DataError(f"could not add the examples to intent '{intent}' safely; the file was left unchanged",
                        file=rel)
    diff = "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{rel}", tofile=f"b/{rel}"))
    return rel, diff, new
