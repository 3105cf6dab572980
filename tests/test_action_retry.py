"""A custom action whose server is down (crashed, being restarted) is retried, not dropped (bot/rasa_patches.py).

Rasa 3.6 alone logs "Bot will continue, but the actions events are lost" and the user gets nothing at all.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Dict, List

from bot.runner import Child
from tests.harness import Assistant, new_sender, start_assistant

QUESTION = "how big is the 14 pro battery"


def _actions(stack: Any) -> Child:
    return next(child for child in stack._plan() if child.name == "actions")


def _texts(replies: List[Dict[str, Any]]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


def test_an_action_server_back_within_the_budget_still_answers(tmp_path: Path) -> None:
    assistant: Assistant = start_assistant(tmp_path / "data", with_console=False, env={"CANYU_ACTIONS": "http"})
    try:
        before = _texts(assistant.say(new_sender(), QUESTION))
        assert "mAh" in before, before
        assistant.stack.stop_child("actions")

        def bring_back() -> None:
            time.sleep(4)
            child = _actions(assistant.stack)
            assistant.stack.start_child(child)
            assistant.stack.wait_healthy(child)

        thread = threading.Thread(target=bring_back)
        thread.start()
        answer = _texts(assistant.say(new_sender(), QUESTION))
        thread.join()
        assert "mAh" in answer, answer
        assert "retrying" in assistant.log("rasa")
    finally:
        assistant.stop()


def test_an_action_server_that_stays_away_gets_an_apology_not_silence(tmp_path: Path) -> None:
    assistant: Assistant = start_assistant(tmp_path / "data", with_console=False, env={"CANYU_ACTION_RETRY_S": "2",
                                                                                      "CANYU_ACTIONS": "http"})
    try:
        assistant.stack.stop_child("actions")
        answer = _texts(assistant.say(new_sender(), QUESTION))
        assert "something went wrong on my side" in answer, answer
    finally:
        assistant.stop()
