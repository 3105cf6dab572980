"""MemoizationPolicy's look-up key with the compression kept per state sequence (bot/rasa_memo_keys.py) is
Rasa's: the same key for every state sequence, compressed or not, after the map starts afresh too; and the
patch installs and uninstalls with the others."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

from bot import rasa_memo_keys, rasa_patches


def _sequences() -> List[List[Dict[str, Any]]]:
    user = {"user": {"intent": "ask_spec", "entities": ("product", "spec")}, "prev_action": {"action_name": "action_listen"}}
    form = {"prev_action": {"action_name": "order_form"}, "active_loop": {"name": "order_form"},
            "slots": {"order_number": (1.0,), "tier": (0.0, 1.0)}}
    chinese = {"user": {"text": "电池多大 \"quoted\""}, "prev_action": {"action_text": "你好"}}
    return [[], [user], [user, form], [form, user, chinese], [chinese] * 5, [{}], [user, {}]]


@pytest.mark.parametrize("compress", [True, False])
def test_the_keys_are_rasas(compress: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.policies.memoization import MemoizationPolicy

    policy = SimpleNamespace(config={"enable_feature_string_compression": compress})
    original = MemoizationPolicy._create_feature_key
    monkeypatch.setattr(rasa_memo_keys, "KEPT_KEYS", 3)  # the map starts afresh in the middle
    for _ in range(2):  # computed, then kept
        for states in _sequences():
            assert rasa_memo_keys.feature_key(policy, states) == original(policy, states)
    assert len(policy.__dict__.get("_canyu_keys", {})) <= 3 and (compress or "_canyu_keys" not in policy.__dict__)


def test_the_patch_installs_and_uninstalls() -> None:
    from rasa.core.policies.memoization import AugmentedMemoizationPolicy, MemoizationPolicy
    from rasa.core.policies.rule_policy import RulePolicy

    rasa_patches.uninstall()
    original, rule_own = MemoizationPolicy._create_feature_key, RulePolicy._create_feature_key
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        assert "memo-keys" in rasa_patches.active()
        assert MemoizationPolicy._create_feature_key is rasa_memo_keys.feature_key
        assert AugmentedMemoizationPolicy._create_feature_key is rasa_memo_keys.feature_key
        assert RulePolicy._create_feature_key is rule_own  # its own method, no compression
    finally:
        rasa_patches.uninstall()
    assert MemoizationPolicy._create_feature_key is original
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_RASA_SPEEDUPS": "0"})
    try:
        assert MemoizationPolicy._create_feature_key is original
    finally:
        rasa_patches.uninstall()
