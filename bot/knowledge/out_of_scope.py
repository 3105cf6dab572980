"""Questions the knowledge base must not answer (`knowledge/out_of_scope.yml`), used one by one.

The calibrator (bot.knowledge.calibration) learns from them how high an unrelated question can score. They also
act as neighbours, as Rasa's `out_of_scope` examples and Dialogflow's negative examples do: a question nearer to
one of them than to every phrasing of the entry the ranking chose, by more than its language's margin, is not
answered from that entry. "米粒账号密码忘了 怎么找回" ranks returns_opened first ("do I need to log out of my account
before returning?"), but it is nearer to the example "米粒账号密码忘了怎么办": the assistant says it is not sure
instead of explaining returns. Trainers add the off-topic questions they see in chats; nothing else changes.

Nearness is the plain cosine of the question's language model (no answer mix), the entry's best phrasing against
the best example. The margin is set on the knowledge base itself when the index is built: every FAQ phrasing is
compared with the other phrasings of its entry and with the examples, and the margin is the `QUANTILE` of
(nearest example - nearest own phrasing), never below 0; so about 1% of the KB's own phrasings would be turned
away. `conflicts()` lists them, for `bot kb build` to show trainers which example and which phrasing collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from bot.knowledge._arrays import Floats
from bot.knowledge.index import HybridIndex, query_language

__all__ = ["OutOfScope", "QUANTILE"]

QUANTILE = 0.99


@dataclass(frozen=True)
class _Examples:
    texts: List[str]
    vecs: Floats  # the language model's block only
    margin: float


class OutOfScope:
    """The out-of-scope examples of each language, with their margins, against one built index."""

    def __init__(self, index: HybridIndex, examples: Dict[str, _Examples]) -> None:
        self.index = index
        self.examples = examples

    @classmethod
    def fit(cls, index: HybridIndex, encoder: Any, questions: Mapping[str, Sequence[str]]) -> "OutOfScope":
        examples: Dict[str, _Examples] = {}
        for name, texts in questions.items():
            texts, lang = [t for t in texts if t.strip()], index.block_of(name)
            if not texts:
                continue
            vecs = np.asarray(encoder.encode(texts), np.float32)[:, index.blocks[lang]]
            gaps = [gap for gap, _, _ in _own_gaps(index, lang, vecs)]
            margin = max(0.0, float(np.quantile(gaps, QUANTILE))) if gaps else 0.0
            examples[lang] = _Examples(texts, vecs, margin)
        return cls(index, examples)

    def nearer(self, question: str, q_vec: Floats, entry: int) -> Optional[str]:
        """The example `question` is nearer to than to any phrasing of entry number `entry`, by more than the margin."""
        lang = self.index.block_of(query_language(question))
        found = self.examples.get(lang)
        if found is None:
            return None
        block = self.index.blocks[lang]
        q = np.asarray(q_vec, np.float32).ravel()[block]
        rows = np.flatnonzero(self.index.phrase_doc == entry)
        own = float(np.max(self.index.q_vecs[rows][:, block] @ q)) if len(rows) else -1.0
        sims = found.vecs @ q
        best = int(np.argmax(sims))
        return found.texts[best] if float(sims[best]) - own > found.margin else None

    def conflicts(self) -> List[Tuple[str, str, str, float]]:
        """(language, phrasing, example, gap) for each KB phrasing nearer to an example than to its own entry."""
        out: List[Tuple[str, str, str, float]] = []
        for lang, found in self.examples.items():
            for gap, row, example in _own_gaps(self.index, lang, found.vecs):
                if gap > found.margin:
                    out.append((lang, self.index.phrases[row], found.texts[example], gap))
        return out


def _own_gaps(index: HybridIndex, lang: str, vecs: Floats) -> List[Tuple[float, int, int]]:
    """For each FAQ phrasing in `lang`: (nearest example - nearest other phrasing of its entry, its row, that example)."""
    out: List[Tuple[float, int, int]] = []
    q = index.q_vecs[:, index.blocks[lang]]
    for row, phrasing in enumerate(index.phrases):
        is_faq = index.docs[index.phrase_doc[row]].meta.get("kind", "faq") == "faq"
        if not is_faq or index.block_of(query_language(phrasing)) != lang:
            continue
        siblings = np.flatnonzero(index.phrase_doc == index.phrase_doc[row])
        siblings = siblings[siblings != row]
        if not len(siblings):
            continue
        sims = vecs @ q[row]
        example = int(np.argmax(sims))
        out.append((float(sims[example]) - float(np.max(q[siblings] @ q[row])), int(row), example))
    return out
