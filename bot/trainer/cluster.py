"""Group inbox items by meaning: sentence embeddings + character n-grams, average-linkage clustering.

The shared encoder (`bot.embeddings.get_encoder()`, all-MiniLM-L6-v2) is English-only, so
similarity mixes it with TF-IDF over character 1–3-grams, which carries Chinese and product
names: `sim = w·dense + (1−w)·chars`, w = 0.6 between two English texts and 0.2 otherwise,
where for Chinese the lexical side is the larger of TF-IDF and the bigram overlap coefficient.
Groups are cut where average similarity falls below `review.cluster_threshold`; the biggest
group comes first. A group's id is a hash of its members, so it is stable while they are.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable, Dict, List, Optional

import numpy as np
from numpy.typing import NDArray

from bot.language import has_cjk

__all__ = ["similarity_matrix", "group_items", "group_id"]


def _char_matrix(texts: List[str]) -> NDArray[np.float64]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    norm = [re.sub(r"\s+", " ", t.lower()).strip() or "_" for t in texts]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
    m = vec.fit_transform(norm)
    sim: NDArray[np.float64] = (m @ m.T).toarray()
    return sim


def _bigram_overlap(texts: List[str]) -> NDArray[np.float64]:
    """Overlap coefficient of character bigrams (|A∩B| / min(|A|,|B|)): short Chinese questions."""
    grams = []
    for t in texts:
        chars = re.sub(r"[\s\W_]+", "", t.lower())
        grams.append({chars[i:i + 2] for i in range(len(chars) - 1)} or {chars})
    n = len(texts)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            inter = len(grams[i] & grams[j])
            out[i, j] = out[j, i] = inter / max(1, min(len(grams[i]), len(grams[j])))
    return out


def similarity_matrix(texts: List[str],
                      encode: Optional[Callable[[List[str]], NDArray[Any]]] = None) -> NDArray[np.float64]:
    """Pairwise similarity in [0, 1] of `texts` (`encode` defaults to the shared encoder)."""
    if not texts:
        return np.zeros((0, 0))
    chars = _char_matrix(texts)
    if encode is None:
        from bot.embeddings import get_encoder

        encode = get_encoder().encode
    vectors = np.asarray(encode(texts), dtype=np.float32)
    dense = np.clip(vectors @ vectors.T, 0.0, 1.0)
    english = np.array([not has_cjk(t) for t in texts])
    both_en = np.outer(english, english)
    lexical = np.where(both_en, chars, np.maximum(chars, _bigram_overlap(texts)))
    weight = np.where(both_en, 0.6, 0.2)
    sim: NDArray[np.float64] = weight * dense + (1 - weight) * lexical
    np.fill_diagonal(sim, 1.0)
    return sim


def group_id(items: List[Dict[str, Any]]) -> str:
    return hashlib.sha1("|".join(sorted(i["id"] for i in items)).encode()).hexdigest()[:10]


def group_items(items: List[Dict[str, Any]], threshold: float = 0.45,
                encode: Optional[Callable[[List[str]], NDArray[Any]]] = None) -> List[Dict[str, Any]]:
    """Cluster inbox items; return groups `{id, label, size, items, reasons, intents}`, biggest first."""
    if not items:
        return []
    texts = [i["text"] for i in items]
    if len(items) == 1:
        labels = np.array([0])
        sim = np.ones((1, 1))
    else:
        from sklearn.cluster import AgglomerativeClustering

        sim = similarity_matrix(texts, encode)
        model = AgglomerativeClustering(n_clusters=None, affinity="precomputed", linkage="average",
                                        distance_threshold=1.0 - threshold)
        labels = model.fit_predict(1.0 - sim)
    groups = []
    for label in sorted(set(labels.tolist())):
        idx = [i for i, lab in enumerate(labels) if lab == label]
        members = [items[i] for i in idx]
        centre = idx[int(np.argmax(sim[np.ix_(idx, idx)].mean(axis=1)))]
        reasons: Dict[str, int] = {}
        intents: Dict[str, int] = {}
        for m in members:
            for r in m.get("reasons") or []:
                reasons[r] = reasons.get(r, 0) + 1
            guess = m.get("guess") or m.get("intent") or "?"
            intents[guess] = intents.get(guess, 0) + 1
        members.sort(key=lambda m: -float(m.get("ts") or 0))
        groups.append({
            "id": group_id(members), "label": items[centre]["text"], "size": len(members), "items": members,
            "reasons": reasons, "intents": intents, "latest": max(float(m.get("ts") or 0) for m in members),
        })
    groups.sort(key=lambda g: (-g["size"], -g["latest"]))
    return groups
