"""`python -m bot.console --host 127.0.0.1 --port 5002`: run the agent console.

The console process's composition root: one `AppContext` (settings read once, one sync and one asyncio Redis
client, the channels' senders), handed to `bot.console.app.create_app`; and, where `CANYU_ENCODER_URL` names the
host's encoder, that encoder as the process's sentence encoder (`use_host_encoder`)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:
    from bot.context import AppContext


def use_host_encoder(ctx: "AppContext") -> None:
    """Make the host's encoder process this process's sentence encoder, where `CANYU_ENCODER_URL` names one.

    The console encodes through helpers that pass no settings (`get_encoder()`: the review's grouping in
    bot/trainer/cluster.py, feedback matching when an agent files a user's words): they take the encoder this
    process already has, else they load torch and the model here (~800 MB). Made first from the context's settings,
    that encoder is a `RemoteModel` of the host's encoder (one request for the model's size; `bot run` and
    deploy/ start the encoder before the console), so the console never loads torch, as the action server does
    not (tests/test_console_encoder.py). Without the setting nothing is made: a console alone loads the model
    when it first needs it, as before."""
    from bot.embedding_models import EmbeddingSettings, resolve

    if EmbeddingSettings.from_env(ctx.env).encoder_url:
        ctx.encoder(resolve(None, EmbeddingSettings()))  # the model that a caller without settings resolves


def main(argv: Optional[List[str]] = None, ctx: Optional["AppContext"] = None) -> int:
    """Serve the console; `ctx` is the caller's context (`bot console serve` hands the CLI run's), else one is
    built here."""
    if ctx is None:
        from bot.context import build_context

        ctx = build_context()
    parser = argparse.ArgumentParser(prog="python -m bot.console", description="Canyu agent console")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=ctx.settings.console_port)
    parser.add_argument("--debug", action="store_true", help="verbose logs (never includes passwords or tokens)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.console.app import create_app

    app = create_app(ctx)
    use_host_encoder(ctx)
    app.run(host=args.host, port=args.port, workers=1, access_log=True, debug=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
