"""The record of which zh/en versions of an answer were checked as saying the same thing.

`twins.lock` (JSON, repo root, committed) maps every answer key (`response:utter_x`,
`kb:<entry id>`) to a short content hash of its Chinese and of its English text at the moment
a trainer paired them (`bot validate --pair`). When one language changes later and the other
does not, `bot validate` reports the twin as drifted, pointing at the line that still needs
the update. Hashes ignore whitespace differences.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from typing import Dict, Iterable, List, Optional, Tuple

from bot.trainer.problems import Problem
from bot.trainer.sources import TextItem

TWINS_FILE = "twins.lock"
LANGS = ("zh", "en")
_NAMES = {"zh": "Chinese", "en": "English"}


@dataclasses.dataclass
class Twin:
    """Both language sides of one answer as they are now."""

    key: str
    kind: str
    hashes: Dict[str, str]  # lang -> hash (missing when that side is absent)
    where: Dict[str, Tuple[str, int]]  # lang -> (file, line) of the first variation


def text_hash(texts: Iterable[str]) -> str:
    norm = "\n".join(sorted(re.sub(r"\s+", " ", t).strip() for t in texts))
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:12]


def item_key(item: TextItem) -> str:
    return f"{item.kind}:{item.key}"


def current_twins(items: Iterable[TextItem]) -> Dict[str, Twin]:
    """Group answer texts by key and language."""
    texts: Dict[str, Dict[str, List[str]]] = {}
    where: Dict[str, Dict[str, Tuple[str, int]]] = {}
    kinds: Dict[str, str] = {}
    for item in items:
        if item.lang not in LANGS:
            continue
        key = item_key(item)
        kinds[key] = item.kind
        texts.setdefault(key, {}).setdefault(item.lang, []).append(item.text)
        where.setdefault(key, {}).setdefault(item.lang, (item.file, item.line))
    return {
        key: Twin(key, kinds[key], {lang: text_hash(t) for lang, t in by_lang.items()}, where[key])
        for key, by_lang in texts.items()
    }


def load_record(repo_root: str) -> Dict[str, Dict[str, str]]:
    path = os.path.join(repo_root, TWINS_FILE)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        pairs: Dict[str, Dict[str, str]] = json.load(fh).get("pairs", {})
    return pairs


def save_record(repo_root: str, pairs: Dict[str, Dict[str, str]]) -> str:
    path = os.path.join(repo_root, TWINS_FILE)
    body = {
        "about": "zh/en answer pairs checked by a trainer (bot validate --pair); content hashes, do not edit by hand",
        "version": 1,
        "pairs": dict(sorted(pairs.items())),
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(body, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    return path


def pair(repo_root: str, twins: Dict[str, Twin], keys: Optional[List[str]] = None) -> List[str]:
    """Record the current zh+en versions of `keys` (all complete twins when None); drop vanished keys."""
    record = load_record(repo_root)
    wanted = set(keys) if keys else None
    done = []
    for key, twin in twins.items():
        short = key.split(":", 1)[1]
        if wanted is not None and key not in wanted and short not in wanted:
            continue
        if all(lang in twin.hashes for lang in LANGS):
            record[key] = {"zh": twin.hashes["zh"], "en": twin.hashes["en"], "paired": time.strftime("%Y-%m-%d")}
            done.append(key)
    if wanted is None:
        record = {k: v for k, v in record.items() if k in twins}
    save_record(repo_root, record)
    return done


def drift_problems(twins: Dict[str, Twin], record: Dict[str, Dict[str, str]]) -> List[Problem]:
    """Drifted (one side edited after pairing) and never-paired twins."""
    problems: List[Problem] = []
    for key, twin in sorted(twins.items()):
        if not all(lang in twin.hashes for lang in LANGS):
            continue  # a missing twin is reported by the validator itself
        short = key.split(":", 1)[1]
        paired = record.get(key)
        file, line = twin.where["zh"]
        if paired is None:
            problems.append(Problem(file, line, "info", "twin-unpaired",
                                    f"'{short}': zh/en twins not yet recorded as paired; once both say the same, "
                                    f"run `bot validate --pair {short}`"))
            continue
        changed = [lang for lang in LANGS if paired.get(lang) != twin.hashes[lang]]
        if len(changed) == 1:
            edited, stale = changed[0], "en" if changed[0] == "zh" else "zh"
            sfile, sline = twin.where[stale]
            efile, eline = twin.where[edited]
            problems.append(Problem(sfile, sline, "error", "twin-drift",
                f"'{short}': the {_NAMES[edited]} text ({efile}:{eline}) changed since it was paired, "
                f"the {_NAMES[stale]} twin here did not; "
                f"update it to say the same, then run `bot validate --pair {short}`"))
        elif len(changed) == 2:
            problems.append(Problem(file, line, "info", "twin-repair",
                f"'{short}': both the Chinese and the English text changed since they were paired; "
                f"check they say the same, then run `bot validate --pair {short}`"))
    return problems
