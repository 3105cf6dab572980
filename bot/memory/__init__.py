"""Memory the user can see: what is open for them when they come back, their history for agents, and
"what do you know about me?" with the way to delete it.

    things = open_things(redis, "telegram:42", ctx.orders)  # orders in transit, open repairs, open feedback
    history(redis, "telegram:42", ctx.orders)               # across conversations and linked accounts (agent console)
    stored_summary(redis, "telegram:42", ctx.orders)        # what is stored (the privacy inventory), for the user
    returning(redis, "telegram:42")                         # seen before? (and remember this visit)

Redis keys: `canyu:memory:seen:{profile}` (string: when the person last started a conversation session,
`account` retention: erased with the person). Deletion is `bot.privacy.erase` (see bot/actions/memory.py).
"""

from bot.memory._facts import OPEN_FEEDBACK, history, history_async, open_things, person_ids, stored_summary
from bot.memory._seen import SEEN_PREFIX, returning
from bot.memory._texts import join, known_lines, open_lines

__all__ = ["OPEN_FEEDBACK", "SEEN_PREFIX", "history", "history_async", "join", "known_lines", "open_lines",
           "open_things", "person_ids", "returning", "stored_summary"]
