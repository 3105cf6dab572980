"""MemoizationPolicy's look-up key, compressed once per distinct state sequence (the `memo-keys` patch).

Why: `MemoizationPolicy._create_feature_key` turns the last `max_history` states into JSON (sorted keys, quotes
dropped) and, with `enable_feature_string_compression` (Rasa's default), zlib-compresses and base64-encodes that
string on every prediction: ~110 µs of the ~140 µs a key costs, and the whole key ~7% of the Rasa process's busy
samples at c=16 with the actions in process (bench/profile_rasa.py, 2026-11-30). A conversation goes through
few distinct state sequences, so each policy keeps the compressed key per JSON string (the same bytes: zlib and
base64 are deterministic) in a bounded map; the JSON is still made per call, from the states Rasa passes.
RulePolicy has its own `_create_feature_key` (no compression) and keeps it.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any, Callable, Dict, List, Optional

__all__ = ["KEPT_KEYS", "install_memo_keys"]

KEPT_KEYS = 4096
"""Distinct state sequences whose compressed key a policy keeps; its map starts afresh when full."""
_KEYS = "_canyu_keys"


def feature_key(self: Any, states: List[Any]) -> Optional[str]:
    """Rasa 3.6's `MemoizationPolicy._create_feature_key`, the compression done once per distinct string."""
    if not states:
        return None
    feature_str = json.dumps(states, sort_keys=True).replace('"', "")
    if not self.config["enable_feature_string_compression"]:
        return feature_str
    keys: Dict[str, str] = self.__dict__.setdefault(_KEYS, {})  # JSON of a state sequence -> its key, per policy
    key = keys.get(feature_str)
    if key is None:
        if len(keys) >= KEPT_KEYS:
            keys.clear()
        key = keys[feature_str] = base64.b64encode(zlib.compress(bytes(feature_str, "utf-8"))).decode("utf-8")
    return key


def install_memo_keys(originals: Dict[str, Callable[..., Any]]) -> None:
    """Replace `MemoizationPolicy._create_feature_key` (Rasa's method kept in `originals`)."""
    from rasa.core.policies.memoization import MemoizationPolicy

    originals["MemoizationPolicy._create_feature_key"] = MemoizationPolicy._create_feature_key
    MemoizationPolicy._create_feature_key = feature_key
