"""Product questions through the running assistant (Rasa + action server + the real KB)."""

from __future__ import annotations

from typing import Any, Dict, List

from tests.harness import Assistant


def _text(replies: List[Dict[str, Any]]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


def _last_bot_event(assistant: Assistant, sender: str) -> Dict[str, Any]:
    return [e for e in assistant.tracker(sender)["events"] if e.get("event") == "bot"][-1]


def test_spec_question_is_answered_and_recorded(assistant: Assistant, sender: str) -> None:
    replies = assistant.say(sender, "Does the 14 Pro have wireless charging?")
    assert "50 W" in _text(replies), replies
    tracker = assistant.tracker(sender)
    assert tracker["slots"]["kb_entry"] == "spec:phone_14_pro:charging"
    assert tracker["slots"]["kb_score"] == 1.0
    assert _last_bot_event(assistant, sender)["metadata"]["kb"]["entry"] == "spec:phone_14_pro:charging"


def test_did_you_mean_button_payload_answers_that_entry(assistant: Assistant, sender: str) -> None:
    replies = assistant.say(sender, '/ask_product{"kb_entry": "invoice"}')
    assert "invoice" in _text(replies).lower(), replies
    assert assistant.tracker(sender)["slots"]["kb_entry"] == "invoice"


def test_chinese_question_gets_a_chinese_answer(assistant: Assistant, sender: str) -> None:
    replies = assistant.say(sender, "14 Pro 电池多大")
    assert "5000mAh" in _text(replies), replies


def test_product_we_do_not_sell_is_not_answered(assistant: Assistant, sender: str) -> None:
    replies = assistant.say(sender, "How long does the battery of the Millet Phone 15 last?")
    text = _text(replies)
    assert "mAh" not in text, replies
    assert assistant.tracker(sender)["slots"].get("kb_entry") is None


def test_kb_edit_reaches_the_running_assistant_without_retraining(tmp_path, sender: str) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from bot.settings import load_settings
    from tests.harness import start_assistant

    root = tmp_path / "knowledge"
    shutil.copytree(load_settings().home / "knowledge", root)
    config = root / "config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("reload_check_seconds: 3", "reload_check_seconds: 0"),
                      encoding="utf-8")
    running = start_assistant(tmp_path / "data", env={"CANYU_KNOWLEDGE_DIR": str(root)}, with_console=False)
    try:
        question = "Do the Buds 5 have noise cancelling?"
        assert "48 dB" in _text(running.say(sender, question))
        faq = root / "faq" / "wearables.yml"
        faq.write_text(faq.read_text(encoding="utf-8").replace("Yes, active noise cancelling up to 48 dB",
                                                               "Yes, active noise cancelling up to 50 dB"), encoding="utf-8")
        assert "50 dB" in _text(running.say(sender, question))
    finally:
        running.stop()
