"""The jobs of one deployment, wired together: which background jobs the leader runs (bot/jobs.py runs them).

Why a module of its own: `bot.jobs` is the mechanism (the lease, the runner) that the feature packages build
their `Job`s with, so the list that names every feature's jobs sits above them all; an entry point (the
`bot run` supervisor, an agent console) takes the list from here and hands it to a `JobRunner`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, List, Optional

from bot.feedback import feedback_jobs
from bot.followups import config_from_env, followup_job, returns_job
from bot.handoff.service import HandoffService
from bot.handoff.store import HandoffStore
from bot.jobs import HANDOFF_SWEEP_S, Job
from bot.rasa_client import RasaClient

if TYPE_CHECKING:
    from bot.outbound import Outbound
    from bot.settings import Settings

__all__ = ["deployment_jobs"]

logger = logging.getLogger(__name__)


def deployment_jobs(redis: Any, rasa_url: str, rasa_token: Optional[str],
                    outbound: Optional["Outbound"] = None, *, settings: "Settings") -> List[Job]:
    """The jobs of one deployment: the handoff no-agent timeout sweep (`HandoffService.sweep_timeouts`) and the
    weekly feedback digest (`bot.feedback.feedback_jobs`, once per subscriber and week); the follow-up
    check-ins (`bot.followups.followup_job`, once per follow-up) and the watch for returns the shop records
    (`bot.followups.returns_job`, which schedules their check-ins).

    The privacy retention sweep keeps its own lock (bot/privacy/retention.py); restock checks run in the
    action server under the restock lock (`bot.keys.RESTOCK_LOCK`) and claim each alert (bot/orders/restock.py).
    `outbound`: the process's (with its senders) for the handoff notices; None queues them. `settings`:
    the deployment's (the escalation rules' timeout, the digest schedule, the order backend of the returns)."""
    from bot.handoff.rules import config_path, load_config
    from bot.orders import get_order_backend
    from bot.texts import Texts

    env = settings.env
    followups = config_from_env(env)
    texts = Texts.of(settings)

    async def sweep_handoff_timeouts() -> None:
        escalation = load_config(config_path(settings))  # cached; re-read when a trainer edits it
        service = HandoffService(HandoffStore(redis, escalation), RasaClient(rasa_url, rasa_token), outbound,
                                 followups=followups, texts=texts)
        count = await service.sweep_timeouts()
        if count:
            logger.info("jobs: told %d queued user(s) that an agent will answer in this chat", count)

    rasa = RasaClient(rasa_url, rasa_token) if rasa_url else None  # check-ins also go into the transcript
    return [Job("handoff-timeouts", HANDOFF_SWEEP_S, sweep_handoff_timeouts), *feedback_jobs(redis, env, texts),
            followup_job(redis, followups, rasa=rasa, texts=texts), returns_job(redis, get_order_backend(env), followups)]
