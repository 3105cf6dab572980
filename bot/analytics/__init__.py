"""Analytics over the event stream (`canyu:events`) and Canyu's own records (feedback, ratings).

    report = compute_report(start, end, redis)   # dict of every figure (see _report.py for definitions)
    print(report_text(report)); report_csv(report)
"""

from bot.analytics._memory import MemoryRatings
from bot.analytics._records import (
    RATINGS_STREAM,
    RatingsLog,
    RedisRatings,
    add_entry,
    normalize_rating,
    rating_fields,
    ratings_between,
    record_rating,
)
from bot.analytics._report import compute_report, iter_events, report_csv, report_text
from bot.analytics._told import told_figures

__all__ = ["RATINGS_STREAM", "MemoryRatings", "RatingsLog", "RedisRatings", "add_entry", "compute_report", "iter_events",
           "normalize_rating", "rating_fields", "ratings_between", "record_rating", "report_csv", "report_text",
           "told_figures"]
