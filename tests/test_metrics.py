"""`/metrics`: every process's counters added up, Redis gauges read at scrape time, counters moving as
messages flow over REST, WeChat and Telegram (through the real connectors and the fake platforms).

One real stack with all three channels (tests/fakes/rasa_channels.py); a second console process only for
the bearer-token test. Multiprocess aggregation and dead-process pruning run on real child processes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterator, Tuple

import pytest
import requests
from prometheus_client import Gauge
from prometheus_client.parser import text_string_to_metric_families

import bot.metrics as metrics
from bot.runner import free_port
from bot.settings import load_settings
from tests.fakes.rasa_channels import TelegramUser, WeChatUser, channels_assistant
from tests.harness import new_sender

Samples = Dict[Tuple[str, FrozenSet[Tuple[str, str]]], float]
HOME = load_settings().home
PRODUCT_EN = "does the 14 pro have wireless charging"
PRODUCT_ZH = "手环能游泳戴吗"


def parse(page: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(page):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a counter nobody has touched yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def instrumented(connector: str) -> bool:
    """Whether the connector counts its messages yet (another part of issue 16 adds the calls, in the channel
    or in the inbound record it uses, connectors/_inbound.py)."""
    folder = HOME / "connectors"
    source = (folder / f"{connector}.py").read_text(encoding="utf-8")
    if "_inbound" in source and (folder / "_inbound.py").is_file():
        source += (folder / "_inbound.py").read_text(encoding="utf-8")
    return all(name in source for name in ("MESSAGES_RECEIVED", "MESSAGES_ANSWERED"))


# -- multiprocess mode, on real processes ---------------------------------------------------------------

CHILD = ("import os, bot.metrics as m; m.MESSAGES_RECEIVED.labels('rest').inc(3); "
         "m.ACTIONS_IN_PROGRESS.labels('action_x').inc(); m.MESSAGE_SECONDS.labels('rest').observe(0.3); "
         "print(os.getpid())")


def test_render_adds_up_processes_and_drops_live_gauges_of_dead_ones(tmp_path: Path) -> None:
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path), PYTHONPATH=str(HOME))
    pids = [int(subprocess.run([sys.executable, "-c", CHILD], check=True, env=env, cwd=HOME, timeout=120,
                               capture_output=True, text=True).stdout)
            for _ in range(2)]  # two processes that die with an action "in progress" (as a kill -9 mid-action)
    assert {f"gauge_livesum_{pid}.db" for pid in pids} <= set(os.listdir(tmp_path))
    script = "import bot.metrics as m, os, sys; sys.stdout.write(m.render(None, os.environ).decode())"
    page = subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=HOME, timeout=120,
                          capture_output=True, text=True).stdout
    samples = parse(page)
    assert value(samples, "canyu_messages_received_total", channel="rest") == 6.0  # 3 + 3: both dead processes
    assert value(samples, "canyu_message_seconds_count", channel="rest") == 2.0
    assert value(samples, "canyu_message_seconds_bucket", channel="rest", le="0.5") == 2.0
    assert value(samples, "canyu_actions_in_progress", action="action_x") == 0.0  # not 2: dead processes' gauges go
    left = set(os.listdir(tmp_path))
    assert {f"counter_{pid}.db" for pid in pids} <= left  # counted messages stay
    assert not {f"gauge_livesum_{pid}.db" for pid in pids} & left


def test_prune_keeps_live_processes_and_counters(tmp_path: Path) -> None:
    (tmp_path / f"gauge_livesum_{os.getpid()}.db").write_bytes(b"")
    (tmp_path / "gauge_livesum_999999999.db").write_bytes(b"")
    (tmp_path / "counter_999999999.db").write_bytes(b"")
    assert metrics.prune_dead_processes(str(tmp_path)) == [999999999]
    assert sorted(os.listdir(tmp_path)) == ["counter_999999999.db", f"gauge_livesum_{os.getpid()}.db"]


def test_importing_metrics_writes_nothing(tmp_path: Path) -> None:
    """`bot run` imports bot.metrics before the stack empties and re-creates the folder (or before it exists)."""
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "not-yet"), PYTHONPATH=str(HOME))
    subprocess.run([sys.executable, "-c", "import bot.metrics, bot.actions"], check=True, env=env, cwd=HOME,
                   timeout=120)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    subprocess.run([sys.executable, "-c", "import bot.metrics, bot.actions"], check=True, env=env, cwd=HOME,
                   timeout=120)
    assert os.listdir(tmp_path) == []


def test_every_gauge_names_a_multiprocess_mode_and_the_public_surface_is_listed() -> None:
    declared = {name for name, obj in vars(metrics).items()
                if name.isupper() and hasattr(obj, "_type") and hasattr(obj, "_documentation")}
    assert declared <= set(metrics.__all__), declared - set(metrics.__all__)
    gauges = [name for name in declared if isinstance(getattr(metrics, name), Gauge)]
    assert gauges, "ACTIONS_IN_PROGRESS at least"
    for name in gauges:
        # "all" keeps one series per pid for ever; every other mode aggregates across processes
        assert getattr(metrics, name)._multiprocess_mode != "all", name


# -- the real stack ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return channels_assistant(tmp_path_factory)


def scrape(stack, headers: Dict[str, str] | None = None) -> Samples:  # type: ignore[no-untyped-def]
    response = requests.get(stack.assistant.console_url + "/metrics", headers=headers or {}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == metrics.CONTENT_TYPE
    return parse(response.text)


def actions_ok(samples: Samples, action: str = "action_answer_product") -> float:
    return value(samples, "canyu_actions_total", action=action, outcome="ok")


def test_the_page_has_every_process_and_redis(stack) -> None:  # type: ignore[no-untyped-def]
    samples = scrape(stack)
    assert value(samples, "canyu_redis_up") == 1.0
    assert ("canyu_handoffs_waiting", frozenset()) in samples
    assert ("canyu_handoff_oldest_wait_seconds", frozenset()) in samples
    # gauges other modules register (bot.metrics.GAUGE_MODULES) are on the console's page too
    for channel in ("wechat", "telegram"):
        assert ("canyu_delivery_dead_letters", frozenset({("channel", channel)})) in samples
        assert ("canyu_delivery_queue_depth", frozenset({("channel", channel), ("state", "queued")})) in samples
    assert stack.assistant.say(new_sender("metrics"), PRODUCT_EN)  # files appear at a process's first count
    folder = stack.assistant.data_dir / "metrics"
    pids = {int(m.group(1)) for m in map(re.compile(r"_(\d+)\.db$").search, os.listdir(folder)) if m}
    counting = {"actions"} | ({f"rasa-{stack.assistant.stack.settings.rasa_port}"}
                              if instrumented("rest") else set())  # Rasa counts once its channels do
    children = {name: c.process.pid for name, c in stack.assistant.stack.children.items() if c.process}
    assert counting <= set(children)
    missing = {name for name in counting if children[name] not in pids}
    assert not missing, f"every child counts into {folder}: {missing} do not"


def test_rest_messages_move_the_action_counters(stack) -> None:  # type: ignore[no-untyped-def]
    before = scrape(stack)
    sender = new_sender("metrics")
    for text in (PRODUCT_EN, PRODUCT_ZH):
        assert stack.assistant.say(sender, text), f"no answer to {text!r}"
    after = scrape(stack)
    assert actions_ok(after) - actions_ok(before) >= 2
    count = "canyu_action_seconds_count"
    product = {"action": "action_answer_product"}
    assert value(after, count, **product) - value(before, count, **product) >= 2
    assert value(after, "canyu_actions_in_progress", action="action_answer_product") == 0.0
    assert ("canyu_actions_in_progress", frozenset({("action", "action_answer_product")})) in after


@pytest.mark.parametrize("channel", ["rest", "wechat", "telegram"])
def test_received_and_answered_by_channel(stack, channel: str) -> None:  # type: ignore[no-untyped-def]
    if not instrumented(channel):
        pytest.skip(f"connectors/{channel}.py does not count messages yet (issue 16, connector part)")
    before = scrape(stack)
    if channel == "rest":
        assert stack.assistant.say(new_sender("metrics"), PRODUCT_EN)
    elif channel == "wechat":
        assert WeChatUser(stack).say(PRODUCT_ZH)
    else:
        assert TelegramUser(stack).say(PRODUCT_EN)

    def moved() -> bool:
        after = scrape(stack)
        return all(total(after, name, channel=channel) - total(before, name, channel=channel) >= 1
                   for name in ("canyu_messages_received_total", "canyu_messages_answered_total",
                                "canyu_message_seconds_count"))

    assert wait_for(moved), f"{channel}: received/answered/latency did not move"


def test_wechat_and_telegram_messages_reach_the_action_server_counters(stack) -> None:  # type: ignore[no-untyped-def]
    before = actions_ok(scrape(stack))
    assert WeChatUser(stack).say(PRODUCT_ZH), "no WeChat answer"
    assert wait_for(lambda: actions_ok(scrape(stack)) - before >= 1)
    middle = actions_ok(scrape(stack))
    assert TelegramUser(stack).say(PRODUCT_EN), "no Telegram answer"
    assert wait_for(lambda: actions_ok(scrape(stack)) - middle >= 1)


def test_a_handoff_waiting_shows_in_the_gauge(stack) -> None:  # type: ignore[no-untyped-def]
    before = scrape(stack)
    user = WeChatUser(stack)
    user.say("转人工")
    redis = stack.assistant.redis
    assert wait_for(lambda: redis.zscore("canyu:handoff_queue:waiting", user.sender_id) is not None), \
        "the handoff was not queued"
    time.sleep(1.1)
    after = scrape(stack)
    assert value(after, "canyu_handoffs_waiting") == value(before, "canyu_handoffs_waiting") + 1
    assert value(after, "canyu_handoffs_waiting") == redis.zcard("canyu:handoff_queue:waiting")
    assert value(after, "canyu_handoff_oldest_wait_seconds") >= 1.0
    assert value(after, "canyu_actions_total", action="action_handoff", outcome="ok") \
        - value(before, "canyu_actions_total", action="action_handoff", outcome="ok") >= 1


@pytest.fixture
def console_with_token(stack) -> Iterator[Tuple[str, str]]:  # type: ignore[no-untyped-def]
    """A second console on the same Redis and metrics folder, with CANYU_METRICS_TOKEN set."""
    token, port = "metrics-token-" + os.urandom(8).hex(), free_port()
    env = dict(stack.assistant.stack.env(), CANYU_METRICS_TOKEN=token)
    log = open(stack.assistant.data_dir / "logs" / f"console-metrics-{port}.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "bot.console", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=HOME, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _up(url + "/health"), timeout=120), "the second console did not start"
        yield url, token
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_metrics_token_is_required_when_set(stack, console_with_token) -> None:  # type: ignore[no-untyped-def]
    url, token = console_with_token
    assert requests.get(url + "/metrics", timeout=30).status_code == 401
    wrong = requests.get(url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert wrong.status_code == 401 and "Bearer" in wrong.headers.get("WWW-Authenticate", "")
    right = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert right.status_code == 200
    shared = parse(right.text)  # the same folder: the first stack's action server is in this console's page too
    assert 0 < total(shared, "canyu_actions_total") <= total(scrape(stack), "canyu_actions_total")
    # the stack's own console has no token: it stays open (scrapers are machines)
    assert requests.get(stack.assistant.console_url + "/metrics", timeout=30).status_code == 200
