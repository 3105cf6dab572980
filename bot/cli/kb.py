"""`bot kb build|reload|validate|ask`: the product knowledge base from the command line."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Tuple

if TYPE_CHECKING:
    from bot.knowledge.retriever import Retriever


def _env(args: argparse.Namespace) -> Mapping[str, str]:
    """The settings' environment, from the context the CLI main hands down (`args.ctx`)."""
    env: Mapping[str, str] = args.ctx.env
    return env


def _root(args: argparse.Namespace) -> Path:
    from bot.knowledge.config import knowledge_dir

    return Path(args.kb_dir).resolve() if args.kb_dir else knowledge_dir(_env(args))


def _retriever(args: argparse.Namespace, **options: Any) -> Tuple["Retriever", bool]:
    from bot.embeddings import EmbeddingSettings
    from bot.knowledge.config import cache_dir
    from bot.knowledge.index import text_progress
    from bot.knowledge.store import build_retriever

    env = _env(args)
    return build_retriever(_root(args), cache_dir(env), progress=text_progress("encoding"),
                           embedding=EmbeddingSettings.from_env(env), **options)


def _validate(args: argparse.Namespace) -> int:
    from bot.knowledge.cues import load_cues
    from bot.knowledge.loader import load_kb
    from bot.knowledge.retriever import kb_docs
    from bot.knowledge.synonyms import load_synonyms
    from bot.knowledge.terms import kb_texts

    kb = load_kb(_root(args))
    answers, questions = kb_texts(kb_docs(kb), kb.products)  # the words the retriever checks synonyms against
    load_synonyms(kb.root, answers + questions)
    load_cues(kb.root, list(kb.faq), list(kb.faq))  # a pattern that does not compile, an id no entry has
    phrasings = sum(len(q) for e in kb.faq.values() for q in e.questions.values())
    print(f"ok: {len(kb.products)} products, {len(kb.faq)} FAQ entries, {phrasings} question phrasings")
    return 0


def _build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    retriever, cached = _retriever(args, use_cache=not args.force)
    print(f"{'index up to date (cache)' if cached else 'index built'}: {len(retriever.index.ids)} entries, "
          f"{len(retriever.index.phrases)} phrasings, dense search {retriever.index.q_index.kind}, "
          f"model {getattr(retriever.encoder, 'name', '?')}, {time.perf_counter() - start:.1f}s")
    examples = retriever.out_of_scope.examples
    print("out-of-scope examples: " + ", ".join(f"{lang} {len(e.texts)} (margin {e.margin:.3f})"
                                               for lang, e in examples.items()))
    clashes = retriever.out_of_scope.conflicts()
    for lang, phrasing, example, gap in sorted(clashes, key=lambda c: -c[3])[:10]:
        print(f"  nearer to an example than to its own entry (+{gap:.3f}, {lang}): {phrasing!r} ~ {example!r}")
    if len(clashes) > 10:
        print(f"  … and {len(clashes) - 10} more")
    return 0


def _reload(args: argparse.Namespace) -> int:
    from bot.knowledge.config import cache_dir
    from bot.knowledge.store import touch_reload_marker

    _build(args)
    marker = touch_reload_marker(cache_dir(_env(args)))
    print(f"running action servers pick up the new knowledge base within a few seconds ({marker})")
    return 0


def _ask(args: argparse.Namespace) -> int:
    retriever, _ = _retriever(args)
    intent, _, confidence = (args.intent or "").partition(":")
    result = retriever.ask(args.question, args.language, intent or None, float(confidence or 1.0))
    print(f"outcome: {result.outcome}   source: {result.kind}   confidence: {result.confidence:.2f}   "
          f"entry: {result.entry_id}   ({result.latency_ms:.1f} ms)")
    print(f"reason:  {result.reason}")
    if result.text:
        print(f"\n{result.text}\n")
    for c in result.candidates:
        print(f"  {c.entry_id:<28} score {c.score:6.2f}  confidence {c.confidence:.2f}  {c.question}")
    return 0


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("kb", help="build, reload, validate or query the product knowledge base")
    kinds = p.add_subparsers(dest="kb_command", metavar="ACTION")
    kinds.required = True

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--kb-dir", default=None, help="knowledge folder (default: knowledge/ or CANYU_KNOWLEDGE_DIR)")

    b = kinds.add_parser("build", help="validate and build the index into the cache (data dir/kb)")
    common(b)
    b.add_argument("--force", action="store_true", help="rebuild even if the cache is up to date")
    b.set_defaults(func=_build)
    r = kinds.add_parser("reload", help="build, then tell running action servers to switch to it")
    common(r)
    r.add_argument("--force", action="store_true", help="rebuild even if the cache is up to date")
    r.set_defaults(func=_reload)
    v = kinds.add_parser("validate", help="check the YAML: bad syntax, duplicate ids, missing zh/en, unknown products")
    common(v)
    v.set_defaults(func=_validate)
    a = kinds.add_parser("ask", help='ask a question: bot kb ask "14 Pro 电池多大"')
    common(a)
    a.add_argument("question")
    a.add_argument("--language", choices=["zh", "en"], default=None)
    a.add_argument("--intent", default=None, metavar="NAME[:CONFIDENCE]",
                   help="the NLU intent as a prior, as the assistant passes it (e.g. shipping:0.9)")
    a.set_defaults(func=_ask)
