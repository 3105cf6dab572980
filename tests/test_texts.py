"""bot.texts: the one place that renders bot texts sent outside a Rasa turn, from the caller's responses folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.texts import Texts

REPO = Path(__file__).resolve().parents[1]

YML = '''responses:
  utter_hi:
  - condition: [{type: slot, name: language, value: zh}]
    text: "你好，{name}！"
  - condition: [{type: slot, name: language, value: en}]
    text: "Hi {name}!"
'''


def test_the_users_language_else_english_with_placeholders_filled(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(YML, encoding="utf-8")
    assert Texts(tmp_path).render(path, "utter_hi", "zh", name="小北") == "你好，小北！"
    assert Texts(tmp_path).render(path, "utter_hi", "fr", name="Bei") == "Hi Bei!"


def test_an_edit_is_read_again_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(YML, encoding="utf-8")
    assert Texts(tmp_path).render(path, "utter_hi", "en", name="a") == "Hi a!"
    path.write_text(YML.replace("Hi {name}!", "Hey {name}!"), encoding="utf-8")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert Texts(tmp_path).render(path, "utter_hi", "en", name="a") == "Hey a!"


def test_a_trainer_gets_the_file_and_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(YML, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"t\.yml: no response named 'utter_bye'"):
        Texts(tmp_path).render(path, "utter_bye", "en")
    with pytest.raises(ConfigError, match=r"placeholder that is not filled"):
        Texts(tmp_path).render(path, "utter_hi", "en")
    bad = tmp_path / "bad.yml"
    bad.write_text("responses:\n  utter_x: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yml:\d+: not valid YAML"):
        Texts(tmp_path).render(bad, "utter_x", "en")


def test_a_name_is_a_file_of_the_callers_folder(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text(YML, encoding="utf-8")
    texts = Texts(tmp_path)
    assert texts.path("t") == tmp_path / "t.yml"
    assert texts.render("t", "utter_hi", "zh", name="小北") == "你好，小北！"


def test_every_text_the_code_renders_outside_rasa_exists_in_both_languages() -> None:
    texts = Texts(REPO / "responses")
    for file, name in (("handoff", "utter_agent_intro"), ("feedback", "utter_feedback_shipped"),
                       ("order_tasks", "utter_restock_back"), ("fan_answers", "utter_fan_answer_published"),
                       ("fan_answers", "utter_fan_answer_rejected")):
        found = texts.variations(file).get(name) or {}
        assert set(found) >= {"zh", "en"}, (file, name, found)
