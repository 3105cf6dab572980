"""Scoring and reporting: shares right by language, tag and expected kind, the misses grouped by
expected kind → got kind; printed as a table and written as report.json."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

from bot.conversation_eval._asking import Result
from bot.conversation_eval._set import LANGUAGES, TAGS, kind

__all__ = ["summarise", "format_report", "write_report"]


def _share(results: Sequence[Result]) -> Dict[str, Any]:
    right = sum(r.ok for r in results)
    return {"right": right, "total": len(results), "share": round(right / len(results), 4) if results else None}


def summarise(results: Sequence[Result]) -> Dict[str, Any]:
    by_lang = {lang: _share([r for r in results if r.lang == lang]) for lang in LANGUAGES}
    by_lang["all"] = _share(results)
    tags = sorted({t for r in results for t in r.tags}, key=lambda t: TAGS.index(t) if t in TAGS else len(TAGS))
    by_tag = {t: _share([r for r in results if t in r.tags]) for t in tags}
    by_expected_kind = {k: _share([r for r in results if kind(r.expect[0]) == k])
                        for k in sorted({kind(r.expect[0]) for r in results})}
    groups: Dict[str, List[Result]] = defaultdict(list)
    for r in results:
        if not r.ok:
            groups[f"{kind(r.expect[0])} → {kind(r.got)}"].append(r)
    confusion = [
        {"group": name, "count": len(rs),
         "items": [{"text": r.text, "lang": r.lang, "expect": r.expect, "got": r.got} for r in rs]}
        for name, rs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    return {"by_language": by_lang, "by_tag": by_tag, "by_expected_kind": by_expected_kind,
            "got_kinds": dict(Counter(kind(r.got) for r in results).most_common()), "confusion": confusion}


def _pct(share: Mapping[str, Any]) -> str:
    if not share["total"]:
        return "   –   "
    return f"{100 * share['share']:5.1f}%  {share['right']:>3}/{share['total']:<3}"


def format_report(summary: Mapping[str, Any], title: str = "first questions") -> str:
    lines = [f"Conversation eval: {title}", "", f"{'':<14} {'right':>7}  {'count':<7}"]
    for lang, share in summary["by_language"].items():
        lines.append(f"{lang:<14} {_pct(share)}")
    lines += ["", "by tag"]
    for tag, share in summary["by_tag"].items():
        lines.append(f"  {tag:<12} {_pct(share)}")
    lines += ["", "by expected kind"]
    for k, share in summary["by_expected_kind"].items():
        lines.append(f"  {k:<12} {_pct(share)}")
    wrong = sum(g["count"] for g in summary["confusion"])
    lines += ["", f"confusion (expected kind → got kind), {wrong} wrong"]
    for group in summary["confusion"]:
        lines.append(f"  {group['group']} ({group['count']})")
        for it in group["items"]:
            expect = it["expect"][0] if len(it["expect"]) == 1 else " | ".join(it["expect"])
            lines.append(f"    [{it['lang']}] {it['text']!r}: {expect} → {it['got']}")
    return "\n".join(lines)


def write_report(out: Path, source: Path, results: Sequence[Result], summary: Mapping[str, Any],
                 seconds: float) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"set": str(source), "items": len(results), "seconds": round(seconds, 1), **summary,
              "results": [asdict(r) for r in results]}
    path = out / "report.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
