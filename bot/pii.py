"""Personal data in free text: patterns for phone, ID card, bank card numbers and e-mail, and `mask_pii`.

    mask_pii("call me on 13812345678", ["phone"])   # 'call me on 138****5678'

Kinds (`KINDS`):
- `phone`: Chinese mobile numbers (`1[3-9]` + 9 digits, spaces or dashes allowed as 3-4-4) and international
  numbers written with `+` (7-15 digits); first 3 and last 4 digits stay.
- `id`: Chinese resident identity numbers (18 characters: region, a 19xx/20xx birth date, 3 digits, a digit
  or X); first 3 and last 4 characters stay.
- `card`: bank card numbers (13-19 digits, spaces or dashes allowed, passing the Luhn check); first 4 and
  last 4 digits stay.
- `email`: the local part keeps its first character (`l***@example.com`).

Separators stay where they were, so a masked text keeps its length and shape. The compiled patterns are
public (`PHONE_RE`, `ID_RE`, `CARD_RE`, `EMAIL_RE`, with `luhn_ok`) for other redaction (log filters).
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Match, Pattern, Tuple

__all__ = ["CARD_RE", "DEFAULT_KINDS", "EMAIL_RE", "ID_RE", "KINDS", "PHONE_RE", "luhn_ok", "mask_pii",
           "parse_kinds"]

KINDS = ("phone", "id", "card", "email")
DEFAULT_KINDS = ("phone", "id", "card")
MASK = "*"

PHONE_RE: Pattern[str] = re.compile(
    r"(?<![0-9A-Za-z+*])\+\d(?:[ \-]?\d){6,14}(?![\d*])"  # international, + and 7-15 digits
    r"|(?<![0-9A-Za-z*])1[3-9]\d(?:\d{8}|[ \-]\d{4}[ \-]\d{4})(?![\d*])"  # CN mobile 13812345678 / 138 1234 5678
)
ID_RE: Pattern[str] = re.compile(
    r"(?<![0-9A-Za-z*])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z*])"
)
CARD_RE: Pattern[str] = re.compile(r"(?<![0-9A-Za-z*])\d(?:[ \-]?\d){12,18}(?![\d*])")
EMAIL_RE: Pattern[str] = re.compile(r"(?<![\w.+\-])([A-Za-z0-9._%+\-]+)@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})")


def luhn_ok(number: str) -> bool:
    """True if the digits of `number` (other characters ignored) pass the Luhn check; needs 2+ digits."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _keep_ends(text: str, head: int, tail: int) -> str:
    """`text` with every digit (or X) outside the first `head` and last `tail` of them replaced by `MASK`."""
    positions = [i for i, c in enumerate(text) if c.isdigit() or c in "Xx"]
    hidden = set(positions[head:len(positions) - tail] if len(positions) > head + tail else [])
    return "".join(MASK if i in hidden else c for i, c in enumerate(text))


def _phone(m: Match[str]) -> str:
    return _keep_ends(m.group(0), 3, 4)


def _id(m: Match[str]) -> str:
    return _keep_ends(m.group(0), 3, 4)


def _card(m: Match[str]) -> str:
    text = m.group(0)
    return _keep_ends(text, 4, 4) if luhn_ok(text) else text


def _email(m: Match[str]) -> str:
    local = m.group(1)
    return local[0] + MASK * 3 + "@" + m.group(2)


# An 18-character ID is masked whole before the other patterns look; a phone number before the card pattern
# (some phone numbers pass the Luhn check and would lose more digits as a card).
_ORDER: Tuple[Tuple[str, Pattern[str], Callable[[Match[str]], str]], ...] = (
    ("id", ID_RE, _id), ("phone", PHONE_RE, _phone), ("card", CARD_RE, _card), ("email", EMAIL_RE, _email),
)


def parse_kinds(raw: str) -> Tuple[str, ...]:
    """`"phone,id"` → `("phone", "id")`; `"all"` = every kind, `"none"`/`"off"` = nothing; raises ValueError."""
    words = [w.strip().lower() for w in (raw or "").replace(" ", ",").split(",") if w.strip()]
    if words in (["none"], ["off"]):
        return ()
    if words == ["all"]:
        return KINDS
    unknown = [w for w in words if w not in KINDS]
    if unknown:
        raise ValueError(f"unknown PII kind(s) {', '.join(map(repr, unknown))}; use some of {', '.join(KINDS)}, "
                         "'all' or 'none'")
    return tuple(k for k in KINDS if k in words)


def mask_pii(text: str, kinds: Iterable[str] = DEFAULT_KINDS) -> str:
    """`text` with the personal data of `kinds` masked (`138****5678`); unknown kinds raise ValueError."""
    wanted = set(kinds)
    unknown = wanted.difference(KINDS)
    if unknown:
        raise ValueError(f"unknown PII kind(s) {sorted(unknown)}; use some of {', '.join(KINDS)}")
    if not text or not wanted:
        return text
    for kind, pattern, replace in _ORDER:
        if kind in wanted:
            text = pattern.sub(replace, text)
    return text

