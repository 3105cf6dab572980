"""Fans' words for the knowledge base's words (`synonyms:` in knowledge/config.yml, bot/knowledge/synonyms.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.knowledge.synonyms import Synonyms, load_synonyms

KB = Path(__file__).resolve().parents[1] / "knowledge"


def test_latin_words_match_whole_words_chinese_words_anywhere_longest_first() -> None:
    words = Synonyms({"电话卡": "SIM卡", "installments": "instalments", "installment plan": "instalments",
                      "plan": "tariff"})
    assert words.apply("14能装两张电话卡吗") == "14能装两张SIM卡吗"
    assert words.apply("Installments on the pro?") == "instalments on the pro?"
    assert words.apply("an installment plan for the 14") == "an instalments for the 14"
    assert words.apply("reinstallments planner") == "reinstallments planner"  # inside other words: untouched


def test_the_shipped_list_loads_against_the_knowledge_base() -> None:
    words = load_synonyms(KB, [path.read_text(encoding="utf-8")  # as the retriever: every entry and products.yml
                               for path in [*sorted((KB / "faq").glob("*.yml")), KB / "products.yml"]])
    assert words.apply("能装两张手机卡吗") == "能装两张SIM卡吗"


def test_a_word_the_knowledge_base_never_uses_or_a_word_with_two_meanings_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text("synonyms:\n  hologram: [3d picture]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.yml: synonyms.hologram: the knowledge base never uses"):
        load_synonyms(tmp_path, ["the 14 has a great camera"])
    (tmp_path / "config.yml").write_text("synonyms:\n  camera: [cam]\n  screen: [cam]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'cam' stands for both 'camera' and 'screen'"):
        load_synonyms(tmp_path, ["camera and screen"])
    (tmp_path / "config.yml").write_text("synonyms: [cam]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"synonyms must map each knowledge-base word"):
        load_synonyms(tmp_path)


@pytest.mark.parametrize("question,entry", [("手机费电太快了", "phone_battery_saving"),
                                            ("installment plan for the band?", "payment_methods")])
def test_the_retriever_reads_a_fans_word_as_the_knowledge_bases(tmp_path: Path, question: str, entry: str) -> None:
    from bot.knowledge import build_retriever

    retriever, _ = build_retriever(KB, tmp_path / "kbcache")
    result = retriever.ask(question)
    assert (result.outcome, result.entry_id) == ("answer", entry), result.reason
    retriever._synonyms = Synonyms({})  # without them the ranking alone (no entry model) misses it
    retriever.entry_model = None
    assert retriever.ask(question).outcome != "answer"
