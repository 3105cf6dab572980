"""`bot validate`: exact file:line findings on a deliberately broken corpus; the demo data is clean."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from bot.trainer import twins
from bot.trainer.validate import main
from bot.trainer.validation import run_validation

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "trainer_corpus"


def _lines(problems):
    return [f"{p.file}:{p.line}: {p.severity} [{p.code}]" for p in problems]


def test_broken_corpus_gets_the_exact_findings():
    expected = (CORPUS / "broken" / "expected_validate.txt").read_text(encoding="utf-8").splitlines()
    assert _lines(run_validation(str(CORPUS / "broken"), rasa=False)) == expected


def test_messages_say_what_is_wrong_and_how_to_fix_it():
    by_place = {f"{p.file}:{p.line}:{p.code}": str(p) for p in run_validation(str(CORPUS / "broken"), rasa=False)}
    conflict = by_place["intents/shop.yml:29:example-conflict"]
    assert "'帮我查物流'" in conflict and "'order_status' at intents/shop.yml:14" in conflict
    assert "2 English example(s); at least 5" in by_place["intents/shop.yml:42:intent-too-few-examples"]
    assert "no English variation" in by_place["responses/replies.yml:8:twin-missing"]
    drift = by_place["responses/replies.yml:23:twin-drift"]
    assert "English text (responses/replies.yml:25) changed" in drift and "bot validate --pair utter_phone_charging" in drift
    assert "'Millet Phone 15' is not a product" in by_place["intents/shop.yml:34:unknown-product"]
    assert "entity 'order_id'" in by_place["responses/domain.yml:22:slot-unknown-entity"]
    assert "slot 'order_numbr'" in by_place["dialogue/rules.yml:22:dialogue-unknown-slot"]
    assert "has no zh answer" in by_place["knowledge/faq/returns.yml:15:kb"]  # from bot.knowledge.loader


def test_yaml_syntax_error_has_its_line():
    problems = run_validation(str(CORPUS / "syntax"), rasa=False)
    assert [str(p) for p in problems if p.code == "yaml-syntax"] == [
        "intents/bad.yml:8: error: YAML cannot be read: mapping values are not allowed here; "
        "fix the indentation or quoting on this line [yaml-syntax]"
    ]


def test_pair_then_edit_one_side_reports_drift(tmp_path, capsys):
    root = tmp_path / "proj"
    shutil.copytree(CORPUS / "broken", root)
    args = argparse.Namespace(root=str(root), pair=[], no_rasa=True, strict=False, json=False, verbose=False)
    assert main(args) == 0
    assert not [p for p in run_validation(str(root), rasa=False) if p.code.startswith("twin-") and p.code != "twin-missing"]
    replies = root / "responses" / "replies.yml"
    replies.write_text(replies.read_text(encoding="utf-8").replace("你好！想了解哪款产品？", "你好！今天想看看哪款？"), encoding="utf-8")
    drift = [str(p) for p in run_validation(str(root), rasa=False) if p.code == "twin-drift"]
    assert drift == [
        "responses/replies.yml:7: error: 'utter_greet': the Chinese text (responses/replies.yml:5) changed since it was "
        "paired, the English twin here did not; update it to say the same, then run `bot validate --pair utter_greet` [twin-drift]"
    ]
    main(argparse.Namespace(root=str(root), pair=["utter_greet"], no_rasa=True, strict=False, json=False, verbose=False))
    assert not [p for p in run_validation(str(root), rasa=False) if p.code == "twin-drift"]
    assert "response:utter_greet" in twins.load_record(str(root))


@pytest.mark.skipif(not any((REPO / "responses").glob("*.yml")), reason="no demo data yet")
def test_demo_data_validates_clean():
    problems = run_validation(str(REPO), rasa=True)
    bad = [str(p) for p in problems if p.severity in ("error", "warning")]
    assert bad == []
