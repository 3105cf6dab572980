"""The NLU in a worker thread (bot/rasa_nlu_thread.py): Rasa's parse result and errors, off the event loop's thread,
one message at a time."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List, Optional

from bot import rasa_patches
from bot.rasa_nlu_thread import _IN_FLIGHT


class FakeProcessor:
    """What `MessageProcessor.parse_message` uses of the processor; the NLU notes its thread."""

    http_interpreter = None

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.threads: List[str] = []
        self.running = 0
        self.overlapped = False
        self.checked: List[Dict[str, Any]] = []

    def _parse_message_with_graph(self, message: Any, tracker: Any, only_output_properties: bool = True
                                  ) -> Dict[str, Any]:
        self.running += 1
        self.overlapped |= self.running > 1
        try:
            self.threads.append(threading.current_thread().name)
            threading.Event().wait(0.01)
            if self.fail:
                raise RuntimeError("the NLU failed")
            return {"text": message.text, "intent": {"name": "greet", "confidence": 0.9},
                    "entities": [{"entity": "x", "value": [1]}], "tracker": tracker.sender_id,
                    "only": only_output_properties}
        finally:
            self.running -= 1

    def _update_full_retrieval_intent(self, parse_data: Dict[str, Any]) -> None:
        parse_data["intent"]["full"] = "greet/x"

    def _check_for_unseen_features(self, parse_data: Dict[str, Any]) -> None:
        self.checked.append(parse_data)


async def _parse(processor: FakeProcessor, texts: List[str], tracker: Optional[Any] = None) -> List[Any]:
    """`texts` parsed at once, as if as many messages were in the processor."""
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    processor.__dict__[_IN_FLIGHT] = len(texts)

    calls = [MessageProcessor.parse_message(processor, UserMessage(text, sender_id="rest:nlu"), tracker, False)
             for text in texts]
    return list(await asyncio.gather(*calls, return_exceptions=True))


def _both(fail: bool = False) -> Any:
    rasa_patches.uninstall()
    rasas, own = FakeProcessor(fail), FakeProcessor(fail)
    rasa_out = asyncio.run(_parse(rasas, ["hi", "你好", "bye"]))
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        assert "nlu-thread" in rasa_patches.active()
        out = asyncio.run(_parse(own, ["hi", "你好", "bye"]))
    finally:
        rasa_patches.uninstall()
    return rasas, rasa_out, own, out


def test_the_nlu_gives_rasas_parse_in_one_worker_thread() -> None:
    rasas, rasa_out, own, out = _both()
    assert out == rasa_out and own.checked == rasas.checked
    assert rasa_out[0]["intent"]["full"] == "greet/x" and rasa_out[1]["tracker"] == "rest:nlu"
    assert set(rasas.threads) == {threading.main_thread().name}
    assert len(set(own.threads)) == 1 and own.threads[0].startswith("canyu-nlu")
    assert not own.overlapped  # one message's NLU at a time


def test_an_nlu_error_reaches_the_caller_as_in_rasa() -> None:
    _, rasa_out, _, out = _both(fail=True)
    assert [type(e) for e in out] == [type(e) for e in rasa_out] == [RuntimeError] * 3
    assert [str(e) for e in out] == [str(e) for e in rasa_out]


def test_a_processor_with_an_http_interpreter_keeps_rasas_code() -> None:
    class Remote(FakeProcessor):
        class http_interpreter:  # noqa: N801 - Rasa's attribute
            @staticmethod
            async def parse(message: Any) -> Dict[str, Any]:
                return {"text": message.text, "intent": {"name": "remote"}, "entities": []}

    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        processor = Remote()
        out = asyncio.run(_parse(processor, ["hi"]))
    finally:
        rasa_patches.uninstall()
    assert out[0]["intent"]["name"] == "remote" and not processor.threads


def test_a_message_alone_in_the_processor_is_parsed_on_the_loop_as_in_rasa() -> None:
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        processor = FakeProcessor()
        out = asyncio.run(MessageProcessor.parse_message(processor, UserMessage("hi", sender_id="rest:nlu")))
    finally:
        rasa_patches.uninstall()
    assert out["text"] == "hi" and processor.threads == [threading.main_thread().name]


def test_the_messages_in_the_processor_are_counted(monkeypatch: Any) -> None:
    from rasa.core.processor import MessageProcessor

    seen: List[int] = []

    async def handle_message(self: Any, message: Any) -> List[Any]:
        seen.append(self.__dict__[_IN_FLIGHT])
        await asyncio.sleep(0.02)
        if message == "fail":
            raise RuntimeError("failed")
        return []

    monkeypatch.setattr(MessageProcessor, "handle_message", handle_message)
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    try:
        processor = FakeProcessor()

        async def three() -> List[Any]:
            return list(await asyncio.gather(*(MessageProcessor.handle_message(processor, m)
                                               for m in ("a", "fail", "b")), return_exceptions=True))

        out = asyncio.run(three())
    finally:
        rasa_patches.uninstall()
    assert seen == [1, 2, 3] and processor.__dict__[_IN_FLIGHT] == 0
    assert out[0] == [] and isinstance(out[1], RuntimeError)


def test_the_nlu_thread_has_its_own_switch() -> None:
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0", "CANYU_NLU_THREAD": "0"})
    try:
        assert "nlu-thread" not in rasa_patches.active() and "past-states" in rasa_patches.active()
        processor = FakeProcessor()
        asyncio.run(_parse(processor, ["hi"]))
    finally:
        rasa_patches.uninstall()
    assert processor.threads == [threading.main_thread().name]
