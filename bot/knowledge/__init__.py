"""The product knowledge base: loading and validation, the hybrid retriever, spec answers, hot reload."""

from bot.knowledge.loader import FaqEntry, KnowledgeBase, Product, load_kb
from bot.knowledge.retriever import Candidate, Result, Retriever
from bot.knowledge.store import KnowledgeService, build_retriever, touch_reload_marker

__all__ = [
    "Candidate",
    "FaqEntry",
    "KnowledgeBase",
    "KnowledgeService",
    "Product",
    "Result",
    "Retriever",
    "build_retriever",
    "load_kb",
    "touch_reload_marker",
]
