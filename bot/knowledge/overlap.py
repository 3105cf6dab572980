"""What two questions share and what differs between them, in IDF mass (the "what differs" signal).

Two Chinese customer questions about different things often share most of their characters
("怎么借款" / "怎么还款"): a cosine or BM25 score sees the overlap, not the one key word that
differs. Here every token kind (jieba words, character bigrams, character unigrams; the tokens of
`bot.knowledge.text.tokens`) gets its IDF-weighted mass in each text and the mass the two share, so
a pair can say "each side covers x of the other" and "this much weight is left unmatched".

IDF comes from a reference corpus (the KB's phrasings for the retriever; all texts of a pair set
for `bot eval pairs`). A token the corpus never saw weighs as its rarest token: an unknown word is
a difference, not nothing. Pair features are computed row by row (`pairwise`) or for every
(query, phrasing) at once (`cross`), as sparse matrix products.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import sparse

from bot.knowledge._arrays import Floats, Ints
from bot.knowledge.text import tokens

__all__ = ["KINDS", "OVERLAP_FEATURES", "TokenMass", "overlap_features"]

KINDS = ("w", "b", "c")  # jieba/English words, Chinese character bigrams, Chinese characters
# per kind: min and max of the two coverages (shared mass / own mass), and the larger unmatched mass
OVERLAP_FEATURES = tuple(f"{k}_{f}" for k in KINDS for f in ("cov_min", "cov_max", "miss_max"))


class TokenMass:
    """IDF weights of one reference corpus, per token kind, as sparse text x vocabulary matrices."""

    def __init__(self, vocab: Dict[str, int], idf: Floats, kind_of: Ints) -> None:
        self.vocab = vocab
        self.idf = idf
        self.kind_of = kind_of  # index into KINDS for each vocabulary column
        # an unseen token weighs like the rarest one of its kind (the corpus cannot vouch for it)
        self.unseen = {k: float(idf[kind_of == i].max(initial=1.0)) for i, k in enumerate(KINDS)}

    @classmethod
    def fit(cls, texts: Sequence[str]) -> "TokenMass":
        vocab: Dict[str, int] = {}
        df: List[int] = []
        for t in texts:
            for tok in set(tokens(t)):
                j = vocab.setdefault(tok, len(vocab))
                if j == len(df):
                    df.append(0)
                df[j] += 1
        n = max(len(texts), 1)
        d = np.asarray(df, np.float64)
        # divided by log(n + 1): a token seen once weighs about 1 in a corpus of any size, so masses
        # from the KB (hundreds of texts) and from a large pair set mean the same
        idf = (np.log((n + 1.0) / (d + 0.5)) / np.log(n + 1.0)).astype(np.float32)
        kinds = {k: i for i, k in enumerate(KINDS)}
        kind_of = np.asarray([kinds.get(tok[:1], 0) for tok in vocab], np.int64)
        return cls(vocab, idf, kind_of)

    def matrices(self, texts: Sequence[str]) -> Tuple[Dict[str, sparse.csr_matrix], Dict[str, Floats]]:
        """Per kind: binary (texts x vocabulary) matrix of known tokens, and each text's total mass
        (known tokens' IDF plus unseen tokens at their kind's rarest weight)."""
        rows: Dict[str, List[int]] = {k: [] for k in KINDS}
        cols: Dict[str, List[int]] = {k: [] for k in KINDS}
        mass = {k: np.zeros(len(texts), np.float32) for k in KINDS}
        for i, t in enumerate(texts):
            for tok in set(tokens(t)):
                kind = tok[:1] if tok[:1] in rows else "w"
                j = self.vocab.get(tok)
                if j is None:
                    mass[kind][i] += self.unseen[kind]
                else:
                    rows[kind].append(i)
                    cols[kind].append(j)
                    mass[kind][i] += self.idf[j]
        shape = (len(texts), max(len(self.vocab), 1))
        mats = {k: sparse.csr_matrix((np.ones(len(rows[k]), np.float32), (rows[k], cols[k])), shape=shape)
                for k in KINDS}
        return mats, mass

    def pairwise(self, a: Sequence[str], b: Sequence[str]) -> Dict[str, Floats]:
        """Overlap features of each pair (a[i], b[i]), as `overlap_features` names them."""
        ma, wa = self.matrices(a)
        mb, wb = self.matrices(b)
        idf = sparse.diags(self.idf if len(self.idf) else np.zeros(1, np.float32))
        shared = {k: np.asarray((ma[k] @ idf).multiply(mb[k]).sum(axis=1), np.float32).ravel() for k in KINDS}
        return overlap_features(shared, wa, wb)

    def transposed(self, texts: Sequence[str]) -> Tuple[sparse.csr_matrix, Dict[str, Floats]]:
        """(vocabulary x texts) binary matrix of all kinds and the texts' masses: `cross_one`'s right side."""
        mats, mass = self.matrices(texts)
        combined = mats[KINDS[0]]
        for k in KINDS[1:]:
            combined = combined + mats[k]
        return combined.T.tocsr(), mass

    def cross_one(self, query: str, right: Tuple[sparse.csr_matrix, Dict[str, Floats]]) -> Dict[str, Floats]:
        """`cross` for one query against `transposed(texts)`, each feature (1 x texts): only the rows of the
        query's own tokens are read, so a message costs a fraction of a millisecond."""
        right_t, right_mass = right
        ids: Dict[str, List[int]] = {k: [] for k in KINDS}
        mass = {k: np.zeros(1, np.float32) for k in KINDS}
        for tok in set(tokens(query)):
            kind = tok[:1] if tok[:1] in ids else "w"
            j = self.vocab.get(tok)
            if j is None:
                mass[kind][0] += self.unseen[kind]
            else:
                ids[kind].append(j)
                mass[kind][0] += self.idf[j]
        rows = [j for k in KINDS for j in ids[k]]
        # (kinds x tokens) IDF of each of the query's tokens in its own kind's row
        weights = np.zeros((len(KINDS), len(rows)), np.float32)
        col = 0
        for i, k in enumerate(KINDS):
            weights[i, col : col + len(ids[k])] = self.idf[ids[k]]
            col += len(ids[k])
        hits = right_t[rows].toarray() if rows else np.zeros((0, right_t.shape[1]), np.float32)
        both = np.einsum("kt,tn->kn", weights, hits)  # no BLAS threads for one message (see zh_pairs)
        shared = {k: both[i : i + 1] for i, k in enumerate(KINDS)}
        return overlap_features(shared, {k: v[:, None] for k, v in mass.items()},
                                {k: v[None, :] for k, v in right_mass.items()})

    def cross(self, queries: Sequence[str], texts: Sequence[str],
              right: Optional[Tuple[Dict[str, sparse.csr_matrix], Dict[str, Floats]]] = None,
              ) -> Dict[str, Floats]:
        """Overlap features of every (query, text), each (queries x texts); `right`: `matrices(texts)`
        computed before (the retriever keeps its phrasings')."""
        mq, wq = self.matrices(queries)
        mt, wt = right if right is not None else self.matrices(texts)
        idf = sparse.diags(self.idf if len(self.idf) else np.zeros(1, np.float32))
        shared = {k: np.asarray(((mq[k] @ idf) @ mt[k].T).todense(), np.float32) for k in KINDS}
        return overlap_features(shared, {k: v[:, None] for k, v in wq.items()},
                                {k: v[None, :] for k, v in wt.items()})


def overlap_features(shared: Dict[str, Floats], mass_a: Dict[str, Floats],
                     mass_b: Dict[str, Floats]) -> Dict[str, Floats]:
    """From shared and own masses (broadcastable): coverage of each side, min and max, and the larger
    unmatched mass (what one text says that the other does not), per token kind."""
    out: Dict[str, Floats] = {}
    for k in KINDS:
        s = shared[k]
        cov_a = s / np.maximum(mass_a[k], 1e-6)
        cov_b = s / np.maximum(mass_b[k], 1e-6)
        # a text with no token of this kind (English, or no Chinese) is fully covered by anything
        cov_a = np.where(mass_a[k] > 0, cov_a, 1.0)
        cov_b = np.where(mass_b[k] > 0, cov_b, 1.0)
        out[f"{k}_cov_min"] = np.minimum(cov_a, cov_b).astype(np.float32)
        out[f"{k}_cov_max"] = np.maximum(cov_a, cov_b).astype(np.float32)
        out[f"{k}_miss_max"] = np.maximum(mass_a[k] - s, mass_b[k] - s).astype(np.float32)
    return out
