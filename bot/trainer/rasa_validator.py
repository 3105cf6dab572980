"""An adapter to Rasa's own `Validator`: its log warnings become Problems.

Rasa reports through log records and `UserWarning`s, in English prose, without a file or a line. We collect
them while the validator runs, guess a severity from Rasa's words (`_severity`), and place each one on the
first line under dialogue/, intents/ or responses/ that mentions the first quoted name in the message. The
guesses live here so that a change of Rasa's wording is fixed in one place. The caller (the entry point)
makes the process quiet (`bot.settings.QUIET_ENV`) before Rasa is imported.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from typing import List, Optional, Sequence, Tuple

from bot.trainer.problems import Problem, relpath
from bot.trainer.sources import yaml_files

__all__ = ["rasa_problems"]

_QUOTED = re.compile(r"'([^']+)'")


def _locate(root: str, name: str, subs: Sequence[str]) -> Tuple[str, Optional[int]]:
    for sub in subs:
        for path in yaml_files(root, sub):
            with open(path, encoding="utf-8") as fh:
                for i, line in enumerate(fh, 1):
                    if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", line):
                        return relpath(path, root), i
    return subs[0], None


def _severity(msg: str) -> str:
    """How bad a Rasa message is, judged from its words (Rasa gives every one the same WARNING level)."""
    if "not used in any story or rule" in msg or "assistant_id" in msg or "mandatory key" in msg:
        return "info"
    if "story structure" in msg.lower() or "conflict" in msg.lower() or "not listed" in msg or "not a valid" in msg:
        return "error"
    return "warning"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


def _run_validator(root: str, config_file: str) -> List[str]:
    """Rasa's messages about the project (log warnings, then the UserWarnings Rasa does not hide itself)."""
    handler = _Collect()
    rasa_logger = logging.getLogger("rasa")
    rasa_logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from rasa.shared.importers.importer import TrainingDataImporter
            from rasa.validator import Validator

            importer = TrainingDataImporter.load_from_config(
                os.path.join(root, config_file), os.path.join(root, "responses"),
                [os.path.join(root, "intents"), os.path.join(root, "dialogue")],
            )
            validator = Validator.from_importer(importer)
            validator.verify_domain_validity()
            validator.verify_actions_in_stories_rules()
            validator.verify_forms_in_stories_rules()
            validator.verify_form_slots()
            validator.verify_slot_mappings()
            validator.verify_nlu(ignore_warnings=False)
            validator.verify_story_structure(ignore_warnings=False)
        try:
            from rasa.utils.common import EXPECTED_WARNINGS  # noise Rasa itself hides
        except ImportError:
            EXPECTED_WARNINGS = []
        expected = [re.compile(pattern) for _, pattern in EXPECTED_WARNINGS]
        return handler.messages + [str(w.message) for w in caught if issubclass(w.category, UserWarning)
                                   and not any(p.match(str(w.message)) for p in expected)]
    finally:
        rasa_logger.removeHandler(handler)


def rasa_problems(root: str, config_file: str = "config.yml") -> List[Problem]:
    """Run Rasa's Validator in-process; map its warnings to Problems placed where the name first appears."""
    try:
        messages = _run_validator(root, config_file)
    except Exception as exc:  # Rasa's loaders raise their own errors for unreadable files
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Problem(config_file, None, "error", "rasa", f"Rasa cannot load the training data: {text}")]
    problems: List[Problem] = []
    for msg in dict.fromkeys(messages):
        names = _QUOTED.findall(msg)
        file, line = _locate(root, names[0], ("dialogue", "intents", "responses")) if names else ("responses", None)
        problems.append(Problem(file, line, _severity(msg), "rasa", f"Rasa: {' '.join(msg.split())}"))
    return problems
