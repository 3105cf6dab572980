"""`bot eval faq DIR` and `bot eval pairs DIR`: measure the retriever on the shared dataset formats.

faq: `kb.csv` (id,question,answer; rows sharing an id are paraphrases) and `queries.csv`
(text,id; id `oos` = nothing answers it). Reports top-1 accuracy, MRR@10, recall@5,
out-of-scope precision/recall (when `oos` queries exist) and per-query latency p50/p99.

pairs: `pairs.csv` (text1,text2,label). Reports accuracy with the threshold chosen on one
half and measured on the other (both ways, averaged) and ROC AUC, for the character n-gram
TF-IDF cosine baseline, the retriever's own similarity (no training: the dense cosine of the
pair's language model and BM25, each standardised over the pairs as the retriever standardises
over entries, mixed by `knowledge/config.yml`'s weights for that language), its dense cosine
alone, and the retriever's signals re-weighted by a logistic regression fitted on the other half
(with shared and differing character n-grams as extra features).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from bot.embeddings import EmbeddingSettings
from bot.errors import DataError
from bot.knowledge._arrays import Floats, Ints
from bot.knowledge.config import knowledge_dir, load_config
from bot.knowledge.index import Doc, HybridIndex, get_encoder, query_language, text_progress
from bot.knowledge.text import has_cjk

__all__ = ["main_faq", "main_pairs", "faq_docs", "pair_signals", "retriever_similarity"]

_SENT = re.compile(r"(?<=[.!?。！？])\s*")


def _read_csv(path: Path, columns: Sequence[str]) -> List[Dict[str, str]]:
    if not path.exists():
        raise DataError(f"missing {path.name}; expected columns {','.join(columns)}", file=str(path))
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"missing column(s) {', '.join(missing)}; the header must be {','.join(columns)}",
                            file=str(path), line=1)
        return list(reader)


def faq_docs(rows: Sequence[Dict[str, str]]) -> List[Doc]:
    """Entries from kb.csv rows: phrasings grouped by id; passages = question + answer and answer sentences."""
    docs: "OrderedDict[str, Doc]" = OrderedDict()
    answers: Dict[str, str] = {}
    for r in rows:
        d = docs.setdefault(r["id"], Doc(r["id"], []))
        d.questions.append(r["question"])
        answers.setdefault(r["id"], r.get("answer") or "")
    for d in docs.values():
        ans = answers[d.id].strip()
        if ans:
            head = d.questions[0]
            chunks = [s for s in _SENT.split(ans) if len(s) > 20][:8]
            d.passages = [f"{head} {ans}"] + [f"{head} {c}" for c in chunks]
        else:
            d.passages = []
    return list(docs.values())


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main_faq(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """`bot eval faq DIR`; `env`: the settings' environment (the knowledge folder's config, the sentence models)."""
    folder = Path(args.dir)
    kb_rows = _read_csv(folder / "kb.csv", ("id", "question", "answer"))
    queries = _read_csv(folder / "queries.csv", ("text", "id"))
    cfg = load_config(knowledge_dir(env))
    encoder = get_encoder(cfg.model, EmbeddingSettings.from_env(env))
    docs = faq_docs(kb_rows)
    t0 = time.perf_counter()
    index = HybridIndex.build(docs, encoder, weights=cfg.weights, ann_threshold=cfg.ann_threshold,
                              ann_kind=cfg.ann_kind, answer_mix=cfg.answer_mix, progress=text_progress("index"))
    build_s = time.perf_counter() - t0
    texts = [q["text"] for q in queries]
    gold_ids = [q["id"] for q in queries]
    pos = {d: i for i, d in enumerate(index.ids)}
    unknown = sorted({g for g in gold_ids if g != "oos" and g not in pos})
    if unknown:
        raise DataError(f"queries.csv names ids not in kb.csv: {', '.join(unknown[:5])}", file=str(folder / "queries.csv"))
    q_vecs = encoder.encode(texts)
    scores = index.scores(texts, q_vecs)
    order = np.argsort(-scores, axis=1)
    in_scope = np.asarray([g != "oos" for g in gold_ids])
    gold = np.asarray([pos.get(g, -1) for g in gold_ids])
    ranks = np.full(len(texts), 10**9)
    for i in np.flatnonzero(in_scope):
        ranks[i] = int(np.flatnonzero(order[i] == gold[i])[0])
    r = ranks[in_scope]
    report: Dict[str, Any] = {
        "dataset": folder.name, "entries": len(docs), "phrasings": len(index.phrases), "queries": len(texts),
        "in_scope": int(in_scope.sum()), "model": getattr(encoder, "name", "?"), "index_build_s": round(build_s, 1),
        "top1": float((r == 0).mean()), "mrr@10": float(np.where(r < 10, 1.0 / (r + 1), 0.0).mean()),
        "recall@5": float((r < 5).mean()),
        # the query language's model alone, query to question (no answers, no BM25), for comparison
        "dense_only_top1": float((index.phrase_doc[np.argmax(index.dense_cosines(q_vecs, texts), axis=1)][in_scope]
                                  == gold[in_scope]).mean()),
    }
    if (~in_scope).any():
        from bot.knowledge.retriever import calibrate_scores

        conf = calibrate_scores(index, scores, texts, q_vecs)
        pred_oos = conf < cfg.suggest_threshold
        tp = float((pred_oos & ~in_scope).sum())
        report["oos_precision"] = tp / max(float(pred_oos.sum()), 1.0)
        report["oos_recall"] = tp / float((~in_scope).sum())
    lat = _latency(index, encoder, texts[: min(len(texts), 300)])
    report.update({"latency_p50_ms": lat[0], "latency_p99_ms": lat[1]})
    _print_table(f"FAQ retrieval on {folder.name}", report)
    _write(args, f"eval-faq-{folder.name}", report)
    return 0


def _latency(index: HybridIndex, encoder: Any, texts: Sequence[str]) -> Tuple[float, float]:
    """Per-query wall time, one query at a time, encoding included (encoder cache bypassed)."""
    times: List[float] = []
    for t in texts:
        start = time.perf_counter()
        try:
            v = encoder.encode([t], use_cache=False)
        except TypeError:
            v = encoder.encode([t])
        s = index.scores([t], v)
        int(np.argmax(s[0]))
        times.append((time.perf_counter() - start) * 1000)
    return round(_percentile(times, 50), 2), round(_percentile(times, 99), 2)


def pair_signals(a: Sequence[str], b: Sequence[str], encoder: Any) -> Dict[str, Floats]:
    """The retriever's similarity signals for each pair: dense cosine and symmetric BM25 (IDF from all texts).

    Both texts of a pair are encoded by the model of the pair's language (Chinese if either has
    Chinese), as the retriever compares a Chinese query with its index in the Chinese model."""
    from bot.knowledge.bm25 import BM25
    from bot.knowledge.text import tokens

    ta = [tokens(x) for x in a]
    tb = [tokens(x) for x in b]
    bm = BM25.fit(ta + tb)
    n = len(a)
    qa, best_a = bm.query_matrix(ta)
    qb, best_b = bm.query_matrix(tb)
    s_ab = np.asarray(qa.multiply(bm.weights[n:]).sum(axis=1)).ravel() / np.maximum(best_a, 1e-6)
    s_ba = np.asarray(qb.multiply(bm.weights[:n]).sum(axis=1)).ravel() / np.maximum(best_b, 1e-6)
    langs = np.asarray([query_language(x + y) for x, y in zip(a, b, strict=True)])
    dense = np.zeros(n, np.float32)
    for lang in dict.fromkeys(langs.tolist()):
        rows = np.flatnonzero(langs == lang)
        if hasattr(encoder, "encode_in"):
            ea = encoder.encode_in([a[i] for i in rows], lang)
            eb = encoder.encode_in([b[i] for i in rows], lang)
        else:
            ea = encoder.encode([a[i] for i in rows])
            eb = encoder.encode([b[i] for i in rows])
        dense[rows] = (ea * eb).sum(axis=1)
    return {"dense": dense, "lex_min": np.minimum(s_ab, s_ba), "lex_max": np.maximum(s_ab, s_ba),
            "languages": langs}


def retriever_similarity(sig: Dict[str, Floats], weights: Dict[str, float]) -> Floats:
    """The retriever's untrained similarity of each pair: dense cosine and mean two-way BM25, each
    standardised over the pairs (no labels; the retriever standardises over entries), mixed by the
    language's fusion weights (dense_q + dense_p for the dense side, lex_q + lex_d for BM25)."""
    dense_w = weights.get("dense_q", 0.0) + weights.get("dense_p", 0.0)
    lex_w = weights.get("lex_q", 0.0) + weights.get("lex_d", 0.0)
    lex = (sig["lex_min"] + sig["lex_max"]) / 2
    z = [(x - x.mean()) / (x.std() + 1e-9) for x in (np.asarray(sig["dense"], np.float64), lex)]
    similarity: Floats = (dense_w * z[0] + lex_w * z[1]) / max(dense_w + lex_w, 1e-9)
    return similarity


