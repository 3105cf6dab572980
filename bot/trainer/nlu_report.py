"""The NLU report of `bot test`: accuracy, per-intent scores, confusion-matrix PNG, confidence histogram.

Test messages come from `tests/nlu/*.yml` (Rasa NLU format) when that folder exists, checked against
the trained model. Otherwise a held-out split is used: every 5th example of each intent (by a stable
hash) is set aside, an NLU-only model is trained on the rest in a temporary folder, and the held-out
examples are classified by it — so the figures say how the model does on messages it never saw.

    write_report(out_dir, texts, y_true, y_pred, confidences, threshold) -> {name: path}
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.trainer import charts
from bot.trainer.sources import nlu_examples

__all__ = ["write_report", "evaluate_model", "held_out_split", "main"]

HOLD_OUT_EVERY = 5


def _scores(y_true: Sequence[str], y_pred: Sequence[str]) -> Dict[str, Any]:
    labels = sorted(set(y_true) | set(y_pred))
    per: Dict[str, Dict[str, float]] = {}
    for lab in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=False) if t == lab and p == lab)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=False) if t != lab and p == lab)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=False) if t == lab and p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = {"precision": round(prec, 3), "recall": round(rec, 3), "f1": round(f1, 3), "support": tp + fn}
    supported = [v for v in per.values() if v["support"]]
    return {
        "accuracy": round(sum(t == p for t, p in zip(y_true, y_pred, strict=False)) / max(1, len(y_true)), 3),
        "macro_f1": round(sum(v["f1"] for v in supported) / max(1, len(supported)), 3),
        "per_intent": per,
    }


def write_report(out_dir: str, texts: Sequence[str], y_true: Sequence[str], y_pred: Sequence[str],
                 confidences: Sequence[float], threshold: Optional[float] = None, source: str = "") -> Dict[str, str]:
    """Write intent_report.json, errors, confusion_matrix.png and confidence_histogram.png into `out_dir`."""
    os.makedirs(out_dir, exist_ok=True)
    scores = _scores(y_true, y_pred)
    labels = sorted(set(y_true) | set(y_pred))
    index = {lab: i for i, lab in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(y_true, y_pred, strict=False):
        matrix[index[t]][index[p]] += 1
    confusions = Counter((t, p) for t, p in zip(y_true, y_pred, strict=False) if t != p).most_common(10)
    errors = [{"text": x, "intent": t, "predicted": p, "confidence": round(c, 3)}
              for x, t, p, c in zip(texts, y_true, y_pred, confidences, strict=False) if t != p]
    report = dict(scores, messages=len(texts), source=source, threshold=threshold,
                  top_confusions=[{"intent": t, "predicted": p, "count": n} for (t, p), n in confusions], errors=errors)
    paths = {
        "json": os.path.join(out_dir, "intent_report.json"),
        "confusion": charts.confusion_png(os.path.join(out_dir, "confusion_matrix.png"), labels, matrix,
                                          f"Intent confusion — accuracy {scores['accuracy']:.0%}"),
        "histogram": charts.histogram_png(os.path.join(out_dir, "confidence_histogram.png"),
                                          [c for t, p, c in zip(y_true, y_pred, confidences, strict=False) if t == p],
                                          [c for t, p, c in zip(y_true, y_pred, confidences, strict=False) if t != p],
                                          threshold),
    }
    with open(paths["json"], "w", encoding="utf-8") as fh:
        json.dump(report, fh, ensure_ascii=False, indent=1)
    return paths


def held_out_split(root: str) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]:
    """(train, test) lists of (text, intent): every 5th example of an intent by a stable hash goes to test."""
    examples, _ = nlu_examples(root, [])
    train: List[Tuple[str, str]] = []
    test: List[Tuple[str, str]] = []
    for ex in examples:
        bucket = int(hashlib.sha1(f"{ex.intent}|{ex.text}".encode()).hexdigest(), 16) % HOLD_OUT_EVERY
        (test if bucket == 0 else train).append((ex.raw, ex.intent))
    return train, test


def _write_nlu(path: Path, pairs: Sequence[Tuple[str, str]]) -> None:
    by_intent: Dict[str, List[str]] = {}
    for text, intent in pairs:
        by_intent.setdefault(intent, []).append(text)
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in by_intent.items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {t}" for t in texts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def evaluate_model(model: str, texts: Sequence[str]) -> List[Tuple[str, float]]:
    """(intent, confidence) the model gives each text."""
    import logging

    from rasa.core.agent import Agent

    for name in ("rasa", "rasa.core.processor"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    except Exception:
        pass
    agent = Agent.load(model)

    async def _run() -> List[Tuple[str, float]]:
        out = []
        for text in texts:
            parsed = await agent.parse_message(text)
            intent = parsed.get("intent") or {}
            out.append((intent.get("name") or "", float(intent.get("confidence") or 0.0)))
        return out

    return asyncio.run(_run())


def _fallback_threshold(root: str) -> Optional[float]:
    from ruamel.yaml import YAML

    try:
        config = YAML(typ="safe").load(Path(root, "config.yml").read_text(encoding="utf-8"))
    except Exception:
        return None
    for comp in config.get("pipeline") or []:
        if comp.get("name") == "FallbackClassifier":
            return float(comp.get("threshold", 0.3))
    return None


def _test_files(root: str) -> List[Tuple[str, str]]:
    examples, _ = nlu_examples(root, [], sub=os.path.join("tests", "nlu"))
    return [(e.text, e.intent) for e in examples]


def run(root: str, out_dir: str, model: Optional[str] = None) -> Dict[str, str]:
    """Evaluate (tests/nlu or a held-out split) and write the report."""
    threshold = _fallback_threshold(root)
    test = _test_files(root) if os.path.isdir(os.path.join(root, "tests", "nlu")) else []
    if test:
        from bot.training import train

        model = model or str(train(home=Path(root)).model)
        source = "tests/nlu"
    else:
        from rasa.model_training import train_nlu

        train_pairs, held = held_out_split(root)
        test = [(text, intent) for text, intent in held]
        tmp = Path(tempfile.mkdtemp(prefix="canyu-nlu-"))
        _write_nlu(tmp / "train.yml", train_pairs)
        model = train_nlu(os.path.join(root, "config.yml"), str(tmp / "train.yml"), str(tmp),
                          domain=os.path.join(root, "responses"))
        source = f"held-out split: {len(test)} of {len(test) + len(train_pairs)} examples (every {HOLD_OUT_EVERY}th)"
    from bot.trainer.sources import strip_entities

    texts = [strip_entities(t) for t, _ in test]
    predictions = evaluate_model(str(model), texts)
    return write_report(out_dir, texts, [i for _, i in test], [p for p, _ in predictions], [c for _, c in predictions],
                        threshold, source)


def main(args: argparse.Namespace) -> int:
    """Called by `bot test`: writes reports/nlu/ and prints the headline figures."""
    home = str(args.ctx.settings.home)
    out = getattr(args, "nlu_out", None) or os.path.join(home, "reports", "nlu")
    paths = run(home, out)
    with open(paths["json"], encoding="utf-8") as fh:
        report = json.load(fh)
    print(f"NLU ({report['source']}): accuracy {report['accuracy']:.1%}, macro F1 {report['macro_f1']:.3f} "
          f"on {report['messages']} messages")
    for c in report["top_confusions"][:5]:
        print(f"  {c['count']} × '{c['intent']}' taken for '{c['predicted']}'")
    print(f"charts: {paths['confusion']}, {paths['histogram']}")
    return 0
