"""The escalation policy from `escalation.yml`: when a conversation goes to a person, why, and how urgently.

One function decides, for the Rasa policy (which predicts `action_handoff`) and for the action (which
records the reason) alike:

    from bot.handoff.rules import assess, turns_from_events
    escalation = assess(turns_from_events(tracker_events), load_config(config_path(ctx.settings)))
    if escalation: print(escalation.rule, escalation.reason, escalation.priority, escalation.cue)

The file is found at `CANYU_ESCALATION_FILE`, else `<CANYU_HOME or repo root>/escalation.yml`, and is
re-read when it changes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Pattern, Sequence, Tuple

from bot import yaml_files
from bot.errors import CanyuError, ConfigError

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [
    "Turn",
    "Rule",
    "Escalation",
    "EscalationConfig",
    "config_path",
    "load_config",
    "parse_config",
    "assess",
    "turns_from_events",
    "answer_first_rule",
    "tier_priority",
    "estimate_wait_minutes",
    "parse_rating",
]

FALLBACK_INTENT = "nlu_fallback"
_LATIN = re.compile(r"^[\x00-\x7f]+$")


@dataclass(frozen=True)
class Turn:
    """One user message as the rules see it."""

    text: str
    intent: Optional[str] = None
    confidence: float = 1.0
    metadata: Mapping[str, Any] = field(default_factory=dict)
    kb_answered: bool = False  # the bot answered it from the knowledge base (so it was understood after all)


@dataclass(frozen=True)
class Rule:
    name: str
    reason: str
    priority: int
    urgent: bool = False
    intents: Tuple[str, ...] = ()
    matchers: Tuple[Tuple[str, Pattern[str]], ...] = ()
    low_confidence_threshold: Optional[float] = None
    low_confidence_turns: int = 2
    answer_first: bool = False  # a question the knowledge base clearly answers is answered, and a person offered

    def match_text(self, text: str) -> Optional[str]:
        """The cue (keyword or pattern) found in `text`, or None."""
        for cue, pattern in self.matchers:
            if pattern.search(text):
                return cue
        return None


@dataclass(frozen=True)
class Escalation:
    """Why a conversation goes to a person: the rule, its reason, its priority and what triggered it."""

    rule: str
    reason: str
    priority: int
    urgent: bool
    cue: str
    also: Tuple[str, ...] = ()
    answer_first: bool = False  # its rule says so and no other rule matched too

    def as_dict(self) -> Dict[str, Any]:
        return {"rule": self.rule, "reason": self.reason, "priority": self.priority, "urgent": self.urgent,
                "cue": self.cue, "also": list(self.also)}


@dataclass(frozen=True)
class EscalationConfig:
    rules: Tuple[Rule, ...]
    tier_boost: Mapping[str, int]
    trust_metadata_tier: bool
    minutes_per_conversation: float
    no_agent_timeout_seconds: float
    agent_online_seconds: float
    canned_replies: Mapping[str, List[str]]
    perks: Mapping[str, Mapping[str, Any]]
    source: str = "escalation.yml"

    def rule(self, name: str) -> Optional[Rule]:
        return next((r for r in self.rules if r.name == name), None)


def _keyword_pattern(keyword: str) -> Pattern[str]:
    """A Latin keyword is a word of its own: not inside another word, nor inside a code of letters and digits (a
    link code "WTF27-…" typed by a calm user is no frustration)."""
    escaped = re.escape(keyword.strip()).replace(r"\ ", r"\s+")
    if _LATIN.match(keyword):
        return re.compile(rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])", re.IGNORECASE)
    return re.compile(escaped, re.IGNORECASE)


def _keywords(raw: Any, where: str) -> List[str]:
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        out: List[str] = []
        for value in raw.values():
            out.extend(_keywords(value, where))
        return out
    if isinstance(raw, (list, tuple)):
        return [str(k) for k in raw if str(k).strip()]
    raise ConfigError(f"{where}: keywords must be a list or a mapping of language -> list, not {raw!r}")


def parse_config(data: Mapping[str, Any], source: str = "escalation.yml") -> EscalationConfig:
    """Build the config from parsed YAML; errors say which entry is wrong and how to fix it."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping with 'rules:' at the top level")
    rules: List[Rule] = []
    for i, raw in enumerate(data.get("rules") or []):
        where = f"{source}: rules[{i}]"
        if not isinstance(raw, Mapping) or not raw.get("name"):
            raise ConfigError(f"{where}: every rule needs a 'name' (e.g. name: safety)")
        where = f"{source}: rule '{raw['name']}'"
        matchers: List[Tuple[str, Pattern[str]]] = []
        for kw in _keywords(raw.get("keywords"), where):
            matchers.append((kw, _keyword_pattern(kw)))
        for pat in raw.get("patterns") or []:
            try:
                matchers.append((str(pat), re.compile(str(pat), re.IGNORECASE)))
            except re.error as exc:
                # cause dropped: the message quotes the pattern and re's reason
                raise ConfigError(f"{where}: pattern {pat!r} is not a valid regular expression ({exc})") from None
        low = raw.get("low_confidence") or {}
        try:
            priority = int(raw.get("priority", 10))
            threshold = float(low["threshold"]) if low else None
            turns = int(low.get("turns", 2)) if low else 2
        except (TypeError, ValueError, KeyError) as exc:
            raise ConfigError(f"{where}: priority, low_confidence.threshold and .turns must be numbers ({exc})") from exc
        rules.append(Rule(
            name=str(raw["name"]), reason=str(raw.get("reason") or raw["name"]), priority=priority,
            urgent=bool(raw.get("urgent", False)), intents=tuple(raw.get("intents") or ()),
            matchers=tuple(matchers), low_confidence_threshold=threshold, low_confidence_turns=max(1, turns),
            answer_first=bool(raw.get("answer_first", False)),
        ))
    tiers = data.get("tiers") or {}
    wait = data.get("wait") or {}
    try:
        return EscalationConfig(
            rules=tuple(rules),
            tier_boost={str(k): int(v) for k, v in (tiers.get("boost") or {}).items()},
            trust_metadata_tier=bool(tiers.get("trust_metadata", False)),
            minutes_per_conversation=float(wait.get("minutes_per_conversation", 4)),
            no_agent_timeout_seconds=float(wait.get("no_agent_timeout_seconds", 300)),
            agent_online_seconds=float(wait.get("agent_online_seconds", 90)),
            canned_replies={str(k): [str(x) for x in v] for k, v in (data.get("canned_replies") or {}).items()},
            perks={str(k): dict(v) for k, v in (data.get("perks") or {}).items()},
            source=source,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{source}: tiers/wait/canned_replies/perks have a wrong shape ({exc}); see the comments in the file") from exc


def config_path(settings: "Settings") -> Path:
    """The escalation rules file: `CANYU_ESCALATION_FILE`, else `<home>/escalation.yml`."""
    explicit = settings.env.get("CANYU_ESCALATION_FILE")
    return Path(explicit) if explicit else settings.home / "escalation.yml"


def _parse_file(data: Any, source: str) -> EscalationConfig:
    return parse_config(data or {}, source)


def load_config(path: Path) -> EscalationConfig:
    """The parsed escalation rules at `path` (`config_path(ctx.settings)`; cached, re-read when the file
    changes)."""
    return yaml_files.load(Path(path), _parse_file,
                           missing="escalation config not found; create it or set CANYU_ESCALATION_FILE")


def _is_low(turn: Turn, threshold: float) -> bool:
    if turn.text.startswith("/"):
        return False
    if turn.kb_answered:
        return False
    return turn.intent in (None, FALLBACK_INTENT) or turn.confidence < threshold


def assess(turns: Sequence[Turn], config: EscalationConfig) -> Optional[Escalation]:
    """Decide on the latest turn (`turns` oldest first): the highest-priority rule of `config` that matches, or
    None."""
    if not turns:
        return None
    latest = turns[-1]
    text = latest.text or ""
    hits: List[Tuple[Rule, str]] = []
    for rule in config.rules:
        cue: Optional[str] = None
        if text and not text.startswith("/"):
            cue = rule.match_text(text)
        if cue is None and latest.intent and latest.intent in rule.intents:
            cue = f"intent {latest.intent} ({latest.confidence:.2f})"
        if cue is None and rule.low_confidence_threshold is not None:
            recent = list(turns[-rule.low_confidence_turns:])
            if len(recent) == rule.low_confidence_turns and all(_is_low(t, rule.low_confidence_threshold) for t in recent):
                cue = f"{len(recent)} turns below {rule.low_confidence_threshold:.2f}"
        if cue is not None:
            hits.append((rule, cue))
    if not hits:
        return None
    hits.sort(key=lambda h: (h[0].urgent, h[0].priority), reverse=True)
    best, cue = hits[0]
    return Escalation(best.name, best.reason, best.priority, best.urgent, cue, tuple(r.name for r, _ in hits[1:]),
                      answer_first=best.answer_first and len(hits) == 1)


def _get(event: Any, key: str, default: Any = None) -> Any:
    if isinstance(event, Mapping):
        return event.get(key, default)
    return getattr(event, key, default)


def answer_first_rule(events: Iterable[Any], settings: "Settings") -> Optional[str]:
    """The `answer_first` rule the latest turn of `events` met alone (frustration, two missed turns), or None, also
    for a broken escalation.yml (the EscalationPolicy logged it): the answer path answers such a turn first."""
    try:
        escalation = assess(turns_from_events(events), load_config(config_path(settings)))
    except CanyuError:
        return None
    return escalation.rule if escalation is not None and escalation.answer_first else None


def turns_from_events(events: Iterable[Any], limit: int = 5) -> List[Turn]:
    """The last `limit` user turns since the latest resume/restart/session start, oldest first.

    A turn after which a `kb_entry` slot was set counts as understood (the knowledge base answered it).

    Works on Rasa event objects (`rasa.shared.core.events`) and on event dicts (rasa_sdk trackers).
    """
    turns: List[Turn] = []
    kb_answered = False
    for event in reversed(list(events)):
        kind = event.get("event") if isinstance(event, Mapping) else getattr(event, "type_name", "")
        if kind in ("resume", "restart", "session_started"):
            break
        if kind == "slot":
            name = event.get("name") if isinstance(event, Mapping) else getattr(event, "key", None)
            if name == "kb_entry" and _get(event, "value"):
                kb_answered = True
            continue
        if kind != "user":
            continue
        if isinstance(event, Mapping):
            parse = event.get("parse_data") or {}
            intent = parse.get("intent") or {}
        else:
            intent = getattr(event, "intent", None) or {}
        turns.append(Turn(
            text=str(_get(event, "text") or ""),
            intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0),
            metadata=dict(_get(event, "metadata") or {}),
            kb_answered=kb_answered,
        ))
        kb_answered = False
        if len(turns) >= limit:
            break
    turns.reverse()
    return turns


