"""What an agent does to a conversation, end to end: introduce themselves on claim, reply, grant a perk (a code
from a pool, or one of their role's discretionary perks), file the chat as feedback, resolve (with their
sign-off), the no-agent notice.

Each step records itself in the Rasa tracker (through the Rasa HTTP API, so every instance sees it and
the transcript stays whole) and reaches the user through `bot.outbound.send_to_user` on their own channel.

Resolve resumes Rasa first and removes the handoff record only after Rasa has taken the conversation back
(`HandoffStore.begin_resolve` / `resolve` / `abort_resolve`). If Rasa fails, the record stays with the agent,
the user stays with the agent (paused), and the same resolve can simply be tried again. A second resolve
after a successful one finds no record and changes nothing. A failure to deliver the rating question after
the record is gone is logged, not raised: the conversation is already back with the bot.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from bot.errors import CanyuError
from bot.handoff.agents import AgentProfiles
from bot.handoff.discretion import Discretion, DiscretionLog
from bot.handoff.perks import PerkStore
from bot.handoff.store import HandoffRecord, HandoffStore
from bot.handoff.texts import render
from bot.rasa_client import RasaClient

if TYPE_CHECKING:
    from bot.followups import FollowupConfig
    from bot.outbound import Outbound
    from bot.texts import Texts

__all__ = ["HandoffService"]

logger = logging.getLogger(__name__)

RESOLVE_MARK_SECONDS = 240
"""How long one resolve may hold the conversation (three Rasa calls of at most 60 s each, and some)."""


class HandoffService:
    def __init__(self, store: HandoffStore, rasa: RasaClient, outbound: Optional["Outbound"] = None, *,
                 followups: "FollowupConfig", texts: "Texts") -> None:
        """`outbound`: the process's way to the users (`ctx.outbound`, with its senders); None queues on the
        store's Redis for a process that has the channel's sender. `followups`: the follow-up settings
        (`bot.followups.config_from_env(ctx.env)`) for the check-in after a resolve. `texts`: what the bot says
        in an agent's name (`ctx.texts`, responses/handoff.yml)."""
        from bot.outbound import Outbound

        self.store = store
        self.rasa = rasa
        self.outbound = outbound if outbound is not None else Outbound(store.redis)
        self.followups = followups
        self.texts = texts

    async def _send(self, sender_id: str, messages: List[Any]) -> Any:
        return await self.outbound.send_to_user(sender_id, messages)

    async def reply(self, record: HandoffRecord, agent: str, text: str, extra: Optional[Dict[str, Any]] = None) -> Any:
        """Record the agent's message as a bot utterance from `agent`, then send it to the user."""
        metadata = {"agent": agent, **(extra or {})}
        await self.rasa.append_events(record.sender_id, [{"event": "bot", "text": text, "metadata": metadata}])
        return await self._send(record.sender_id, [text])

    async def introduce(self, record: HandoffRecord, agent: str) -> str:
        """Tell the user who took their conversation ("我是小李，接下来我来帮你"), in their language."""
        profile = AgentProfiles(self.store.redis).get(agent)
        text = render(self.texts, "utter_agent_intro", record.language, agent_name=profile.display)
        await self.reply(record, agent, text, {"intro": True})
        return text

    async def grant_discretion(self, record: HandoffRecord, agent: str, role: str, kind: str, amount: Any = 0,
                               gift: str = "", *, config: Discretion) -> Dict[str, Any]:
        """A perk of the agent's own discretion (bot/handoff/discretion.py; PerkRefused over the role's
        limits in `config`, the caller's `load_discretion(discretion_path(ctx.env))`), logged, then told to the
        user in their language."""
        entry = DiscretionLog(self.store.redis).grant(config, role=role, agent=agent, sender_id=record.sender_id,
                                                      kind=kind, amount=amount, gift=gift)
        lang = record.language if record.language in ("zh", "en") else "en"
        if kind == "credit":
            text = render(self.texts, "utter_perk_credit", lang, amount=entry["amount"])
        elif kind == "gift":
            text = render(self.texts, "utter_perk_gift", lang, gift=config.gifts[gift][lang])
        else:
            text = render(self.texts, "utter_perk_priority_repair", lang)
        await self.reply(record, agent, text, {"perk": kind})
        self.store.log_event(record.sender_id, "perk", kind=kind, by=agent, amount=entry.get("amount"), gift=gift)
        return entry

    async def file_feedback(self, record: HandoffRecord, agent: str, text: str, kind: str) -> Dict[str, Any]:
        """File `text` (the user's words, picked in the transcript) as feedback with the user as its author
        (bot.feedback's own store and matching: it may join an existing item)."""
        import asyncio

        from bot.feedback import FeedbackStore

        def file() -> Any:
            return FeedbackStore(self.store.redis).file(record.sender_id, text, kind=kind, language=record.language,
                                                        channel=record.channel or None, ask_when_unsure=False)

        filing = await asyncio.to_thread(file)
        item = filing.item
        self.store.log_event(record.sender_id, "filed_feedback", by=agent, item=item.id if item else "",
                        outcome=filing.outcome)
        logger.info("handoff: %s filed feedback for %s: %s (%s)", agent, record.sender_id,
                    item.id if item else "-", filing.outcome)
        return {"item": item.id if item else None, "outcome": filing.outcome}

    async def grant_perk(self, record: HandoffRecord, agent: str, pool: str) -> Dict[str, Any]:
        """Take a one-time code from `pool`, record the grant, and send it to the user in their language."""
        perk = self.store.config.perks.get(pool)
        if perk is None:
            from bot.errors import ConfigError

            raise ConfigError(f"escalation.yml: no perk pool named {pool!r} under perks:")
        grant = PerkStore(self.store.redis).grant(pool, record.sender_id, agent)
        messages = perk.get("message") or {}
        template = messages.get(record.language) or messages.get("en") or "{code}"
        await self.reply(record, agent, str(template).format(code=grant["code"]), {"perk": pool})
        return grant

    async def resolve(self, record: HandoffRecord, agent: str) -> List[Dict[str, Any]]:
        """End the handoff: the bot resumes and asks for a 1-5 rating (delivered on the user's channel).

        Raises ConnectorError (Rasa failed; the record stays, try again) or ResolveInProgress."""
        sender_id = record.sender_id
        signoff = AgentProfiles(self.store.redis).get(agent).signoff
        if signoff and self.store.claim_signoff(sender_id):  # once per handoff
            await self.reply(record, agent, signoff, {"signoff": True})
        self.store.begin_resolve(sender_id, agent, RESOLVE_MARK_SECONDS)
        try:
            await self.rasa.append_events(sender_id, [{"event": "resume"}])
            messages = await self.rasa.execute(sender_id, "action_ask_rating")
            await self.rasa.append_events(sender_id, [{"event": "action", "name": "action_listen"}])
        except BaseException:
            self.store.abort_resolve(sender_id)
            raise
        if self.store.resolve(sender_id, agent) is None:
            logger.warning("handoff: %s was resolved by someone else meanwhile", sender_id)
            return []
        from bot.followups import after_handoff  # the check-in a few days later (bot/followups; never raises)

        await after_handoff(self.store.redis, self.rasa, record, agent, config=self.followups)
        if messages:
            try:
                await self._send(sender_id, messages)
            except CanyuError as exc:
                logger.error("handoff: %s resolved, but the rating question was not delivered: %s", sender_id, exc)
        return messages

    async def timeout_notice(self, record: HandoffRecord) -> None:
        """Tell a still-queued user that the reply will come in this chat (recorded in the tracker)."""
        messages = await self.rasa.execute(record.sender_id, "utter_handoff_timeout")
        if messages:
            await self._send(record.sender_id, messages)

    async def sweep_timeouts(self) -> int:
        count = 0
        for record in self.store.due_for_timeout_notice():
            try:
                await self.timeout_notice(record)
                count += 1
            except Exception as exc:
                logger.error("handoff: timeout notice for %s failed: %s", record.sender_id, exc)
        return count
