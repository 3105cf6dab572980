"""The wiring rules of docs/DEVELOPING.md, checked on the source (issue 19).

- no module over 400 lines;
- no module-level mutable state, apart from the documented caches below (each with its explicit reset);
- the environment is read in `bot/settings.py` only;
- Redis clients are made in `bot/storage.py` (the factories) and only the composition roots ask for one;
- one definition of "a Chinese character" (`bot/language.py`);
- importing any module has no side effects (no environment change, no thread, no child process).

The import contracts (`lint-imports`), ruff and mypy run before the tests in `./canyu test` (`./canyu check`).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "connectors")
MAX_LINES = 400

DOCUMENTED_CACHES: Dict[str, str] = {
    # "module:name": "how to reset it" (a function of the same module, or `cache_clear` for an lru_cache)
    "bot.nlu._fingerprint:code_fingerprint": "cache_clear",
    "bot.embeddings:_encoders": "reset_encoders",
    "bot.embeddings:_bypass": "reset_encoders",
    "bot.knowledge.text:_jieba": "cache_clear",
    "bot.knowledge.terms:english_words": "cache_clear",
    "bot.fans._rules:_load": "cache_clear",
    "bot.feedback._match:_parts": "cache_clear",
    "bot.trainer.charts:_setup_fonts": "reset_font_cache",
    "bot.yaml_files:_cache": "clear",
    "bot.console.users:_dummy_hash": "cache_clear",
    "bot.stores:_PLAIN": "reset_copy_memo",
    "bot.metrics:_redis_gauges": "reset_redis_gauges",
    "bot.rasa_patches:_ORIGINALS": "uninstall",
    "bot.rasa_patches:_ACTIVE": "uninstall",
    "bot.rasa_patches:_SESSIONS": "uninstall",
    "bot.rasa_patches:_DOMAIN_JSON": "uninstall",
}
"""Module-level state that is allowed: caches of things that are expensive to make and the same for the whole
process (models, parsed files). Each names its reset; tests call it instead of reaching into the module."""

COMPOSITION_ROOTS: Set[str] = {
    "connectors/wechat.py",
    "connectors/telegram.py",
    "connectors/rest.py",
    "bot/context.py",
    "bot/actions/server.py",
    "bot/handoff/policy.py",
    "bot/cli/__init__.py",
    "bot/cli/core.py",
    "bot/runner.py",
    "bot/plugin_context.py",
    "bot/locks.py",
    "bot/console/__main__.py",
    "bot/encoder_service/__main__.py",  # the encoder process (python -m bot.encoder_service)
    "bot/nlu/featurizer.py",  # a Rasa component: Rasa builds it from config.yml, so it reads its settings
    "bot/knowledge/kb_eval.py",  # a dev tool's `python -m` main()
    "bot/knowledge/zh_fit.py",  # a dev tool's `python -m` main()
    "bot/child.py",  # the entry point of every child process `bot run` starts (python -m bot.child)
}
"""The modules that may ask `bot.storage` for a Redis client (`open_redis`, `open_async_redis`) or call
`build_context`: the entry points of docs/DEVELOPING.md."""

THIRD_PARTY = ("tensorflow", "torch", "rasa", "rasa_sdk", "sentence_transformers", "sklearn", "sanic", "redis")
"""Imported before the snapshot in `test_importing_has_no_side_effects`."""

_MUTATING_METHODS = {"append", "extend", "insert", "update", "setdefault", "pop", "popitem", "clear", "add",
                     "remove", "discard", "appendleft", "popleft", "__setitem__"}
_CACHE_DECORATORS = {"lru_cache", "cache", "cached_property"}


def _modules() -> Iterator[Tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path


def _module_names(tree: ast.Module) -> Set[str]:
    names: Set[str] = set()
    for node in tree.body:
        targets: List[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names


def module_state(tree: ast.Module) -> Set[str]:
    """Module-level names that code changes after import: `global` targets, containers mutated in place inside
    functions (item assignment, `del x[k]`, a mutating method), and module-level functions that cache."""
    names = _module_names(tree)
    functions = {f.name: f for f in tree.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found: Set[str] = set()
    for defined in functions.values():
        for deco in defined.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if (target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")) in _CACHE_DECORATORS:
                found.add(defined.name)
    for node_ in ast.walk(tree):
        if not isinstance(node_, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        func = node_
        declared: Set[str] = set()
        local: Set[str] = {a.arg for a in func.args.args + func.args.kwonlyargs + func.args.posonlyargs}
        mutated: Set[str] = set()
        for node in ast.walk(func):
            if isinstance(node, ast.Global):
                declared.update(node.names)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                local.add(node.id)
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)) and \
                    isinstance(node.value, ast.Name):
                mutated.add(node.value.id)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in _MUTATING_METHODS and isinstance(node.func.value, ast.Name):
                mutated.add(node.func.value.id)
        found |= declared | (mutated - local)
    return {name for name in found if name in names or name in functions}


def _docstrings(tree: ast.Module) -> Set[int]:
    ids: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _calls(tree: ast.Module) -> Iterator[Tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            yield node.lineno, name


@pytest.mark.parametrize("module,path", list(_modules()), ids=[m for m, _ in _modules()])
def test_module_rules(module: str, path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    problems: List[str] = []
    lines = source.count("\n")
    if lines > MAX_LINES:
        problems.append(f"{lines} lines (at most {MAX_LINES}): split it by concern")
    dotted = module[:-3].replace("/", ".").removesuffix(".__init__")
    for name in sorted(module_state(tree)):
        if f"{dotted}:{name}" not in DOCUMENTED_CACHES:
            problems.append(f"module-level state `{name}`: hand it down from the composition root, or document it "
                            "as a cache in tests/test_architecture.py:DOCUMENTED_CACHES with its reset")
    if module != "bot/settings.py":
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                    isinstance(node.value, ast.Name) and node.value.id == "os":
                problems.append(f"line {node.lineno}: os.{node.attr}: read settings (`Settings.env`) instead")
    for lineno, name in _calls(tree):
        if name in ("open_redis", "open_async_redis", "build_context", "connect_redis") and \
                module not in COMPOSITION_ROOTS and module != "bot/storage.py":
            problems.append(f"line {lineno}: {name}(): only composition roots make Redis clients and contexts")
        if name in ("from_url", "StrictRedis") and module != "bot/storage.py":
            problems.append(f"line {lineno}: {name}(): Redis clients are made by bot.storage")
    if module not in COMPOSITION_ROOTS and module != "bot/settings.py":
        # load_settings(env) parses an environment handed down; load_settings() reads the process environment
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and not node.args and not node.keywords and \
                    (getattr(node.func, "id", "") or getattr(node.func, "attr", "")) == "load_settings":
                problems.append(f"line {node.lineno}: load_settings(): take settings (or the part you need) "
                                "from your caller")
    if module != "bot/language.py":
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs and \
                    ("\u4e00-" in node.value or "\u3400-" in node.value):
                problems.append(f"line {node.lineno}: a CJK character range: use bot.language (CJK_CHAR, has_cjk)")
    # `from None` hides the error that explains a failure: allowed only with a reason (a secret, a restated cause)
    text = source.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.cause, ast.Constant) and node.cause.value is None and \
                not any("# cause dropped:" in line for line in text[max(0, node.lineno - 2):node.lineno]):
            problems.append(f"line {node.lineno}: raise … from None drops the cause: keep it (from exc), "
                            "or say why with '# cause dropped: …'")
    assert not problems, f"{module}:\n  " + "\n  ".join(problems)


def test_documented_caches_have_their_reset() -> None:
    for entry, reset in DOCUMENTED_CACHES.items():
        module, name = entry.split(":")
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
        tree = ast.parse(source)
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        assert name in _module_names(tree) | defined, f"{entry}: no such module-level name"
        assert reset == "cache_clear" or reset in defined, f"{entry}: its reset {reset}() is not in {module}"


def test_importing_has_no_side_effects() -> None:
    """Import every module in a fresh interpreter: the environment, threads and child processes are unchanged.
    The big third-party packages are imported first: TensorFlow sets variables of its own on import (KMP_*,
    TF2_BEHAVIOR), which is not ours to judge; what is measured is what importing *our* modules adds."""
    modules = [m[:-3].replace("/", ".").removesuffix(".__init__") for m, _ in _modules()
               if not m.endswith("__main__.py")]
    script = (
        "import os, sys, threading, importlib, json, multiprocessing\n"
        f"for name in {THIRD_PARTY!r}:\n"
        "    importlib.import_module(name)\n"
        "env = dict(os.environ); threads = threading.active_count()\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "changed = sorted(k for k in set(env) | set(os.environ) if env.get(k) != os.environ.get(k))\n"
        "children = multiprocessing.active_children()\n"
        "print(json.dumps({'env': changed, 'threads': threading.active_count() - threads,\n"
        "                  'children': len(children)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = done.stdout.strip().splitlines()[-1]
    assert result == '{"env": [], "threads": 0, "children": 0}', result


def test_nothing_local_is_tracked() -> None:
    """A link out of the tree or a run's artefacts committed by mistake break a fresh checkout: a tracked `models`
    link to another checkout made `bot train` fail in CI with "File exists: models". Git's mode 120000 is a
    symlink; ours (domain.yml, data/intents) point inside the tree."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split(maxsplit=3) for line in listed.stdout.splitlines()]
    links = [path for mode, _, _, path in rows if mode == "120000"
             and (os.path.isabs(os.readlink(ROOT / path)) or ROOT not in (ROOT / path).resolve().parents)]
    local = [path for *_, path in rows if path.split("/", 1)[0] in {"models", "var", "reports", ".rasa"}]
    assert not links and not local, f"tracked by mistake (git rm --cached them): {links + local}"
