"""The knowledge base as the trainer tools see it: answer texts with lines, product names, KB findings.

Loading and validating the KB belongs to `bot.knowledge`; when it offers a validator, its findings
are included here. This module only reads answers (for the voice lint and the twin checks) and
product names (for the unknown-product check), tolerating the shapes an FAQ entry may take:
`answer: {zh: …, en: …}`, `answer_zh:`/`answer_en:`, or `zh: {answer: …}`/`en: {answer: …}`.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from bot.trainer.problems import Problem, relpath
from bot.trainer.sources import TextItem, item_line, key_line, load_yaml, yaml_files

LANGS = ("zh", "en")
_LANG_NAMES = {"zh": "Chinese", "en": "English"}


@dataclasses.dataclass
class KB:
    texts: List[TextItem]
    catalogue: List[str]
    problems: List[Problem]
    unknown_products: Optional[Callable[[str], List[str]]] = None  # text -> product names not in the KB
    validated: bool = False  # the knowledge engineer's validator ran


def _entries(data: Any) -> Any:
    if isinstance(data, list):
        return data
    if hasattr(data, "get"):
        for key in ("entries", "faq", "faqs", "items", "questions"):
            if isinstance(data.get(key), list):
                return data[key]
    return []


def _answers(entry: Any) -> List[Tuple[str, str, int]]:
    """(lang, text, line) of an entry's answers."""
    out: List[Tuple[str, str, int]] = []
    ans = entry.get("answer")
    if hasattr(ans, "get"):
        for lang in LANGS:
            if ans.get(lang):
                out.append((lang, str(ans[lang]), key_line(ans, lang)))
    for lang in LANGS:
        if entry.get(f"answer_{lang}"):
            out.append((lang, str(entry[f"answer_{lang}"]), key_line(entry, f"answer_{lang}")))
        side = entry.get(lang)
        if hasattr(side, "get") and side.get("answer"):
            out.append((lang, str(side["answer"]), key_line(side, "answer")))
    return out


def _names_of(node: Any) -> List[str]:
    names: List[str] = []
    if isinstance(node, str):
        names.append(node)
    elif hasattr(node, "values"):
        for v in node.values():
            names += _names_of(v)
    elif isinstance(node, list):
        for v in node:
            names += _names_of(v)
    return names


def _catalogue(root: str, problems: List[Problem]) -> List[str]:
    path = os.path.join(root, "knowledge", "products.yml")
    if not os.path.exists(path):
        return []
    data, errs = load_yaml(path, root)
    problems.extend(errs)
    products = data.get("products", data) if hasattr(data, "get") else data
    items = list(products.values()) if hasattr(products, "values") else (products or [])
    if hasattr(products, "keys"):
        names = [str(k) for k in products.keys()]
    else:
        names = []
    for prod in items:
        if not hasattr(prod, "get"):
            continue
        for key in ("name", "names", "name_en", "name_zh", "aliases", "id"):
            if key in prod:
                names += _names_of(prod[key])
    return [n for n in names if n]


_WHERE = re.compile(r"^(?P<file>[^:\n]+?):(?P<line>\d+): (?P<msg>.*)$", re.S)


def _knowledge_engineer(root: str) -> Tuple[Optional[List[Problem]], None]:
    """(findings of `bot.knowledge.loader.load_kb`, None), or (None, None) without that module."""
    try:
        from bot.errors import DataError
        from bot.knowledge.loader import load_kb
    except ImportError:
        return None, None
    kdir = Path(root) / "knowledge"
    if not (kdir / "products.yml").exists():
        return None, None
    findings: List[Problem] = []
    try:
        load_kb(kdir)
    except DataError as exc:
        for text in getattr(exc, "errors", None) or [str(exc)]:
            m = _WHERE.match(text)
            if m:
                findings.append(Problem(m["file"], int(m["line"]), "error", "kb", m["msg"].strip()))
            else:
                findings.append(Problem("knowledge", None, "error", "kb", text))
    return findings, None  # ProductMatcher is tuned for questions (recall), too loose for validation


def _external_validator(root: str) -> Optional[List[Problem]]:
    """Findings of another validator module in `bot.knowledge`, when there is one."""
    for module_name, func_name in (("bot.knowledge.validate", "validate"), ("bot.knowledge.loader", "validate_kb")):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        func = getattr(module, func_name, None)
        if func is None:
            continue
        out = []
        for item in func(root) or []:
            if isinstance(item, Problem):
                out.append(item)
                continue
            file = relpath(str(getattr(item, "file", None) or "knowledge"), root)
            line = getattr(item, "line", None)
            message = getattr(item, "message", None) or str(item)
            severity = getattr(item, "severity", "error")
            severity = severity if severity in ("error", "warning", "info") else "error"
            out.append(Problem(file, line, severity, "kb", message))
        return out
    return None


def load(root: str, problems: List[Problem]) -> KB:
    """KB answer texts, product names and the KB validator's findings."""
    kb_problems: List[Problem] = []
    texts: List[TextItem] = []
    catalogue = _catalogue(root, kb_problems)
    for path in yaml_files(root, os.path.join("knowledge", "faq")):
        rel = relpath(path, root)
        data, errs = load_yaml(path, root)
        kb_problems.extend(errs)
        entries = _entries(data)
        for i, entry in enumerate(entries):
            if not hasattr(entry, "get"):
                continue
            key = str(entry.get("id") or f"{os.path.splitext(rel)[0]}#{i + 1}")
            answers = _answers(entry)
            if not answers:
                continue
            for lang, text, line in answers:
                texts.append(TextItem("kb", key, lang, text, rel, line or item_line(entries, i)))
    finder = None
    try:
        external, finder = _knowledge_engineer(root)
        if external is None:
            external = _external_validator(root)
    except Exception as exc:  # their validator failing must not hide ours
        external = [Problem("knowledge", None, "error", "kb", f"the knowledge validator failed: {exc}")]
    if external is not None:
        kb_problems += external
    return KB(texts, catalogue, kb_problems, finder, validated=external is not None)


def twin_missing(texts: List[TextItem]) -> List[Problem]:
    """KB entries with an answer in one language only."""
    by_key: Dict[str, Dict[Optional[str], TextItem]] = {}
    for t in texts:
        by_key.setdefault(t.key, {})[t.lang] = t
    out = []
    for key, sides in sorted(by_key.items()):
        for lang in LANGS:
            if lang not in sides:
                other = next(iter(sides.values()))
                out.append(Problem(other.file, other.line, "error", "twin-missing",
                    f"KB entry '{key}' has no {_LANG_NAMES[lang]} answer; add one that says the same"))
    return out
