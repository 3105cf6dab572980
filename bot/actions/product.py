"""The one answer path: every question that asks for information is answered here, by one ranking.

`action_answer_product` runs for the information intents (`ask_product`, `shipping`, `return_refund`,
`repair_warranty`) and first for `complain`, `suggest_feature`, `chitchat` and `out_of_scope`. The retriever ranks
everything answerable (FAQ entries, spec and catalog facts from `products.yml`) with the intent as a
prior over topics (`knowledge/config.yml` `answering:`, see `bot.knowledge.answering`):
- an information intent: confident → the answer; close call → "did you mean …?" with 2-3 buttons
  (`/ask_product{"kb_entry": "<id>"}` brings the user back here with the entry chosen); not sure (or a
  product we do not sell) → `utter_product_unsure`, which offers a colleague;
- a complaint or suggestion: a fault stated ("左耳突然没声了") or a price dropped gets a confident entry's answer and
  an offer to file it; displeasure said ("honestly disappointed…") is filed unless the ranking alone is sure, a wish
  always. A question ("烫得不行 正常吗", terse: "millet tv price") takes any answer above the answer threshold, never
  filed; `out_of_scope` and `chitchat` fall back to `utter_out_of_scope` / `utter_chitchat`;
- a task (`change_address`, `cancel_order`, `book_repair`, `restock_alert`): its form starts, unless the
  message only asks about it ("能改收货地址吗" — a question, not a request, no order number) and the
  ranking answers it confidently: then the answer (`shipping_change_address` offers the task, so "yes"
  starts the form);
- a guarded flow (`order_status`, `ask_tier`, `human_handoff` asked by the intent alone): the flow, unless the
  message only asks something and an FAQ entry is at least `override_threshold` sure ("how do I get an
  invoice?" → `invoice`, not a person).
A message that asks several questions gets one answer per question it is sure of, a line per other one (`parts`).
An answer that ends with an offer records it (`bot.actions.offers`), so "yes" gets what was offered.

Every reply records what it used: slots `kb_entry` / `kb_score`, and a `kb` record (outcome, entry,
kind = which source won: faq, spec, catalog; confidence, the intent's topic, candidates) in the bot
message's metadata, for agents, trainers and `bot eval conversations`.
`kb_second_chance` is the same retrieval for `action_fallback`, but silent when not sure.

The knowledge service is the action server's (`self.ctx.knowledge`); the helpers take its retriever (one per run).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from bot.actions._context import WithContext
from bot.actions._kb_reply import answered_before, chosen_entry, reply
from bot.actions._offer_slot import make_offer
from bot.actions.common import ran_this_turn, tracker_language
from bot.actions.stock import live_stock
from bot.handoff.rules import answer_first_rule
from bot.knowledge import Result, Retriever
from bot.knowledge.answering import (
    ANSWER_ACTION,
    FLOW_CONFIDENCE,
    GUARDED_FLOWS,
    SMALL_TALK,
    TASK_FLOWS,
    AnsweringConfig,
    answer_path_first,
    asks_feedback_status,
    asks_for_restock_alert,
    asks_question,
    asks_tersely,
    lacks_flow_words,
    names_an_order,
    only_asks_for_information,
    said_unclearly,
    voices_feedback,
    wants_change,
)
from bot.knowledge.follow_up import answers_alike, follow_up_question
from bot.knowledge.multi import message_pieces
from bot.knowledge.terms import novel_nouns

if TYPE_CHECKING:
    from bot.context import AppContext

__all__ = ["ActionAnswerProduct", "kb_second_chance", "answer_entry", "OWN_FLOWS", "TASK_FLOWS"]

logger = logging.getLogger(__name__)

# Intents that want something else, unless the knowledge base clearly answers them: what runs then (small talk
# comes here only when the NLU was unsure of it: bot.answer_path_policy). Every other intent routed here
# (ask_product, shipping, return_refund, repair_warranty) asks for information.
OWN_FLOWS = {"complain": "action_file_feedback", "suggest_feature": "action_file_feedback",
             "out_of_scope": "utter_out_of_scope", "chitchat": "utter_chitchat", **SMALL_TALK}


def _intent(tracker: Tracker) -> Tuple[Optional[str], float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def _second_reading(tracker: Tracker) -> Optional[str]:
    """The NLU's second-best intent for the latest message, if any."""
    ranking = tracker.latest_message.get("intent_ranking") or []
    return str(ranking[1].get("name")) if len(ranking) > 1 else None


