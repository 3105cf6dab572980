"""No secret, token or personal number in any log file the test run produced (issue 15).

Runs last (marker `last`, see tests/conftest.py): it reads the logs of every stack this session started
(Rasa, action server, console, embedded Redis; all under pytest's base temp folder) and looks for every
secret those stacks were given (tests/harness.py `SECRETS_HANDED_OUT`: Telegram bot tokens and secret
tokens, the WeChat AppSecret and token, Rasa and REST tokens) and for unmasked phone, ID or card numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from bot.pii import mask_pii
from tests import harness


def _logs(base: Path) -> List[Path]:
    return [p for p in base.rglob("*.log") if p.is_file()]


@pytest.mark.last
def test_no_secret_or_personal_number_in_the_runs_logs(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not harness.SECRETS_HANDED_OUT:
        pytest.skip("no stack was started in this run: nothing was logged to check (run the whole suite)")
    logs = _logs(tmp_path_factory.getbasetemp())
    assert logs, "stacks were started but no log file was found: the check would see nothing"
    leaks = []
    for log in logs:
        for number, line in enumerate(log.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            found = [s[:4] + "…" for s in harness.SECRETS_HANDED_OUT if s in line]
            if mask_pii(line) != line:
                found.append("a phone, ID or card number")
            if found:
                leaks.append(f"{log}:{number}: {', '.join(found)}")
    assert not leaks, "\n".join(leaks[:20])
