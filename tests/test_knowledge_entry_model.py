"""The entry model (bot/knowledge/entry_model.py): a kernel ridge fitted on the KB's phrasings, with the real KB
and the real sentence models."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import build_retriever
from bot.knowledge.calibration import calib_features, languages
from bot.knowledge.entry_model import EntryModel
from bot.knowledge.index import HybridIndex
from bot.knowledge.retriever import Retriever

REPO = Path(__file__).resolve().parent.parent
KB = REPO / "knowledge"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    r, _ = build_retriever(KB, tmp_path_factory.mktemp("kbcache-entry-model"))
    return r


def _negatives(r: Retriever) -> list:
    return [q for qs in r.kb.out_of_scope.values() for q in qs]


def _without_phrasing(index: HybridIndex, i: int) -> HybridIndex:
    """The same index with phrasing `i` taken out of its entry (its stored vectors kept for the others)."""
    doc = int(index.phrase_doc[i])
    start = int(np.flatnonzero(index.phrase_doc == doc)[0])
    docs = list(index.docs)
    questions = list(docs[doc].questions)
    del questions[i - start]
    docs[doc] = replace(docs[doc], questions=questions)
    return HybridIndex(docs, np.delete(index.q_vecs, i, axis=0), index.p_vecs, blocks=index.blocks)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_leave_one_out_scores_are_what_the_model_fitted_without_the_phrasing_gives(retriever: Retriever,
                                                                                    lang: str) -> None:
    """The calibrator learns from each phrasing scored as if never seen: the closed form must equal a refit."""
    index = retriever.index
    negatives = _negatives(retriever)
    n_vecs = retriever.encoder.encode(negatives)
    full = EntryModel.fit(index, negatives, n_vecs)
    i = next(k for k, p in enumerate(index.phrases)
             if languages([p])[0] == lang and index.docs[index.phrase_doc[k]].meta.get("kind") == "faq")
    loo = full.scores([index.phrases[i]], index.q_vecs[i : i + 1], np.asarray([i]))[0]
    # the closed form is exact for the kernel: a ridge solved on the other rows of the same kernel gives the same
    m = full._models[lang]
    row = int(np.flatnonzero(np.flatnonzero(np.asarray(languages(index.phrases)) == lang) == i)[0])
    kernel = m.dense.astype(np.float64) @ m.dense.T.astype(np.float64) + (m.grams @ m.grams.T).toarray()
    targets = (kernel + np.eye(len(kernel))) @ m.dual  # alpha 1: the one-hot targets back
    rest = np.delete(np.arange(len(kernel)), row)
    dual = np.linalg.solve(kernel[np.ix_(rest, rest)] + np.eye(len(rest)), targets[rest])
    np.testing.assert_allclose(loo, (kernel[row, rest] @ dual)[full._doc_class], atol=2e-3)
    # refitted without it, the n-gram weights (IDF) move a little too: the model seen by the calibrator is close
    refit = EntryModel.fit(_without_phrasing(index, i), negatives, n_vecs)
    again = refit.scores([index.phrases[i]], index.q_vecs[i : i + 1])[0]
    np.testing.assert_allclose(loo, again, atol=0.08)
    seen = full.scores([index.phrases[i]], index.q_vecs[i : i + 1])[0]
    own = int(index.phrase_doc[i])
    assert seen[own] > loo[own]  # fitted on it, the model is surer of its own phrasing


def test_a_negative_the_model_was_fitted_on_is_scored_without_it(retriever: Retriever) -> None:
    negatives = _negatives(retriever)
    n_vecs = retriever.encoder.encode(negatives)
    model = EntryModel.fit(retriever.index, negatives, n_vecs)
    without = EntryModel.fit(retriever.index, negatives[1:], n_vecs[1:])
    np.testing.assert_allclose(model.scores(negatives[:1], n_vecs[:1])[0],
                               without.scores(negatives[:1], n_vecs[:1])[0], atol=0.06)  # IDF refitted too


def test_a_spec_is_one_class_whatever_the_product(retriever: Retriever) -> None:
    """"14 pro 电池多大" and "14 电池多大" differ by the name, which the product matching weighs, not the model."""
    ids = retriever.index.ids
    text = "米粒14pro电池容量多大"
    scores = retriever.entry_model.scores([text], retriever.encoder.encode([text]))[0]
    battery = [scores[ids.index(d)] for d in ids if d.startswith("spec:") and d.endswith(":battery")]
    assert len(battery) > 1 and np.ptp(battery) < 1e-6
    assert max(battery) == pytest.approx(float(scores.max()))


def test_the_model_answers_a_wording_no_phrasing_is_near(retriever: Retriever) -> None:
    question = "我两个号都想用 一部14搞得定吗"  # no phrasing of phone_dual_sim says "两个号…搞得定"
    with_model = retriever.ask(question)
    assert (with_model.outcome, with_model.entry_id) == ("answer", "phone_dual_sim"), with_model.reason
    plain = Retriever(retriever.kb, retriever.index, retriever.encoder,
                      replace(retriever.config, entry_model_weight=0.0))
    assert plain.ask(question).outcome != "answer"
    english = retriever.ask("i got a work number and a private number, can one 14 pro hold both")
    assert (english.outcome, english.entry_id) == ("answer", "phone_dual_sim"), english.reason


def test_without_the_model_the_features_and_the_ranking_are_as_before(retriever: Retriever) -> None:
    """`entry_model_weight: 0` turns it off: no model, and the calibration features' last column is 0."""
    assert Retriever(retriever.kb, retriever.index, retriever.encoder,
                     replace(retriever.config, entry_model_weight=0.0)).entry_model is None
    scores = np.asarray([[3.0, 1.0, 0.5]])
    x = calib_features(scores, np.asarray([[0.9, 0.5, 0.1]]), np.asarray([[0.4, 0.0, 0.0]]))
    np.testing.assert_allclose(x, [[3.0, 2.0, 0.9, 0.4, 0.0]])
    forced = calib_features(scores, np.asarray([[0.9, 0.5, 0.1]]), np.asarray([[0.4, 0.0, 0.0]]), top=np.asarray([1]))
    np.testing.assert_allclose(forced, [[1.0, -2.0, 0.5, 0.0, 0.0]])  # a given entry against the best other