def _rank(retriever: Retriever, tracker: Tracker) -> Result:
    """The one ranking for the latest message (or the entry a "did you mean" button chose)."""
    chosen = chosen_entry(tracker)
    result = retriever.answer_entry(chosen, tracker_language(tracker)) if chosen else None
    if result is None:
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/"):  # a payload without a usable entry: nothing to search
            text = ""
        intent, confidence = _intent(tracker)
        language = tracker_language(tracker)
        before, before_entry = answered_before(tracker)
        follow_up = follow_up_question(retriever, text, before, language)  # "那14呢" after "14pro电池多大"
        result = retriever.ask(follow_up.question, language, intent, confidence) if follow_up else None
        if follow_up and result and result.outcome == "answer" and (
                not follow_up.other_products or answers_alike(retriever, before_entry, follow_up, result)):
            result.asked, result.reason = follow_up.question, f"follow-up, asked {follow_up.question!r}: {result.reason}"
        elif follow_up and result and follow_up.other_products:  # "手环呢" after the earbuds' noise cancelling
            result = result if result.outcome != "answer" else replace(
                result, outcome="unsure", text=None, offer=None, hedged=False,
                reason=f"follow-up {follow_up.question!r} answered unlike {before_entry}: {result.reason}")
        else:
            result = retriever.ask(text, language, intent, confidence)
    logger.info("kb %s %s entry=%s confidence=%.3f reason=%s (%.1f ms)", result.outcome, result.kind, result.entry_id,
                result.confidence, result.reason, result.latency_ms)
    return result


def _rank_parts(retriever: Retriever, tracker: Tracker) -> List[Result]:
    """Several questions in one message: the confident answer of each part (at least two), else []."""
    text = tracker.latest_message.get("text") or ""
    if chosen_entry(tracker) is not None or text.startswith("/"):
        return []
    intent, confidence = _intent(tracker)
    parts = retriever.ask_parts(text, tracker_language(tracker), intent, confidence)
    for result in parts:
        logger.info("kb %s %s entry=%s confidence=%.3f reason=%s", result.outcome, result.kind, result.entry_id,
                    result.confidence, result.reason)
    return parts


def _answer(retriever: Retriever, dispatcher: CollectingDispatcher, tracker: Tracker,
            quiet_when_unsure: bool) -> List[Dict[Text, Any]]:
    parts = _rank_parts(retriever, tracker)
    if parts:  # one message per question; the slots and any offer are the last answer's
        return [event for result in parts
                for event in reply(retriever, dispatcher, tracker, result, quiet_when_unsure, alternatives=False)]
    return reply(retriever, dispatcher, tracker, _rank(retriever, tracker), quiet_when_unsure)


def answer_entry(ctx: "AppContext", dispatcher: CollectingDispatcher, tracker: Tracker, entry_id: str,
                 reason: str) -> List[Dict[Text, Any]]:
    """Give one entry's answer by id from `ctx`'s knowledge service (an offer of another entry was taken up)."""
    retriever = ctx.knowledge.retriever()
    result = retriever.answer_entry(entry_id, tracker_language(tracker), reason=reason)
    if result is None:
        dispatcher.utter_message(response="utter_product_unsure")
        return []
    return reply(retriever, dispatcher, tracker, result, quiet_when_unsure=False)


def _clearly_answers(retriever: Retriever, result: Result, text: str, intent: Optional[str] = None,
                     intent_confidence: float = 0.0) -> bool:
    """For a message whose intent wants something else: a complaint (it wants help: "上周刚下单今天就便宜了两百 好气"
    is answered by price protection) or a question by any confident answer (FAQ, spec or catalog); a catalog or spec answer from the exact patterns ("你们家都卖啥") whatever the
    intent, unless the message wishes for a change ("feature request: let us customise the band 9's always-on
    display"); anything else, and anything out of scope, only by an FAQ entry at least `override_threshold` sure."""
    if intent == "complain" and result.outcome in ("answer", "suggest") and not voices_feedback(text) and \
            not wants_change(text) and retriever.cues.points_at(text, result.entry_id):
        return True  # a fault a cue ties to the entry ranked first ("the 14 pro i got yesterday has a crack 😡"): help
    if result.outcome != "answer":
        return False
    if intent in ("complain", "suggest_feature") and not _asks(text) and (wants_change(text) or (
            result.kind != "faq" and intent_confidence >= retriever.answering.override_threshold)):
        # "给你们提个意见 手环的抬腕亮屏太不灵敏了" is said, not asked: the band's screen size answers nothing; a wish
        # ("建议手环加个微信支付功能") is filed, however sure an entry is (payment methods do not grant it)
        return False
    if _exact_answer(result, text):
        return True
    # out of scope only as the NLU's weak guess ("installments possible? 12 months no interest?" at 0.32): a question
    if (intent != "out_of_scope" or intent_confidence < FLOW_CONFIDENCE) and (asks_question(text) or intent == "complain"):
        # a fault stated ("左耳突然没声了 右边好好的"): the entry that helps, then the offer to file it; displeasure said
        # ("honestly disappointed: my battery drains fast") is filed unless the ranking alone is sure of its answer
        sure = result.ranked if result.ranked is not None and voices_feedback(text) and not asks_question(text) \
            else result.confidence
        return sure >= retriever.config.answer_threshold
    return _sure_faq_answer(retriever, result)


