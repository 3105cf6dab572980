"""One finding of `bot validate` / `bot lint`: where it is, how bad, and how to fix it."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, Iterable, List, Optional

SEVERITIES = ("error", "warning", "info")
_RANK = {name: i for i, name in enumerate(SEVERITIES)}


@dataclasses.dataclass(frozen=True)
class Problem:
    """A trainer-facing finding, printed as `file:line: severity: message [code]`.

    `file` is relative to the repo root when it can be; `line` is 1-based (None when the
    finding is about a whole file or comes from a tool that does not know the line).
    """

    file: str
    line: Optional[int]
    severity: str
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message} [{self.code}]"

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def relpath(path: str, root: str) -> str:
    """`path` relative to `root` when inside it, else as given."""
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def sort_problems(problems: Iterable[Problem]) -> List[Problem]:
    """Stable order: by file, then line, then severity."""
    return sorted(problems, key=lambda p: (p.file, p.line or 0, _RANK.get(p.severity, 9), p.code, p.message))


def count(problems: Iterable[Problem], severity: str) -> int:
    return sum(1 for p in problems if p.severity == severity)


def print_problems(problems: List[Problem], as_json: bool = False, show_info: bool = False) -> None:
    """Print one line per problem and a summary line (or a JSON list)."""
    if as_json:
        print(json.dumps([p.to_dict() for p in problems], ensure_ascii=False, indent=1))
        return
    for p in problems:
        if p.severity == "info" and not show_info:
            continue
        print(p)
    errors, warnings, notes = count(problems, "error"), count(problems, "warning"), count(problems, "info")
    hidden = f"; {notes} note(s) hidden (--verbose shows them)" if notes and not show_info else ""
    if errors or warnings:
        print(f"{errors} error(s), {warnings} warning(s){hidden}")
    else:
        print(f"clean: no errors, no warnings{hidden}")
