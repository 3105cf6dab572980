"""What the tracker store read along with a tracker, noted on the tracker object for the policies of the same turn.

Why: `EscalationPolicy` must know whether the conversation is in the handoff queue (`canyu:handoff:{sender}`)
on every user message, and asking Redis from the policy was a blocking round trip on Rasa's event loop for
every message (~7% of Rasa's CPU at c=16, docs/throughput.md). The tracker store (bot/stores.py) reads that
key in the same Lua script that reads the tracker, and notes the answer on the tracker it hands out.

Why that is as fresh as asking later: Rasa reads the tracker under the conversation's lock, and the handoff
record is made only by an action of the conversation's own turn (`action_handoff`, the follow-up's handoff),
which also pauses the tracker (the policy sees that in the events first). A record ends (the agent resolves)
only after a `resume` event was appended to the tracker, which the policy also sees first. So nothing can
create the record between the store's read and the policy's look in the same turn.

A tracker without a note (built by a test, Rasa's own store with `CANYU_RASA_SPEEDUPS=0`, the HTTP API's
trackers) gives None: the policy asks Redis as before.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["note_handoff", "noted_handoff"]

_HANDOFF = "_canyu_handoff_queued"


def note_handoff(tracker: Any, queued: bool) -> None:
    """Note that the conversation of `tracker` had a handoff record when the store read it."""
    setattr(tracker, _HANDOFF, queued)


def noted_handoff(tracker: Any) -> Optional[bool]:
    """Whether the store saw a handoff record when it read `tracker`; None when it did not look."""
    noted = getattr(tracker, _HANDOFF, None)
    return noted if isinstance(noted, bool) else None
