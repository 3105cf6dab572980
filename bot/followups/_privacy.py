"""Finders for the privacy inventory (bot/privacy/inventory.py): the person's entries in the shared due set.

Kept here so the inventory needs no knowledge of the `{id}|{sender}` member format.
"""

from __future__ import annotations

from typing import Any, List

__all__ = ["due_members"]


def due_members(red: Any, person: Any) -> List[Any]:
    """Members `{id}|{sender}` of `canyu:followups:due` for the person's sender ids."""
    from bot.followups._store import DUE_KEY
    from bot.privacy.inventory import Entry

    ids = set(person.sender_ids)
    out = []
    for member, score in red.zscan_iter(DUE_KEY, count=2000):
        if member.partition("|")[2] in ids:
            out.append(Entry("", DUE_KEY, "zset_member", member, value={"member": member, "score": score}))
    return out
