"""Knowledge base and twins: the knowledge loader's findings, KB answers missing their twin, drifted zh/en twins."""

from __future__ import annotations

from typing import List

from bot.trainer import knowledge_texts, twins
from bot.trainer.knowledge_texts import KB
from bot.trainer.problems import Problem
from bot.trainer.sources import TextItem

__all__ = ["check_knowledge", "check_twins"]


def check_knowledge(kb: KB) -> List[Problem]:
    """The KB loader's own findings; missing KB twins too, unless the knowledge validator reported them."""
    problems = list(kb.problems)
    if not kb.validated:
        problems += knowledge_texts.twin_missing(kb.texts)
    return problems


def check_twins(repo_root: str, texts: List[TextItem]) -> List[Problem]:
    """zh/en answers (responses and KB) changed on one side since they were paired in `twins.lock`."""
    return twins.drift_problems(twins.current_twins(texts), twins.load_record(repo_root))