def _halves(n: int, seed: int = 13) -> Tuple[Ints, Ints]:
    perm = np.random.default_rng(seed).permutation(n)
    return perm[: n // 2], perm[n // 2 :]


def _threshold_accuracy(s: Floats, y: Floats, halves: Tuple[Ints, Ints]) -> float:
    accs = []
    for fit, test in (halves, halves[::-1]):
        cand = np.unique(s[fit])
        if len(cand) > 4000:
            cand = np.quantile(s[fit], np.linspace(0, 1, 4001))
        best = max(cand, key=lambda th: float(((s[fit] >= th) == y[fit]).mean()))
        accs.append(float(((s[test] >= best) == y[test]).mean()))
    return float(np.mean(accs))


def main_pairs(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """`bot eval pairs DIR`; `env` as for `main_faq`."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    folder = Path(args.dir)
    rows = _read_csv(folder / "pairs.csv", ("text1", "text2", "label"))
    a = [r["text1"] for r in rows]
    b = [r["text2"] for r in rows]
    y = np.asarray([int(r["label"]) for r in rows])
    halves = _halves(len(y))
    cfg = load_config(knowledge_dir(env))
    encoder = get_encoder(cfg.model, EmbeddingSettings.from_env(env))
    t0 = time.perf_counter()
    results: Dict[str, Dict[str, float]] = {}

    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)).fit(a + b)
    base = np.asarray(tfidf.transform(a).multiply(tfidf.transform(b)).sum(axis=1)).ravel()
    results["baseline: char 1-3-gram TF-IDF cosine"] = {
        "accuracy": _threshold_accuracy(base, y, halves), "roc_auc": float(roc_auc_score(y, base))}

    sig = pair_signals(a, b, encoder)
    lang = "zh" if 2 * sum(has_cjk(t) for t in a[:200]) > len(a[:200]) else "en"  # most texts Chinese
    fused = retriever_similarity(sig, cfg.weights.get(lang, cfg.weights["en"]))
    results["retriever similarity (dense + BM25, no training)" + (" before the pair model" if lang == "zh" else "")] = {
        "accuracy": _threshold_accuracy(fused, y, halves), "roc_auc": float(roc_auc_score(y, fused))}
    results["retriever dense cosine alone"] = {
        "accuracy": _threshold_accuracy(sig["dense"], y, halves), "roc_auc": float(roc_auc_score(y, sig["dense"]))}
    results.update(_zh_pair_rows(a, b, y, halves, encoder, fused, knowledge_dir(env)) if lang == "zh" else {})

    # Learned re-weighting: the retriever's signals plus which character n-grams the two share
    # or do not share, fitted on one half and measured on the other.
    ng = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), min_df=2, binary=True, use_idf=False,
                         norm=None).fit(a + b)
    A, B = ng.transform(a), ng.transform(b)
    diff = abs(A - B)
    dense_feats = np.c_[base, sig["dense"], sig["lex_min"], sig["lex_max"], fused]
    X = sparse.hstack([sparse.csr_matrix(dense_feats), A.multiply(B), diff]).tocsr()
    accs, aucs = [], []
    for fit, test in (halves, halves[::-1]):
        model = LogisticRegression(C=0.3, max_iter=3000).fit(X[fit], y[fit])
        p = model.predict_proba(X[test])[:, 1]
        accs.append(float(((p >= 0.5) == y[test]).mean()))
        aucs.append(float(roc_auc_score(y[test], p)))
    results["retriever signals + n-gram match, weights fitted on the other half"] = {
        "accuracy": float(np.mean(accs)), "roc_auc": float(np.mean(aucs))}

    report = {"dataset": folder.name, "pairs": len(y), "positives": int(y.sum()), "language": lang,
              "model": getattr(encoder, "name", "?"), "weights": cfg.weights.get(lang, cfg.weights["en"]), "seconds": round(time.perf_counter() - t0, 1),
              "results": results}
    print(f"\nQuestion pairs: {folder.name} ({len(y)} pairs, {int(y.sum())} positive; model {report['model']}; "
          f"accuracy: threshold chosen on one half, measured on the other, both ways averaged)")
    print(f"{'similarity':<72} {'accuracy':>9} {'ROC AUC':>8}")
    for name, r in results.items():
        print(f"{name:<72} {r['accuracy']:>9.4f} {r['roc_auc']:>8.4f}")
    _write(args, f"eval-pairs-{folder.name}", report)
    return 0


def _zh_pair_rows(a: Sequence[str], b: Sequence[str], y: Floats, halves: Tuple[Ints, Ints],
                  encoder: Any, fused: Floats, kb_root: Path) -> Dict[str, Dict[str, float]]:
    """The Chinese pair model (`zh_similarity:`, weights fitted on the KB's phrasings, none on this set) on
    the pairs: alone, and added to the fused similarity as the retriever adds it (z-scored, `retriever_weight`).
    IDF and the centre of the e5 vectors come from the pairs' texts (no labels)."""
    from sklearn.metrics import roc_auc_score

    from bot.knowledge.zh_pairs import load_zh_similarity, pair_similarity

    cfg = load_zh_similarity(kb_root)
    if not cfg.weights:
        return {}
    encode = getattr(encoder, "encode_in", None)
    va = encode(a, "zh") if encode else encoder.encode(list(a))
    vb = encode(b, "zh") if encode else encoder.encode(list(b))
    pair = pair_similarity(a, b, va, vb, cfg.weights)
    both = fused + cfg.retriever_weight * (pair - pair.mean()) / (pair.std() + 1e-9)
    return {
        "zh pair model alone (weights fitted on the KB, none on this set)": {
            "accuracy": _threshold_accuracy(pair, y, halves), "roc_auc": float(roc_auc_score(y, pair))},
        f"retriever similarity + zh pair model x {cfg.retriever_weight:g} (the retriever's, no training)": {
            "accuracy": _threshold_accuracy(both, y, halves), "roc_auc": float(roc_auc_score(y, both))},
    }


def _print_table(title: str, report: Dict[str, Any]) -> None:
    print(f"\n{title}")
    for key, value in report.items():
        shown = f"{value:.4f}" if isinstance(value, float) and key not in ("latency_p50_ms", "latency_p99_ms",
                                                                           "index_build_s") else value
        print(f"  {key:<18} {shown}")


def _write(args: argparse.Namespace, default_name: str, report: Dict[str, Any]) -> None:
    out = Path(getattr(args, "out", None) or Path("reports") / default_name)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"report: {out / 'report.json'}")
