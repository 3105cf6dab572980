"""The review inbox: what the bot could not answer well, derived from the `canyu:events` stream.

`Inbox(redis).sync()` reads the Rasa events the event broker appended to `canyu:events` since the
last sync and files an item for every user message that was
- classified `out_of_scope` or `nlu_fallback` (reason `out_of_scope` / `fallback`),
- classified below the `review.low_confidence` threshold of voice.yml (`low_confidence`),
- followed by `action_handoff` (`escalated`; the escalation reason is recorded too), or
- answered, and the answer looks wrong:
  - `rated_down`: the user rated the answer 👎 (a user event of intent `rate_answer` with entity
    `rating`="down" — the button payload `/rate_answer{"rating":"down"}` —, typed "👎"/"没用"/"not
    helpful" classified `rate_answer`, or a `rating` slot set to "down"; one rating per user turn, as
    the payload also sets the slot, twice). The item is the question of the last knowledge answer
    when no other question came after it, else the last question;
  - `rephrased`: within the user's next two turns after a knowledge answer, the user asked the same
    question again (lexical similarity to the answered question >= `review.rephrase_similarity`,
    default 0.5: Jaccard of English words (stemmed, stop words dropped) and Chinese character
    bigrams), or said so ("that's not what I asked", "不是这个", "答非所问", …; the last answer);
  - `asked_for_person`: within the user's next two turns after a knowledge answer, the user asked
    for a person (intent `human_handoff`, or "转人工"/"人工客服"/"real person"/…; the last answer);
  - `marked_wrong`: a trainer marked the answer wrong (`mark_wrong()`, the console's recent answers);
  - `hedged`: the answer came from the "did you mean" band ("I think you're asking X:"), to be confirmed.
  A knowledge answer is a bot event whose metadata carries `kb` with outcome "answer" (see
  bot/actions/product.py); these items carry `answer` = {id, text, entry, kind, confidence} and
  `signals` (what gave it away: the follow-up text, the similarity, who marked it).
One message gets one item (reasons accumulate). Items keep their context: the bot's message before
and the bot's reply after. The user's comment after a 👎 (the `answer_comment_form`) is kept as the
rated item's `comment`, not read as a new question. There is no daemon: the CLI, the console page and
the report call `sync()` (a short Redis lock keeps two syncs from overlapping).

Redis keys (owned here):
- `canyu:review:cursor`            last `canyu:events` entry id read (string)
- `canyu:review:items`             hash item id -> item JSON (id = the user event's stream id)
- `canyu:review:open`              sorted set of open item ids, scored by message time
- `canyu:review:convo:{sender}`    JSON working state of one conversation (last question, last bot text,
                                   the knowledge answers still watched, user turn count), 7-day TTL
- `canyu:review:answers`           list of the last 500 knowledge answers (JSON: id = the bot event's
                                   stream id, text, entry, kind, confidence, question), newest first;
                                   30-day TTL, renewed on every answer
- `canyu:review:stats:{YYYY-MM-DD}` hash of daily counts: `messages`, `unanswered`, `rating:up`,
                                   `rating:down`, `escalation:{reason}`, `wrong:{reason}` (items newly
                                   filed as `rephrased` / `asked_for_person` / `marked_wrong`) (kept 90 days)
- `canyu:review:lock`              sync lock (30 s)
Items leave `open` when a trainer assigns them to an intent, drafts a KB entry or dismisses them;
the item keeps `status` (`assigned:<intent>`, `drafted`, `dismissed`), `by` and `at`, so a
dismissal is never filed again by `sync()` (a trainer's `mark_wrong()` opens it again).
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from bot.event_broker import EVENTS_STREAM

__all__ = ["Inbox", "REASONS", "WRONG_ANSWER", "KEY_PREFIX", "similarity"]

KEY_PREFIX = "canyu:review"
CURSOR = f"{KEY_PREFIX}:cursor"
ITEMS = f"{KEY_PREFIX}:items"
OPEN = f"{KEY_PREFIX}:open"
LOCK = f"{KEY_PREFIX}:lock"
ANSWERS = f"{KEY_PREFIX}:answers"
CONVO_TTL = 7 * 86400
STATS_TTL = 90 * 86400
ANSWERS_TTL = 30 * 86400
ANSWERS_KEPT = 500
REASONS = ("out_of_scope", "fallback", "low_confidence", "escalated", "rated_down", "rephrased",
           "asked_for_person", "marked_wrong")
UNANSWERED = {"out_of_scope", "fallback", "low_confidence"}
WRONG_ANSWER = ("rated_down", "rephrased", "asked_for_person", "marked_wrong")  # answered, but wrongly
WATCH_TURNS = 2  # a rephrase or a request for a person counts within this many user turns after an answer
RATE_INTENT = "rate_answer"
HANDOFF_INTENT = "human_handoff"
HANDOFF_ACTION = "action_handoff"
COMMENT_FORM = "answer_comment_form"
_IGNORED_INTENTS = {RATE_INTENT, "affirm", "deny", "greet", "goodbye", "thanks", "session_start", "restart"}
_ESCALATION_BY_INTENT = {
    "human_handoff": "asked for a person",
    "complain": "complaint",
    "nlu_fallback": "not understood",
    "out_of_scope": "not understood",
}


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


# Typed ratings (no entity): "down" is checked first, so "not helpful" / "没有帮助" are not read as "up".
_TYPED_RATINGS = (
    (re.compile(r"👎|useless|not helpful|no help|didn'?t help|not useful|没用|没有用|没帮助|没有帮助|没解决|答非所问|thumbs down|wrong answer", re.I), "down"),
    (re.compile(r"👍|helpful|helped|useful|有用|有帮助|解决了|很棒|thumbs up|great answer", re.I), "up"),
)
# "That is not what I asked": the last answer missed, whatever the intent the message got (often `deny`).
_NOT_WHAT_I_ASKED = re.compile(
    r"不是这个|不是我问的|不是我要问的|我问的不是|我问的是|答非所问|问的不是这个|你没懂|没听懂我|理解错了|文不对题|牛头不对马嘴|"
    r"not what i (?:asked|meant|wanted)|that'?s not my question|not my question|not what i'?m asking|"
    r"didn'?t answer my question|you misunderstood|you didn'?t understand|wrong answer|i meant\b|i asked about", re.I)
# Asking for a person in so many words (the NLU may call it something else).
_PERSON = re.compile(
    r"转人工|人工客服|人工服务|找人工|要人工|真人|客服人员|活人|"
    r"real person|real human|human agent|live agent|live person|an? (?:human|agent|person) please|"
    r"(?:talk|speak|chat) (?:to|with) (?:a |an |your )?(?:human|person|agent|someone|representative|real)|customer service rep", re.I)
_WORD = re.compile(r"[a-z0-9]+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_EN_STOP = frozenset(
    """a an the and or but if of to in on at for with by from as is are was were be been do does did have has had
    i me my we our you your it its they them this that these those there here what which who how can could should
    would will may might must so too very just also about into up out any some no not only please pls again
    hi hello hey thanks tell know want need get got does""".split())
_ZH_STOP = frozenset("请问 一下 怎么 什么 可以 是不 不是 一个 这个 那个 我的 你们 吗".split())


def _stem(word: str) -> str:
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not (suffix == "s" and word.endswith("ss")):
            return word[: -len(suffix)]
    return word


def _features(text: str) -> Set[str]:
    """English words (stemmed, no stop words) and Chinese character bigrams (unigram for a 1-character run)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    out = {_stem(w) for w in _WORD.findall(text) if w not in _EN_STOP}
    for run in _CJK_RUN.findall(text):
        grams = [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
        out.update(g for g in grams if g not in _ZH_STOP)
    return out


def similarity(a: str, b: str) -> float:
    """Cheap lexical similarity of two questions: Jaccard of their word/bigram features (0..1)."""
    fa, fb = _features(a), _features(b)
    if not fa or not fb:
        return 0.0
    return len(fa & fb) / len(fa | fb)


def _rating_of(event: Dict[str, Any]) -> Optional[str]:
    for ent in (event.get("parse_data") or {}).get("entities") or []:
        if ent.get("entity") == "rating":
            return str(ent.get("value")).lower()
    text = event.get("text") or ""
    for pattern, value in _TYPED_RATINGS:
        if pattern.search(text):
            return value
    return None


def _answer_view(answer: Dict[str, Any]) -> Dict[str, Any]:
    """What an item keeps of the answer that missed."""
    return {k: answer.get(k) for k in ("id", "text", "entry", "kind", "confidence", "ts")}


class Inbox:
    """The review inbox on one Redis (a `redis.Redis` with `decode_responses=True`)."""

    def __init__(self, redis: Any, low_confidence: float = 0.55, stream: str = EVENTS_STREAM,
                 rephrase_similarity: float = 0.5) -> None:
        self.redis = redis
        self.low_confidence = low_confidence
        self.rephrase_similarity = rephrase_similarity
        self.stream = stream

    # ---------------------------------------------------------------- reading events
    def sync(self, batch: int = 1000) -> int:
        """Process the events appended since the last sync; return how many were read."""
        token = str(time.time())
        if not self.redis.set(LOCK, token, nx=True, ex=30):
            return 0
        read = 0
        try:
            cursor = self.redis.get(CURSOR) or "0-0"
            while True:
                entries = self.redis.xrange(self.stream, min=f"({cursor}", max="+", count=batch) if cursor != "0-0" \
                    else self.redis.xrange(self.stream, min="-", max="+", count=batch)
                if not entries:
                    break
                for entry_id, fields in entries:
                    try:
                        event = json.loads(fields.get("event") or "{}")
                    except ValueError:
                        event = {}
                    self._process(entry_id, event)
                    cursor = entry_id
                read += len(entries)
                self.redis.set(CURSOR, cursor)
                if len(entries) < batch:
                    break
        finally:
            if self.redis.get(LOCK) == token:
                self.redis.delete(LOCK)
        return read

    def _convo(self, sender: str) -> Dict[str, Any]:
        raw = self.redis.get(f"{KEY_PREFIX}:convo:{sender}")
        return json.loads(raw) if raw else {}

    def _save_convo(self, sender: str, convo: Dict[str, Any]) -> None:
        self.redis.set(f"{KEY_PREFIX}:convo:{sender}", json.dumps(convo, ensure_ascii=False), ex=CONVO_TTL)

    def _count(self, ts: float, field: str, by: int = 1) -> None:
        key = f"{KEY_PREFIX}:stats:{_day(ts)}"
        self.redis.hincrby(key, field, by)
        self.redis.expire(key, STATS_TTL)

    def _process(self, entry_id: str, event: Dict[str, Any]) -> None:
        kind = event.get("event")
        sender = event.get("sender_id")
        if not sender or kind not in ("user", "bot", "action", "slot", "active_loop"):
            return
        ts = float(event.get("timestamp") or time.time())
        convo = self._convo(sender)
        if kind == "user":
            self._on_user(entry_id, event, sender, ts, convo)
        elif kind == "bot":
            self._on_bot(entry_id, event, sender, ts, convo)
        elif kind == "action" and event.get("name") == HANDOFF_ACTION:
            question = convo.get("question")
            reason = convo.get("handoff_reason") or _ESCALATION_BY_INTENT.get((question or {}).get("intent", ""), "other")
            self._count(ts, f"escalation:{reason}")
            if question and not convo.get("escalated_question") == question["id"]:
                convo["escalated_question"] = question["id"]
                self._file(question, "escalated", extra={"escalation": reason})
        elif kind == "slot":
            name, value = event.get("name"), event.get("value")
            if name == "handoff_reason" and value:
                convo["handoff_reason"] = str(value)
            elif name == "rating" and value is not None:
                self._on_rating(str(value).lower(), convo, ts)
        elif kind == "active_loop":
            if event.get("name"):
                convo["loop"] = event["name"]
            else:
                convo.pop("loop", None)
        self._save_convo(sender, convo)

    def _on_bot(self, entry_id: str, event: Dict[str, Any], sender: str, ts: float, convo: Dict[str, Any]) -> None:
        text = event.get("text") or ""
        pending = convo.pop("pending_reply", None)
        if pending and text:
            self._update(pending, lambda item: item.setdefault("reply", text))
        if text:
            convo["last_bot"] = text
        kb = (event.get("metadata") or {}).get("kb")
        question = convo.get("question")
        if not isinstance(kb, dict) or kb.get("outcome") != "answer" or not question or not text:
            return
        answer = {"id": entry_id, "sender": sender, "ts": ts, "text": text, "entry": kb.get("entry"),
                  "kind": kb.get("kind"), "confidence": kb.get("confidence"), "question": question}
        convo["last_answer"] = answer
        watched = [w for w in convo.get("watch") or [] if w.get("id") != answer["id"]]
        convo["watch"] = (watched + [dict(answer, turn=int(convo.get("turn") or 0))])[-3:]
        if kb.get("hedged"):  # answered from the "did you mean" band: a trainer should confirm it
            self._file_wrong(answer, "hedged", {"reason": "hedged", "confidence": kb.get("confidence"), "ts": ts})
        pipe = self.redis.pipeline()
        pipe.lpush(ANSWERS, json.dumps(answer, ensure_ascii=False))
        pipe.ltrim(ANSWERS, 0, ANSWERS_KEPT - 1)
        pipe.expire(ANSWERS, ANSWERS_TTL)
        pipe.execute()

    def _watch(self, intent: str, text: str, ts: float, convo: Dict[str, Any]) -> None:
        """The user's turn after knowledge answers: a rephrase or a request for a person says the answer missed."""
        turn = int(convo.get("turn") or 0)
        live = [w for w in convo.get("watch") or [] if 1 <= turn - int(w.get("turn") or 0) <= WATCH_TURNS]
        convo["watch"] = [w for w in live if turn - int(w.get("turn") or 0) < WATCH_TURNS]
        if not live:
            return
        latest = live[-1]
        typed = bool(text) and not text.startswith("/")
        if intent == HANDOFF_INTENT or (typed and _PERSON.search(text)):
            self._file_wrong(latest, "asked_for_person", {"reason": "asked_for_person", "text": text, "ts": ts})
        if not typed:
            return
        if _NOT_WHAT_I_ASKED.search(text):
            self._file_wrong(latest, "rephrased", {"reason": "rephrased", "text": text, "ts": ts, "how": "said so"})
            return
        for w in live:
            score = similarity(text, w["question"].get("text") or "")
            if score >= self.rephrase_similarity:
                self._file_wrong(w, "rephrased", {"reason": "rephrased", "text": text, "ts": ts,
                                                  "how": "asked again", "similarity": round(score, 2)})

    def _file_wrong(self, answer: Dict[str, Any], reason: str, signal: Dict[str, Any], reopen: bool = False) -> Dict[str, Any]:
        """File the answer's question as a wrong answer (`reason`), with the answer and what gave it away."""

        def add(item: Dict[str, Any]) -> None:
            item["answer"] = _answer_view(answer)
            item.setdefault("reply", answer.get("text"))
            signals = item.setdefault("signals", [])
            if not any(s.get("reason") == reason for s in signals):
                signals.append({k: v for k, v in signal.items() if v is not None})

        item, new = self._file(answer["question"], reason, change=add, reopen=reopen)
        if new and reason != "rated_down":  # ratings are counted as `rating:down` already
            self._count(float(signal.get("ts") or time.time()), f"wrong:{reason}")
        return item

    def _on_user(self, entry_id: str, event: Dict[str, Any], sender: str, ts: float, convo: Dict[str, Any]) -> None:
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name") or ""
        confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
        text = (event.get("text") or "").strip()
        convo["turn"] = int(convo.get("turn") or 0) + 1
        self._watch(intent, text, ts, convo)
        if intent == RATE_INTENT:
            rating = _rating_of(event)
            if rating:
                self._on_rating(rating, convo, ts)
            return
        if convo.get("loop") == COMMENT_FORM and convo.get("rated_item"):  # what the 👎 answer missed
            if text and not text.startswith("/"):
                self._update(convo["rated_item"], lambda item: item.setdefault("comment", text))
            return
        if not text or text.startswith("/"):  # button payloads are not questions
            return
        self._count(ts, "messages")
        ranking = [{"intent": r.get("name"), "confidence": round(float(r.get("confidence") or 0), 3)}
                   for r in (parse.get("intent_ranking") or [])[:3]]
        guess = next((r["intent"] for r in ranking if r["intent"] not in ("nlu_fallback", None)), intent)
        language = next((e.get("value") for e in parse.get("entities") or [] if e.get("entity") == "language"), None)
        question = {
            "id": entry_id, "text": text, "sender": sender, "ts": ts, "intent": intent,
            "confidence": round(confidence, 3), "ranking": ranking, "language": language, "guess": guess,
            "channel": event.get("input_channel"), "before": convo.get("last_bot"),
        }
        convo.pop("handoff_reason", None)
        if intent in _IGNORED_INTENTS:
            convo.pop("question", None)
            return
        convo["question"] = question
        reason = None
        if intent == "out_of_scope":
            reason = "out_of_scope"
        elif intent == "nlu_fallback":
            reason = "fallback"
        elif confidence < self.low_confidence:
            reason = "low_confidence"
        if reason:
            self._count(ts, "unanswered")
            self._file(question, reason)
            convo["pending_reply"] = entry_id

    def _on_rating(self, rating: str, convo: Dict[str, Any], ts: float) -> None:
        good = rating in ("up", "good", "yes", "+", "+1", "👍", "thumbs_up")
        if not good and rating not in ("down", "bad", "no", "-", "-1", "👎", "thumbs_down"):
            return  # 1-5 after a handoff is a CSAT score, not an answer rating
        turn = int(convo.get("turn") or 0)
        if convo.get("rated_turn") == turn:
            return  # the same rating again: the payload's entity, then its slot (set twice around the form)
        convo["rated_turn"] = turn
        self._count(ts, "rating:up" if good else "rating:down")
        if good:
            return
        question, answer = convo.get("question"), convo.get("last_answer")
        if answer and (not question or question["id"] == answer["question"]["id"]):
            item = self._file_wrong(answer, "rated_down", {"reason": "rated_down", "ts": ts})
            self._update(item["id"], lambda i: i.setdefault("rated_answer", answer.get("text")))
            convo["rated_item"] = item["id"]
        elif question:
            self._file(question, "rated_down", extra={"rated_answer": convo.get("last_bot")})
            convo["rated_item"] = question["id"]

    # ---------------------------------------------------------------- items
    def _file(self, question: Dict[str, Any], reason: str, extra: Optional[Dict[str, Any]] = None,
              change: Any = None, reopen: bool = False) -> Tuple[Dict[str, Any], bool]:
        """File (or add `reason` to) the item of `question`; return (item, whether the reason is new)."""
        raw = self.redis.hget(ITEMS, question["id"])
        item = json.loads(raw) if raw else dict(question, reasons=[], status="open")
        new = reason not in item["reasons"]
        if new:
            item["reasons"].append(reason)
        item.update(extra or {})
        if change is not None:
            change(item)
        if reopen and item.get("status") != "open":
            item["reopened"] = {"from": item.get("status"), "by": item.get("by"), "at": item.get("at")}
            item["status"] = "open"
        self.redis.hset(ITEMS, item["id"], json.dumps(item, ensure_ascii=False))
        if item.get("status") == "open":
            self.redis.zadd(OPEN, {item["id"]: float(item.get("ts") or 0)})
        return item, new

    def _update(self, item_id: str, change: Any) -> None:
        raw = self.redis.hget(ITEMS, item_id)
        if not raw:
            return
        item = json.loads(raw)
        change(item)
        self.redis.hset(ITEMS, item_id, json.dumps(item, ensure_ascii=False))

    # ---------------------------------------------------------------- knowledge answers
    def recent_answers(self, limit: int = 30) -> List[Dict[str, Any]]:
        """The last knowledge answers, newest first, each with its question and the question's item (if any)."""
        answers = [json.loads(raw) for raw in self.redis.lrange(ANSWERS, 0, max(limit, 1) - 1)]
        ids = [a["question"]["id"] for a in answers]
        items = self.redis.hmget(ITEMS, ids) if ids else []
        for answer, raw in zip(answers, items):
            item = json.loads(raw) if raw else None
            answer["reasons"] = item["reasons"] if item else []
            answer["status"] = item.get("status") if item else None
        return answers

    def answer(self, answer_id: str) -> Optional[Dict[str, Any]]:
        for raw in self.redis.lrange(ANSWERS, 0, -1):
            answer = json.loads(raw)
            if answer.get("id") == answer_id:
                return answer
        return None

    def mark_wrong(self, answer_id: str, by: str = "trainer", note: str = "") -> Dict[str, Any]:
        """A trainer says this knowledge answer was wrong: its question goes (back) into the inbox."""
        from bot.errors import DataError

        answer = self.answer(answer_id)
        if answer is None:
            raise DataError(f"no recent answer {answer_id!r} (only the last {ANSWERS_KEPT} are kept); reload the list")
        signal = {"reason": "marked_wrong", "by": by, "ts": time.time(), "note": (note or "").strip()[:500] or None}
        return self._file_wrong(answer, "marked_wrong", signal, reopen=True)

    def get(self, item_id: str) -> Optional[Dict[str, Any]]:
        raw = self.redis.hget(ITEMS, item_id)
        return json.loads(raw) if raw else None

    def open_items(self, limit: int = 2000, since: Optional[float] = None,
                   reasons: Optional[Iterable[str]] = None) -> List[Dict[str, Any]]:
        """Open items, newest first (only those with one of `reasons`, when given)."""
        ids = self.redis.zrevrangebyscore(OPEN, "+inf", since if since is not None else "-inf", start=0, num=limit)
        if not ids:
            return []
        items = [json.loads(raw) for raw in self.redis.hmget(ITEMS, ids) if raw]
        wanted = set(reasons or ())
        return [i for i in items if not wanted or wanted & set(i.get("reasons") or [])]

    def all_items(self, since: Optional[float] = None) -> List[Dict[str, Any]]:
        """Every item ever filed (any status), optionally only those since a time."""
        items = [json.loads(raw) for raw in self.redis.hvals(ITEMS)]
        return [i for i in items if since is None or float(i.get("ts") or 0) >= since]

    def close(self, item_ids: Iterable[str], status: str, by: str = "trainer") -> int:
        """Take items out of the inbox with a final status (`dismissed`, `assigned:<intent>`, `drafted`)."""
        done = 0
        for item_id in item_ids:
            raw = self.redis.hget(ITEMS, item_id)
            if not raw:
                continue
            item = json.loads(raw)
            item.update(status=status, by=by, at=time.time())
            pipe = self.redis.pipeline()
            pipe.hset(ITEMS, item_id, json.dumps(item, ensure_ascii=False))
            pipe.zrem(OPEN, item_id)
            pipe.execute()
            done += 1
        return done

    def dismiss(self, item_ids: Iterable[str], by: str = "trainer") -> int:
        return self.close(item_ids, "dismissed", by)

    def stats(self, days: int = 7, until: Optional[float] = None) -> Dict[str, Dict[str, int]]:
        """Daily counts of the last `days` days (oldest first)."""
        until = until or time.time()
        out: Dict[str, Dict[str, int]] = {}
        for back in range(days - 1, -1, -1):
            day = _day(until - back * 86400)
            raw = self.redis.hgetall(f"{KEY_PREFIX}:stats:{day}")
            out[day] = {k: int(v) for k, v in raw.items()}
        return out
