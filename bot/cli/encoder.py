"""`bot encoder`: the host's encoder process on its own (bot/encoder_service/), for hosts where `bot run` does not
start it: Rasa servers and action servers started by hand or by a container runtime, each given
`CANYU_ENCODER_URL=tcp://HOST:PORT`. deploy/ runs the same command line in its encoder container.

The command replaces this process with the encoder's (`python -m bot.child bot.encoder_service …`, exactly what
`bot run` starts), so a supervisor's signals reach the encoder itself.
"""

from __future__ import annotations

import argparse
import os
from typing import List

from bot.encoder_service import DEFAULT_PORT, HEALTH_PATH, child_args


def command(args: argparse.Namespace) -> List[str]:
    """The encoder's command line for these arguments."""
    return child_args(args.port, host=args.host)


def _encoder(args: argparse.Namespace) -> int:
    words = command(args)
    print(f"[canyu] encoder on {args.host}:{args.port} (GET {HEALTH_PATH} answers once the model is loaded)",
          flush=True)
    os.execv(words[0], words)
    return 0  # not reached: execv does not return


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("encoder", help="run the host's encoder process (the sentence models, once per host)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.set_defaults(func=_encoder)
