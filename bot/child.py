"""The entry point of every child process `bot run` starts: `python -m bot.child MODULE ARGS…`.

It prepares the process, then runs `python -m MODULE ARGS…` in it:
- every process: the log redaction filter (`bot.redaction.install`);
- the Rasa server (`MODULE` is `rasa`): `bot.rasa_patches.install` (a custom action whose server is down is
  retried while the supervisor restarts it, instead of being dropped; action-server responses validated by a
  validator built once and event classes looked up in a map, `CANYU_RASA_SPEEDUPS`).
"""

from __future__ import annotations

import runpy
import sys
from typing import List, Optional

__all__ = ["main"]


def main(argv: Optional[List[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit("usage: python -m bot.child MODULE [ARGS…]")
    from bot.redaction import install as install_redaction
    from bot.settings import load_settings

    env = load_settings().env
    install_redaction(env)
    if argv[0] == "rasa":
        from bot.rasa_patches import install as install_rasa_patches

        install_rasa_patches(env)
    sys.argv = list(argv)
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
