"""Out-of-scope examples as neighbours (bot/knowledge/out_of_scope.py, `near_misses:` in knowledge/out_of_scope.yml):
a question nearer to one of them than to every phrasing of its best entry is not answered from that entry.
The real retriever on the shipped knowledge base; the questions are worded differently from the examples."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.errors import DataError
from bot.knowledge import build_retriever, load_kb
from bot.knowledge.retriever import Retriever

KB = Path(__file__).resolve().parents[1] / "knowledge"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    r, _ = build_retriever(KB, tmp_path_factory.mktemp("kbcache"))
    return r


@pytest.mark.parametrize("question,entry", [
    ("i can't remember my millet account password, help", "returns_opened"),
    ("我的米粒账号登不上了 密码忘记了咋办", "returns_opened"),
    ("which delivery company brings the parcels, sf?", None),
])
def test_a_near_miss_is_not_answered_from_the_nearest_entry(retriever: Retriever, question: str, entry: str) -> None:
    result = retriever.ask(question)
    assert result.outcome == "unsure", (question, result.outcome, result.entry_id, result.reason)
    assert "out-of-scope example" in result.reason
    if entry:  # without the examples, this entry answered it with confidence
        plain = Retriever(replace(retriever.kb, near_misses={}), retriever.index, retriever.encoder, retriever.config)
        assert plain.ask(question).entry_id == entry


@pytest.mark.parametrize("question,entry", [
    ("do i have to log out of my millet account before i send the phone back?", "returns_opened"),
    ("充电宝能不能带上飞机", "power_bank_flight"),
    ("手环能配华为手机用吗", "band_iphone"),
    ("the price dropped a week after I bought it", "price_protection"),
])
def test_questions_the_knowledge_base_answers_still_get_their_entry(retriever: Retriever, question: str,
                                                                   entry: str) -> None:
    result = retriever.ask(question)
    assert (result.outcome, result.entry_id) == ("answer", entry), result.reason


def test_the_margin_is_set_on_the_knowledge_bases_own_phrasings(retriever: Retriever) -> None:
    examples = retriever.out_of_scope.examples
    assert set(examples) == {"en", "zh"} and all(e.margin >= 0 for e in examples.values())
    phrasings = sum(1 for d in retriever.index.docs if d.meta.get("kind", "faq") == "faq" for _ in d.questions)
    clashes = retriever.out_of_scope.conflicts()
    assert clashes and len(clashes) <= 0.02 * phrasings  # the 1% nearest calls per language, listed by `bot kb build`
    assert all(gap > examples[lang].margin for lang, _, _, gap in clashes)


def test_a_broken_near_misses_section_names_the_file(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(KB, tmp_path / "knowledge")
    path = tmp_path / "knowledge" / "out_of_scope.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("near_misses:")] + "near_misses: [is there a store in town]\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"knowledge/out_of_scope.yml:\d+: expected `out_of_scope:`"):
        load_kb(tmp_path / "knowledge")
    assert load_kb(KB).near_misses["zh"]
