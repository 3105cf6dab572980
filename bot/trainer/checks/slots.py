"""Slots and forms: types, categorical values, initial values, mappings, and the slots a form asks for."""

from __future__ import annotations

from typing import Any, List

from bot.trainer.checks.names import SLOT_TYPES
from bot.trainer.domain_index import DomainIndex
from bot.trainer.problems import Problem
from bot.trainer.sources import item_line, key_line

__all__ = ["check_slots"]


def _mapping_problems(name: str, file: str, mappings: Any, domain: DomainIndex) -> List[Problem]:
    problems: List[Problem] = []
    for i, mapping in enumerate(mappings or []):
        if not hasattr(mapping, "get"):
            continue
        mline = item_line(mappings, i)
        if mapping.get("type") == "from_entity":
            entity = mapping.get("entity")
            if entity not in domain.entities:
                problems.append(Problem(file, mline, "error", "slot-unknown-entity",
                    f"slot '{name}' is filled from entity '{entity}', which is not listed under `entities:`; "
                    f"add it there or fix the name"))
        for cond in mapping.get("conditions") or []:
            loop = cond.get("active_loop") if hasattr(cond, "get") else None
            if loop and loop not in domain.forms:
                problems.append(Problem(file, mline, "error", "slot-unknown-form",
                    f"slot '{name}' has a mapping condition on form '{loop}', which is not under `forms:`; "
                    f"fix the name"))
    return problems


def _slot_problems(name: str, file: str, line: int, slot: Any, domain: DomainIndex) -> List[Problem]:
    if not hasattr(slot, "get"):
        return [Problem(file, line, "error", "slot-broken",
                        f"slot '{name}' has no definition; give it a `type:` and `mappings:`")]
    problems: List[Problem] = []
    stype = slot.get("type")
    if stype not in SLOT_TYPES and not (isinstance(stype, str) and "." in stype):
        problems.append(Problem(file, key_line(slot, "type") if "type" in slot else line, "error", "slot-type",
            f"slot '{name}' has type {stype!r}; use one of {', '.join(sorted(SLOT_TYPES))}"))
    values = [str(v) for v in (slot.get("values") or [])]
    if stype == "categorical" and not values:
        problems.append(Problem(file, line, "error", "slot-no-values",
                                f"categorical slot '{name}' lists no `values:`; add the allowed values"))
    initial = slot.get("initial_value")
    if "initial_value" in slot and stype == "categorical" and initial is not None and str(initial) not in values:
        problems.append(Problem(file, key_line(slot, "initial_value"), "error", "slot-initial-value",
            f"slot '{name}' starts as {initial!r}, which is not one of its values {values}; "
            f"fix the value or add it to `values:`"))
    mappings = slot.get("mappings")
    if mappings is None:
        problems.append(Problem(file, line, "error", "slot-no-mappings",
            f"slot '{name}' has no `mappings:` (Rasa 3 needs them); add e.g. `mappings: [{{type: custom}}]`"))
        return problems
    return problems + _mapping_problems(name, file, mappings, domain)


def check_slots(domain: DomainIndex) -> List[Problem]:
    """Findings about `slots:` and `forms:` in responses/ (forms need no entry under `actions:`)."""
    problems: List[Problem] = []
    for name, (file, line, slot) in sorted(domain.slots.items()):
        problems += _slot_problems(name, file, line, slot, domain)
    for name, (file, _line, form) in sorted(domain.forms.items()):
        required = form.get("required_slots") if hasattr(form, "get") else None
        for i, slot in enumerate(required or []):
            slot_name = slot if isinstance(slot, str) else next(iter(slot), None)
            if slot_name not in domain.slots:
                problems.append(Problem(file, item_line(required, i), "error", "form-unknown-slot",
                    f"form '{name}' asks for slot '{slot_name}', which is not under `slots:`; "
                    f"add the slot or fix the name"))
    return problems
