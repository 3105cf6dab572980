"""Which channel identities we trust: the one rule behind tiers, privileges and identity links.

A sender id is *verified* when one of our platform connectors wrote it after checking the platform's
signature or secret: `wechat:{openid}` (`connectors/wechat.py`) and `telegram:{user id}`
(`connectors/telegram.py`). Anything else (`rest:...` from the REST channel, where the client chooses
the id, a legacy id without a prefix, a shell session) costs nothing to make, so it earns no tier,
holds no privilege or F-code, and takes no part in an identity link.
"""

from __future__ import annotations

from typing import Tuple

from bot.errors import CanyuError

__all__ = ["VERIFIED_PREFIXES", "UnverifiedIdentity", "is_verified_identity", "require_verified"]

VERIFIED_PREFIXES: Tuple[str, ...] = ("wechat:", "telegram:")


class UnverifiedIdentity(CanyuError):
    """A tier, privilege or link was asked for by (or for) an identity no platform vouches for."""

    def __init__(self, sender_id: str, what: str) -> None:
        self.sender_id = sender_id
        self.what = what
        super().__init__(f"{what} needs a WeChat or Telegram identity (sender ids starting with "
                         f"{' or '.join(VERIFIED_PREFIXES)}); {sender_id!r} is not one")


def is_verified_identity(sender_id: object) -> bool:
    """Whether `sender_id` was written by a platform connector that checked the platform's signature.

    True only for `wechat:{id}` and `telegram:{id}` with a non-empty id; False for REST senders
    (`rest:...`), unprefixed legacy ids and anything that is not a string.
    """
    if not isinstance(sender_id, str):
        return False
    return any(sender_id.startswith(prefix) and len(sender_id) > len(prefix) for prefix in VERIFIED_PREFIXES)


def require_verified(sender_id: str, what: str) -> None:
    """Raise `UnverifiedIdentity` unless `sender_id` is verified (`what` names the refused thing)."""
    if not is_verified_identity(sender_id):
        raise UnverifiedIdentity(sender_id, what)
