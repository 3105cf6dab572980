"""The REST channel, with a way for REST users to receive messages sent outside their own requests.

Same name ("rest") and URL as Rasa's RestInput (`POST /webhooks/rest/webhook {"sender", "message",
"metadata"}`), plus:
- `GET /webhooks/rest/outbox/<sender_id>?wait=N`: takes the messages queued for this user by
  `bot.outbound.send_to_user` (agent replies, timeout notices, rating questions), oldest first; with
  `wait` (seconds, at most 25) it long-polls until something arrives;
- the webhook's JSON reply also carries any queued messages after the bot's own replies.

credentials.yml:

    connectors.rest.RestInput:

Like Rasa's REST channel, it trusts the `sender` the client names: put it behind your own
authentication (or a gateway) when the REST API is public.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Text, Union

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

import rasa.utils.endpoints

logger = logging.getLogger(__name__)

MAX_WAIT_S = 25.0
POLL_INTERVAL_S = 0.25


def _pop(sender_id: str) -> List[Dict[str, Any]]:
    from bot.outbound import pop_outbox

    try:
        return pop_outbox(sender_id)
    except Exception as exc:  # Redis trouble must not break the user's own reply
        logger.error("rest: cannot read the outbox of %s: %s", sender_id, exc)
        return []


def _record(sender_id: str) -> None:
    from bot.outbound import record_inbound

    try:
        record_inbound(sender_id, "rest")
    except Exception as exc:
        logger.error("rest: cannot record the channel of %s: %s", sender_id, exc)


class RestInput(RasaRestInput):
    """Rasa's REST channel plus the outbox (see module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        module = inspect.getmodule(self)
        bp = Blueprint(f"custom_webhook_{type(self).__name__}", module.__name__ if module else None)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            if not isinstance(request.json, dict):
                return response.json({"error": "send JSON: {\"sender\": ..., \"message\": ...}"}, status=400)
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            if not sender_id or text is None:
                return response.json({"error": "both 'sender' and 'message' are required"}, status=400)
            sender_id = str(sender_id)
            input_channel = self._extract_input_channel(request)
            metadata = self.get_metadata(request)
            _record(sender_id)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, sender_id, input_channel, metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender_id, input_channel=input_channel,
                                                 metadata=metadata))
            except asyncio.CancelledError:
                logger.error("rest: message from %s timed out", sender_id)
            except Exception:
                logger.exception("rest: message from %s failed", sender_id)
            return response.json(list(collector.messages) + _pop(sender_id))

        @bp.route("/outbox/<sender_id:path>", methods=["GET"])
        async def outbox(request: Request, sender_id: Text) -> HTTPResponse:
            try:
                wait = min(MAX_WAIT_S, max(0.0, float(request.args.get("wait", "0"))))
            except ValueError:
                return response.json({"error": "wait must be a number of seconds (0-25)"}, status=400)
            deadline = time.monotonic() + wait
            messages = _pop(sender_id)
            while not messages and time.monotonic() < deadline:
                await asyncio.sleep(POLL_INTERVAL_S)
                messages = _pop(sender_id)
            return response.json(messages)

        return bp
