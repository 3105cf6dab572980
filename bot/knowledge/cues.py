"""Words that point at an entry whatever else a message says (`cues:` in knowledge/config.yml).

"手机充不进电了 想寄修 流程是啥" shares most of its words with the warranty's overview, but "寄修" (sending it in for
repair) is what it asks how to do; "band 9 stopped charging after 10 days, do i get a new one or a repair" names a
fault and asks for a new one, which is the exchange policy, not the repair steps. A trainer writes such a cue once:

    cues:
      - words: ['寄修|送修|\\bsend (?:it|them) in for repair\\b']   # every pattern must match (case-insensitive)
        entries: [repair_how]
        boost: 1.0                                               # z-units, as answering.topic_boost

Each cue adds `boost` to the ranking score of its entries when all its `words` match the question, like the intent's
topic prior (`bot.knowledge.answering.AnsweringConfig.topic_prior`): a push in the ranking, not an answer forced; the
calibrated confidence still decides between an answer, "did you mean" and "not sure".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Pattern, Sequence, Tuple

import numpy as np
import yaml

from bot.errors import ConfigError
from bot.knowledge._arrays import Floats
from bot.knowledge.answering import config_section

__all__ = ["Cue", "Cues", "load_cues"]


@dataclass(frozen=True)
class Cue:
    words: Tuple[Pattern[str], ...]
    entries: Tuple[str, ...]
    boost: float

    def matches(self, text: str) -> bool:
        return all(pattern.search(text) for pattern in self.words)


class Cues:
    """The cues of a knowledge base, as a per-entry prior over the index's entries (`ids`, in its order)."""

    def __init__(self, cues: Sequence[Cue], ids: Sequence[str]) -> None:
        self.cues = list(cues)
        at = {entry_id: i for i, entry_id in enumerate(ids)}
        self._rows = [[at[e] for e in cue.entries if e in at] for cue in self.cues]
        self._size = len(ids)

    def points_at(self, text: str, entry_id: Optional[str]) -> bool:
        """Whether a cue that matches `text` pushes `entry_id` ("trade in my broken phone": the trade-in)."""
        return any(entry_id in cue.entries and cue.matches(text or "") for cue in self.cues)

    def prior(self, text: str) -> Floats:
        out = np.zeros(self._size, np.float32)
        for cue, rows in zip(self.cues, self._rows, strict=True):
            if rows and cue.matches(text or ""):
                out[rows] += cue.boost
        return out


def _lines(path: Path, text: str) -> List[int]:
    """The 1-based line of each item of `cues:` (for errors), or [] when the YAML has no such list."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    for key, value in getattr(root, "value", []) if isinstance(root, yaml.MappingNode) else []:
        if key.value == "cues" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def load_cues(root: Path, entry_ids: Sequence[str], ids: Sequence[str]) -> Cues:
    """Read `<root>/config.yml` `cues:` (missing: none). Each error names the file, the line and what is wrong: a
    pattern that does not compile, an entry id the FAQ does not have, a boost that is no number from 0 to 5."""
    path, raw = config_section(root, "cues")
    raw = raw or []
    text = path.read_text(encoding="utf-8") if path.exists() else ""  # read again only for the items' lines
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: `cues:` must be a list of {{words: [...], entries: [...], boost: N}}")
    lines, known, cues = _lines(path, text), set(entry_ids), []
    for n, item in enumerate(raw):
        where = f"{path}:{lines[n] if n < len(lines) else 1}: cues[{n}]"
        if not isinstance(item, dict) or not item.get("words") or not item.get("entries"):
            raise ConfigError(f"{where}: needs `words: [patterns]` and `entries: [entry ids]`")
        words = [item["words"]] if isinstance(item["words"], str) else list(item["words"])
        try:
            patterns = tuple(re.compile(str(w), re.IGNORECASE) for w in words)
        except re.error as exc:
            raise ConfigError(f"{where}: a pattern of `words` does not compile: {exc}") from exc
        unknown = [e for e in item["entries"] if e not in known]
        if unknown:
            raise ConfigError(f"{where}: `entries` names ids no FAQ entry has: {', '.join(map(str, unknown))}")
        boost = item.get("boost", 1.0)
        if isinstance(boost, bool) or not isinstance(boost, (int, float)) or not 0 <= float(boost) <= 5:
            raise ConfigError(f"{where}: `boost` must be a number from 0 to 5, got {boost!r}")
        cues.append(Cue(patterns, tuple(str(e) for e in item["entries"]), float(boost)))
    return Cues(cues, ids)
