"""One redaction filter for every log line: secrets, tokens, credentials in URLs and personal data.

Every process we start installs it before anything logs (`bot run` starts its children through `bot.child`;
the `bot` command calls `install(env)` first), with the secrets of the environment its settings were read from. It replaces the
logging module's record factory, so it covers every logger and handler, including Rasa's, Sanic's, httpx's
and python-telegram-bot's, whoever configures them later:

- the message is formatted and redacted when the record is made (`record.msg`, `record.args = ()`);
- a traceback is formatted and redacted then too (`record.exc_text`), so exception messages that carry a
  URL with a secret (requests, httpx) are cleaned as well.

What goes (`redact`):
- the values of the secret environment variables (`SECRET_VARIABLES`) wherever they appear;
- Telegram bot tokens (`123456:AA…`, and any `/bot<token>/` URL segment);
- `Bearer …` credentials, `user:password@` in URLs, and secret query or JSON fields (`secret=`, `token=`,
  `access_token=`, `password=`, `signature=`, …);
- phone, resident ID and bank card numbers (`bot.pii`, kinds `phone`, `id`, `card`).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable, List, Mapping, Pattern, Tuple

from bot.pii import mask_pii

__all__ = ["SECRET_VARIABLES", "redact", "install", "secrets_from_env"]

SECRET_VARIABLES = (
    "TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN", "WECHAT_APP_SECRET", "WECHAT_TOKEN", "WECHAT_ENCODING_AES_KEY",
    "RASA_TOKEN", "CANYU_REST_TOKEN", "CANYU_REST_HMAC_SECRET", "CANYU_CONSOLE_SECRET",
    "CANYU_CONSOLE_FORWARDED_SECRET", "CANYU_ADMIN_PASSWORD",
)
"""Environment variables whose values are secrets (their values never reach a log)."""
_MIN_SECRET_LEN = 6
_HIDDEN = "***"

_SECRET_FIELDS = r"(?:secret|app_?secret|token|access_token|secret_token|auth_token|password|passwd|api_key|" \
                 r"signature|msg_signature|encoding_aes_key)"
_PATTERNS: Tuple[Tuple[Pattern[str], str], ...] = (
    (re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+"), r"\1" + _HIDDEN),
    (re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"), _HIDDEN),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + _HIDDEN),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]+@", re.I), r"\1" + _HIDDEN + "@"),
    (re.compile(r"(?i)([?&;]" + _SECRET_FIELDS + r"=)[^&\s#'\"]+"), r"\1" + _HIDDEN),
    (re.compile(r"(?i)(['\"]" + _SECRET_FIELDS + r"['\"]\s*:\s*['\"])[^'\"]+"), r"\1" + _HIDDEN),
)


def secrets_from_env(env: Mapping[str, str]) -> List[str]:
    """The secret values set in `env` (`Settings.env`), longest first."""
    values = {env.get(name, "").strip() for name in SECRET_VARIABLES}
    password = re.match(r"[a-z]+://[^/\s:@]*:([^/\s@]+)@", env.get("REDIS_URL", ""))
    if password:
        values.add(password.group(1))
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without `secrets` (`secrets_from_env(settings.env)`), credentials or personal data (see the module
    docstring)."""
    if not text:
        return text
    for value in secrets:
        if value in text:
            text = text.replace(value, _HIDDEN)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return mask_pii(text)


def install(env: Mapping[str, str]) -> None:
    """Redact every log record made from now on in this process, hiding the secrets of `env` (idempotent: the
    logging module's record factory is process-wide, and a redacting one is not wrapped again)."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "canyu_redacting", False):
        return
    secrets = secrets_from_env(env)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, still redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message, secrets), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), secrets)
        return record

    factory.canyu_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
