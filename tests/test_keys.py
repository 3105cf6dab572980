"""bot/keys (the package) is the one registry of Redis keys: its builders and patterns agree, no two patterns can be
confused, no other module spells a `canyu:` key, and docs/DEVELOPING.md shows the registry's table."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Callable, Iterator, List, Tuple

import pytest

from bot import keys

ROOT = Path(__file__).resolve().parent.parent

# Modules allowed to spell a key (none: bot/privacy builds its keys and scan patterns with bot.keys too).
EXEMPT: Tuple[str, ...] = ()

# Pairs of patterns that can name the same key, and why that cannot happen with real ids.
KNOWN_OVERLAPS = {
    ("canyu:inbound:{channel}:{msg_id}", "canyu:inbound:{channel}:due"): "message ids are numbers or hashes, never 'due'",
}


def _regex(pattern: str) -> "re.Pattern[str]":
    parts = re.split(r"\{[^}]+\}", pattern)
    return re.compile("[^:|]+".join(re.escape(p) for p in parts) + r"\Z")


def _sample(pattern: str, value: str = "s1") -> str:
    return re.sub(r"\{[^}]+\}", value, pattern)


def _builders() -> Iterator[Tuple[str, Callable[..., str]]]:
    for name, fn in inspect.getmembers(keys, inspect.isfunction):
        if fn.__module__ == keys.__name__ and not name.startswith("_") and name != "markdown_table":
            yield name, fn


def _matching(key: str) -> List[str]:
    return [s.pattern for s in keys.REGISTRY if _regex(s.pattern).match(key)]


def test_patterns_are_unique_and_distinct() -> None:
    patterns = [s.pattern for s in keys.REGISTRY]
    assert len(patterns) == len(set(patterns))
    for spec in keys.REGISTRY:
        assert spec.pattern.startswith(keys.ROOT) and spec.type and spec.ttl and spec.owner, spec
        found = _matching(_sample(spec.pattern))
        others = [p for p in found if p != spec.pattern and (spec.pattern, p) not in KNOWN_OVERLAPS
                  and (p, spec.pattern) not in KNOWN_OVERLAPS]
        assert spec.pattern in found and not others, f"{spec.pattern} can be confused with {others}"


@pytest.mark.parametrize("name,build", list(_builders()))
def test_every_builder_makes_a_registered_key(name: str, build: Callable[..., str]) -> None:
    params = list(inspect.signature(build).parameters)
    args = ["dead" if p == "part" else f"v{i}" for i, p in enumerate(params)]
    key = build(*args)
    assert key.startswith(keys.ROOT), f"{name}() -> {key!r}"
    assert len(_matching(key)) >= 1, f"{name}() -> {key!r} matches no REGISTRY pattern"
    assert len(_matching(key)) == 1 or tuple(_matching(key)) in KNOWN_OVERLAPS, (name, _matching(key))


def test_delivery_parts_are_checked() -> None:
    assert [keys.delivery("rest", p) for p in keys.DELIVERY_PARTS][0] == "canyu:delivery:rest:items"
    with pytest.raises(ValueError, match="not one of"):
        keys.delivery("rest", "bogus")


def test_constants_are_registered_keys_or_prefixes() -> None:
    for name, value in vars(keys).items():
        if name.startswith("_") or not isinstance(value, str) or not value.startswith("canyu"):
            continue
        if name.endswith("_PREFIX") or name == "ROOT":
            assert any(s.pattern.startswith(value) for s in keys.REGISTRY), f"{name} = {value!r} prefixes nothing"
        else:
            assert _matching(value) == [value], f"{name} = {value!r} is not exactly one REGISTRY pattern"


def test_keys_are_byte_for_byte_the_old_ones() -> None:
    """Existing data must still be found: a few keys as they were spelled before the registry."""
    assert keys.EVENTS_STREAM == "canyu:events"
    assert keys.handoff("wechat:a:o1") == "canyu:handoff:wechat:a:o1"
    assert keys.delivery_idempotency("ab") == "canyu:delivery:key:ab"
    assert keys.inbound("telegram:42", "7") == "canyu:inbound:telegram:42:7"
    assert keys.credit_day("amy", "20261130") == "canyu:discretion:credit_day:amy:20261130"
    assert keys.wechat_nonce("app", "1700000000", "n") == "canyu:wechat:nonce:app:1700000000:n"
    assert keys.feedback_voices("FB1") == keys.FEEDBACK_PREFIX + "voices:FB1"


def _docstring_ids(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # attribute docstrings
            out.add(id(node.value))
    return out


def _key_literals(path: Path) -> List[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstring_ids(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if isinstance(head, ast.Constant) and str(head.value).startswith("canyu:"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
              and node.value.startswith("canyu:")):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_key_literal_outside_the_registry() -> None:
    files = [p for folder in ("bot", "connectors") for p in sorted((ROOT / folder).rglob("*.py"))]
    offenders = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("bot/keys/") or (EXEMPT and rel.startswith(EXEMPT)):
            continue
        offenders += _key_literals(path)
    assert not offenders, f"Redis key literals outside bot/keys/ (build them with bot.keys): {offenders}"


def test_scan_sees_literals() -> None:
    """The scan above finds what it is meant to find (so an empty result means something)."""
    assert _key_literals(ROOT / "bot" / "keys" / "__init__.py") and _key_literals(ROOT / "bot" / "keys" / "_registry.py")


def test_developing_md_shows_the_registry() -> None:
    text = (ROOT / "docs" / "DEVELOPING.md").read_text(encoding="utf-8")
    assert "## Redis keys" in text
    assert keys.markdown_table() in text, "regenerate the table: python -m bot.keys (docs/DEVELOPING.md, ## Redis keys)"



def _expand(text: str) -> List[str]:
    """`a:{x,y:{z}}:b` -> [`a:x:b`, `a:y:{z}:b`] (the inventory's shorthand for several keys)."""
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth, start = depth + 1, (i if depth == 0 else start)
        elif ch == "}":
            depth -= 1
            if depth == 0:
                alts, level, last = [], 0, start + 1
                for j in range(start + 1, i):
                    level += {"{": 1, "}": -1}.get(text[j], 0)
                    if text[j] == "," and level == 0:
                        alts.append(text[last:j])
                        last = j + 1
                if alts:
                    alts.append(text[last:i])
                    return [x for a in alts for x in _expand(text[:start] + a + text[i + 1:])]
    return [text]


def _documented(pattern: str) -> List[List[str]]:
    """The keys an inventory family's pattern names (as samples), each with its possible readings: notes in
    parentheses dropped, parts split on ` / `, ` + `, `, `, `{a,b}` naming two keys; a part without the root is
    relative to the first (`…:items / :queue`, `…:proposal:{id} + :proposals`, `…:{id}, by_user:{profile}`)."""
    parts = re.split(r" / | \+ |, ", re.sub(r"\s*\([^)]*\)", "", pattern))
    tokens = [next((t for t in part.split() if ":" in t), "") for part in parts]
    out = []
    for tok in filter(None, tokens):
        if tok.startswith(keys.ROOT):
            out += [[_sample(x).replace("*", "s1")] for x in _expand(tok)]
            continue
        bases = [f.split(":") for f in _expand(tokens[0])]
        readings = {":".join(b[:k]) + ":" + tok.lstrip(":") for b in bases for k in range(2, len(b))}
        out.append(sorted({_sample(x).replace("*", "s1") for r in readings for x in _expand(r)}))
    return out


def _registered_loosely(key: str) -> bool:
    """Whether `key` is a key of some REGISTRY pattern, a placeholder standing for any text (colons too:
    `{channel}` is `wechat:{appid}`)."""
    return any(re.fullmatch(".+".join(re.escape(p) for p in re.split(r"\{[^}]+\}", s.pattern)), key)
               for s in keys.REGISTRY)


def test_privacy_inventory_documents_registered_keys() -> None:
    """bot/privacy/inventory.py builds its patterns with bot.keys; each key it documents must be a key of the
    registry, so that the inventory and the registry cannot drift apart."""
    from bot.privacy.inventory import FAMILIES

    assert _documented("canyu:a:{x}:items / :queue (note) + its :due member") == [
        ["canyu:a:s1:items"], ["canyu:a:queue", "canyu:a:s1:queue"], ["canyu:a:due", "canyu:a:s1:due"]]
    assert _documented("canyu:b:{x,y:{z}}:{id}, c:{p}")[:2] == [["canyu:b:x:s1"], ["canyu:b:y:s1:s1"]]
    unregistered = []
    for fam in FAMILIES:
        documented = _documented(fam.pattern)
        assert documented, fam
        unregistered += [f"{fam.name}: {readings}" for readings in documented
                         if not any(_registered_loosely(r) for r in readings)]
    assert not unregistered, unregistered
