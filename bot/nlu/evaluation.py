"""`bot eval intents DIR`: train the real Rasa NLU pipeline on a public intent set and report on its test split.

DIR holds `train.csv`, optional `valid.csv` and `test.csv` (columns `text,label`; label `oos` =
out of scope), see `../shared/datasets/README.md`. Steps:

1. train the pipeline of `--config` (default `config.yml`) with Rasa's own `train_nlu` on
   train.csv (label `oos` → the `out_of_scope` intent). When the pipeline has
   `CanyuIntentClassifier`, valid.csv goes in too, marked `canyu_split: valid`: the classifier
   never trains on those examples, it tunes its calibration and out-of-scope threshold on them.
   The test split is never seen before evaluation;
2. load the model with a Rasa `Agent` and parse every test message one at a time, with the
   sentence caches off, timing each parse (latency p50 / p99);
3. print and write (`--out`, default `reports/eval-intents-<dataset>/`) `report.json`,
   `confusion-<run>.png`, `confidence-<run>.png` and the trained `model-<run>.tar.gz`.

`--baseline diet [--epochs N]` trains Rasa's default DIET pipeline (built here, in code) on the
same split in the same run and prints both side by side.

`--valid train` puts valid.csv into the training data instead (its `oos` rows become `out_of_scope`
examples, as a trainer writes them in `intents/out_of_scope.yml`); the classifier then tunes on its own
cross-validation folds, as it does for the demo bot. test.csv stays unseen either way.

When test.csv has `oos` rows, a reference model is also trained on the same data without any
out-of-scope handling (no `oos` rows, no threshold) and scored on the in-scope test rows: the report
gives the in-scope accuracy that out-of-scope detection costs against it.

This module runs Rasa (training, parsing); scoring and the report are `bot.nlu.eval_report`. It reads no
environment variables and sets none: the caller prepares the process environment before calling
`main_intents` (the quiet settings, and `TRAINING_ENV`, which Rasa reads from the environment).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.errors import ConfigError, DataError
from bot.nlu.eval_report import OOS_LABEL, score_split, table, write_plots

__all__ = ["TRAINING_ENV", "main_intents", "evaluate_split", "diet_config", "read_split", "without_oos_handling"]

logger = logging.getLogger(__name__)

CANYU_CLASSIFIER = "CanyuIntentClassifier"
TRAINING_ENV: Mapping[str, str] = MappingProxyType({"RASA_MAX_CACHE_SIZE": "0"})
"""What the process environment must hold while `main_intents` trains: Rasa's training cache off, so no
run reuses an earlier training and every run trains for real. Set by the caller (`bot eval intents`)."""




def read_split(path: Path) -> List[Tuple[str, str]]:
    """Rows (text, label) of one CSV split; trainer-facing errors name the file and line."""
    rows: List[Tuple[str, str]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "text" not in reader.fieldnames or "label" not in reader.fieldnames:
            raise DataError(f"the header must be `text,label`, found {reader.fieldnames}", str(path), 1)
        for line, row in enumerate(reader, start=2):
            text, label = (row.get("text") or "").strip(), (row.get("label") or "").strip()
            if not label:
                raise DataError(f"row without a label (text {text[:40]!r}); give it one or delete it", str(path), line)
            rows.append((text, label))
    if not rows:
        raise DataError("no rows; a split needs at least one `text,label` row", str(path))
    return rows


def diet_config(epochs: Optional[int]) -> Dict[str, Any]:
    """Rasa's default NLU pipeline (as `rasa init` writes it), DIET with `epochs` (default 100)."""
    return {
        "recipe": "default.v1",
        "language": "en",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "RegexFeaturizer"},
            {"name": "LexicalSyntacticFeaturizer"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
            {"name": "DIETClassifier", "epochs": int(epochs or 100), "constrain_similarities": True},
            {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
        ],
        "policies": [],
    }


def without_oos_handling(config: Dict[str, Any]) -> Dict[str, Any]:
    """`config` with the Canyu classifier's out-of-scope threshold off (the no-OOS reference)."""
    pipeline = [dict(c) for c in config["pipeline"]]
    for component in pipeline:
        if str(component.get("name", "")).endswith(CANYU_CLASSIFIER):
            component["threshold"] = None
    return {**config, "pipeline": pipeline}


