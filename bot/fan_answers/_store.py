"""Fan-written answers: opt in, an open question offered, a proposed answer, a trainer's decision.

    fans = FanAnswers.of(redis, ctx.settings)
    fans.opt_in("telegram:42", "zh")                 # core fans and beta testers only (bot.fans tiers)
    q = fans.next_question("telegram:42")            # an open review-inbox question, rate-limited per day
    p = fans.propose("telegram:42", q["item"], "...")  # waits for a trainer (rate-limited per day)
    fans.approve(p["id"], "tina", answer={...}, questions={...}, name={...})  # published, credited
    fans.reject(p["id"], "tina", "not accurate")
    fans.remove_credit(p["id"], "tina")              # the answer stays, the fan's name goes

Abuse: only verified core fans (WeChat/Telegram identities in tier `ELIGIBLE_TIERS`) take part; at most
`OFFERS_PER_DAY` questions offered and `PROPOSALS_PER_DAY` answers proposed per fan per day; nothing reaches
users without a trainer's approval; a trainer can remove the credit at any time, and a fan's erasure
removes it (`forget_fan`). Keys: `bot.fan_answers._keys`.

What is kept goes through `FanAnswerRecords` (`_records.py`: Redis; `_memory.py`: in memory); this module decides
(eligibility, limits, the trainer's decision, publishing to the KB).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from bot.errors import CanyuError, DataError
from bot.fan_answers._publish import drop_credit, entries, entry_id_for, upsert_entry
from bot.fan_answers._records import FanAnswerRecords, RedisFanAnswerRecords

if TYPE_CHECKING:
    import redis

    from bot.fans import TierRules
    from bot.settings import Settings

__all__ = ["FanAnswers", "FanAnswerError", "NotEligible", "NotOptedIn", "RateLimited", "ELIGIBLE_TIERS",
           "OFFERS_PER_DAY", "PROPOSALS_PER_DAY", "POINTS_PER_ANSWER", "OFFERED_REASONS", "STAT_FIELDS"]

ELIGIBLE_TIERS = ("core_fan", "beta_tester")
OFFERS_PER_DAY = 5
PROPOSALS_PER_DAY = 3
POINTS_PER_ANSWER = 10
MIN_CHARS, MAX_CHARS = 6, 600
OFFERED_REASONS = ("out_of_scope", "fallback", "low_confidence", "rated_down", "rephrased")
STAT_FIELDS = ("proposed", "approved", "rejected", "published", "credit_removed")


class FanAnswerError(CanyuError):
    """Root of the fan answer errors (the chat turns each into a friendly reply)."""


class NotEligible(FanAnswerError):
    """Only verified core fans answer questions; `tier` is the person's tier now."""

    def __init__(self, sender_id: str, tier: str, verified: bool) -> None:
        self.tier, self.verified = tier, verified
        why = "is not a WeChat or Telegram identity" if not verified else f"is in tier {tier!r}"
        super().__init__(f"{sender_id} {why}; fan answers need one of {', '.join(ELIGIBLE_TIERS)} "
                         "on WeChat or Telegram")


class NotOptedIn(FanAnswerError):
    """The fan has not said they want to answer questions (or opted out)."""


class RateLimited(FanAnswerError):
    """`kind` ("offers" or "proposals") reached `limit` today."""

    def __init__(self, kind: str, limit: int) -> None:
        self.kind, self.limit = kind, limit
        super().__init__(f"{limit} {kind} a day at most; try again tomorrow (UTC)")


def _day(ts: Optional[float] = None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts if ts is not None else time.time()))


