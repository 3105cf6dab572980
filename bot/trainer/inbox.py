"""The review inbox: what the bot could not answer well, derived from the `canyu:events` stream.

`Inbox(redis).sync()` reads the Rasa events the event broker appended to `canyu:events` since the
last sync and files an item for every user message that was
- classified `out_of_scope` or `nlu_fallback` (reason `out_of_scope` / `fallback`),
- classified below the `review.low_confidence` threshold of voice.yml (`low_confidence`),
- followed by `action_handoff` (`escalated`; the escalation reason is recorded too), or
- answered, and the answer looks wrong:
  - `rated_down`: the user rated the answer 👎 (a user event of intent `rate_answer` with entity
    `rating`="down" — the button payload `/rate_answer{"rating":"down"}` —, typed "👎"/"没用"/"not
    helpful" classified `rate_answer`, or a `rating` slot set to "down"; one rating per user turn, as
    the payload also sets the slot, twice). The item is the question of the last knowledge answer
    when no other question came after it, else the last question;
  - `rephrased`: within the user's next two turns after a knowledge answer, the user asked the same
    question again (lexical similarity to the answered question >= `review.rephrase_similarity`,
    default 0.5: Jaccard of English words (stemmed, stop words dropped) and Chinese character
    bigrams), or said so ("that's not what I asked", "不是这个", "答非所问", …; the last answer);
  - `asked_for_person`: within the user's next two turns after a knowledge answer, the user asked
    for a person (intent `human_handoff`, or "转人工"/"人工客服"/"real person"/…; the last answer);
  - `marked_wrong`: a trainer marked the answer wrong (`mark_wrong()`, the console's recent answers);
  - `hedged`: the answer came from the "did you mean" band ("I think you're asking X:"), to be confirmed.
  A knowledge answer is a bot event whose metadata carries `kb` with outcome "answer" (see
  bot/actions/product.py); these items carry `answer` = {id, text, entry, kind, confidence} and
  `signals` (what gave it away: the follow-up text, the similarity, who marked it).
One message gets one item (reasons accumulate). Items keep their context: the bot's message before
and the bot's reply after. The user's comment after a 👎 (the `answer_comment_form`) is kept as the
rated item's `comment`, not read as a new question. There is no daemon: the CLI, the console page and
the report call `sync()` (a short Redis lock keeps two syncs from overlapping).

The parts: `bot.trainer.inbox_sync` reads the events, `bot.trainer.inbox_signals` reads the user's words,
`bot.trainer.inbox_store` keeps the records (its docstring lists the Redis keys).
"""

from __future__ import annotations

from typing import Any

from bot.keys import EVENTS_STREAM
from bot.trainer.inbox_signals import similarity
from bot.trainer.inbox_store import (
    ANSWERS,
    ITEMS,
    KEY_PREFIX,
    OPEN,
    REASONS,
    UNANSWERED,
    WRONG_ANSWER,
    InboxStore,
)
from bot.trainer.inbox_sync import EventReader

__all__ = ["Inbox", "REASONS", "UNANSWERED", "WRONG_ANSWER", "KEY_PREFIX", "ITEMS", "OPEN", "ANSWERS", "similarity"]


class Inbox(InboxStore):
    """The review inbox on one Redis (a `redis.Redis` with `decode_responses=True`): the records, and `sync()`."""

    def __init__(self, redis: Any, low_confidence: float = 0.55, stream: str = EVENTS_STREAM,
                 rephrase_similarity: float = 0.5) -> None:
        super().__init__(redis)
        self.low_confidence = low_confidence
        self.rephrase_similarity = rephrase_similarity
        self.stream = stream

    def sync(self, batch: int = 1000) -> int:
        """Process the events appended since the last sync; return how many were read."""
        reader = EventReader(self, low_confidence=self.low_confidence, stream=self.stream,
                             rephrase_similarity=self.rephrase_similarity)
        return reader.sync(batch)
