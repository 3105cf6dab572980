"""The outcome of a conversation's first turn, read from the sender's tracker events."""

from __future__ import annotations

from typing import Any, List, Mapping, Sequence

from bot.conversation_eval._set import KINDED_IDS

__all__ = ["FLOW_ACTIONS", "HANDOFF_ACTION", "UNSURE_RESPONSES", "metadata", "events_after_first_user_message",
           "outcome_from_events"]

# Actions that start a task flow (first one run wins).
FLOW_ACTIONS = (
    "order_form",
    "cancel_order_form",
    "change_address_form",
    "repair_booking_form",
    "restock_alert_form",
    "action_file_feedback",
    "action_feedback_status",
    "action_explain_tier",
    "action_grant_fcode",
    "action_link_identity",
)
HANDOFF_ACTION = "action_handoff"
# Responses that mean "I don't know / can't help with that".
UNSURE_RESPONSES = ("utter_product_unsure", "utter_product_other_brand", "utter_product_not_ours", "utter_ask_rephrase",
                    "utter_offer_human", "utter_out_of_scope")


def metadata(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return event.get("metadata") or {}


def events_after_first_user_message(events: Sequence[Mapping[str, Any]], turn_index: int = 0) -> List[Mapping[str, Any]]:
    """The events of one turn (the first, or the `turn_index`-th counting from 0): after that user message, up to the
    next one."""
    turn: List[Mapping[str, Any]] = []
    users = 0
    for event in events:
        if event.get("event") == "user":
            users += 1
            if users > turn_index + 1:
                break
            continue
        if users == turn_index + 1:
            turn.append(event)
    return turn


def outcome_from_events(events: Sequence[Mapping[str, Any]]) -> str:
    """What the bot did in a turn (the events after the user message), in this precedence:
    handoff > flow:<first flow action> > entry (kb answer) > suggest > unsure > reply:<first response>."""
    actions = [e.get("name") for e in events if e.get("event") == "action"]
    if HANDOFF_ACTION in actions:
        return "handoff"
    for name in actions:
        if name in FLOW_ACTIONS:
            return f"flow:{name}"
    bots = [e for e in events if e.get("event") == "bot"]
    kb_records = [metadata(e).get("kb") or {} for e in bots]
    for record in kb_records:
        if record.get("outcome") == "answer" and record.get("entry"):
            entry = str(record["entry"])
            return entry if entry.startswith(KINDED_IDS) else f"entry:{entry}"
    if any(r.get("outcome") == "suggest" for r in kb_records):
        return "suggest"
    responses = [metadata(e).get("utter_action") for e in bots]
    if any(r in UNSURE_RESPONSES for r in responses) or any(r.get("outcome") == "unsure" for r in kb_records):
        return "unsure"
    for name in responses:
        if name:
            return f"reply:{name}"
    return "none"
