"""Analytics over the event stream (`canyu:events`) and Canyu's own records (feedback, ratings).

    report = compute_report(start, end)      # dict of every figure (see _report.py for definitions)
    print(report_text(report)); report_csv(report)
"""

from bot.analytics._records import RATINGS_STREAM, add_entry, normalize_rating, ratings_between, record_rating
from bot.analytics._report import compute_report, iter_events, report_csv, report_text
from bot.analytics._told import told_figures

__all__ = ["RATINGS_STREAM", "add_entry", "compute_report", "iter_events", "normalize_rating", "ratings_between",
           "record_rating", "report_csv", "report_text", "told_figures"]
