"""Words of a restock alert: wanting to be told when something is back, as against asking whether it is there.

A restock alert is asked for by wanting to be told ("到货了通知我", "ping me when the pro is back", "add me to the
waitlist"); a stock word alone asks whether it is there ("band 9 in stock or nah", "power bank restocked yet?"), which
the answer path answers (live stock, and the alert offered when it is sold out): AnswerPathPolicy.
"""

from __future__ import annotations

import re

__all__ = ["STOCK_ASK", "wants_to_be_told", "asks_for_restock_alert"]

_BE_TOLD = re.compile(r"通知|提醒|告诉我|叫我|喊我|跟我说|和我说|给我说|说一声|吱一声|知会|给我(?:发|来)(?:个|条)?(?:消息|信息|短信|微信)|发(?:个|条)?(?:消息|信息|短信)给我|登记|(?<!时)候补|排队|订阅|预约|"
                      r"\bnotif\w*|\bping\b|\blet (?:me|us) know\b|\blemme know\b|\blmk\b|\btell (?:me|us)\b|\b(?:msg|message|text|dm|email|"
                      r"hit|call) (?:me|us)\b|\balert\w*|\bremind\w*|\bwait ?-?list\b|\bwaiting list\b|\bsign (?:me|us) up\b|"
                      r"\b(?:put|add) (?:me|us)\b|\bhmu\b|\bkeep (?:me|us) posted\b|\bheads ?-?up\b|\bsubscrib\w*", re.IGNORECASE)
STOCK_ASK = re.compile(r"有货|没货|现货|缺货|断货|到货|补货|库存|卖完|售罄|\bin stock\b|\bout of stock\b|\bsold out\b|"
                       r"\brestock\w*|\bavailab\w*", re.IGNORECASE)


def wants_to_be_told(text: str) -> bool:
    """Whether a message asks to be told later ("到货了通知我", "ping me when it's back"), not whether it is in stock."""
    return (text or "").startswith("/") or bool(_BE_TOLD.search(text or ""))


_AWAITED = re.compile(STOCK_ASK.pattern + r"|\bback\b|\bwait ?-?list\b|\bwaiting list\b|(?<!时)候补|排队", re.IGNORECASE)
_WHY = re.compile(r"为啥|为什么|\bwhy\b", re.IGNORECASE)


def asks_for_restock_alert(text: str) -> bool:
    """A restock alert asked for in its own words, whatever the NLU says ("pls add me to the waitlist for the pro in sky
    blue", "天青蓝的pro有货了麻烦在这叫我一声"): wanting to be told of stock; not a notification ("got an 'update
    available' notification") nor a why ("为啥我排队能优先")."""
    told = re.sub(r"notifications?", "", text or "", flags=re.IGNORECASE)
    return not told.startswith("/") and wants_to_be_told(told) and bool(_AWAITED.search(told)) and not _WHY.search(told)
