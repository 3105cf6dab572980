"""Retriever settings from `knowledge/config.yml` (thresholds, fusion weights, ANN switch).

Paths: the knowledge base is `<CANYU_HOME>/knowledge` unless `CANYU_KNOWLEDGE_DIR` says
otherwise; the index cache lives in `<CANYU_DATA_DIR>/kb/`. Both are read from the `env` the caller hands in
(`Settings.env`): nothing here reads the process environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Union

import yaml

from bot.errors import ConfigError
from bot.knowledge.dense import ANN_THRESHOLD
from bot.knowledge.index import DEFAULT_MODELS, DEFAULT_WEIGHTS, FEATURES

__all__ = ["RetrieverConfig", "load_config", "knowledge_dir", "cache_dir"]

ENV_KNOWLEDGE_DIR = "CANYU_KNOWLEDGE_DIR"


@dataclass(frozen=True)
class RetrieverConfig:
    # {language: model} (None: `DEFAULT_MODELS`; a null model: the NLU's), or one model name for every language
    model: Union[None, str, Dict[str, Optional[str]]] = None
    answer_threshold: float = 0.50
    suggest_threshold: float = 0.15
    hedge_threshold: float = 0.30
    """From this up to answer_threshold, a clear leader is answered, saying which question (see Retriever._hedge)."""
    sure_threshold: float = 0.70
    """From answer_threshold up to this, an answer is given only when the question names nothing the KB lacks."""
    suggest_max: int = 3
    ann_threshold: int = ANN_THRESHOLD
    ann_kind: str = "ivf"
    reload_check_seconds: float = 3.0
    answer_mix: float = 0.35
    entry_model_weight: float = 6.0
    """z-units added to the ranking per unit of the entry model's score (0: off; bot/knowledge/entry_model.py)."""
    entry_model_alpha: float = 1.0
    """The entry model's ridge penalty."""
    weights: Dict[str, Dict[str, float]] = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_WEIGHTS.items()})


def knowledge_dir(env: Mapping[str, str]) -> Path:
    """The knowledge folder: `CANYU_KNOWLEDGE_DIR`, else `<home>/knowledge` (`bot.settings` finds the home)."""
    if env.get(ENV_KNOWLEDGE_DIR):
        return Path(env[ENV_KNOWLEDGE_DIR]).resolve()
    from bot.settings import load_settings

    return load_settings(env).home / "knowledge"


def cache_dir(env: Mapping[str, str]) -> Path:
    """The index cache folder, `<data dir>/kb` (created on first use)."""
    from bot.settings import load_settings

    path = load_settings(env).data_dir / "kb"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_config(root: Path) -> RetrieverConfig:
    """Read `<root>/config.yml` (missing file or keys: defaults)."""
    path = root / "config.yml"
    if not path.exists():
        return RetrieverConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    section = raw.get("retriever") or {}
    known = set(RetrieverConfig.__dataclass_fields__)
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown retriever setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values = dict(section)
    if "weights" in values:
        weights = {k: dict(v) for k, v in DEFAULT_WEIGHTS.items()}
        for lang, w in (values["weights"] or {}).items():
            bad = sorted(set(w) - set(FEATURES))
            if bad:
                raise ConfigError(f"{path}: weights.{lang} has unknown feature(s) {', '.join(bad)}; "
                                  f"use {', '.join(FEATURES)}")
            weights.setdefault(lang, {}).update({k: float(x) for k, x in w.items()})
        values["weights"] = weights
    model = values.get("model")
    if isinstance(model, Mapping):
        bad = sorted(str(k) for k, v in model.items() if k not in ("en", "zh") or not (v is None or isinstance(v, str)))
        if bad:
            raise ConfigError(f"{path}: model.{bad[0]} is not valid; use model: {{en: <model or null>, "
                              f"zh: <model or null>}} (null: the NLU's model; a language left out: "
                              f"{DEFAULT_MODELS})")
        values["model"] = dict(model)
    elif model is not None and not isinstance(model, str):
        raise ConfigError(f"{path}: model {model!r} is neither a model name nor {{en: ..., zh: ...}}")
    cfg = RetrieverConfig(**values)
    if not 0 <= cfg.suggest_threshold <= cfg.hedge_threshold <= cfg.answer_threshold <= cfg.sure_threshold <= 1:
        raise ConfigError(f"{path}: need 0 <= suggest_threshold ({cfg.suggest_threshold}) <= hedge_threshold "
                          f"({cfg.hedge_threshold}) <= answer_threshold ({cfg.answer_threshold}) <= sure_threshold "
                          f"({cfg.sure_threshold}) <= 1")
    if cfg.ann_kind not in ("ivf", "hnsw"):
        raise ConfigError(f"{path}: ann_kind {cfg.ann_kind!r} is not ivf or hnsw")
    return cfg