def _asks(text: str) -> bool:
    """A question, also a terse one ("most expensive phone you have")."""
    return asks_question(text) or asks_tersely(text)


def _exact_answer(result: Result, text: str) -> bool:
    """A catalog or spec answer from the exact patterns ("你们家都卖啥"), on a message that wishes for no change."""
    return result.kind in ("catalog", "spec") and result.confidence >= 1.0 and not wants_change(text)


def _sure_faq_answer(retriever: Retriever, result: Result, as_sure_as: float = 1.0) -> bool:
    return result.kind == "faq" and result.confidence >= min(as_sure_as, retriever.answering.override_threshold)


def _sounds_like_feedback(tracker: Tracker, answering: AnsweringConfig) -> bool:
    """Whether an answered complaint or suggestion is worth offering to file too: a statement ("the price dropped
    a week after I bought it"), or a question the NLU is sure is a complaint ("打王者手机烫得不行 正常吗"). A plain
    question it merely leans that way on ("就买个表带要运费不", "spo2 on the band?") just gets its answer, and so does
    a message of questions only, however sure the NLU is ("耳机降噪效果咋样 地铁上能用不": nothing in it is said)."""
    _, confidence = _intent(tracker)
    text = tracker.latest_message.get("text") or ""  # "most expensive phone you have" asks too (`asks_tersely`)
    if not _asks(text):
        return True
    pieces = [p for p in message_pieces(text) if p]
    return confidence >= answering.override_threshold and (len(pieces) < 2 or not all(map(_asks, pieces)))


def _announced_voice(ctx: "AppContext", tracker: Tracker) -> bool:
    """A complaint stated (not asked) that is the same as a feedback item already planned, in beta or shipped ("so
    disappointed, my battery drains fast" when the fix ships Friday): filing it tells the user where it stands,
    which beats the generic tips. A broken feedback store never blocks the answer."""
    text = tracker.latest_message.get("text") or ""
    if asks_question(text):
        return False
    from bot.actions._feedback_turn import _feedback_store
    from bot.feedback import ANNOUNCED, AUTO_JOIN

    try:
        item, score = _feedback_store(ctx.redis).best_match(text, tracker_language(tracker), exclude_closed=True)
    except Exception:  # the answer still goes out
        logger.exception("feedback match failed; answering instead")
        return False
    return item is not None and score >= AUTO_JOIN and item.status in ANNOUNCED


def _own_flow_or_answer(ctx: "AppContext", retriever: Retriever, dispatcher: CollectingDispatcher,
                        tracker: Tracker, intent: str) -> List[Dict[Text, Any]]:
    """A complaint, suggestion, small talk or out-of-scope message: a clear answer wins, else its own flow; a
    complaint about something we already announced a fix for is filed, so the user hears about the fix."""
    result = _rank(retriever, tracker)
    text = tracker.latest_message.get("text") or ""
    if intent == "complain" and result.outcome == "answer" and _announced_voice(ctx, tracker):
        return [FollowupAction(OWN_FLOWS[intent])]
    if (result.other_brand or result.unknown_products) and OWN_FLOWS[intent] != "action_file_feedback":
        # "你们和苹果比哪个好": we know ours only; "你们有电动车吗" (chitchat to the NLU): we have none
        return reply(retriever, dispatcher, tracker, result, quiet_when_unsure=False)
    if not _clearly_answers(retriever, result, text, intent, _intent(tracker)[1]) and (
            OWN_FLOWS[intent] != "action_file_feedback" or not _asks(text) or wants_change(text)):
        return [FollowupAction(OWN_FLOWS[intent])]
    # answered, or a question about what exists ("手环能直接打电话吗", "millet tv price"): not sure, not filed unasked
    parts = _rank_parts(retriever, tracker) if result.outcome != "answer" else []  # "pro用的啥芯片 跑分高不": the chip
    if parts:
        return [e for found in parts for e in reply(retriever, dispatcher, tracker, found, False, alternatives=False)]
    events = reply(retriever, dispatcher, tracker, result, quiet_when_unsure=False)
    if OWN_FLOWS[intent] == "action_file_feedback" and result.offer is None and \
            _sounds_like_feedback(tracker, retriever.answering):
        dispatcher.utter_message(response="utter_offer_feedback")
        events.append(make_offer(tracker, "feedback", text=text))
    return events


