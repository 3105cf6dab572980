"""What the domain directory declares (intents, entities, slots, forms, actions, responses), with lines."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Tuple

from bot.trainer.problems import Problem
from bot.trainer.sources import domain_files, item_line, key_line

Where = Tuple[str, int]


@dataclasses.dataclass
class DomainIndex:
    files: List[Tuple[str, Any]]
    intents: Dict[str, Where]
    entities: Dict[str, Where]
    slots: Dict[str, Tuple[str, int, Any]]  # name -> (file, line, definition)
    forms: Dict[str, Tuple[str, int, Any]]
    actions: Dict[str, Where]
    responses: Dict[str, Tuple[str, int, Any]]


def _names(seq: Any) -> List[Tuple[str, int, Any]]:
    """(name, line index, value) of a domain list whose items are names or one-key maps."""
    out: List[Tuple[str, int, Any]] = []
    if not isinstance(seq, list):
        return out
    for i, item in enumerate(seq):
        if isinstance(item, str):
            out.append((item, i, None))
        elif hasattr(item, "items"):
            for name, value in item.items():
                out.append((str(name), i, value))
    return out


def index_domain(root: str, problems: List[Problem], sub: str = "responses") -> DomainIndex:
    files = domain_files(root, problems, sub)
    idx = DomainIndex(files, {}, {}, {}, {}, {}, {})
    for rel, data in files:
        for name, i, _ in _names(data.get("intents")):
            idx.intents.setdefault(name, (rel, item_line(data["intents"], i)))
        for name, i, _ in _names(data.get("entities")):
            idx.entities.setdefault(name, (rel, item_line(data["entities"], i)))
        for name, i, _ in _names(data.get("actions")):
            idx.actions.setdefault(name, (rel, item_line(data["actions"], i)))
        for section, target in (("slots", idx.slots), ("forms", idx.forms), ("responses", idx.responses)):
            block = data.get(section)
            if not hasattr(block, "items"):
                continue
            for name, value in block.items():
                line = key_line(block, name)
                if name in target and section == "responses":
                    first = target[name]
                    problems.append(Problem(rel, line, "error", "response-duplicate",
                                            f"response '{name}' is also defined at {first[0]}:{first[1]}; "
                                            f"keep one definition"))
                    continue
                target.setdefault(str(name), (rel, line, value))
    return idx
