"""One encoder process per host: it holds the torch sentence model(s); Rasa and the action servers ask it.

Loaded in one process, torch, sentence-transformers and all-MiniLM-L6-v2 take about 800 MB; Rasa's NLU and every
action server's knowledge retriever each loaded them before, and both encoded the same English message. `bot run`
now starts `encoder` first (`python -m bot.child bot.encoder_service --port PORT`: it loads and runs the model,
then listens), waits until it answers, and gives every other child `CANYU_ENCODER_URL=tcp://127.0.0.1:PORT`; their
`bot.embedding_models.load_model` then returns a `bot.encoder_client.RemoteModel`. One `Encoder` per model serves
every client, one request at a time, with its in-memory LRU and disk cache: the retriever's encoding of the
message the NLU just encoded is an LRU hit. `GET /health` on the same port says what is loaded and how often
the LRU answered.

`CANYU_ENCODER_URL` (bot/settings.py): unset, `bot run` starts its own encoder; `off`, every process loads its
models itself (as before; bench/throughput.py's stock stack); `tcp://HOST:PORT`, an encoder started elsewhere.
Processes started outside `bot run` (training, `bot eval`, tests) load locally unless it is set.
"""

from __future__ import annotations

from bot.encoder_service._server import EncoderServer, warm
from bot.encoder_service._stack import (
    CHILD_NAME,
    DEFAULT_PORT,
    HEALTH_PATH,
    child_args,
    health_url,
    own_encoder,
    url_for,
)

__all__ = ["EncoderServer", "warm", "CHILD_NAME", "DEFAULT_PORT", "HEALTH_PATH", "child_args", "health_url",
           "own_encoder", "url_for"]