def _names_what_we_do_not_sell(retriever: Retriever, text: str, names_an_order: bool) -> bool:
    """A task or guarded intent on a message about a product we do not sell and no order of the user's: the answer
    path says "we don't have that" instead of starting a form about it."""
    return not names_an_order and bool(retriever.matcher.find(text).unknown)


def _task_or_answer(retriever: Retriever, dispatcher: CollectingDispatcher, tracker: Tracker,
                    intent: str) -> List[Dict[Text, Any]]:
    """A task intent: start the task, unless the message only asks about it ("能改收货地址吗", "how much to fix
    a cracked screen?") and the ranking answers it confidently; then the answer (which may offer the task). An FAQ
    answer must be as sure as the NLU is of the task, or `override_threshold` sure: "能取消订单吗 还没发货" (cancel_order
    at 0.98) is not answered by how to change the address (0.62), which only shares "还没发货" with it."""
    def answers(retriever: Retriever, result: Result, text: str, sure_of_task: float) -> bool:
        return _clearly_answers(retriever, result, text) and (
            result.kind != "faq" or _sure_faq_answer(retriever, result, sure_of_task))

    return _flow_or_answer(retriever, dispatcher, tracker, TASK_FLOWS[intent], answers)


def _guarded_or_answer(retriever: Retriever, dispatcher: CollectingDispatcher, tracker: Tracker,
                       intent: str) -> List[Dict[Text, Any]]:
    """A guarded flow's intent (order status, fan tier, a handoff the intent alone asked for): its flow, unless the
    message only asks something ("how do I get an invoice?") and an FAQ entry is as sure as the NLU is of the flow
    (at most `override_threshold`: "快递到了 盒子压扁了 手机有划痕" read as order_status at 0.44 gets the exchange), or
    the catalog or a spec answers it from their exact patterns."""
    def answered(retriever: Retriever, result: Result, text: str, sure_of_flow: float) -> bool:
        return result.outcome == "answer" and (_exact_answer(result, text) or _sure_faq_answer(
            retriever, result, sure_of_flow))

    return _flow_or_answer(retriever, dispatcher, tracker, GUARDED_FLOWS[intent], answered,
                           outright=intent == "human_handoff")


def _flow_or_answer(retriever: Retriever, dispatcher: CollectingDispatcher, tracker: Tracker, flow: str,
                    answers: Callable[[Retriever, Result, str, float], bool],
                    outright: bool = False) -> List[Dict[Text, Any]]:
    """`flow` for a request ("帮我改地址", "can you…", a message naming an order), unless the message is about a
    product we do not sell. A question about the task, or a message the NLU is less than `FLOW_CONFIDENCE` sure
    wants the task ("first time here, what products do u guys have" read as order_status at 0.24), gets the
    ranking's answer when `answers` says it answers; else the flow, except for a question the NLU was unsure of or a
    task's price ("how much to fix a cracked back glass"): it gets the ranking's reply."""
    text = tracker.latest_message.get("text") or ""
    named = names_an_order(tracker.latest_message.get("entities") or [])
    if not outright and _names_what_we_do_not_sell(retriever, text, named):  # "米粒手表什么时候出"
        return reply(retriever, dispatcher, tracker, _rank(retriever, tracker), quiet_when_unsure=False)
    if ran_this_turn(tracker, flow):  # the flow could not do it ("sign me up for the beta": no fan idea's beta in sight)
        return reply(retriever, dispatcher, tracker, _rank(retriever, tracker), quiet_when_unsure=False)
    confidence = 1.0 if outright else _intent(tracker)[1]  # how sure it is the flow is wanted
    task = flow in TASK_FLOWS.values()
    if not answer_path_first(text, named, confidence, task):  # "can you cancel it": do it, however the NLU read it
        return [FollowupAction(flow)]
    result = _rank(retriever, tracker)
    unsure_question = only_asks_for_information(text, named, confidence, task)
    if not answers(retriever, result, text, confidence) and not unsure_question:  # that one gets the ranking's reply
        return [FollowupAction(flow)]
    return reply(retriever, dispatcher, tracker, result, quiet_when_unsure=False)


