"""One person's data from every store, as JSON (`bot privacy export USER`): the right of access.

    data = export_user(redis, "wechat:oAbC")   # {"user", "sender_ids", "profiles", "exported_at", "stores"}

`stores` maps each inventory family with data (bot/privacy/inventory.py) to what it holds, its retention
class and the person's entries: whole keys with their value, or the field, member, list item or stream
entry that is theirs. JSON text inside Redis values is decoded.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from bot.privacy.inventory import FAMILIES, Entry, Person, find_all, resolve_person

__all__ = ["export_person", "export_user"]


def export_person(red: Any, person: Person, plan: Optional[Dict[str, List[Entry]]] = None,
                  now: Optional[float] = None) -> Dict[str, Any]:
    plan = find_all(red, person) if plan is None else plan
    by_name = {f.name: f for f in FAMILIES}
    stores = {}
    for name, entries in plan.items():
        fam = by_name[name]
        stores[name] = {"holds": fam.holds, "where": fam.pattern, "retention": fam.retention,
                        "entries": [e.as_export() for e in entries]}
    return {
        "user": person.user,
        "sender_ids": list(person.sender_ids),
        "profiles": list(person.profiles),
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now)),
        "stores": stores,
    }


def export_user(red: Any, user: str) -> Dict[str, Any]:
    return export_person(red, resolve_person(red, user))
