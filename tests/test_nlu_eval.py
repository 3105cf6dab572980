"""`bot eval intents` on a tiny made-up set in the shared format: real Rasa training, report, plots, no-OOS reference.

The benchmark figures come from the public sets (docs/nlu.md); here the point is the command's contract:
which data trains, which tunes, what the report holds."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bot.nlu.evaluation import TRAINING_ENV, main_intents

ROOT = Path(__file__).resolve().parents[1]

EXAMPLES: Dict[str, List[str]] = {
    "greet": [
        "hi", "hello there", "good morning", "hey, anyone there?", "hello, I have a question", "hey hey",
        "good evening", "hi team", "你好", "您好，在吗", "早上好", "哈喽",
    ],
    "order_status": [
        "where is my order", "has my parcel shipped yet", "track my package please", "when will my order arrive",
        "what's the status of my order", "my delivery is late", "is my package on the way", "order not arrived",
        "我的订单到哪了", "快递什么时候到", "帮我查一下物流", "包裹怎么还没到",
    ],
    "ask_product": [
        "how big is the battery of the phone", "does the Band 9 have GPS", "what colours does the phone come in",
        "is the power bank allowed on a plane", "how long do the Buds 5 last", "is the watch waterproof",
        "how much storage does it have", "does the phone support 5G", "小米14 Pro 电池多大", "手环9 有没有GPS",
        "耳机续航多久", "这款手机有几种颜色",
    ],
}
OOS = [
    "what's the weather tomorrow", "tell me a recipe for dumplings", "who won the football match",
    "can you do my homework", "book me a flight to Paris", "明天天气怎么样", "帮我写作业", "推荐一部电影",
]


def _write(path: Path, rows: List[List[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-intents")
    train: List[Any] = []
    valid: List[Any] = []
    test: List[Any] = []
    for label, texts in EXAMPLES.items():  # each split has English and Chinese
        for i, text in enumerate(texts):
            split = valid if i in (4, 10) else test if i in (3, 9) else train
            split.append([text, label])
    valid += [[t, "oos"] for t in OOS[:4]]
    test += [[t, "oos"] for t in OOS[4:]]
    _write(folder / "train.csv", train)
    _write(folder / "valid.csv", valid)
    _write(folder / "test.csv", test)
    return folder


def _run(dataset: Path, out: Path, valid: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    for key, value in TRAINING_ENV.items():  # as `bot eval intents` prepares the process (no training cache)
        monkeypatch.setenv(key, value)
    args = argparse.Namespace(
        dir=str(dataset), config=str(ROOT / "config.yml"), valid=valid, baseline=None, epochs=None, out=str(out)
    )
    assert main_intents(args) == 0
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_valid_tunes_by_default_and_the_report_has_the_no_oos_reference(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _run(dataset, tmp_path / "tune", "tune", monkeypatch)
    assert report["splits"] == {"train": 24, "valid": 10, "test": 10} and report["valid_use"] == "tune"
    canyu = report["results"]["canyu"]
    assert canyu["train_examples"] == 24 and canyu["valid_examples_for_tuning"] == 10
    assert canyu["classifier"]["tuned_on"] == "validation examples (10)"
    assert canyu["inscope_messages"] == 6 and canyu["oos_messages"] == 4
    for key in ("accuracy", "macro_f1", "oos_precision", "oos_recall", "oos_f1", "latency_ms_p50", "latency_ms_p99"):
        assert 0 <= canyu[key] <= (100 if key not in ("latency_ms_p50", "latency_ms_p99") else 10_000), key
    # the reference trains the same pipeline without oos rows or threshold, scored on the in-scope test rows
    assert canyu["oos_cost_points"] == pytest.approx(canyu["no_oos_accuracy"] - canyu["accuracy"], abs=0.01)
    assert Path(canyu["confusion_png"]).stat().st_size > 0 and Path(canyu["confidence_png"]).stat().st_size > 0
    assert canyu["accuracy"] >= 50  # two thirds of it is Chinese and English paraphrases of the training data


def test_valid_train_puts_valid_into_training_and_tunes_on_folds(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _run(dataset, tmp_path / "train", "train", monkeypatch)
    assert report["splits"] == {"train": 34, "valid": 0, "test": 10} and report["valid_use"] == "train"
    canyu = report["results"]["canyu"]
    assert canyu["valid_examples_for_tuning"] == 0
    assert canyu["classifier"]["tuned_on"].endswith("cross-validation on training data")
    assert canyu["classifier"]["classes"] == 4  # the oos rows became an out_of_scope intent
    assert set(canyu["classifier"]["gate"]) == {"confidence", "out_of_scope", "nearest", "bias"}
    assert "no_oos_accuracy" in canyu