def _load_config(path: str) -> Dict[str, Any]:
    from ruamel.yaml import YAML

    config_path = Path(path)
    if not config_path.is_file():
        raise ConfigError(f"{path}: no such config file; pass --config with a Rasa config.yml")
    data = YAML(typ="safe").load(config_path.read_text(encoding="utf-8")) or {}
    if not data.get("pipeline"):
        raise ConfigError(f"{path}: no `pipeline:`; the evaluation needs an NLU pipeline")
    return data


def _has_canyu_classifier(config: Dict[str, Any]) -> bool:
    return any(str(c.get("name", "")).endswith(CANYU_CLASSIFIER) for c in config["pipeline"])


def _write_nlu(path: Path, train: List[Tuple[str, str]], valid: List[Tuple[str, str]]) -> None:
    def intent(label: str) -> str:
        return "out_of_scope" if label == OOS_LABEL else label

    examples: List[Dict[str, Any]] = [{"text": t, "intent": intent(lab)} for t, lab in train]
    examples += [
        {"text": t, "intent": intent(lab), "example_metadata": {"canyu_split": "valid"}} for t, lab in valid
    ]
    path.write_text(json.dumps({"rasa_nlu_data": {"common_examples": examples}}, ensure_ascii=False), encoding="utf-8")


def _train(config: Dict[str, Any], nlu_file: Path, workdir: Path, name: str) -> Tuple[Path, float]:
    from rasa.model_training import train_nlu
    from ruamel.yaml import YAML

    config_file = workdir / f"{name}-config.yml"
    with config_file.open("w", encoding="utf-8") as handle:
        YAML(typ="safe").dump(config, handle)
    start = time.perf_counter()
    model = train_nlu(str(config_file), str(nlu_file), str(workdir / "models"), fixed_model_name=name)
    seconds = time.perf_counter() - start
    if not model:
        raise ConfigError(f"Rasa could not train the {name} pipeline (see the log above)")
    return Path(model), seconds


def _predict(model: Path, rows: List[Tuple[str, str]], label: str) -> Tuple[List[Dict[str, Any]], List[float]]:
    from rasa.core.agent import Agent
    from tqdm import tqdm

    from bot.embeddings import caches_disabled

    agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(agent.parse_message("warm up"))
        results: List[Dict[str, Any]] = []
        latencies: List[float] = []
        with caches_disabled():
            for text, _ in tqdm(rows, desc=f"{label}: predicting test", unit="msg"):
                start = time.perf_counter()
                parsed = loop.run_until_complete(agent.parse_message(text))
                latencies.append((time.perf_counter() - start) * 1000)
                results.append(parsed)
    finally:
        loop.close()
    return results, latencies


def _classifier_report(model: Path) -> Dict[str, Any]:
    """What `CanyuIntentClassifier` chose during training (threshold, temperature, own fit time)."""
    import tarfile

    import joblib

    with tarfile.open(model) as archive:
        for member in archive.getmembers():
            if member.name.endswith("/classifier.joblib") and "CanyuIntentClassifier" in member.name:
                handle = archive.extractfile(member)
                if handle is not None:
                    return dict(joblib.load(handle).report)
    return {}



def evaluate_split(
    config: Dict[str, Any],
    name: str,
    train: List[Tuple[str, str]],
    valid: List[Tuple[str, str]],
    test: List[Tuple[str, str]],
    workdir: Path,
) -> Tuple[Dict[str, Any], Path]:
    """Trains `config` with Rasa on train (+valid for tuning), parses test; returns (metrics, model)."""
    from bot.embeddings import loaded_encoders

    tune = valid if _has_canyu_classifier(config) else []
    nlu_file = workdir / f"{name}-nlu.json"
    _write_nlu(nlu_file, train, tune)
    before = {k: dict(e.stats) for k, e in loaded_encoders().items()}
    print(f"[{name}] training on {len(train)} examples" + (f", tuning on {len(tune)} valid examples" if tune else ""))
    model, seconds = _train(config, nlu_file, workdir, name)
    encoding = {
        k: {s: e.stats[s] - before.get(k, {}).get(s, 0) for s in e.stats} for k, e in loaded_encoders().items()
    }
    print(f"[{name}] trained in {seconds:.1f}s; parsing {len(test)} test messages one by one")
    parsed, latencies = _predict(model, test, name)
    metrics = score_split(test, parsed, latencies)
    metrics["train_seconds"] = round(seconds, 1)
    metrics["train_examples"] = len(train)
    metrics["valid_examples_for_tuning"] = len(tune)
    metrics["encoder_training"] = encoding
    metrics["classifier"] = _classifier_report(model)
    return metrics, model


