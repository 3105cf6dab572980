"""Redis keys of fan-written answers (one place, so the privacy inventory and the docs name the same ones).

| key | type | what |
|---|---|---|
| `canyu:fan_answers:optin` | hash | profile id -> JSON {sender, language, at}: fans who answer questions |
| `canyu:fan_answers:proposal:{id}` | hash | one proposed answer: question, text, fan, status, reviewer, KB entry |
| `canyu:fan_answers:proposals` | zset | every proposal id, scored by time |
| `canyu:fan_answers:pending` | zset | proposals waiting for a trainer |
| `canyu:fan_answers:seen:{profile}` | set | review-inbox items already offered to the fan (30 days) |
| `canyu:fan_answers:limit:{kind}:{profile}:{day}` | string | offers / proposals today (2 days) |
| `canyu:fan_answers:next_id` | string | the last proposal number |
| `canyu:fan_answers:stats:{day}` | hash | proposed, approved, rejected, published, credit_removed (90 days) |
| `canyu:fan_answers:kb_lock` | string | held while one process rewrites the fan answers KB file |
"""

from __future__ import annotations

from bot import keys

PREFIX = keys.FAN_ANSWERS_PREFIX
OPTIN = PREFIX + "optin"
PROPOSALS = PREFIX + "proposals"
PENDING = PREFIX + "pending"
NEXT_ID = PREFIX + "next_id"
KB_LOCK = PREFIX + "kb_lock"
SEEN_TTL = keys.FAN_ANSWERS_SEEN_TTL_S
LIMIT_TTL = keys.FAN_ANSWERS_LIMIT_TTL_S
STATS_TTL = keys.FAN_ANSWERS_STATS_TTL_S


def proposal_key(proposal_id: str) -> str:
    return f"{PREFIX}proposal:{proposal_id}"


def seen_key(profile: str) -> str:
    return f"{PREFIX}seen:{profile}"


def limit_key(kind: str, profile: str, day: str) -> str:
    return f"{PREFIX}limit:{kind}:{profile}:{day}"


def stats_key(day: str) -> str:
    return f"{PREFIX}stats:{day}"
