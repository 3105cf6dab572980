"""The figures of follow-ups and call-backs for `bot analytics` and the console (definitions in
docs/participation.md):

- `sent`: check-ins that went out in the period (`queued` apart: waiting for a WeChat user's next message or a
  worker; `dead` apart: refused for good, see the console's Deliveries page);
- `answered`: yes + no answers given in the period, `answered_pct` of the check-ins sent or queued in it;
- call-backs `opened` and `done` in the period, `done_late` (done after the promised time), and `overdue`:
  open now and past their promised time (a point in time, not a period).
"""

from __future__ import annotations

import time
from typing import Any, Counter, Dict, Optional

from bot import keys
from bot.followups._store import read_log

__all__ = ["followup_figures"]


def _pct(part: float, whole: float) -> Optional[float]:
    return round(100.0 * part / whole, 1) if whole else None


def followup_figures(redis: Any, start: float, end: float, now: Optional[float] = None) -> Dict[str, Any]:
    counts: Counter[str] = Counter()
    by_kind: Dict[str, Counter[str]] = {}
    for entry in read_log(redis, start, end):
        counts[entry["what"]] += 1
        if entry.get("kind") and entry["kind"] != "callback":
            by_kind.setdefault(entry["kind"], Counter())[entry["what"]] += 1
    out_count = counts["sent"] + counts["queued"]
    answered = counts["yes"] + counts["no"]
    now = time.time() if now is None else now
    return {
        "followups": {"scheduled": counts["scheduled"], "sent": counts["sent"], "queued": counts["queued"],
                      "dead": counts["dead"], "answered": answered, "yes": counts["yes"], "no": counts["no"],
                      "answered_pct": _pct(answered, out_count),
                      "by_kind": {k: {w: c[w] for w in ("scheduled", "sent", "queued", "yes", "no")}
                                  for k, c in sorted(by_kind.items())}},
        "callbacks": {"opened": counts["callback_opened"], "done": counts["callback_done"],
                      "done_late": counts["callback_done_late"], "overdue": int(redis.zcount(keys.CALLBACKS_OPEN, "-inf", f"({now}")),
                      "open": int(redis.zcard(keys.CALLBACKS_OPEN))},
    }
