"""Reading the `canyu:events` stream into the review inbox: which user messages become items, and why.

`EventReader(store).sync()` reads the events appended since the last sync (the cursor is in the store) and
keeps a small working state per conversation (`InboxStore.convo`) to tie a rating, a rephrase or a request
for a person to the knowledge answer before it. The reasons are listed in `bot.trainer.inbox`.
"""

from __future__ import annotations

import json
import time
from types import MappingProxyType
from typing import Any, Dict

from bot.keys import EVENTS_STREAM
from bot.trainer.inbox_signals import NOT_WHAT_I_ASKED, PERSON, rating_of, similarity
from bot.trainer.inbox_store import InboxStore

__all__ = ["EventReader"]

WATCH_TURNS = 2  # a rephrase or a request for a person counts within this many user turns after an answer
RATE_INTENT = "rate_answer"
HANDOFF_INTENT = "human_handoff"
HANDOFF_ACTION = "action_handoff"
COMMENT_FORM = "answer_comment_form"
_IGNORED_INTENTS = frozenset({RATE_INTENT, "affirm", "deny", "greet", "goodbye", "thanks", "session_start",
                              "restart"})
_ESCALATION_BY_INTENT = MappingProxyType({
    "human_handoff": "asked for a person",
    "complain": "complaint",
    "nlu_fallback": "not understood",
    "out_of_scope": "not understood",
})


class EventReader:
    """Files inbox items from Rasa events; `low_confidence` and `rephrase_similarity` come from voice.yml."""

    def __init__(self, store: InboxStore, low_confidence: float = 0.55, stream: str = EVENTS_STREAM,
                 rephrase_similarity: float = 0.5) -> None:
        self.store = store
        self.redis = store.redis
        self.low_confidence = low_confidence
        self.rephrase_similarity = rephrase_similarity
        self.stream = stream

    def sync(self, batch: int = 1000) -> int:
        """Process the events appended since the last sync; return how many were read."""
        token = str(time.time())
        if not self.store.lock(token):
            return 0
        read = 0
        try:
            cursor = self.store.cursor()
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
                self.store.set_cursor(cursor)
                if len(entries) < batch:
                    break
        finally:
            self.store.unlock(token)
        return read

    def _process(self, entry_id: str, event: Dict[str, Any]) -> None:
        kind = event.get("event")
        sender = event.get("sender_id")
        if not sender or kind not in ("user", "bot", "action", "slot", "active_loop"):
            return
        ts = float(event.get("timestamp") or time.time())
        convo = self.store.convo(sender)
        if kind == "user":
            self._on_user(entry_id, event, sender, ts, convo)
        elif kind == "bot":
            self._on_bot(entry_id, event, sender, ts, convo)
        elif kind == "action" and event.get("name") == HANDOFF_ACTION:
            question = convo.get("question")
            reason = convo.get("handoff_reason") or _ESCALATION_BY_INTENT.get((question or {}).get("intent", ""),
                                                                               "other")
            self.store.count(ts, f"escalation:{reason}")
            if question and not convo.get("escalated_question") == question["id"]:
                convo["escalated_question"] = question["id"]
                self.store.file(question, "escalated", extra={"escalation": reason})
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
        self.store.save_convo(sender, convo)

    def _on_bot(self, entry_id: str, event: Dict[str, Any], sender: str, ts: float, convo: Dict[str, Any]) -> None:
        text = event.get("text") or ""
        pending = convo.pop("pending_reply", None)
        if pending and text:
            self.store.update(pending, lambda item: item.setdefault("reply", text))
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
            self.store.file_wrong(answer, "hedged", {"reason": "hedged", "confidence": kb.get("confidence"), "ts": ts})
        self.store.push_answer(answer)

    def _watch(self, intent: str, text: str, ts: float, convo: Dict[str, Any]) -> None:
        """The user's turn after knowledge answers: a rephrase or a request for a person says the answer missed."""
        turn = int(convo.get("turn") or 0)
        live = [w for w in convo.get("watch") or [] if 1 <= turn - int(w.get("turn") or 0) <= WATCH_TURNS]
        convo["watch"] = [w for w in live if turn - int(w.get("turn") or 0) < WATCH_TURNS]
        if not live:
            return
        latest = live[-1]
        typed = bool(text) and not text.startswith("/")
        if intent == HANDOFF_INTENT or (typed and PERSON.search(text)):
            self.store.file_wrong(latest, "asked_for_person", {"reason": "asked_for_person", "text": text, "ts": ts})
        if not typed:
            return
        if NOT_WHAT_I_ASKED.search(text):
            self.store.file_wrong(latest, "rephrased", {"reason": "rephrased", "text": text, "ts": ts,
                                                        "how": "said so"})
            return
        for w in live:
            score = similarity(text, w["question"].get("text") or "")
            if score >= self.rephrase_similarity:
                self.store.file_wrong(w, "rephrased", {"reason": "rephrased", "text": text, "ts": ts,
                                                       "how": "asked again", "similarity": round(score, 2)})

    def _on_user(self, entry_id: str, event: Dict[str, Any], sender: str, ts: float, convo: Dict[str, Any]) -> None:
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name") or ""
        confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
        text = (event.get("text") or "").strip()
        convo["turn"] = int(convo.get("turn") or 0) + 1
        self._watch(intent, text, ts, convo)
        if intent == RATE_INTENT:
            rating = rating_of(event)
            if rating:
                self._on_rating(rating, convo, ts)
            return
        if convo.get("loop") == COMMENT_FORM and convo.get("rated_item"):  # what the 👎 answer missed
            if text and not text.startswith("/"):
                self.store.update(convo["rated_item"], lambda item: item.setdefault("comment", text))
            return
        if not text or text.startswith("/"):  # button payloads are not questions
            return
        self.store.count(ts, "messages")
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
            self.store.count(ts, "unanswered")
            self.store.file(question, reason)
            convo["pending_reply"] = entry_id

    def _on_rating(self, rating: str, convo: Dict[str, Any], ts: float) -> None:
        good = rating in ("up", "good", "yes", "+", "+1", "👍", "thumbs_up")
        if not good and rating not in ("down", "bad", "no", "-", "-1", "👎", "thumbs_down"):
            return  # 1-5 after a handoff is a CSAT score, not an answer rating
        turn = int(convo.get("turn") or 0)
        if convo.get("rated_turn") == turn:
            return  # the same rating again: the payload's entity, then its slot (set twice around the form)
        convo["rated_turn"] = turn
        self.store.count(ts, "rating:up" if good else "rating:down")
        if good:
            return
        question, answer = convo.get("question"), convo.get("last_answer")
        if answer and (not question or question["id"] == answer["question"]["id"]):
            item = self.store.file_wrong(answer, "rated_down", {"reason": "rated_down", "ts": ts})
            self.store.update(item["id"], lambda i: i.setdefault("rated_answer", answer.get("text")))
            convo["rated_item"] = item["id"]
        elif question:
            self.store.file(question, "rated_down", extra={"rated_answer": convo.get("last_bot")})
            convo["rated_item"] = question["id"]
