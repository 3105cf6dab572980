"""Charts trainers look at: the weekly report (`bot report`) and the NLU report of `bot test`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import redis

from bot.storage import EmbeddedRedis
from bot.trainer import charts
from bot.trainer.nlu_report import held_out_split, write_report as write_nlu_report
from bot.trainer.report import build_report, format_text, write_report
from tests.test_trainer_inbox import _conversations

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts" / "trainer"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def red(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield redis.Redis.from_url(server.url, decode_responses=True)
    server.stop()


def _is_png(path: str, min_bytes: int = 5000) -> bool:
    data = Path(path).read_bytes()
    return data[:8] == PNG and len(data) >= min_bytes


def test_weekly_report_renders_charts(red, tmp_path):
    now = 1_800_000_000.0
    _conversations(red, t0=now - 3600)
    report = build_report(red, str(REPO), days=7, now=now)
    assert report["unanswered"][0]["size"] == 3 and "paypal" in report["unanswered"][0]["label"]
    assert report["escalations"] == {"asked for a person": 1}
    assert sum(report["ratings"]["up"]) == 1 and sum(report["ratings"]["down"]) == 2
    paths = write_report(report, str(tmp_path / "week"))
    for name in ("unanswered", "escalations", "ratings"):
        assert _is_png(paths[name]), name
    assert json.loads(Path(paths["json"]).read_text(encoding="utf-8"))["messages"] == 10
    text = format_text(report)
    assert "Top missed groups" in text and "3 × " in text and "asked for a person 1" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in ("unanswered", "escalations", "ratings"):
        shutil.copy(paths[name], ARTIFACTS / f"report_{name}.png")


def test_nlu_report_confusion_matrix_and_histogram(tmp_path):
    texts = ["hi", "hello", "where is my order", "订单到哪了", "bye", "退货"]
    truth = ["greet", "greet", "order_status", "order_status", "goodbye", "return_refund"]
    pred = ["greet", "goodbye", "order_status", "order_status", "goodbye", "nlu_fallback"]
    conf = [0.9, 0.4, 0.95, 0.8, 0.85, 0.3]
    paths = write_nlu_report(str(tmp_path / "nlu"), texts, truth, pred, conf, threshold=0.3, source="unit")
    assert _is_png(paths["confusion"]) and _is_png(paths["histogram"])
    report = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert report["accuracy"] == round(4 / 6, 3)
    assert report["per_intent"]["greet"] == {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2}
    assert {"text": "hello", "intent": "greet", "predicted": "goodbye", "confidence": 0.4} in report["errors"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(paths["confusion"], ARTIFACTS / "nlu_confusion_matrix.png")
    shutil.copy(paths["histogram"], ARTIFACTS / "nlu_confidence_histogram.png")


def test_held_out_split_is_stable_and_covers_every_intent():
    train, test = held_out_split(str(REPO / "tests" / "trainer_corpus" / "broken"))
    assert (train, test) == held_out_split(str(REPO / "tests" / "trainer_corpus" / "broken"))
    assert test and len(test) < len(train)
    assert not set(test) & set(train)


def test_chinese_labels_use_a_cjk_font_or_degrade():
    label = charts.label("支持花呗分期吗 paypal")
    assert label == "支持花呗分期吗 paypal" if charts.cjk_font() else label == "… paypal"
