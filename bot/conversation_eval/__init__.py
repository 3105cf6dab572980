"""`bot eval conversations FILE`: how often the real assistant gets a fan's first message right.

FILE (e.g. `tests/conversations/first_questions.yml`) is a YAML list of items:

    - text: "耳机左边突然没声了咋回事"
      lang: zh
      expect: "entry:buds_one_side"        # or a list of acceptable outcomes; fnmatch patterns allowed
      tags: [typo, slang]

An item may carry `before: ["14pro电池多大"]`: messages the same sender sends first, not scored; the item's text is
then their follow-up ("那14呢" → `spec:phone_14:battery`), scored on its own turn (tag `follow-up`).
Each item is sent as the first message of a fresh sender over the REST webhook of a running assistant
(started here like `tests/harness.py` does, or given by URL + token); the outcome is read from that
sender's tracker (`outcome_from_events`, precedence below) and compared with `expect`.

Outcomes: `handoff`, `flow:<name>`, `entry:<faq id>`, `spec:<product>[+<product>]:<spec>`,
`catalog:lineup[:<category>]`, `suggest` (a "did you mean"), `unsure`, `reply:<utter_name>`, `none`.
A KB entry id that already names its kind (`spec:…`, `catalog:…`) is the outcome itself;
`entry:spec:…` in an expectation means the same as `spec:…`.
The package: `_set.py` reads and checks the set, `_outcome.py` reads a turn's outcome from tracker events,
`_asking.py` sends the items over the REST channel, `_report.py` scores and prints, `_leaks.py` keeps the set
out of the training data, `_command.py` is `bot eval conversations` (it starts the assistant when no URL is given).
"""

from bot.conversation_eval._asking import DEFAULT_WORKERS, REQUEST_TIMEOUT, Result, ask, evaluate
from bot.conversation_eval._command import main_conversations, run, start_stack
from bot.conversation_eval._leaks import leaked, normalise, training_texts
from bot.conversation_eval._outcome import (
                                            FLOW_ACTIONS,
                                            HANDOFF_ACTION,
                                            UNSURE_RESPONSES,
                                            events_after_first_user_message,
                                            outcome_from_events,
)
from bot.conversation_eval._report import format_report, summarise, write_report
from bot.conversation_eval._set import LANGUAGES, TAGS, Item, canonical, kind, load_items, matches

__all__ = [
    "DEFAULT_WORKERS",
    "FLOW_ACTIONS",
    "HANDOFF_ACTION",
    "LANGUAGES",
    "REQUEST_TIMEOUT",
    "TAGS",
    "UNSURE_RESPONSES",
    "Item",
    "Result",
    "ask",
    "canonical",
    "evaluate",
    "events_after_first_user_message",
    "format_report",
    "kind",
    "leaked",
    "load_items",
    "main_conversations",
    "matches",
    "normalise",
    "outcome_from_events",
    "run",
    "start_stack",
    "summarise",
    "training_texts",
    "write_report",
]
