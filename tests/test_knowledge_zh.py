"""Chinese questions are matched with the Chinese-capable sentence model (multilingual-e5-small).

Runs the real retriever on the real KB (no Rasa). The paraphrases below are written for this
test: none is a copy of a KB phrasing, and most share few words with them. With the bundled
English-only model for Chinese (before) 10 of these 14 ranked their entry first; then 13.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.embeddings import get_encoder as shared_encoder
from bot.errors import ConfigError
from bot.knowledge import build_retriever
from bot.knowledge.config import load_config
from bot.knowledge.index import DEFAULT_MODELS, LanguageEncoder, get_encoder
from bot.knowledge.kb_eval import kb_zh_table
from bot.knowledge.overlap import TokenMass
from bot.knowledge.text import has_cjk
from bot.knowledge.zh_fit import fit_weights
from bot.knowledge.zh_pairs import PAIR_FEATURES, load_zh_similarity, pair_similarity

REPO = Path(__file__).resolve().parent.parent
KB = REPO / "knowledge"

PARAPHRASES = [
    ("钱退回我账户要等几天", "returns_refund_time"),
    ("收到货觉得不合适，多少天内可以退", "returns_7day"),
    ("包裹寄出来大概要等多久", "shipping_time"),
    ("寄送需要我自己出运费吗", "shipping_cost"),
    ("换了新机，通讯录和相片怎么导过去", "phone_transfer_data"),
    ("刚付完款东西就便宜了，差的钱能补给我吗", "price_protection"),
    ("公司报销需要开票", "invoice"),
    ("在海外也能买你们的东西并寄过去吗", "shipping_international"),
    ("左边那只耳朵听不到声音", "buds_one_side"),
    ("手环的带子断了，能单独买一根吗", "band_strap"),
    ("睡觉时戴着手环能看出我睡得深不深吗", "band_sleep_tracking"),
]

# Kept visible: without "手环" (band) in it, "buy a new one" pulls towards trade-in (on the KB of 30 Nov it ranks
# first, pair model on or off). "电量消耗得特别快" ranks power_bank_laptop first on that KB, with the Chinese pair
# model on or off (zh_similarity.retriever_weight 0.3 or 0): it stopped passing with KB edits, not the pair model.
# "我想把系统恢复到升级前的版本" since the entry model (2 Dec): its character n-grams weigh "升级" towards
# os_update_how (0.44) over os_rollback (0.25).
KNOWN_MISSES = [("腕带坏了能买个新的装上吗", "band_strap"), ("电量消耗得特别快", "phone_battery_saving"),
                ("我想把系统恢复到升级前的版本", "os_rollback")]


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    r, _ = build_retriever(KB, tmp_path_factory.mktemp("kbcache-zh"))
    return r


@pytest.mark.parametrize("question,entry", PARAPHRASES)
def test_chinese_paraphrase_ranks_its_entry_first(retriever, question: str, entry: str) -> None:  # type: ignore[no-untyped-def]
    result = retriever.ask(question)
    assert result.candidates and result.candidates[0].entry_id == entry, result.record()


@pytest.mark.xfail(reason="known miss, see KNOWN_MISSES", strict=False)
@pytest.mark.parametrize("question,entry", KNOWN_MISSES)
def test_known_misses(retriever, question: str, entry: str) -> None:  # type: ignore[no-untyped-def]
    assert retriever.ask(question).candidates[0].entry_id == entry


def test_kb_uses_a_chinese_model_for_chinese_queries(retriever) -> None:  # type: ignore[no-untyped-def]
    enc = retriever.encoder
    assert isinstance(enc, LanguageEncoder)
    assert load_config(KB).model == {"en": None, "zh": "multilingual-e5-small"} == DEFAULT_MODELS
    zh, en = enc.blocks["zh"], enc.blocks["en"]
    assert (zh.start, zh.stop) != (en.start, en.stop)
    question, english = "屏幕碎了能免费修吗", "can I get my cracked screen fixed for free"
    v = enc.encode([question, english])
    # each query only in its own language's model: e5 for Chinese, the bundled MiniLM for English
    np.testing.assert_allclose(v[0, zh], shared_encoder("multilingual-e5-small").encode([question])[0], atol=1e-6)
    assert not v[0, en].any() and not v[1, zh].any()
    np.testing.assert_allclose(v[1, en], shared_encoder().encode([english])[0], atol=1e-6)
    # and the index compares it with the e5 vectors of every phrasing (both languages)
    cos = retriever.index.dense_cosines(v[:1], [question])[0]
    np.testing.assert_allclose(cos, retriever.index.q_vecs[:, zh] @ v[0, zh], atol=1e-5)
    assert retriever.index.q_vecs[:, zh].any(axis=1).all() and retriever.index.q_vecs[:, en].any(axis=1).all()


def test_index_cache_keeps_the_language_blocks(tmp_path: Path) -> None:
    first, cached = build_retriever(KB, tmp_path)
    assert not cached
    again, cached = build_retriever(KB, tmp_path)
    assert cached and again.index.blocks == first.index.blocks
    np.testing.assert_array_equal(again.index.q_vecs, first.index.q_vecs)
    q = "耳机左边没声音了"
    assert again.ask(q).candidates[0].entry_id == first.ask(q).candidates[0].entry_id


def test_one_model_name_means_one_block_for_every_language() -> None:
    enc = get_encoder({"en": None, "zh": None})
    assert set(enc.blocks) == {"en", "zh"} and enc.blocks["en"] == enc.blocks["zh"] and enc.dim == 384


def test_model_setting_is_checked(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text("retriever:\n  model: {fr: camembert}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="model.fr"):
        load_config(tmp_path)
    (tmp_path / "config.yml").write_text("retriever:\n  model: {zh: multilingual-e5-small:query}\n", encoding="utf-8")
    assert load_config(tmp_path).model == {"zh": "multilingual-e5-small:query"}


def test_e5_query_side_is_its_own_model_with_its_own_cache() -> None:
    passage = shared_encoder("multilingual-e5-small")
    query = shared_encoder("multilingual-e5-small:query")
    assert query is not passage and query.fingerprint != passage.fingerprint
    text = "退款多久能到账"
    a, b = passage.encode([text])[0], query.encode([text])[0]
    assert abs(float(np.linalg.norm(b)) - 1.0) < 1e-3 and float(a @ b) < 0.9999


# --- the Chinese pair model (bot/knowledge/overlap.py, zh_pairs.py, zh_fit.py, kb_eval.py) ---


def test_overlap_sees_the_one_word_that_differs() -> None:
    corpus = ["怎么借款", "怎么还款", "借款审核要多久", "还款日是哪天", "怎么申请借款"]
    mass = TokenMass.fit(corpus)
    f = mass.pairwise(["怎么借款", "怎么借款"], ["怎么借款", "怎么还款"])
    assert f["w_cov_min"][0] == pytest.approx(1.0) and f["w_miss_max"][0] == pytest.approx(0.0)
    # 借款 / 还款: no word in common, one character in common, and a word's mass left unmatched on each side
    assert f["w_cov_min"][1] == pytest.approx(0.0) and 0 < f["c_cov_min"][1] < 1 and f["w_miss_max"][1] > 0.3
    # one query against many: the batch, the one-message path and the row-by-row pairs agree
    rows = mass.pairwise(["怎么借款"] * len(corpus), corpus)
    batch = mass.cross(["怎么借款"], corpus)
    one = mass.cross_one("怎么借款", mass.transposed(corpus))
    for name, value in rows.items():
        np.testing.assert_allclose(batch[name][0], value, atol=1e-6)
        np.testing.assert_allclose(one[name][0], value, atol=1e-6)


def test_a_word_the_corpus_never_saw_is_a_difference() -> None:
    mass = TokenMass.fit(["怎么借款", "怎么还款", "还款日是哪天"])
    f = mass.pairwise(["怎么借款", "怎么借款"], ["怎么借款", "怎么借款花呗"])  # 花呗: never in the corpus
    assert f["w_cov_min"][1] < f["w_cov_min"][0] == pytest.approx(1.0)
    assert f["w_miss_max"][1] >= max(mass.idf) - 1e-6  # weighs as much as the rarest known word


def test_zh_similarity_setting_is_checked(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yml"
    cfg.write_text("zh_similarity:\n  weights: {dense: 1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown feature.*dense_c"):
        load_zh_similarity(tmp_path)
    cfg.write_text("zh_similarity:\n  retriever_weight: -1\n  weights: {dense_c: 1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="retriever_weight must be >= 0"):
        load_zh_similarity(tmp_path)
    cfg.write_text("zh_similarity:\n  weight: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown zh_similarity setting"):
        load_zh_similarity(tmp_path)
    cfg.write_text("retriever:\n  answer_threshold: 0.5\n", encoding="utf-8")
    assert not load_zh_similarity(tmp_path).enabled


def test_pair_model_is_on_for_chinese_queries_only(retriever) -> None:  # type: ignore[no-untyped-def]
    cfg = load_zh_similarity(KB)
    assert cfg.enabled and set(cfg.weights) == set(PAIR_FEATURES) and retriever.pairs is not None
    texts = ["电池不耐用，掉电太快了", "how long does shipping take"]
    vecs = retriever.encoder.encode(texts)
    both = retriever.pairs.boost(texts, vecs)
    one = retriever.pairs.boost(texts[:1], vecs[:1])[0]
    np.testing.assert_allclose(both[0], one, atol=1e-4)  # one message and a batch score alike
    assert not both[1].any()  # English: nothing added
    # standardised across entries, then weighted
    assert abs(float(one.mean())) < 1e-3 and float(one.std()) == pytest.approx(cfg.retriever_weight, rel=1e-2)


def test_a_phrasing_asked_of_the_kb_does_not_find_itself(retriever) -> None:  # type: ignore[no-untyped-def]
    index = retriever.index
    i = next(k for k, p in enumerate(index.phrases)
             if has_cjk(p) and index.docs[index.phrase_doc[k]].meta.get("kind") == "faq")
    own = int(index.phrase_doc[i])
    seen = retriever.pairs.boost([index.phrases[i]], index.q_vecs[i : i + 1])[0]
    unseen = retriever.pairs.boost([index.phrases[i]], index.q_vecs[i : i + 1], np.asarray([i]))[0]
    assert unseen[own] < seen[own]


def test_fit_weights_learns_what_ranks_the_right_phrasings() -> None:
    rng = np.random.default_rng(0)
    gold = np.repeat(np.arange(10), 4)
    same = (gold[:, None] == gold[None, :]).astype(float)
    F = rng.normal(size=(40, 40, len(PAIR_FEATURES)))
    F[..., 0] = same + 0.3 * rng.normal(size=(40, 40))  # only dense_c tells the right phrasings apart
    candidates = ~np.eye(40, dtype=bool)
    w = fit_weights(F, gold, candidates)
    assert w["dense_c"] > 0 and all(abs(v) < 0.3 * w["dense_c"] for k, v in w.items() if k != "dense_c")
    F[..., 0] = -F[..., 0]  # and the sign follows the data
    assert fit_weights(F, gold, candidates)["dense_c"] < 0


def test_pair_model_does_not_lose_kb_phrasings(retriever) -> None:  # type: ignore[no-untyped-def]
    off, on = kb_zh_table(retriever, [0.0, load_zh_similarity(KB).retriever_weight])
    assert on["phrasings"] > 300 and on["offtopic"] >= 20
    assert on["zh_top1"] >= off["zh_top1"] and on["offtopic_auc"] >= off["offtopic_auc"]


def test_eval_pairs_scores_what_the_retriever_scores(retriever) -> None:  # type: ignore[no-untyped-def]
    """`bot eval pairs` reports the retriever's own pair function: same IDF corpus and centre, same scores."""
    pairs, index = retriever.pairs, retriever.index
    q = "退货要我自己付邮费吗"
    v = retriever.encoder.encode([q])[:, pairs.block]
    stored = index.q_vecs[pairs.rows][:, pairs.block]
    n = len(pairs.texts)
    got = pair_similarity([q] * n, pairs.texts, np.repeat(v, n, axis=0), stored, pairs.config.weights,
                          corpus=pairs.texts, mean=pairs.mean)
    np.testing.assert_allclose(got, pairs.phrase_scores([q], v)[0], rtol=1e-4, atol=1e-3)
