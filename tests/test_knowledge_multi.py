"""Several questions in one message (bot/knowledge/multi.py)."""

from __future__ import annotations

from bot.knowledge.multi import question_parts


def test_a_message_with_several_questions_is_cut_into_them() -> None:
    assert question_parts("手环9 多少钱？有粉色的吗") == ["手环9 多少钱？", "有粉色的吗"]
    assert question_parts("does the 14 have nfc and dual sim?") == ["does the 14 have nfc", "dual sim?"]
    assert question_parts("充电宝能带上飞机吗，能给笔记本充电吗") == ["充电宝能带上飞机吗", "能给笔记本充电吗"]
    assert question_parts("耳机防水吗 续航多久") == ["耳机防水吗", "续航多久"]
    assert question_parts("14pro有没有紫色的 多少钱") == ["14pro有没有紫色的", "多少钱"]  # a space ends a question
    assert question_parts("does the 14 support wireless charging? also whats the warranty") == [
        "does the 14 support wireless charging?", "whats the warranty"]


def test_one_question_is_left_whole() -> None:
    assert question_parts("my phone is hot, is it normal?") == []          # a statement and one question
    assert question_parts("can I use it for running and swimming?") == []  # "swimming?" does not stand alone
    assert question_parts("how much is the 14 pro") == []
    assert question_parts("耳机左边没声音了") == []
    assert question_parts("米粒14 多少钱") == []                             # a space after a digit: one question


def test_a_part_that_only_asks_how_long_or_how_much_has_no_topic() -> None:
    from bot.knowledge.multi import without_topic

    for part in ("how long", "and how long does it take", "how much would it cost", "大概几天", "要多久", "贵不贵"):
        assert without_topic(part), part
    for part in ("保修多久", "运费呢", "how long is the warranty", "is it free", "耳机呢", "14多少钱", "how much is the band"):
        assert not without_topic(part), part