def _no_oos_reference(
    config: Dict[str, Any],
    train: List[Tuple[str, str]],
    valid: List[Tuple[str, str]],
    test: List[Tuple[str, str]],
    workdir: Path,
    accuracy: float,
) -> Dict[str, Any]:
    """In-scope test accuracy of the same pipeline trained without `oos` rows and without a threshold."""
    def inscope(rows: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
        return [row for row in rows if row[1] != OOS_LABEL]

    reference, _ = evaluate_split(
        without_oos_handling(config), "canyu-no-oos", inscope(train), inscope(valid), inscope(test), workdir
    )
    return {"no_oos_accuracy": reference["accuracy"], "oos_cost_points": round(reference["accuracy"] - accuracy, 2)}



def _quiet_rasa() -> None:
    """Rasa logs every parse at debug level: keep the console to progress bars and results."""
    import warnings

    from bot.training import quiet_rasa_logs

    quiet_rasa_logs()
    warnings.filterwarnings("ignore")


def main_intents(args: argparse.Namespace) -> int:
    """Entry point of `bot eval intents DIR [--config] [--valid tune|train] [--baseline diet] [--epochs N] [--out]`."""
    folder = Path(args.dir)
    if not (folder / "train.csv").is_file() or not (folder / "test.csv").is_file():
        raise DataError(f"{folder}: needs train.csv and test.csv (and optionally valid.csv), columns text,label")
    _quiet_rasa()
    train = read_split(folder / "train.csv")
    valid = read_split(folder / "valid.csv") if (folder / "valid.csv").is_file() else []
    test = read_split(folder / "test.csv")
    if getattr(args, "valid", "tune") == "train":
        train, valid = train + valid, []
    dataset = folder.resolve().name
    out = Path(args.out or f"reports/eval-intents-{dataset}")
    out.mkdir(parents=True, exist_ok=True)

    config = _load_config(args.config)
    for component in config["pipeline"]:
        if str(component.get("name", "")).endswith("CanyuSentenceFeaturizer"):
            component["show_progress"] = True
    runs: List[Tuple[str, Dict[str, Any]]] = [("canyu", config)]
    if getattr(args, "baseline", None) == "diet":
        runs.append(("diet", diet_config(args.epochs)))

    results: Dict[str, Dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="canyu-eval-") as tmp:
        for name, run_config in runs:
            metrics, model = evaluate_split(run_config, name, train, valid, test, Path(tmp))
            if name == "canyu" and _has_canyu_classifier(config) and any(label == OOS_LABEL for _, label in test):
                metrics.update(_no_oos_reference(config, train, valid, test, Path(tmp), metrics["accuracy"]))
            kept = out / f"model-{name}.tar.gz"
            shutil.copyfile(model, kept)
            metrics["model"] = str(kept)
            metrics.update(write_plots(out, name, test, metrics))
            results[name] = metrics
            print(table({name: metrics}), flush=True)
    for metrics in results.values():
        metrics.pop("_predicted", None)
        metrics.pop("_confidence", None)
    report = {
        "dataset": dataset,
        "splits": {"train": len(train), "valid": len(valid), "test": len(test)},
        "valid_use": getattr(args, "valid", "tune"),
        "config": args.config,
        "baseline_epochs": args.epochs if getattr(args, "baseline", None) else None,
        "results": results,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print()
    print(f"dataset {dataset}: train {len(train)}, valid {len(valid)}, test {len(test)}")
    print(table(results))
    print(f"\nwritten: {out / 'report.json'}, confusion-*.png, confidence-*.png")
    return 0
