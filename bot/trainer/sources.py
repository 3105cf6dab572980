"""Read the trainer's YAML (intents, responses, dialogue, knowledge) keeping file and line of everything.

Lines are 1-based. ruamel.yaml's round-trip loader gives the position of every key and item;
block-scalar example lists (`examples: |`) are split by scanning the raw lines below the key.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from bot.trainer.problems import Problem, relpath

LANG_CONDITION_SLOT = "language"
_ENTITY_MARKUP = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclasses.dataclass
class Example:
    """One NLU training example."""

    intent: str
    text: str  # entity markup removed
    raw: str
    file: str
    line: int


@dataclasses.dataclass
class TextItem:
    """One user-visible answer text: a response variation or a knowledge-base answer."""

    kind: str  # "response" or "kb"
    key: str  # utter_name or KB entry id
    lang: Optional[str]  # "zh", "en" or None when the variation has no language condition
    text: str
    file: str
    line: int


def yaml_files(root: str, sub: str) -> List[str]:
    """All .yml/.yaml files under `root/sub` (recursively), sorted; `sub` may itself be a file."""
    base = os.path.join(root, sub)
    if os.path.isfile(base):
        return [base]
    found = glob.glob(os.path.join(base, "**", "*.yml"), recursive=True)
    found += glob.glob(os.path.join(base, "**", "*.yaml"), recursive=True)
    return sorted(f for f in found if not os.path.basename(f).startswith("."))


def load_yaml(path: str, root: str) -> Tuple[Any, List[Problem]]:
    """Round-trip load one file; a syntax error becomes a Problem with its line."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    rel = relpath(path, root)
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh), []
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = (exc.problem or str(exc)).strip()
        return None, [Problem(rel, line, "error", "yaml-syntax",
                              f"YAML cannot be read: {what}; fix the indentation or quoting on this line")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(rel, None, "error", "yaml-read", f"cannot read the file: {exc}")]
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. duplicate keys)
        return None, [Problem(rel, None, "error", "yaml-syntax", f"YAML cannot be read: {exc}")]


def key_line(node: Any, key: Any) -> int:
    """1-based line of `key` in a CommentedMap (0 if unknown)."""
    try:
        return int(node.lc.key(key)[0]) + 1
    except Exception:
        return node_line(node)


def item_line(seq: Any, index: int) -> int:
    """1-based line of item `index` in a CommentedSeq (0 if unknown)."""
    try:
        return int(seq.lc.item(index)[0]) + 1
    except Exception:
        return node_line(seq)


def node_line(node: Any) -> int:
    try:
        return int(node.lc.line) + 1
    except Exception:
        return 0


def strip_entities(text: str) -> str:
    return _ENTITY_MARKUP.sub(r"\1", text)


def _block_examples(lines: List[str], key_lineno: int) -> Iterator[Tuple[int, str]]:
    """Yield (line, raw example) of the `- example` lines in the block scalar under the key at key_lineno."""
    key_text = lines[key_lineno - 1]
    key_indent = len(key_text) - len(key_text.lstrip())
    after = key_text.split(":", 1)[1].strip() if ":" in key_text else ""
    if after and not after.startswith(("|", ">")):
        return  # flow scalar on the same line: not a list of examples
    for i in range(key_lineno, len(lines)):
        text = lines[i]
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip())
        if indent <= key_indent:
            return
        stripped = text.strip()
        if stripped.startswith("- "):
            yield i + 1, stripped[2:].strip()
        elif stripped == "-":
            yield i + 1, ""


def nlu_examples(root: str, problems: List[Problem],
                 sub: str = "intents") -> Tuple[List[Example], Dict[str, Tuple[str, int]]]:
    """All intent examples under `root/sub`, plus where each intent is declared (first place)."""
    examples: List[Example] = []
    declared: Dict[str, Tuple[str, int]] = {}
    for path in yaml_files(root, sub):
        rel = relpath(path, root)
        data, errs = load_yaml(path, root)
        problems.extend(errs)
        if data is None:
            continue
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        nlu = data.get("nlu") if hasattr(data, "get") else None
        if not nlu:
            continue
        for idx, entry in enumerate(nlu):
            if not hasattr(entry, "get") or "intent" not in entry:
                continue
            intent = str(entry["intent"])
            line = item_line(nlu, idx)
            declared.setdefault(intent, (rel, line))
            if "examples" not in entry:
                problems.append(Problem(rel, line, "error", "intent-no-examples",
                                        f"intent '{intent}' has no `examples:` block; add `examples: |` with one "
                                        f"`- example` per line"))
                continue
            ex_line = key_line(entry, "examples")
            for lineno, raw in _block_examples(lines, ex_line):
                examples.append(Example(intent, strip_entities(raw).strip(), raw, rel, lineno))
    return examples, declared


def language_of_condition(variation: Any) -> Optional[str]:
    """The `language` slot value a response variation is conditioned on, or None."""
    cond = variation.get("condition") if hasattr(variation, "get") else None
    if not cond:
        return None
    for c in cond:
        if hasattr(c, "get") and c.get("type") == "slot" and c.get("name") == LANG_CONDITION_SLOT:
            return str(c.get("value"))
    return None


def domain_files(root: str, problems: List[Problem], sub: str = "responses") -> List[Tuple[str, Any]]:
    """(relative path, data) of every readable domain file."""
    out = []
    for path in yaml_files(root, sub):
        data, errs = load_yaml(path, root)
        problems.extend(errs)
        if data is not None and hasattr(data, "get"):
            out.append((relpath(path, root), data))
    return out


def response_texts(domain: List[Tuple[str, Any]]) -> List[TextItem]:
    """Every response variation's text with file, line and language."""
    items: List[TextItem] = []
    for rel, data in domain:
        responses = data.get("responses") or {}
        for name, variations in responses.items():
            if not isinstance(variations, list):
                continue
            for i, var in enumerate(variations):
                if not hasattr(var, "get"):
                    continue
                text = var.get("text")
                if text is None:
                    continue
                line = key_line(var, "text") if "text" in var else item_line(variations, i)
                items.append(TextItem("response", str(name), language_of_condition(var), str(text), rel, line))
    return items
