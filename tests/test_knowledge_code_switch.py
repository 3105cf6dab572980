"""A fan's English word in a Chinese sentence, or a Chinese word in an English one (`code_switch:` in
knowledge/config.yml, bot/knowledge/synonyms.py `CodeSwitch`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.knowledge.synonyms import CodeSwitch, load_code_switch

GLOSSARY = CodeSwitch({"charger": "充电器", "colour": "颜色", "strap": "表带", "invoice": "发票", "charging": "充电"})


@pytest.mark.parametrize("text, read", [
    ("手环strap有几种colours", "手环表带有几种颜色"),                       # Chinese: its English words read in Chinese
    ("does the 14 pro come with a 充电器", "does the 14 pro come with a  charger "),  # English: its Chinese word in English
    ("how to 开发票 for my order", "how to 开发票 for my order"),           # half a word across helps nothing: kept
    ("充电宝 can i take it on the plane", "充电宝 can i take it on the plane"),
    ("how long is the charger cable", "how long is the charger cable"),   # one language: as typed
])
def test_a_word_of_the_other_language_is_read_in_the_sentences(text: str, read: str) -> None:
    assert GLOSSARY.apply(text) == read


def test_each_word_must_be_the_knowledge_bases_own(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text("code_switch:\n  sapphire: 蓝宝石\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.yml: code_switch.sapphire: the knowledge base's English never uses"):
        load_code_switch(tmp_path, ["The screen is glass.", "屏幕是玻璃的。"])

