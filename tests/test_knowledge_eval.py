"""`bot eval faq` / `bot eval pairs` on tiny made-up datasets in the shared formats (the real ones run in bench)."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from bot.knowledge.evaluation import main_faq, main_pairs
from bot.settings import load_settings


def _write(path: Path, header: list, rows: list) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_eval_faq_reports_accuracy_mrr_oos_and_latency(tmp_path: Path) -> None:
    _write(tmp_path / "kb.csv", ["id", "question", "answer"], [
        ["a", "How do I reset my password?", "Use the Forgot password link."],
        ["a", "I forgot my password", ""],
        ["b", "How do I delete my account?", "Settings > Account > Delete."],
        ["c", "What are your opening hours?", "9 to 5, Monday to Friday."],
        ["d", "How much does shipping cost?", "Free over 99."],
    ])
    _write(tmp_path / "queries.csv", ["text", "id"], [
        ["can't remember my password", "a"], ["remove my account for good", "b"],
        ["when are you open", "c"], ["what do you charge for delivery", "d"],
        ["who won the football match yesterday", "oos"], ["recipe for banana bread", "oos"],
    ])
    out = tmp_path / "report"
    assert main_faq(argparse.Namespace(dir=str(tmp_path), out=str(out)), load_settings().env) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["top1"] >= 0.75 and 0 < report["mrr@10"] <= 1 and report["recall@5"] == 1.0
    assert "oos_precision" in report and "oos_recall" in report
    assert report["latency_p50_ms"] > 0


def test_eval_pairs_prints_baseline_and_retriever(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for i in range(20):
        rows.append([f"怎么修改绑定的银行卡{i}", f"如何更换绑定银行卡{i}", 1])
        rows.append([f"借款额度为什么降低了{i}", f"怎么注销账户{i}", 0])
    _write(tmp_path / "pairs.csv", ["text1", "text2", "label"], rows)
    assert main_pairs(argparse.Namespace(dir=str(tmp_path), out=str(tmp_path / "r")), load_settings().env) == 0
    printed = capsys.readouterr().out
    assert "baseline: char 1-3-gram TF-IDF cosine" in printed and "retriever similarity" in printed
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert all(0 <= r["roc_auc"] <= 1 for r in report["results"].values())
    # Chinese pairs also get the KB-fitted pair model (zh_similarity:), alone and fused as the retriever fuses it
    pair_rows = [name for name in report["results"] if "zh pair model" in name]
    assert len(pair_rows) == 2 and all(name in printed for name in pair_rows)
    assert all(0 <= report["results"][name]["accuracy"] <= 1 for name in pair_rows)
