"""Fan answer figures for `bot analytics` and the console report (daily counts, `canyu:fan_answers:stats:{day}`)."""

from __future__ import annotations

import time
from typing import Any, Dict

from bot.fan_answers._keys import stats_key

__all__ = ["fan_answer_figures", "FIGURES"]

FIGURES = ("proposed", "approved", "rejected", "published", "credit_removed")


def fan_answer_figures(red: Any, start: float, end: float) -> Dict[str, Dict[str, int]]:
    """{"fan_answers": {proposed, approved, rejected, published, credit_removed}} over the UTC days of [start, end)."""
    totals = {k: 0 for k in FIGURES}
    day = start - start % 86400
    while day < end:
        for field, value in red.hgetall(stats_key(time.strftime("%Y-%m-%d", time.gmtime(day)))).items():
            if field in totals:
                totals[field] += int(value)
        day += 86400
    return {"fan_answers": totals}
