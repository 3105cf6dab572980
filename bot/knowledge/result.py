"""What the retriever decided (`Result`) and the entries it weighed (`Candidate`): the values trackers, actions and
the agents' console read (`Result.record()`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from bot.knowledge.loader import Offer

__all__ = ["Candidate", "Result"]


@dataclass
class Candidate:
    entry_id: str
    score: float
    confidence: float
    question: str = ""


@dataclass
class Result:
    """What the retriever decided; `entry_id` and `confidence` are what trackers record."""

    outcome: str
    language: str
    confidence: float
    entry_id: Optional[str] = None
    text: Optional[str] = None
    kind: str = "faq"
    candidates: List[Candidate] = field(default_factory=list)
    products: List[str] = field(default_factory=list)
    unknown_products: List[str] = field(default_factory=list)
    reason: str = ""
    latency_ms: float = 0.0
    offer: Optional[Offer] = None
    topic: Optional[str] = None  # the intent whose topic weighed in, if any
    hedged: bool = False  # answered from the "did you mean" band: the reply says which question it answers
    asked: str = ""  # the question ranked, when not the message as typed (a follow-up: bot.knowledge.follow_up)
    other_brand: Optional[str] = None  # unsure because it asks about another brand's product (bot.knowledge.brands)
    near_miss: Optional[str] = None  # unsure because it is nearer to this out-of-scope example (bot.knowledge.out_of_scope)
    ranked: Optional[float] = None  # the confidence of the ranking without the entry model (bot.knowledge.entry_model)

    def record(self) -> Dict[str, Any]:
        """A small JSON-able summary for trackers and agents; `kind` says which source won."""
        return {
            "outcome": self.outcome, "entry": self.entry_id, "kind": self.kind,
            "confidence": round(self.confidence, 3), "reason": self.reason, "topic": self.topic,
            "candidates": [{"entry": c.entry_id, "confidence": round(c.confidence, 3)} for c in self.candidates],
            **({"hedged": True} if self.hedged else {}),
            **({"asked": self.asked} if self.asked else {}),
            **({"other_brand": self.other_brand} if self.other_brand else {}),
            **({"near_miss": self.near_miss} if self.near_miss else {}),
        }
