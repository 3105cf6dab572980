"""Fan-written answers: core fans answer the questions the bot could not, trainers approve, the KB credits them.

    fans = FanAnswers.of(redis, ctx.settings)
    fans.opt_in("telegram:42", "zh"); q = fans.next_question("telegram:42")
    p = fans.propose("telegram:42", q["item"], "能，……")
    fans.approve(p["id"], "tina", answer={"zh": ..., "en": ...}, questions={...}, name={"zh": "小北", "en": "xiaobei"})
    await tell_fan(fans.get(p["id"]), POINTS_PER_ANSWER, ctx.outbound, ctx.texts)

Published answers live in `knowledge/faq/fan_answers.yml` with `credit:` (bot.knowledge.loader adds the line
"这条答案由米粉 @小北 贡献" / "Answer by fan @xiaobei"). Redis keys: `bot.fan_answers._keys`. The records are kept
through `FanAnswerRecords` (`RedisFanAnswerRecords`; `MemoryFanAnswerRecords` in unit tests).
"""

from bot.fan_answers._figures import fan_answer_figures
from bot.fan_answers._memory import MemoryFanAnswerRecords
from bot.fan_answers._notify import message_for, tell_fan
from bot.fan_answers._publish import FAN_FILE, entries, fan_file
from bot.fan_answers._records import FanAnswerRecords, RedisFanAnswerRecords
from bot.fan_answers._store import (
    ELIGIBLE_TIERS,
    OFFERED_REASONS,
    OFFERS_PER_DAY,
    POINTS_PER_ANSWER,
    PROPOSALS_PER_DAY,
    STAT_FIELDS,
    FanAnswerError,
    FanAnswers,
    NotEligible,
    NotOptedIn,
    RateLimited,
)

__all__ = ["ELIGIBLE_TIERS", "FAN_FILE", "OFFERED_REASONS", "OFFERS_PER_DAY", "POINTS_PER_ANSWER", "PROPOSALS_PER_DAY",
           "STAT_FIELDS", "FanAnswerError", "FanAnswerRecords", "FanAnswers", "MemoryFanAnswerRecords",
           "RedisFanAnswerRecords", "NotEligible", "NotOptedIn", "RateLimited", "entries",
           "fan_answer_figures", "fan_file", "message_for", "tell_fan"]
