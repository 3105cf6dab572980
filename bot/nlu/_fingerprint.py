"""A hash of the code behind our components, so Rasa's training cache never reuses a model trained by older code.

`code_fingerprint` is a documented cache (`lru_cache`): computed once per process, since the code does not change
while it runs; `code_fingerprint.cache_clear()` resets it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent  # the `bot` package


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-1 over bot/nlu/*.py, bot/embeddings.py, bot/embedding_models.py and bot/language.py."""
    digest = hashlib.sha1()
    files = sorted((_ROOT / "nlu").glob("*.py")) + [_ROOT / name for name in ("embeddings.py", "embedding_models.py",
                                                                          "language.py")]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
