"""The REST channel, with a way for REST users to receive messages sent outside their own requests.

Same name ("rest") and URL as Rasa's RestInput (`POST /webhooks/rest/webhook {"sender", "message",
"metadata"}`), plus:
- `GET /webhooks/rest/outbox/<sender>?wait=N`: takes the messages queued for this user by
  `bot.outbound.send_to_user` (agent replies, timeout notices, rating questions), oldest first; with
  `wait` (seconds, at most 25) it long-polls until something arrives;
- the webhook's JSON reply also carries any queued messages after the bot's own replies.

Identity is owned by the channel. The client's `sender` names a user *of the REST channel*: the Rasa
sender id is `rest:` + that name (a name already starting with `rest:` is kept), so `"telegram:42"` becomes
`rest:telegram:42` and can never speak as, read for, or reroute the Telegram user 42. The input channel is
always `rest`, and platform metadata (`wechat`, `telegram`) sent by a client is dropped.

Who may call it: see `connectors/_rest_auth.py` (a bearer token or an HMAC signature, required by default
when WeChat or Telegram is enabled on the same server).

credentials.yml:

    connectors.rest.RestInput:
      # token / hmac_secret / auth: optional, else CANYU_REST_TOKEN / CANYU_REST_HMAC_SECRET / CANYU_REST_AUTH
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Union

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

import rasa.utils.endpoints
from connectors._channel import platform_channels
from connectors._rest_auth import RestAuth

logger = logging.getLogger(__name__)

MAX_WAIT_S = 25.0
POLL_INTERVAL_S = 0.25
NAMESPACE = "rest:"
_PLATFORM_METADATA = ("wechat", "telegram")


def rest_sender(name: str) -> str:
    """The Rasa sender id of the REST user a client calls `name`."""
    return name if name.startswith(NAMESPACE) else NAMESPACE + name


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
    """Rasa's REST channel plus the outbox, its own sender namespace and authentication (see module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RestInput":
        return cls(RestAuth.load(credentials))

    def __init__(self, auth: Optional[RestAuth] = None) -> None:
        self.auth = auth or RestAuth.load()
        self._warned = False

    def _refusal(self, request: Request) -> Optional[HTTPResponse]:
        if not self.auth.required(bool(platform_channels(request.app))):
            return None
        redis = None
        if self.auth.hmac_secret:
            from bot.storage import connect_redis

            redis = connect_redis()
        why = self.auth.refusal(request.method, request.path + (f"?{request.query_string}" if request.query_string
                                                                 else ""),
                                request.headers, request.body or b"", redis)
        if why is None:
            return None
        if not self.auth.configured and not self._warned:
            logger.error("rest: %s", why)
            self._warned = True
        return response.json({"error": why}, status=403 if not self.auth.configured else 401)

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        metadata = request.json.get("metadata")
        if not isinstance(metadata, dict):
            return None
        return {k: v for k, v in metadata.items() if k not in _PLATFORM_METADATA}

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        module = inspect.getmodule(self)
        bp = Blueprint(f"custom_webhook_{type(self).__name__}", module.__name__ if module else None)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            refused = self._refusal(request)
            if refused is not None:
                return refused
            if not isinstance(request.json, dict):
                return response.json({"error": "send JSON: {\"sender\": ..., \"message\": ...}"}, status=400)
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            if not sender_id or text is None:
                return response.json({"error": "both 'sender' and 'message' are required"}, status=400)
            sender_id = rest_sender(str(sender_id))
            input_channel = self.name()
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
            refused = self._refusal(request)
            if refused is not None:
                return refused
            sender_id = rest_sender(sender_id)
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
