"""The whole of `bot validate`'s checking: load the project once, run every rule family, then Rasa's validator.

Our checks (every finding has a file and, almost always, a line) are the modules of `bot.trainer.checks`;
Rasa's own `Validator` runs last (unless `rasa=False`), through `bot.trainer.rasa_validator`, and its
findings are dropped where one of ours already reported the same place.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Set, Tuple

from bot.trainer import knowledge_texts
from bot.trainer.checks.dialogue import check_dialogue
from bot.trainer.checks.knowledge import check_knowledge, check_twins
from bot.trainer.checks.nlu import check_nlu
from bot.trainer.checks.products import check_products
from bot.trainer.checks.responses import check_responses
from bot.trainer.checks.slots import check_slots
from bot.trainer.config import load_config
from bot.trainer.domain_index import DomainIndex, index_domain
from bot.trainer.knowledge_texts import KB
from bot.trainer.problems import Problem, sort_problems
from bot.trainer.rasa_validator import rasa_problems
from bot.trainer.sources import Example, TextItem, nlu_examples, response_texts

__all__ = ["Project", "collect", "run_validation"]

Project = Tuple[DomainIndex, List[Example], Dict[str, Tuple[str, int]], List[TextItem], KB]


def _dedupe(problems: List[Problem]) -> List[Problem]:
    """Drop Rasa findings that one of our own checks already reported at the same place."""
    ours = {(p.file, p.line) for p in problems if p.code != "rasa" and p.severity != "info"}
    out: List[Problem] = []
    seen: Set[Tuple[str, Optional[int], str, str]] = set()
    for p in problems:
        if p.code == "rasa" and (p.file, p.line) in ours:
            continue
        key = (p.file, p.line, p.code, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def collect(repo_root: str, problems: List[Problem]) -> Project:
    """Load everything once: (domain index, examples, declared intents, response texts, KB texts)."""
    domain = index_domain(repo_root, problems)
    examples, declared = nlu_examples(repo_root, problems)
    texts = response_texts(domain.files)
    kb = knowledge_texts.load(repo_root, problems)
    return domain, examples, declared, texts, kb


def run_validation(repo_root: str, rasa: bool = True, config: Optional[Dict[str, Any]] = None) -> List[Problem]:
    """All findings for the project at `repo_root`, sorted by file and line."""
    repo_root = os.path.abspath(repo_root)
    config = config or load_config(repo_root)
    problems: List[Problem] = []
    domain, examples, declared, texts, kb = collect(repo_root, problems)
    problems += check_nlu(examples, declared, domain, config)
    problems += check_slots(domain)
    problems += check_responses(domain)
    problems += check_dialogue(repo_root, domain)
    problems += check_knowledge(kb)
    problems += check_products(examples, texts + kb.texts, kb.catalogue, kb.unknown_products)
    problems += check_twins(repo_root, texts + kb.texts)
    if rasa and os.path.exists(os.path.join(repo_root, "config.yml")):
        problems += rasa_problems(repo_root)
    return sort_problems(_dedupe(problems))