def _answer_or_person(retriever: Retriever, dispatcher: CollectingDispatcher, tracker: Tracker,
                      rule: str) -> List[Dict[Text, Any]]:
    """A frustrated question ("气死 刚买三天就降了两百 能退差价不"), or one after two missed turns: an answer, then a person
    offered (in the words for `rule`); else a person, as for one about their order or another task ("where is my
    order??? 2 weeks!!!"): a person sorts that out."""
    intent, _ = _intent(tracker)
    if intent in TASK_FLOWS or intent in GUARDED_FLOWS:
        return [FollowupAction("action_handoff")]
    result = _rank(retriever, tracker)
    if not _clearly_answers(retriever, result, tracker.latest_message.get("text") or "", "complain"):
        return [FollowupAction("action_handoff")]
    events = reply(retriever, dispatcher, tracker, result, quiet_when_unsure=False)
    offer = "utter_offer_human_after_miss" if rule == "low_confidence" else "utter_offer_human_after_answer"
    return [*events, FollowupAction(offer)]


def kb_second_chance(ctx: "AppContext", dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
    """Try `ctx`'s knowledge base before falling back: the events of an answer or a "did you mean", or []."""
    try:
        return _answer(ctx.knowledge.retriever(), dispatcher, tracker, quiet_when_unsure=True)
    except Exception:  # the fallback ladder must still run if the KB is broken
        logger.exception("knowledge base second chance failed")
        return []


def _warm_up(ctx: "AppContext") -> None:
    try:
        ctx.knowledge.retriever()
        novel_nouns("预热", "")  # jieba's tagger (0.2 s) now, not on the first "did you mean"
    except Exception:  # reported again, with the user-facing fallback, on the first question
        logger.exception("knowledge base warm-up failed")


class ActionAnswerProduct(WithContext, Action):
    """Answer a question from the one ranking (see the module docstring).

    Made once per context by the action server: it loads the model and the KB index of the context in the
    background right away, so the first product question does not wait for them (requests wait on the
    service's lock meanwhile)."""

    def __init__(self, ctx: "AppContext") -> None:
        super().__init__(ctx)
        threading.Thread(target=_warm_up, args=(ctx,), name="kb-warm-up", daemon=True).start()

    def name(self) -> Text:
        return ANSWER_ACTION

    @live_stock  # "14 Pro 有货吗": the orders backend's stock in the answer (bot.actions.stock)
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent, confidence = _intent(tracker)
        text = tracker.latest_message.get("text") or ""
        if asks_feedback_status(text):  # "any update on the suggestion i sent" (a new suggestion or a product
            return [FollowupAction("action_feedback_status")]  # question to the NLU): its status, not filed twice
        if asks_for_restock_alert(text):
            intent = "restock_alert"  # "pls add me to the waitlist for the pro in sky blue" (a suggestion to the NLU)
        elif said_unclearly(intent, confidence, text) or lacks_flow_words(intent, text):
            intent = None  # a sign-up the user did not say clearly, an F-code nobody named: the ranking's answer
        elif _second_reading(tracker) == "suggest_feature" and wants_change(text) and not asks_question(text):
            intent = "suggest_feature"  # "Please add a headphone jack to the 14 Pro": ask_product 0.52, suggestion 0.46
        elif intent == "complain" and _second_reading(tracker) == "repair_warranty" and not wants_change(text):
            intent = None  # "手机屏幕右上角有块黑斑 刚买一个月": a fault of the fan's own device is a service case, not feedback
        try:
            retriever = self.ctx.knowledge.retriever()
            rule = answer_first_rule(tracker.events, self.ctx.settings)  # the EscalationPolicy sent it here
            if rule:
                return _answer_or_person(retriever, dispatcher, tracker, rule)
            if intent in TASK_FLOWS:
                return _task_or_answer(retriever, dispatcher, tracker, intent)
            if intent in GUARDED_FLOWS and chosen_entry(tracker) is None:
                return _guarded_or_answer(retriever, dispatcher, tracker, intent)
            if intent in OWN_FLOWS and chosen_entry(tracker) is None:
                return _own_flow_or_answer(self.ctx, retriever, dispatcher, tracker, intent)
            return _answer(retriever, dispatcher, tracker, quiet_when_unsure=False)
        except Exception:
            fallback = TASK_FLOWS.get(intent or "") or GUARDED_FLOWS.get(intent or "") or OWN_FLOWS.get(intent or "")
            if fallback:
                logger.exception("knowledge base failed; running %s", fallback)
                return [FollowupAction(fallback)]
            logger.exception("knowledge base failed; telling the user we are not sure")
            dispatcher.utter_message(response="utter_product_unsure")
            return []
