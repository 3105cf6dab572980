"""The NLU runs beside Rasa's event loop, not on it (a patch installed by bot/rasa_patches.py: `nlu-thread`).

Why: Rasa 3.6's `MessageProcessor.parse_message` runs the NLU graph synchronously on the event loop, and the NLU
mostly waits: for the sentence encoder (the encoder process's answer over a socket, or torch's kernels), which
hold no GIL. Every other conversation in the process waits with it, though their policies, action calls and
Redis round trips could run meanwhile: at c=16 Rasa's loop used ~63% of a core while 16 messages were in flight
(docs/throughput.md).

How: `parse_message` is Rasa's, with `_parse_message_with_graph` called in one worker thread per processor
(`canyu-nlu`): one message's NLU at a time, as before, so the NLU components never run in two threads at once;
the caller awaits the same result or exception. Only while another message is in the processor
(`handle_message`, counted per processor): alone, there is nothing to overlap, and the hand-over to the thread
would only cost (~1 ms of CPU per message at c=1). A processor with an HTTP interpreter (`--nlu` on a separate
server) keeps Rasa's code.
"""

from __future__ import annotations

import asyncio
import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional

__all__ = ["install_nlu_thread"]

_POOL = "_canyu_nlu_pool"
_IN_FLIGHT = "_canyu_in_flight"


def _pool(processor: Any) -> ThreadPoolExecutor:
    pool: Optional[ThreadPoolExecutor] = processor.__dict__.get(_POOL)
    if pool is None:
        pool = processor.__dict__[_POOL] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="canyu-nlu")
    return pool


def install_nlu_thread(originals: Dict[str, Callable[..., Any]]) -> None:
    """Replace `MessageProcessor.parse_message` and wrap `.handle_message` (Rasa's kept in `originals`)."""
    from rasa.core import processor as rasa_processor
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    original, handle = MessageProcessor.parse_message, MessageProcessor.handle_message
    originals["MessageProcessor.parse_message"] = original
    originals["MessageProcessor.handle_message"] = handle

    async def handle_message(self: Any, message: Any) -> Optional[List[Dict[str, Any]]]:
        self.__dict__[_IN_FLIGHT] = self.__dict__.get(_IN_FLIGHT, 0) + 1
        try:
            answer: Optional[List[Dict[str, Any]]] = await handle(self, message)
            return answer
        finally:
            self.__dict__[_IN_FLIGHT] -= 1

    async def parse_message(self: Any, message: Any, tracker: Optional[DialogueStateTracker] = None,
                            only_output_properties: bool = True) -> Dict[str, Any]:
        if self.http_interpreter or self.__dict__.get(_IN_FLIGHT, 0) <= 1:
            rasas: Dict[str, Any] = await original(self, message, tracker, only_output_properties)
            return rasas
        if tracker is None:
            tracker = DialogueStateTracker.from_events(message.sender_id, [])
        parse_data: Dict[str, Any] = await asyncio.get_running_loop().run_in_executor(
            _pool(self), self._parse_message_with_graph, message, tracker, only_output_properties)
        # the rest as Rasa's parse_message
        self._update_full_retrieval_intent(parse_data)
        rasa_processor.structlogger.debug(
            "processor.message.parse", parse_data_text=copy.deepcopy(parse_data["text"]),
            parse_data_intent=parse_data["intent"], parse_data_entities=copy.deepcopy(parse_data["entities"]))
        self._check_for_unseen_features(parse_data)
        return parse_data

    parse_message.__doc__, handle_message.__doc__ = original.__doc__, handle.__doc__
    MessageProcessor.parse_message = parse_message
    MessageProcessor.handle_message = handle_message
