"""Build, cache and hot-reload the retriever.

The index (phrasing and passage vectors) is cached in `<CANYU_DATA_DIR>/kb/index-<key>.npz`,
keyed by a hash of the KB files, `config.yml`, the models (names and weight fingerprints) and
`INDEX_VERSION`. A process holds one `KnowledgeService`; `service.retriever()` checks, at most every
`reload_check_seconds`, the KB files' mtimes and the reload marker (`<data>/kb/reload`, touched
by `bot kb reload`) and swaps in a new retriever when the content changed: no Rasa retraining,
no restart.

The service is made by the composition root (`AppContext.knowledge`, from the settings) and handed down:
actions use `self.ctx.knowledge`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional, Tuple

import numpy as np

from bot.knowledge.config import cache_dir, knowledge_dir, load_config
from bot.knowledge.index import HybridIndex, get_encoder
from bot.knowledge.loader import kb_files, kb_fingerprint, load_kb
from bot.knowledge.retriever import Retriever, kb_docs

__all__ = ["build_retriever", "KnowledgeService", "touch_reload_marker", "INDEX_VERSION"]

if TYPE_CHECKING:
    from bot.embeddings import EmbeddingSettings
    from bot.settings import Settings

FilesSignature = Tuple[Tuple[str, Optional[int], Optional[int]], ...]
"""(path, mtime in ns, size) of every file the KB is made of (None, None: missing)."""

logger = logging.getLogger(__name__)

INDEX_VERSION = "4"


def _cache_key(root: Path, model_name: str) -> str:
    return kb_fingerprint(root, f"{model_name}|v{INDEX_VERSION}")[:20]


def build_retriever(root: Path, data: Path, use_cache: bool = True,
                    progress: Optional[Callable[[int, int], None]] = None,
                    embedding: Optional["EmbeddingSettings"] = None) -> Tuple[Retriever, bool]:
    """Load and validate the KB in `root`, load its index from the cache in `data` or build it; returns
    (retriever, from_cache). `embedding`: the process's embedding settings (None: the defaults)."""
    root = Path(root)
    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    cfg = load_config(root)
    kb = load_kb(root)
    encoder = get_encoder(cfg.model, embedding)
    docs = kb_docs(kb)
    model_key = f"{getattr(encoder, 'name', str(cfg.model))}|{getattr(encoder, 'fingerprint', '')}"
    path = data / f"index-{_cache_key(root, model_key)}.npz"
    blocks = getattr(encoder, "blocks", None)
    n_phr = sum(len(d.questions) for d in docs)
    n_pas = sum(len(d.passages or [""]) for d in docs)
    if use_cache and path.exists():
        try:
            with np.load(path) as z:
                q, p = z["q"], z["p"]
            if q.shape[0] == n_phr and p.shape[0] == n_pas and q.shape[1] == getattr(encoder, "dim", q.shape[1]):
                index = HybridIndex(docs, q, p, weights=cfg.weights, ann_threshold=cfg.ann_threshold,
                                    ann_kind=cfg.ann_kind, answer_mix=cfg.answer_mix, blocks=blocks)
                return Retriever(kb, index, encoder, cfg), True
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("KB index cache %s unreadable (%s); rebuilding", path, exc)
    index = HybridIndex.build(docs, encoder, progress=progress, weights=cfg.weights, ann_threshold=cfg.ann_threshold,
                              ann_kind=cfg.ann_kind, answer_mix=cfg.answer_mix, blocks=blocks)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, q=index.q_vecs, p=index.p_vecs)
    os.replace(tmp, path)
    return Retriever(kb, index, encoder, cfg), False


def touch_reload_marker(data: Path) -> Path:
    """Tell running action servers to look at the KB now (`bot kb reload`); `data`: the index cache folder
    (`bot.knowledge.config.cache_dir(env)`)."""
    marker = Path(data) / "reload"
    marker.write_text(str(time.time()), encoding="utf-8")
    return marker


class KnowledgeService:
    """One process's retriever, swapped for a new one when the KB changes on disk."""

    def __init__(self, root: Path, data: Path, embedding: Optional["EmbeddingSettings"] = None) -> None:
        self.root = Path(root)
        self.data = Path(data)
        self.embedding = embedding
        self._lock = threading.Lock()
        self._retriever: Optional[Retriever] = None
        self._signature: Optional[FilesSignature] = None
        self._checked = 0.0
        self.reloads = 0

    @classmethod
    def from_settings(cls, settings: "Settings") -> "KnowledgeService":
        """The service for these settings' knowledge folder (`CANYU_KNOWLEDGE_DIR`, else `<home>/knowledge`) and
        embedding settings."""
        from bot.embeddings import EmbeddingSettings

        return cls(knowledge_dir(settings.env), cache_dir(settings.env), EmbeddingSettings.from_env(settings.env))

    def _files_signature(self) -> FilesSignature:
        files = kb_files(self.root) + [self.root / "config.yml", self.data / "reload"]
        sig: List[Tuple[str, Optional[int], Optional[int]]] = []
        for f in files:
            try:
                st = f.stat()
                sig.append((str(f), st.st_mtime_ns, st.st_size))
            except OSError:
                sig.append((str(f), None, None))
        return tuple(sig)

    def retriever(self) -> Retriever:
        """The current retriever, reloaded first if the KB changed (checked every few seconds)."""
        now = time.monotonic()
        current = self._retriever
        interval = current.config.reload_check_seconds if current else 0.0
        if current is not None and now - self._checked < interval:
            return current
        with self._lock:
            self._checked = time.monotonic()
            sig = self._files_signature()
            if self._retriever is not None and sig == self._signature:
                return self._retriever
            fresh = kb_fingerprint(self.root)
            if self._retriever is not None and fresh == self._retriever.fingerprint:
                self._signature = sig
                return self._retriever
            started = time.perf_counter()
            try:
                retriever, cached = build_retriever(self.root, self.data, embedding=self.embedding)
            except Exception:
                if self._retriever is None:
                    raise
                # A trainer's half-saved edit must not take answers down: keep the last good KB.
                logger.exception("Knowledge base reload failed; keeping the previous version")
                self._signature = sig
                return self._retriever
            if self._retriever is not None:
                self.reloads += 1
                logger.info("Knowledge base reloaded (%s, %.1fs)", "cached index" if cached else "rebuilt",
                            time.perf_counter() - started)
            self._retriever, self._signature = retriever, sig
            return retriever