def tier_priority(priority: int, tier: Optional[str], config: EscalationConfig) -> int:
    """`priority` raised by the user's tier boost (vip, fan, ...)."""
    return priority + int(config.tier_boost.get(tier or "", 0))


def estimate_wait_minutes(ahead: int, agents_online: int, config: EscalationConfig) -> Optional[int]:
    """Rough wait for a user with `ahead` conversations before them; None when no agent is online."""
    if agents_online <= 0:
        return None
    return max(1, math.ceil((ahead + 1) * config.minutes_per_conversation / agents_online))


_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_RATING = re.compile(r"^\s*(?:rating|rate|评分|打分|给)?\s*[:：]?\s*([1-5一二两三四五])\s*(?:/\s*5|分|星|颗星|stars?|points?)?\s*[!！。.]?\s*$", re.IGNORECASE)


def parse_rating(text: str) -> Optional[int]:
    """1-5 from a typed rating ("4", "5星", "五分", "3 stars", "⭐⭐⭐"), else None."""
    text = (text or "").strip()
    stars = text.count("⭐") + text.count("★")
    if stars and not text.replace("⭐", "").replace("★", "").strip():
        return stars if 1 <= stars <= 5 else None
    m = _RATING.match(text)
    if not m:
        return None
    raw = m.group(1)
    return int(raw) if raw.isdigit() else _ZH_DIGITS[raw]
