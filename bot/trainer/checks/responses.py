"""Responses: variations without text, conditions on unknown slots or values, and the zh/en twin missing."""

from __future__ import annotations

from typing import Any, List, Set

from bot.trainer.checks.names import LANG_NAMES, LANGS, RASA_DEFAULT_SLOTS
from bot.trainer.domain_index import DomainIndex
from bot.trainer.problems import Problem
from bot.trainer.sources import item_line, language_of_condition

__all__ = ["check_responses"]


def _condition_problems(name: str, file: str, vline: int, var: Any, domain: DomainIndex) -> List[Problem]:
    problems: List[Problem] = []
    for cond in var.get("condition") or []:
        if not hasattr(cond, "get"):
            continue
        slot = cond.get("name")
        if cond.get("type") == "slot" and slot not in domain.slots and slot not in RASA_DEFAULT_SLOTS:
            problems.append(Problem(file, vline, "error", "response-unknown-slot",
                f"a variation of '{name}' is conditioned on slot '{slot}', which is not under `slots:`; fix the name"))
        elif cond.get("type") == "slot" and slot in domain.slots:
            sdef = domain.slots[slot][2]
            values = [str(v) for v in (sdef.get("values") or [])] if hasattr(sdef, "get") else []
            if values and str(cond.get("value")) not in values:
                problems.append(Problem(file, vline, "error", "response-bad-condition",
                    f"a variation of '{name}' needs {slot}={cond.get('value')!r}, but the slot only takes "
                    f"{values}; use one of those"))
    return problems


def check_responses(domain: DomainIndex) -> List[Problem]:
    """Findings about `responses:`; every response needs a zh and an en variation (the `language` slot)."""
    problems: List[Problem] = []
    for name, (file, line, variations) in sorted(domain.responses.items()):
        if not isinstance(variations, list) or not variations:
            problems.append(Problem(file, line, "error", "response-empty",
                                    f"response '{name}' has no variations; add a zh and an en `text:`"))
            continue
        langs: Set[str] = set()
        for i, var in enumerate(variations):
            vline = item_line(variations, i)
            if not hasattr(var, "get"):
                continue
            if not any(k in var for k in ("text", "custom", "image", "buttons", "attachment")):
                problems.append(Problem(file, vline, "error", "response-no-text",
                                        f"a variation of '{name}' has no `text:`; add the text"))
            problems += _condition_problems(name, file, vline, var, domain)
            lang = language_of_condition(var)
            if lang:
                langs.add(lang)
        for lang in LANGS:
            if lang not in langs:
                problems.append(Problem(file, line, "error", "twin-missing",
                    f"response '{name}' has no {LANG_NAMES[lang]} variation; add one with "
                    f"`condition: [{{type: slot, name: language, value: {lang}}}]`"))
    return problems
