"""Trainer settings from `voice.yml` at the repo root, merged over built-in defaults."""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, Optional

from ruamel.yaml import YAML

from bot.errors import ConfigError

VOICE_FILE = "voice.yml"

DEFAULTS: Dict[str, Any] = {
    "severity": {
        "banned_phrase": "error",
        "bureaucratic": "error",
        "too_long": "warning",
        "too_many_emoji": "error",
        "answer_not_first": "warning",
        "readability": "info",
        "hard_readability": "warning",
    },
    "banned": {"en": [], "zh": []},
    "bureaucratic": {"en": [], "zh": []},
    "openers": {"en": [], "zh": []},
    "limits": {
        "max_emoji": 1,
        "en": {"max_sentences": 5, "max_words": 80},
        "zh": {"max_chars": 120, "max_line_chars": 80},
        "kb": {"en": {"max_sentences": 7, "max_words": 120}, "zh": {"max_chars": 180, "max_line_chars": 80}},
    },
    "readability": {"en_min_flesch": 40, "zh_max_sentence_chars": 45},
    "validate": {"min_examples_per_language": 5, "ignore_intents": ["nlu_fallback"], "optional_language_intents": []},
    "review": {"low_confidence": 0.55, "cluster_threshold": 0.45},
}
_SEVERITIES = ("error", "warning", "info", "off")
_CANYU_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _merge(base: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _plain(node: Any) -> Any:
    if hasattr(node, "items"):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def load_config(repo_root: str, path: Optional[str] = None) -> Dict[str, Any]:
    """The merged trainer config; `path` defaults to `<repo_root>/voice.yml`, else Canyu's own voice.yml."""
    path = path or os.path.join(repo_root, VOICE_FILE)
    if not os.path.exists(path):  # a project without its own rules uses Canyu's
        path = os.path.join(_CANYU_ROOT, VOICE_FILE)
    data: Dict[str, Any] = {}
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as fh:
                data = _plain(YAML(typ="rt").load(fh)) or {}
        except Exception as exc:
            raise ConfigError(f"{path}: cannot be read as YAML: {exc}") from exc
    config = _merge(DEFAULTS, data)
    for rule, severity in config["severity"].items():
        if severity not in _SEVERITIES:
            raise ConfigError(f"{path}: severity of '{rule}' is {severity!r}; use one of {', '.join(_SEVERITIES)}")
    return config
