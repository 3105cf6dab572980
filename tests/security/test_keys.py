"""Redis key namespaces (issue 15): no id a user chooses can name a key of another kind.

Every sender id is namespaced by its channel (`wechat:`, `telegram:`, `rest:`; the REST channel prefixes
its clients' names, tests/security/test_attack_probe.py shows it on the real server). So a key family
`canyu:{kind}:{sender}` can only collide with another family whose fixed prefix is
`canyu:{kind}:wechat:…`, `…:telegram:…` or `…:rest:…`; and Rasa's own families (`canyu:lock:`,
`canyu:tracker:`) must hold nothing of ours (a sender id could have been `wechat-token:{appid}`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Set

from bot.privacy.inventory import FAMILIES

REPO = Path(__file__).resolve().parents[2]
NAMESPACES = ("wechat:", "telegram:", "rest:")
RASA_OWNED = ("canyu:lock:", "canyu:tracker:")
_LITERAL = re.compile(r"""f?["'](canyu:[a-z0-9_:\-]*)""")


def _key_prefixes() -> Dict[str, Set[str]]:
    """Fixed key prefixes written in our code (text up to the first placeholder) -> files using them."""
    found: Dict[str, Set[str]] = {}
    for folder in ("bot", "connectors"):
        for path in (REPO / folder).rglob("*.py"):
            for m in _LITERAL.finditer(path.read_text(encoding="utf-8")):
                found.setdefault(m.group(1), set()).add(str(path.relative_to(REPO)))
    return found


def test_rasa_owns_its_lock_and_tracker_families() -> None:
    """Code may name Rasa's families (to read or erase them), never put a key of its own inside them."""
    ours = {prefix: files for prefix, files in _key_prefixes().items()
            if prefix.startswith(RASA_OWNED) and prefix not in RASA_OWNED}
    assert not ours, f"keys of ours inside Rasa's families: {ours}"


def test_no_sender_keyed_family_reaches_another_family() -> None:
    sender_keyed = [f.pattern.split("{sender}")[0] for f in FAMILIES if "{sender}" in f.pattern]
    assert "canyu:user:" in sender_keyed and "canyu:lock:" in sender_keyed  # the inventory is what we think
    clashes: List[str] = []
    for prefix, files in _key_prefixes().items():
        for family in sender_keyed:
            rest = prefix[len(family):]
            if prefix != family and prefix.startswith(family) and rest.startswith(NAMESPACES):
                clashes.append(f"{prefix} ({', '.join(sorted(files))}) is inside {family}{{sender}}")
    assert not clashes, clashes
