"""The encoder process's entry point and composition root: `python -m bot.encoder_service --port PORT`
(`bot run` starts it as `python -m bot.child bot.encoder_service`). It loads and runs the default model, writes its
warm-up report (`/ready` shows it), then listens."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import List, Optional

from bot.embedding_models import EmbeddingSettings
from bot.encoder_service._server import EncoderServer, warm
from bot.warmup import WarmReport


def main(argv: Optional[List[str]] = None) -> None:
    from bot.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m bot.encoder_service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    settings = load_settings()
    server = EncoderServer(EmbeddingSettings.from_env(settings.env))
    report = WarmReport("encoder")
    asyncio.run(warm(server, report))
    report.write(settings.data_dir)
    server.serve(args.host, args.port)


if __name__ == "__main__":
    main()
