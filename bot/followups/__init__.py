"""Follow-ups: a check-in after a resolved handoff, a repair booking or a return ("左耳好了吗？" / "Is the left
earbud OK now?"), with yes/no buttons; "yes" closes warmly, "no" goes back to a person with the history.
And call-backs: a 1–2 rating after a handoff opens a task for a team lead with a promised time.

    config = config_from_env(ctx.env)             # the settings, from the caller's environment
    FollowupStore(redis, config).schedule(sender, "repair", subject=subject_of([fault], device), language="zh", ref=no)
    await send_due(redis, now=clock(), config=config, texts=ctx.texts)  # the leader's job (`followup_job`)
    CallbackStore(redis, config).open(sender, 1, agent="lin")   # action_store_rating on a 1 or 2

Settings: `bot/followups/followups.yml` or `CANYU_FOLLOWUPS_FILE` (delays per kind, the call-back time;
`_config.py`). Words:
`responses/followups.yml`. Hooks: `HandoffService.resolve` → `after_handoff`, `action_book_repair` →
`after_repair`; `after_return` is ready for a returns flow (there is none yet).

Redis keys (owned here; privacy: bot/privacy/inventory.py, families `followups`, `followups_due`,
`callbacks`, `callbacks_open`):
- `canyu:followup:{sender}` hash: the user's follow-ups and what happened to each (see `_store.py`); 180-day expiry
- `canyu:followups:due` zset `{id}|{sender}` -> due time, until sent
- `canyu:followups:seq` string counter of follow-up ids
- `canyu:followups:log` list of JSON `{what, kind, at}` figures, no personal data
- `canyu:callback:{sender}` hash: the user's call-back (see `_callbacks.py`); 180-day expiry
- `canyu:callbacks:open` zset sender -> due time, while open
"""

from bot.followups._callbacks import OPEN_KEY, CallbackStore, callback_key
from bot.followups._config import KINDS, FollowupConfig, config_file, config_from_env, load_config
from bot.followups._figures import followup_figures
from bot.followups._returns import RETURNS_SEEN, returns_job, schedule_returns
from bot.followups._send import SendReport, after_handoff, after_repair, after_return, followup_job, send_due
from bot.followups._store import DUE_KEY, LOG_KEY, FollowupStore, user_key
from bot.followups._subject import subject_of
from bot.followups._texts import checkin_message, due_text, render

__all__ = [
    "RETURNS_SEEN", "returns_job", "schedule_returns", "CallbackStore", "DUE_KEY", "FollowupConfig", "FollowupStore", "KINDS", "LOG_KEY", "OPEN_KEY", "SendReport",
    "after_handoff", "after_repair", "after_return", "callback_key", "checkin_message", "due_text",
    "followup_figures", "followup_job", "load_config", "render", "send_due", "subject_of", "user_key",
    "config_file", "config_from_env",
]
