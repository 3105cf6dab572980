"""Analytics over the event stream (`canyu:events`) and Canyu's own records (feedback, ratings)."""

from bot.analytics._records import RATINGS_STREAM, normalize_rating, ratings_between, record_rating

__all__ = ["RATINGS_STREAM", "normalize_rating", "ratings_between", "record_rating"]
