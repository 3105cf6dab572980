"""The REST channel, with a way for REST users to receive messages sent outside their own requests.

Same name ("rest") and URL as Rasa's RestInput (`POST /webhooks/rest/webhook {"sender", "message",
"metadata"}`), plus:
- `GET /webhooks/rest/outbox/<sender>?wait=N`: takes the messages queued for this user by
  `bot.outbound.send_to_user` (agent replies, timeout notices, rating questions), oldest first; with
  `wait` (seconds, at most 25) it long-polls until something arrives;
- the webhook's JSON reply also carries any queued messages after the bot's own replies;
- no silent empty reply: when Redis is unreachable, Rasa raises, or Rasa takes longer than
  `CANYU_REST_TIMEOUT` seconds (60), the webhook answers 503 with
  `{"error": "...", "language": "zh"|"en", "messages": [{"recipient_id", "text": <apology>}]}` (the apology in
  the language of the user's message) instead of `200 []`;
- `GET /webhooks/rest/ready`: 200 `{"status": "ready"}` only when Redis answers PING, the action server's
  `/health` answers 200 (its URL from the agent's action endpoint, else `CANYU_ACTIONS_PORT`; not asked when the
  actions run in the Rasa process) and a model is loaded; else 503 `{"status": "unavailable", "failing":
  {check: why}}`. `GET /webhooks/rest/` stays a liveness check (the process answers).

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
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Text, Union

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot import metrics
from bot.context import AppContext, build_context
from bot.errors import ConfigError
from bot.outbound import Outbound
from bot.warmup import attach_rasa
from connectors._channel import platform_channels
from connectors._rest_auth import RestAuth

logger = logging.getLogger(__name__)

MAX_WAIT_S = 25.0
DEFAULT_TIMEOUT_S = 60.0
"""How long the webhook waits for Rasa (`CANYU_REST_TIMEOUT`) before it answers 503."""
READY_TIMEOUT_S = 2.0
APOLOGY = {
    "zh": "抱歉，我这边暂时出了点问题，请稍后再发一次。",
    "en": "Sorry, something went wrong on my side. Please send that again in a moment.",
}
POLL_INTERVAL_S = 0.25
NAMESPACE = "rest:"
_PLATFORM_METADATA = ("wechat", "telegram")


def rest_sender(name: str) -> str:
    """The Rasa sender id of the REST user a client calls `name`."""
    return name if name.startswith(NAMESPACE) else NAMESPACE + name


def _pop(outbound: Outbound, sender_id: str, after: Optional[str] = None) -> List[Dict[str, Any]]:
    try:
        return outbound.read_outbox(sender_id, after)
    except Exception as exc:  # Redis trouble must not break the user's own reply
        logger.error("rest: cannot read the outbox of %s: %s", sender_id, exc)
        return []


def _record(outbound: Outbound, sender_id: str) -> None:
    """Remember the user's channel; raises when Redis is unreachable (then nothing can be answered)."""
    outbound.record_inbound(sender_id, "rest")


def _apology(sender_id: str, text: Optional[str], error: str, status: int = 503) -> HTTPResponse:
    """A message that could not be processed: an error status and a short apology, never `200 []`."""
    from bot.language import detect_language

    language = detect_language(text or "") or "en"
    return response.json({"error": error, "language": language,
                          "messages": [{"recipient_id": sender_id, "text": APOLOGY[language]}]}, status=status)


def _actions_health_url(agent: Any, actions_port: int) -> str:
    """The action server's `/health`: from the agent's action endpoint, else on `actions_port`
    (`CANYU_ACTIONS_PORT`)."""
    endpoint = getattr(agent, "action_endpoint", None)
    url = str(getattr(endpoint, "url", "") or "")
    if url:
        base = url[: -len("/webhook")] if url.rstrip("/").endswith("/webhook") else url
        return base.rstrip("/") + "/health"
    return f"http://127.0.0.1:{actions_port}/health"


def _timeout(env: Mapping[str, str]) -> float:
    raw = (env.get("CANYU_REST_TIMEOUT") or "").strip()
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        # cause dropped: the message quotes the bad value and the reason
        raise ConfigError(f"CANYU_REST_TIMEOUT={raw!r} is not a number of seconds; use e.g. "
                          f"{DEFAULT_TIMEOUT_S:g}") from None


