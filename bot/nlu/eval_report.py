"""Scoring and reporting of one `bot eval intents` run: metrics of the parsed test split against its labels
(in-scope accuracy and macro-F1, out-of-scope precision / recall, latency), the confusion and confidence
plots, and the side-by-side table. Plain data in, numbers, PNGs and text out; running Rasa is
`bot.nlu.evaluation`'s part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

__all__ = ["OOS_INTENTS", "OOS_LABEL", "score_split", "table", "write_plots"]

OOS_LABEL = "oos"
OOS_INTENTS = frozenset({"oos", "out_of_scope", "nlu_fallback"})


def score_split(rows: List[Tuple[str, str]], parsed: List[Dict[str, Any]], latencies: List[float]) -> Dict[str, Any]:
    """The report of one run: `parsed` (Rasa's parse results) against the labels of `rows`, with the latencies.
    `_predicted` and `_confidence` are for `write_plots`; drop them before writing the report."""
    from sklearn.metrics import f1_score

    truth = [label for _, label in rows]
    predicted = []
    best_inscope = []
    confidence = []
    for result in parsed:
        intent = (result.get("intent") or {}).get("name") or "nlu_fallback"
        predicted.append(OOS_LABEL if intent in OOS_INTENTS else intent)
        confidence.append(float((result.get("intent") or {}).get("confidence") or 0.0))
        ranking = [r for r in result.get("intent_ranking") or [] if r.get("name") not in OOS_INTENTS]
        best_inscope.append(ranking[0]["name"] if ranking else OOS_LABEL)
    y, p, b = np.array(truth), np.array(predicted), np.array(best_inscope)
    inscope = y != OOS_LABEL
    labels = sorted(set(y[inscope]))
    report: Dict[str, Any] = {
        "test_messages": len(rows),
        "inscope_messages": int(inscope.sum()),
        "accuracy": round(100 * float(np.mean(p[inscope] == y[inscope])), 2) if inscope.any() else None,
        "macro_f1": round(100 * float(f1_score(y[inscope], p[inscope], labels=labels, average="macro", zero_division=0)), 2)
        if inscope.any()
        else None,
        "top_intent_accuracy_without_fallback": round(100 * float(np.mean(b[inscope] == y[inscope])), 2)
        if inscope.any()
        else None,
        "inscope_rejected_as_oos": round(100 * float(np.mean(p[inscope] == OOS_LABEL)), 2) if inscope.any() else None,
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2),
        "latency_ms_p99": round(float(np.percentile(latencies, 99)), 2),
        "latency_ms_mean": round(float(np.mean(latencies)), 2),
    }
    if (~inscope).any():
        said_oos = p == OOS_LABEL
        tp = int(np.sum(said_oos & ~inscope))
        precision = tp / max(1, int(said_oos.sum()))
        recall = tp / int((~inscope).sum())
        report.update(
            {
                "oos_messages": int((~inscope).sum()),
                "oos_precision": round(100 * precision, 2),
                "oos_recall": round(100 * recall, 2),
                "oos_f1": round(100 * (2 * precision * recall / (precision + recall) if precision + recall else 0.0), 2),
            }
        )
    report["_predicted"] = predicted
    report["_confidence"] = confidence
    return report


def write_plots(out: Path, name: str, rows: List[Tuple[str, str]], metrics: Dict[str, Any]) -> Dict[str, str]:
    """Writes `confusion-<name>.png` and `confidence-<name>.png` into `out`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    truth = [label for _, label in rows]
    predicted = metrics["_predicted"]
    labels = sorted(set(truth) | set(predicted))
    matrix = confusion_matrix(truth, predicted, labels=labels).astype(float)
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(6.0, 0.16 * len(labels) + 3)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)))
    ax.set_yticks(range(len(labels)))
    font = 9 if len(labels) <= 30 else 5
    ax.set_xticklabels(labels, rotation=90, fontsize=font)
    ax.set_yticklabels(labels, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{name}: confusion (row-normalised)", fontsize=9)
    fig.tight_layout()
    confusion = out / f"confusion-{name}.png"
    fig.savefig(confusion, dpi=110, bbox_inches="tight")
    plt.close(fig)

    confidence = np.array(metrics["_confidence"])
    correct = np.array([t == p for t, p in zip(truth, predicted, strict=True)])
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0, 1, 41)
    ax.hist(confidence[correct], bins=bins, alpha=0.7, label="correct")
    ax.hist(confidence[~correct], bins=bins, alpha=0.7, label="wrong")
    ax.set_xlabel("confidence of the predicted intent")
    ax.set_ylabel("messages")
    ax.set_title(f"{name}: confidence on the test split")
    ax.legend()
    fig.tight_layout()
    histogram = out / f"confidence-{name}.png"
    fig.savefig(histogram, dpi=110)
    plt.close(fig)
    return {"confusion_png": str(confusion), "confidence_png": str(histogram)}


_ROWS = (
    ("accuracy", "in-scope accuracy %"),
    ("macro_f1", "in-scope macro-F1 %"),
    ("top_intent_accuracy_without_fallback", "top intent acc. ignoring fallback %"),
    ("inscope_rejected_as_oos", "in-scope sent to fallback/OOS %"),
    ("no_oos_accuracy", "in-scope acc., no OOS handling %"),
    ("oos_cost_points", "in-scope cost of OOS handling, points"),
    ("oos_precision", "OOS precision %"),
    ("oos_recall", "OOS recall %"),
    ("oos_f1", "OOS F1 %"),
    ("train_seconds", "training time s"),
    ("latency_ms_p50", "latency p50 ms"),
    ("latency_ms_p99", "latency p99 ms"),
)


def table(results: Dict[str, Dict[str, Any]]) -> str:
    """The metrics of each run (by name) side by side; with two runs, their time ratio and accuracy difference."""
    names = list(results)
    lines = [f"{'metric':38}" + "".join(f"{n:>16}" for n in names)]
    for key, title in _ROWS:
        if all(results[n].get(key) is None for n in names):
            continue
        cells = "".join(f"{'-' if results[n].get(key) is None else results[n][key]:>16}" for n in names)
        lines.append(f"{title:38}{cells}")
    if len(names) == 2:
        a, b = (results[n] for n in names)
        if a.get("train_seconds") and b.get("train_seconds"):
            lines.append(f"{'training time ratio ' + names[1] + '/' + names[0]:38}{b['train_seconds'] / a['train_seconds']:>16.1f}")
        if a.get("accuracy") is not None and b.get("accuracy") is not None:
            lines.append(f"{'accuracy difference ' + names[0] + '-' + names[1]:38}{a['accuracy'] - b['accuracy']:>16.2f}")
    return "\n".join(lines)