def test_a_fact_at_the_top_is_judged_without_the_model(retriever: Retriever) -> None:
    """Spec and catalog facts have a few generated phrasings: the model scores them low, so a fact the ranking puts
    first keeps the confidence the ranking alone gives ("what phone models r available")."""
    cal = retriever.calibrator
    assert {"zh", "en", "zh:without model", "en:without model"} <= set(cal.params)
    assert len(cal.params["en"][0]) == 5 and len(cal.params["en:without model"][0]) == 4
    x = np.asarray([[4.0, 1.5, 0.6, 0.5, 0.0]])
    assert float(cal(x, "en", model=False)[0]) > float(cal(x, "en")[0])


@pytest.mark.parametrize("question, entry", [
    # a spec word on the way; the model is sure of the FAQ entry the question is about
    ("the airline's booking form asks how many watt-hours my power bank is, what do i fill in", "power_bank_flight"),
    ("my 14 pro battery is flat by dinner every day, which settings should i turn off", "phone_battery_saving"),
])
def test_an_entry_the_model_is_sure_of_wins_over_a_spec_named_on_the_way(retriever: Retriever, question: str,
                                                                       entry: str) -> None:
    result = retriever.ask(question)
    assert (result.outcome, result.entry_id) == ("answer", entry), result.record()


@pytest.mark.parametrize("question, spec", [
    ("手环9多重呀 戴着睡觉硌不硌", "spec:band_9:weight"),  # the weight is asked too: the entry is not far enough ahead
    ("14 pro battery capacity?", "spec:phone_14_pro:battery"),
])
def test_a_spec_asked_is_answered_by_the_spec(retriever: Retriever, question: str, spec: str) -> None:
    result = retriever.ask(question)
    assert (result.outcome, result.entry_id) == ("answer", spec), result.record()
    assert retriever.entry_model is not None
    vec = retriever.encoder.encode([question])
    row = retriever.entry_model.scores([question], vec)[0]
    assert retriever.entry_model.sure_of(row, retriever.index.ids, ":" + spec.rsplit(":", 1)[-1]) is None