class RestInput(RasaRestInput):
    """Rasa's REST channel plus the outbox, its own sender namespace and authentication (see module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RestInput":
        """The composition root of this channel in the Rasa server: one context (settings, Redis)."""
        ctx = build_context()
        return cls(RestAuth.load(credentials, ctx.env), ctx)

    def __init__(self, auth: RestAuth, ctx: AppContext, timeout: Optional[float] = None) -> None:
        self.auth = auth
        self.ctx = ctx
        self._warned = False
        self.timeout = timeout if timeout is not None else _timeout(ctx.env)

    @property
    def redis(self) -> Any:
        """The context's Redis client (connected on first use)."""
        return self.ctx.redis

    @property
    def outbound(self) -> Outbound:
        return self.ctx.outbound

    def _refusal(self, request: Request) -> Optional[HTTPResponse]:
        if not self.auth.required(bool(platform_channels(request.app))):
            return None
        redis = self.redis if self.auth.hmac_secret else None
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

    async def _readiness(self, app: Any) -> Dict[str, str]:
        """The checks that fail (name -> why): Redis PING, the action server's health, a loaded model."""
        failing: Dict[str, str] = {}
        try:
            if not await asyncio.wait_for(asyncio.to_thread(self.redis.ping), READY_TIMEOUT_S + 1):
                failing["redis"] = "PING was not answered"
        except Exception as exc:
            failing["redis"] = f"unreachable: {type(exc).__name__}: {exc}"[:300]
        agent = getattr(app.ctx, "agent", None)
        is_ready = getattr(agent, "is_ready", None)
        if not callable(is_ready) or not is_ready():
            failing["model"] = "no model loaded"
        from bot.rasa_actions_inprocess import running

        if running() is not None:  # the custom actions run in this process (CANYU_ACTIONS=inprocess), warm
            return failing  # before it listened: no action server to ask
        url = _actions_health_url(agent, self.ctx.settings.actions_port)
        try:
            import aiohttp

            timeout = aiohttp.ClientTimeout(total=READY_TIMEOUT_S)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(url) as answer:
                    if answer.status != 200:
                        failing["actions"] = f"{url} answered {answer.status}"
        except Exception as exc:
            failing["actions"] = f"{url} unreachable: {type(exc).__name__}"
        return failing

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        module = inspect.getmodule(self)
        bp = Blueprint(f"custom_webhook_{type(self).__name__}", module.__name__ if module else None)
        attach_rasa(bp, self.ctx)  # the Rasa server answers its first message warm (bot/warmup.py)

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
            if not isinstance(text, str) or not isinstance(sender_id, (str, int)):
                return response.json({"error": "'message' must be text and 'sender' a name or a number"}, status=400)
            sender_id = rest_sender(str(sender_id))
            input_channel = self.name()
            metadata = self.get_metadata(request)
            metrics.MESSAGES_RECEIVED.labels("rest").inc()
            started = time.monotonic()
            # Redis on the loop, as Rasa's lock and tracker stores call it: a reply on loopback takes ~50 µs, a
            # hand-off to a thread and back costs more, in GIL waits, than it saves (two interleaved A/Bs at c=16:
            # Rasa's CPU per message 13.5 -> 12.1 and 12.6 -> 10.9 ms; docs/throughput.md, seventh pass)
            try:
                _record(self.outbound, sender_id)
            except Exception as exc:
                logger.error("rest: Redis unreachable, message from %s not processed: %s", sender_id, exc)
                metrics.MESSAGES_FAILED.labels("rest", "redis").inc()
                return _apology(sender_id, text, "redis unreachable: the message was not processed; try again")
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, sender_id, input_channel, metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await asyncio.wait_for(on_new_message(UserMessage(text, collector, sender_id,
                                                                  input_channel=input_channel, metadata=metadata)),
                                       timeout=self.timeout)
            except asyncio.TimeoutError:
                logger.error("rest: message from %s timed out after %.0f s", sender_id, self.timeout)
                metrics.MESSAGES_FAILED.labels("rest", "timeout").inc()
                return _apology(sender_id, text, f"the assistant did not answer within {self.timeout:.0f} s")
            except Exception as exc:
                logger.exception("rest: message from %s failed", sender_id)
                metrics.MESSAGES_FAILED.labels("rest", "rasa").inc()
                return _apology(sender_id, text, f"the assistant failed on this message ({type(exc).__name__})")
            metrics.MESSAGES_ANSWERED.labels("rest").inc()
            metrics.MESSAGE_SECONDS.labels("rest").observe(time.monotonic() - started)
            return response.json(list(collector.messages) + _pop(self.outbound, sender_id))

        @bp.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            failing = await self._readiness(request.app)
            if failing:
                return response.json({"status": "unavailable", "failing": failing}, status=503)
            return response.json({"status": "ready"})

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
            after = request.args.get("after") or None
            if after is not None and not after.isdigit():
                return response.json({"error": "after must be the id of a message you received"}, status=400)
            deadline = time.monotonic() + wait
            outbound = self.outbound
            messages = await asyncio.to_thread(_pop, outbound, sender_id, after)
            while not messages and time.monotonic() < deadline:
                await asyncio.sleep(POLL_INTERVAL_S)
                messages = await asyncio.to_thread(_pop, outbound, sender_id, after)
            return response.json(messages)

        return bp
