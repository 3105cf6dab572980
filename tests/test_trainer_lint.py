"""`bot lint`: the voice checker finds the exact lines on the broken corpus; the demo data lints clean."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.trainer.config import load_config
from bot.trainer.lint import lint_texts, main, readability, run_lint
from bot.trainer.sources import TextItem

REPO = Path(__file__).resolve().parents[1]
BROKEN = REPO / "tests" / "trainer_corpus" / "broken"


def test_broken_corpus_gets_the_exact_findings():
    expected = (BROKEN / "expected_lint.txt").read_text(encoding="utf-8").splitlines()
    problems, figures = run_lint(str(BROKEN))
    assert [f"{p.file}:{p.line}: {p.severity} [{p.code}]" for p in problems] == expected
    assert len(figures) == 20  # one readability figure per answer (responses + KB)


def test_messages_name_the_phrase_and_the_fix():
    problems, _ = run_lint(str(BROKEN))
    text = "\n".join(str(p) for p in problems)
    assert "responses/replies.yml:35: error: 'utter_phone_pitch' (en): \"world-class\" is empty praise" in text
    assert "responses/replies.yml:28: error: 'utter_sorry' (zh): \"尊敬的用户\" is a bureaucratic formula" in text
    assert "2 emoji (🎉 🔥); keep at most 1" in text
    assert "knowledge/faq/returns.yml:23: warning: 'fast-charge' (en): the first sentence is \"great question\"" in text


def test_severities_and_phrases_come_from_config(tmp_path):
    config = load_config(str(REPO))
    item = TextItem("response", "utter_x", "en", "Please be advised: it is best-in-class. 😀😀", "responses/x.yml", 3)
    problems, _ = lint_texts([item], config)
    assert {p.code: p.severity for p in problems} == {"bureaucratic": "error", "banned-phrase": "error", "too-many-emoji": "error"}
    config["severity"]["too_many_emoji"] = "warning"
    config["banned"]["en"] = []
    config["bureaucratic"]["en"].append("it is")
    problems, _ = lint_texts([item], config)
    assert sorted((p.code, p.severity) for p in problems) == [("bureaucratic", "error"), ("bureaucratic", "error"), ("too-many-emoji", "warning")]


def test_readability_figures():
    assert readability("Yes. It charges in 38 minutes.", "en")[1] > 70
    hard = "Notwithstanding the aforementioned considerations, the manufacturer's comprehensive warranty documentation stipulates extraordinary obligations."
    assert readability(hard, "en")[1] < 10
    assert readability("能，38 分钟左右就能充满。要我发你设置步骤吗？", "zh") == ("chars/sentence", 11.5)


def test_cli_exit_codes(capsys):
    assert main(argparse.Namespace(root=str(BROKEN), config=None, strict=False, figures=False, json=False, verbose=False)) == 1
    out = capsys.readouterr().out
    assert "14 error(s), 6 warning(s)" in out and "median flesch" in out


@pytest.mark.skipif(not any((REPO / "responses").glob("*.yml")), reason="no demo data yet")
def test_demo_data_lints_clean():
    problems, figures = run_lint(str(REPO))
    assert [str(p) for p in problems if p.severity in ("error", "warning")] == []
    assert figures
