"""All Canyu exceptions, under one root.

CanyuError
├── ConfigError        a setting or config file is wrong (says which and how to fix it)
├── DataError          training data / knowledge base is invalid (carries file and line)
├── StorageError       Redis or the order database is unreachable or inconsistent
└── ConnectorError     a chat platform rejected a call or sent something we cannot use
    ├── DeliveryError  sending to a user failed (`permanent`: trying again will not help)
    │   └── WindowClosed  WeChat's 48-hour window is closed or its quota used: wait for the user
    └── RasaUnavailable  Rasa's HTTP API did not answer or refused a call (`bot.rasa_client`)
"""

from __future__ import annotations

from typing import Optional


class CanyuError(Exception):
    """Root of every error Canyu raises on purpose."""


class ConfigError(CanyuError):
    """A setting is missing or has a bad value."""


class DataError(CanyuError):
    """Trainer-edited data is invalid; `file` and `line` point at the problem."""

    def __init__(self, message: str, file: Optional[str] = None, line: Optional[int] = None) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")


class StorageError(CanyuError):
    """Redis or another store failed."""


class ConnectorError(CanyuError):
    """A chat platform call failed; `platform` and `code` say which and why."""

    def __init__(self, message: str, platform: str = "", code: Optional[int] = None) -> None:
        self.platform = platform
        self.code = code
        super().__init__(message)


class DeliveryError(ConnectorError):
    """A message could not be delivered to a user. `permanent` (blocked bot, unknown user, malformed message)
    sends it straight to the dead letters; otherwise it is retried with backoff."""

    def __init__(self, message: str, platform: str = "", code: Optional[int] = None, permanent: bool = False) -> None:
        super().__init__(message, platform=platform, code=code)
        self.permanent = permanent


class WindowClosed(DeliveryError):
    """WeChat refuses to message this user now (48-hour window closed: 45015/45047; daily quota: 45009); the
    messages wait until the user writes again."""


class RasaUnavailable(ConnectorError):
    """Rasa's HTTP API failed (`bot.rasa_client.RasaClient`, the one client): `code` is the HTTP status it answered,
    None when it did not answer; `detail` is the start of its answer, or the name of the network error."""

    def __init__(self, message: str, code: Optional[int] = None, detail: str = "") -> None:
        super().__init__(message, platform="rasa", code=code)
        self.detail = detail
