"""The body of a call to the action server, its JSON made once per piece (the `action-keepalive` transport of
bot/rasa_patches.py).

Why: Rasa's `RemoteAction._action_call_format` makes the dict of every event of the conversation
(`tracker.current_state(EventVerbosity.ALL)`) and aiohttp JSON-encodes it, with the domain, for every custom
action call: a form's validation and its action in one turn, the same events again on every turn. That was ~7%
of Rasa's CPU at c=16 (bench/profile_rasa.py), with the domain's JSON already made once.

Now:
- the domain's JSON (the same dict on every call) is made once per domain, with its digest
  (bot/rasa_action_domain.py: the server keeps it, and the domain can stay out of the body);
- an event's JSON is made once, when it is first sent, and kept on the event (`_canyu_json`, with the id of the
  object it was made for, so a copy of the event makes its own): events do not change once logged;
- the rest of the tracker's state is Rasa's `current_state` without the events (the active loop not deep-copied),
  encoded by ujson (`dumps`).

The JSON holds the same values as Rasa's (the keys of the tracker in another order). The `ActionCall` dict holds
Rasa's values too, except that the events are made only when something needs the dict rather than the JSON
(`ActionCall.full()`: a compressed call, which goes through Rasa's own code).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import ujson

from bot.rasa_action_domain import domain_digest

__all__ = ["ActionCall", "DomainJson", "action_call", "dumps", "encode_action_call", "event_json"]

DomainJson = Dict[int, Tuple[Any, str, Optional[str]]]
"""id(domain dict) -> (the dict, its JSON, its digest): the last domain sent (rasa_patches' cache)."""
_EVENT_JSON = "_canyu_json"


class ActionCall(dict):  # type: ignore[type-arg]
    """The body of a call to the action server (the dict Rasa builds) with its JSON already made: `encoded`
    (Rasa's body), `lean` (the same without the domain) and the domain's `digest`."""

    encoded: bytes = b""
    lean: bytes = b""
    digest: Optional[str] = None
    _events: Optional[List[Any]] = None

    def full(self) -> "ActionCall":
        """This body with the tracker's events as dicts, as Rasa's (made on the first call)."""
        if self._events is not None:
            self["tracker"]["events"] = [event.as_dict() for event in self._events]
            self._events = None
        return self


def dumps(value: Any) -> str:
    """The JSON of `value`: ujson (C, ~4x faster than `json.dumps` on a tracker; the same escapes of non-ASCII,
    slashes left alone), else `json.dumps` for what ujson refuses, so a call fails only where Rasa's would."""
    try:
        return ujson.dumps(value, ensure_ascii=True, escape_forward_slashes=False)
    except (TypeError, ValueError, OverflowError):
        return json.dumps(value)


def event_json(event: Any) -> str:
    """The JSON of `event.as_dict()`, made once per event object."""
    kept = event.__dict__.get(_EVENT_JSON)
    if kept is not None and kept[0] == id(event):
        text: str = kept[1]
        return text
    text = dumps(event.as_dict())
    event.__dict__[_EVENT_JSON] = (id(event), text)
    return text


def _with_domain(call: ActionCall, text: str, domain: Any, cache: DomainJson) -> None:
    """`call.encoded` = `text` (a JSON object) with `"domain": <its JSON>` added; `call.lean` = `text`."""
    call.lean = text.encode("utf-8")
    if domain is None:
        call.encoded = call.lean
        return
    kept = cache.get(id(domain))
    if kept is None or kept[0] is not domain:
        cache.clear()
        kept = cache[id(domain)] = (domain, json.dumps(domain), domain_digest(domain))
    call.digest = kept[2]
    call.encoded = ((text[:-1] + ", " if len(text) > 2 else "{") + '"domain": ' + kept[1] + "}").encode("utf-8")


def encode_action_call(body: Dict[str, Any], cache: DomainJson) -> ActionCall:
    """The JSON aiohttp would send for `body` (the same values; compact separators), the domain part (the same
    dict on every call) made once and the rest by `dumps`."""
    domain = body.get("domain")
    call = ActionCall(body)
    _with_domain(call, dumps({k: v for k, v in body.items() if k != "domain"}), domain, cache)
    return call


def _tracker_state(tracker: Any) -> Dict[str, Any]:
    """Rasa 3.6's `tracker.current_state(EventVerbosity.NONE)`, the active loop as a shallow dict (Rasa's
    `dataclasses.asdict` copies its trigger message deeply: ~2% of Rasa's CPU; the JSON is the same)."""
    import dataclasses

    from rasa.shared.core.constants import ACTIVE_LOOP, FOLLOWUP_ACTION
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

    if type(tracker).current_state is not DialogueStateTracker.current_state:
        state: Dict[str, Any] = tracker.current_state(EventVerbosity.NONE)
        return state
    loop = tracker.active_loop
    return {"sender_id": tracker.sender_id, "slots": tracker.current_slot_values(),
            "latest_message": tracker._latest_message_data(),
            "latest_event_time": tracker.events[-1].timestamp if len(tracker.events) > 0 else None,
            FOLLOWUP_ACTION: tracker.followup_action, "paused": tracker.is_paused(), "events": None,
            "latest_input_channel": tracker.get_latest_input_channel(),
            ACTIVE_LOOP: {f.name: getattr(loop, f.name) for f in dataclasses.fields(loop)} if loop else {},
            "latest_action": tracker.latest_action, "latest_action_name": tracker.latest_action_name}


def action_call(action: Any, tracker: Any, domain: Any, cache: DomainJson) -> ActionCall:
    """Rasa 3.6's `RemoteAction._action_call_format(tracker, domain)`, each event's JSON made once."""
    import rasa

    state = _tracker_state(tracker)
    events = list(tracker.events)
    call = ActionCall(next_action=action._name, sender_id=tracker.sender_id, tracker=state,
                      version=rasa.__version__)
    call._events = events
    domain_dict = None
    if not action._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(action.name()):
        domain_dict = call["domain"] = domain.as_dict()
    del state["events"]
    state_json = dumps(state)
    state["events"] = None  # until `full()`
    events_json = '"events": [' + ", ".join(event_json(event) for event in events) + "]"
    state_json = state_json[:-1] + ", " + events_json + "}" if len(state_json) > 2 else "{" + events_json + "}"
    rest = dumps({"next_action": call["next_action"], "sender_id": call["sender_id"], "version": call["version"]})
    _with_domain(call, rest[:-1] + ', "tracker": ' + state_json + "}", domain_dict, cache)
    return call
