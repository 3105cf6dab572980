"""Dialogue: rules and stories that use intents, actions, forms or slots the domain does not define."""

from __future__ import annotations

from typing import AbstractSet, Any, List

from bot.trainer.checks.names import RASA_DEFAULT_ACTIONS, RASA_DEFAULT_INTENTS, RASA_DEFAULT_SLOTS
from bot.trainer.domain_index import DomainIndex
from bot.trainer.problems import Problem, relpath
from bot.trainer.sources import item_line, load_yaml, yaml_files

__all__ = ["check_dialogue"]


def _step_problems(rel: str, steps: Any, where: str, domain: DomainIndex, intents: AbstractSet[str]) -> List[Problem]:
    problems: List[Problem] = []
    actions = set(domain.actions) | set(domain.responses) | set(domain.forms) | RASA_DEFAULT_ACTIONS
    for i, step in enumerate(steps or []):
        if not hasattr(step, "get"):
            continue
        line = item_line(steps, i)
        if "or" in step:
            problems += _step_problems(rel, step["or"], where, domain, intents)
            continue
        intent = step.get("intent")
        if intent is not None and intent not in intents:
            problems.append(Problem(rel, line, "error", "dialogue-unknown-intent",
                f"{where} expects intent '{intent}', which is not in the domain; fix the name or add the intent"))
        action = step.get("action")
        if action is not None and action not in actions:
            fix = ("add the response to responses/" if str(action).startswith("utter_")
                   else "list it under `actions:` in responses/")
            problems.append(Problem(rel, line, "error", "dialogue-unknown-action",
                f"{where} runs '{action}', which is not defined; {fix} or fix the name"))
        loop = step.get("active_loop")
        if loop and loop not in domain.forms:
            problems.append(Problem(rel, line, "error", "dialogue-unknown-form",
                f"{where} uses form '{loop}', which is not under `forms:`; fix the name"))
        for slot_event in step.get("slot_was_set") or []:
            slot = slot_event if isinstance(slot_event, str) else next(iter(slot_event), None)
            if slot not in domain.slots and slot not in RASA_DEFAULT_SLOTS:
                problems.append(Problem(rel, line, "error", "dialogue-unknown-slot",
                    f"{where} checks slot '{slot}', which is not under `slots:`; fix the name"))
    return problems


def check_dialogue(root: str, domain: DomainIndex, sub: str = "dialogue") -> List[Problem]:
    """Findings about the rules and stories under `root/sub`, YAML syntax errors included."""
    problems: List[Problem] = []
    intents = set(domain.intents) | RASA_DEFAULT_INTENTS
    for path in yaml_files(root, sub):
        rel = relpath(path, root)
        data, errs = load_yaml(path, root)
        problems.extend(errs)
        if not hasattr(data, "get"):
            continue
        for section, label in (("rules", "rule"), ("stories", "story")):
            for entry in data.get(section) or []:
                if not hasattr(entry, "get"):
                    continue
                where = f"{label} '{entry.get(label, '?')}'"
                problems += _step_problems(rel, entry.get("steps"), where, domain, intents)
                problems += _step_problems(rel, entry.get("condition"), where, domain, intents)
    return problems
