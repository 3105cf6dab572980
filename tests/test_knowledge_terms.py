"""Named terms the knowledge base never mentions (bot/knowledge/terms.py)."""

from __future__ import annotations

from bot.knowledge.terms import fix_swaps, unknown_terms, vocabulary

KNOWN = vocabulary(["Does the phone have NFC?", "Millet Buds 5 noise cancelling", "120W fast charging", "chargers"])


def test_named_terms_the_kb_lacks_are_found() -> None:
    assert unknown_terms("耳机支持aptX吗", KNOWN) == ["aptX"]
    assert unknown_terms("does it work with a PS4", KNOWN) == ["PS4"]
    assert unknown_terms("手环能连Garmin吗", KNOWN) == ["Garmin"]


def test_known_terms_plain_words_and_numbers_are_not() -> None:
    assert unknown_terms("14有NFC吗", KNOWN) == []
    assert unknown_terms("Buds5降噪怎么样", KNOWN) == []               # a product name written together
    assert unknown_terms("is 120W charging safe", KNOWN) == []
    assert unknown_terms("my charger is slow, any tipps", KNOWN) == []  # plain words and typos never count
    assert unknown_terms("订单2026110505到哪了", KNOWN) == []           # a number alone names nothing


def test_an_english_sentence_with_a_chinese_word_is_read_as_english() -> None:
    """Its plain English words name nothing ("tired", "carrying", a city); Latin words set in Chinese still do."""
    assert unknown_terms("can my 14 pro be my 上海交通卡? tired of carrying the card", KNOWN) == []
    assert unknown_terms("is the 充电宝 ok on planes? flying to chengdu next week", KNOWN) == []
    assert unknown_terms("does it work with a PS4 and a 平板", KNOWN) == ["PS4"]
    assert unknown_terms("buds5连switch打游戏延迟高不高", KNOWN) == ["switch"]


def test_two_letters_swapped_become_the_known_word() -> None:
    known = vocabulary(["How much is the power bank?", "price", "the"])
    assert fix_swaps("what does the powre bank cost", known) == "what does the power bank cost"
    assert fix_swaps("buds 5 pirce?", known) == "buds 5 price?"
    assert fix_swaps("hwo mcuh", known) == "how much"
    assert fix_swaps("tehre is a bank", known) == "tehre is a bank"   # not one swap from a known word: kept
    assert fix_swaps("手环9 多少钱", known) == "手环9 多少钱"
    assert fix_swaps("does the telephoto have ois", vocabulary(["iOS 14", "the"])) == "does the telephoto have ois"


def test_one_missing_letter_becomes_the_one_known_word() -> None:
    known = vocabulary(["How much is the battery?", "waterproof", "shipping", "Windows"])
    words = vocabulary(["How much is the battery?", "waterproof", "shipping", "Windows"], joined=False)
    assert fix_swaps("how mch is the batery", known, words) == "how much is the battery"
    assert fix_swaps("is it waterprof", known, words) == "is it waterproof"
    assert fix_swaps("return window?", known, words) == "return window?"  # a plural is not a typo
    assert fix_swaps("thx", known, words) == "thx"                        # nothing one letter away: kept
    assert "muchis" in known and "muchis" not in words                     # joined names never fix a typo


def test_an_english_word_is_never_read_as_a_typo_of_another() -> None:
    """"ran outta space" was read as "rain outta space" (the water-resistance fact), "hey" as "they", "bot" as
    "both": a word the bundled English model's vocabulary holds is a word."""
    from bot.knowledge.terms import english_words

    known = vocabulary(["Is it rain proof?", "they", "both", "reset", "cable", "how much", "battery"])
    words = vocabulary(["Is it rain proof?", "they", "both", "reset", "cable", "how much", "battery"], joined=False)
    assert {"ran", "hey", "bot", "rest", "able"} <= english_words() and "batery" not in english_words()
    assert fix_swaps("ran outta space, hey bot, need rest, able to?", known, words) == \
        "ran outta space, hey bot, need rest, able to?"
    assert fix_swaps("hwo mcuh is the batery", known, words) == "how much is the battery"


def test_a_typo_written_into_one_phrasing_is_not_a_spelling() -> None:
    from bot.knowledge.terms import spelled

    trusted = spelled(["The power bank has 3 ports."], ["does it have 3 prots", "how many ports"])
    assert "prots" not in trusted and "ports" in trusted
    assert "many" not in trusted                       # one phrasing only, and not in the answer
    assert "how" in spelled([], ["how many ports", "how long"])  # two phrasings use it
    assert fix_swaps("how many prots", trusted) == "how many ports"