class FanAnswers:
    """Fan answers on one Redis (`decode_responses=True`: fan tiers, the review inbox, the KB file's lock);
    `kb_root` is the knowledge folder (tests: a copy), `home` the project folder (its review inbox), `cache` the
    KB index cache folder whose reload marker a publication touches (None: no action server reads it, e.g. a
    test's copy), `rules` the fan tiers (who may take part); `FanAnswers.of(red, settings)` takes them all from
    the caller's settings. `records` holds the fan answers' own records (default: on the same Redis)."""

    def __init__(self, red: "redis.Redis[str]", kb_root: Path, home: str, *, rules: "TierRules",
                 cache: Optional[Path] = None, records: Optional[FanAnswerRecords] = None) -> None:
        self.red = red
        self.kb_root = kb_root
        self.home = home
        self.rules = rules
        self.cache = cache
        self.records: FanAnswerRecords = records if records is not None else RedisFanAnswerRecords(red)

    @classmethod
    def of(cls, red: "redis.Redis[str]", settings: "Settings") -> "FanAnswers":
        """The fan answers of a deployment: its knowledge folder, project folder and index cache (`settings`)."""
        from bot.fans import load_rules, rules_path
        from bot.knowledge.config import cache_dir, knowledge_dir

        return cls(red, knowledge_dir(settings.env), str(settings.home), rules=load_rules(rules_path(settings)),
                   cache=cache_dir(settings.env))

    # ------------------------------------------------------------ who takes part
    def profile(self, sender_id: str) -> str:
        from bot.fans import profile_id

        return profile_id(sender_id, self.red)

    def check_eligible(self, sender_id: str) -> None:
        from bot.fans import is_verified_identity, status_of

        status = status_of(sender_id, self.red, self.rules)
        verified = is_verified_identity(sender_id)
        if not verified or status.tier.id not in ELIGIBLE_TIERS:
            raise NotEligible(sender_id, status.tier.id, verified)

    def opt_in(self, sender_id: str, language: str) -> None:
        self.check_eligible(sender_id)
        self.records.opt_in(self.profile(sender_id), {"sender": sender_id, "language": language, "at": time.time()})

    def opt_out(self, sender_id: str) -> bool:
        return self.records.opt_out(self.profile(sender_id))

    def opted_in(self, sender_id: str) -> bool:
        return self.records.opted_in(self.profile(sender_id))

    def _count(self, kind: str, profile: str, limit: int) -> None:
        if self.records.count(kind, profile, _day()) > limit:
            raise RateLimited(kind, limit)

    def _stat(self, field: str) -> None:
        self.records.bump_stat(_day(), field)

    def _field(self, proposal_id: str, name: str) -> Any:
        return (self.records.get(proposal_id) or {}).get(name)

    # ------------------------------------------------------------ questions for fans
    def _inbox(self) -> Any:
        from bot.trainer.review import Review

        return Review(self.red, self.home).inbox

    def next_question(self, sender_id: str) -> Optional[Dict[str, Any]]:
        """An open question for the fan ({item, text, language}), or None when there is none.

        Not their own question, not one offered to them before, not one with an answer waiting for review."""
        self.check_eligible(sender_id)
        if not self.opted_in(sender_id):
            raise NotOptedIn(f"{sender_id} has not opted in to answering questions")
        profile = self.profile(sender_id)
        inbox = self._inbox()
        inbox.sync()
        from bot.fans import identities

        own = set(identities(profile, self.red))
        waiting = {self._field(p, "item") for p in self.records.pending()}
        seen = self.records.seen(profile)
        answers = {_norm(self._field(p, "text") or "") for p in self.records.recent(500)}
        for item in inbox.open_items(reasons=OFFERED_REASONS):
            if _norm(item["text"]) in answers:  # a fan's answer the inbox took for a question: not one
                inbox.close([item["id"]], "fan_answer_text", "fan_answers")
                continue
            if item["id"] in seen or item["id"] in waiting or item.get("sender") in own:
                continue
            self._count("offers", profile, OFFERS_PER_DAY)
            self.records.mark_seen(profile, item["id"])
            return {"item": item["id"], "text": item["text"], "language": item.get("language") or _lang(item["text"])}
        return None

    # ------------------------------------------------------------ proposals
    def propose(self, sender_id: str, item_id: str, text: str, language: Optional[str] = None) -> Dict[str, Any]:
        """File the fan's answer to inbox item `item_id` for a trainer; returns the proposal."""
        self.check_eligible(sender_id)
        if not self.opted_in(sender_id):
            raise NotOptedIn(f"{sender_id} has not opted in to answering questions")
        text = " ".join((text or "").split())
        if not MIN_CHARS <= len(text) <= MAX_CHARS:
            raise DataError(f"an answer needs {MIN_CHARS}-{MAX_CHARS} characters, this one has {len(text)}")
        item = self._inbox().get(item_id)
        if item is None:
            raise DataError(f"no review inbox item {item_id!r}")
        profile = self.profile(sender_id)
        self._count("proposals", profile, PROPOSALS_PER_DAY)
        number = self.records.next_number()
        now = time.time()
        proposal = {"id": f"FA{number}", "item": item_id, "question": item["text"],
                    "question_language": item.get("language") or _lang(item["text"]), "text": text,
                    "language": language or _lang(text), "profile": profile, "sender": sender_id,
                    "status": "proposed", "ts": now}
        self.records.add(proposal)
        self._stat("proposed")
        return proposal

    def get(self, proposal_id: str) -> Dict[str, Any]:
        proposal = self.records.get(proposal_id)
        if not proposal:
            raise DataError(f"no fan answer {proposal_id!r}; the Fan answers page lists them")
        return proposal

    def pending(self) -> List[Dict[str, Any]]:
        return [self.get(p) for p in self.records.pending()]

    def recent(self, limit: int = 50) -> List[Dict[str, Any]]:
        out = []
        for p in self.records.recent(limit):
            try:
                out.append(self.get(p))
            except DataError:  # erased with its fan
                continue
        return out

    def _claim(self, proposal_id: str, by: str) -> Dict[str, Any]:
        """One trainer decides a proposal: two approving at once would publish (and count) it twice."""
        proposal = self.get(proposal_id)
        if proposal["status"] != "proposed":
            raise DataError(f"fan answer {proposal_id} is already {proposal['status']} (by {proposal.get('by')})")
        who = self.records.claim(proposal_id, by)
        if who is not None:
            raise DataError(f"fan answer {proposal_id} is being decided by {who} right now; reload in a moment")
        return proposal

    def _decide(self, proposal_id: str, status: str, by: str, **fields: Any) -> Dict[str, Any]:
        proposal = self.get(proposal_id)
        changes = dict(fields, status=status, by=by, decided=time.time())
        self.records.update(proposal_id, changes, decided=True)
        proposal.update(changes)
        return proposal

    def approve(self, proposal_id: str, by: str, answer: Dict[str, str], questions: Dict[str, List[str]],
                name: Dict[str, str], products: Optional[List[str]] = None) -> Dict[str, Any]:
        """Publish the (edited) answer as a credited KB entry; the fan gains `POINTS_PER_ANSWER` tier points.

        `answer` and `name` need en and zh; `questions` at least one phrasing per language (the KB's rule)."""
        proposal = self.get(proposal_id)
        if proposal["status"] != "proposed":
            raise DataError(f"fan answer {proposal_id} is already {proposal['status']} (by {proposal.get('by')})")
        entry_id = entry_id_for(proposal_id)
        credit_name = {k: name.get(k, "") for k in ("en", "zh")}
        kb_questions = {k: [q for q in questions.get(k, []) if q.strip()] for k in ("en", "zh")}
        kb_answer = {k: (answer.get(k) or "").strip() for k in ("en", "zh")}
        entry: Dict[str, Any] = {"id": entry_id, "products": list(products or []), "tags": ["fan-answer"],
                                 "credit": {"fan": proposal["profile"], "name": credit_name},
                                 "questions": kb_questions, "answer": kb_answer}
        missing = [f"answer.{k}" for k in ("en", "zh") if not kb_answer[k]]
        missing += [f"questions.{k}" for k in ("en", "zh") if not kb_questions[k]]
        missing += [f"name.{k} (the credit name)" for k in ("en", "zh") if not str(name.get(k) or "").strip()]
        if missing:
            raise DataError(f"fan answer {proposal_id}: fill in {', '.join(missing)} before approving "
                            "(every KB entry is answered in both languages)")
        self._claim(proposal_id, by)
        try:
            upsert_entry(self.red, entry, self.kb_root, self.cache)
        except Exception:
            self.records.unclaim(proposal_id)
            raise
        edited = kb_answer.get(proposal["language"]) != proposal["text"]
        decided = self._decide(proposal_id, "published", by, entry=entry_id, edited=edited, name=credit_name)
        self._stat("approved")
        self._stat("published")
        self._inbox().close([proposal["item"]], f"fan_answer:{proposal_id}", by)
        from bot.fans import add_points

        add_points(proposal["sender"], "fan_answers", POINTS_PER_ANSWER, self.red)
        return decided

    def reject(self, proposal_id: str, by: str, reason: str = "") -> Dict[str, Any]:
        self._claim(proposal_id, by)
        decided = self._decide(proposal_id, "rejected", by, reason=(reason or "").strip()[:300])
        self._stat("rejected")
        return decided

    def remove_credit(self, proposal_id: str, by: str) -> Dict[str, Any]:
        """The published answer stays in the KB; the fan's name and profile leave it."""
        proposal = self.get(proposal_id)
        if proposal["status"] != "published":
            raise DataError(f"fan answer {proposal_id} is {proposal['status']}; only a published answer has a credit")
        entry_id = str(proposal.get("entry") or "")
        if any(str(e.get("id")) == entry_id and e.get("credit") for e in entries(self.kb_root)):
            _drop_entry_credit(self.red, entry_id, self.kb_root, self.cache)
        changes = {"status": "credit_removed", "credit_removed_by": by, "credit_removed_at": time.time()}
        self.records.update(proposal_id, changes)
        self._stat("credit_removed")
        proposal.update(changes)
        return proposal

    def forget_fan(self, profiles: List[str]) -> List[str]:
        """A fan's erasure: credits naming `profiles` leave the KB (their Redis records go with `bot privacy erase`)."""
        gone = set(profiles)
        return drop_credit(self.red, lambda c: str(c.get("fan")) not in gone, self.kb_root, self.cache)

    def drop_orphan_credits(self) -> List[str]:
        """Credits whose fan was erased since (no proposal record names them any more) leave the KB."""
        known = {self._field(p, "profile") for p in self.records.ids()}
        return drop_credit(self.red, lambda c: str(c.get("fan")) in known, self.kb_root, self.cache)

    # ------------------------------------------------------------ figures
    def stats(self, days: int = 7, until: Optional[float] = None) -> Dict[str, int]:
        """Totals of `STAT_FIELDS` over the last `days` days."""
        until = until or time.time()
        totals = {f: 0 for f in STAT_FIELDS}
        for back in range(days):
            for field, value in self.records.stats(_day(until - back * 86400)).items():
                if field in totals:
                    totals[field] += value
        return totals


def _drop_entry_credit(red: Any, entry_id: str, root: Path, cache: Optional[Path]) -> None:
    from bot.fan_answers import _publish

    def change(items: List[Dict[str, Any]]) -> None:
        for item in items:
            if item.get("id") == entry_id:
                item.pop("credit", None)

    _publish._change(red, root, change, cache)


def _norm(text: str) -> str:
    return " ".join(str(text).split()).lower()


def _lang(text: str) -> str:
    from bot.language import detect_language

    return detect_language(text or "") or "en"
