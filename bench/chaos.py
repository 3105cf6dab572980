"""Fault campaign: conversations through the real WeChat and Telegram connectors while children die (kill -9).

    ~/.cache/canyu/venv/bin/python bench/chaos.py [--conversations 200] [--messages 3] [--concurrency 8]
                                                  [--faults actions,rasa,console,redis]

It starts `bot run` (the supervisor, as users run it) with WeChat and Telegram pointed at the local fake
platforms (tests/fakes), then, once per fault kind, drives `--conversations` conversations (half WeChat, half
Telegram, a fresh user each, messages one after another) and at a random moment of the run kills that child
with SIGKILL; the supervisor restarts it (Redis on the same data dir, so its append-only file is replayed).

Clients behave like the platforms: WeChat waits 5 s for an answer and delivers a message at most three times
(the retries carry the same MsgId); Telegram re-posts an update until it gets a 2xx (every 5 s, for up to
3 minutes). A message is *accepted* once a delivery got HTTP 200.

Per fault it prints: conversations, messages sent, accepted, answered, lost (accepted, never answered within
`--answer-timeout` and not in a dead-letter list), dead letters, duplicated (processed twice by Rasa, or a
reply delivered twice), refused (every delivery failed: the platform gave up, the user saw the platform's
own error), and the p99 time to the answer. The Redis row also reports tracker events lost to the
append-only file's one-second fsync window.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import requests
import xmltodict

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

from bot.runner import free_port  # noqa: E402
from connectors._wechat_protocol import sign  # noqa: E402
from tests.fakes.rasa_channels import platform_env  # noqa: E402
from tests.fakes.telegram import FakeTelegram, update_message  # noqa: E402
from tests.fakes.wechat import FakeWeChat  # noqa: E402

WECHAT_TOKEN = "chaosWeChatToken"
# Questions the bot answers itself (none hands the user to a person, whose messages then wait for an agent).
TELEGRAM_SECRET = "chaos-secret"
ZH = ["你好", "14 Pro 电池多大", "耳机左边没声音了", "发票怎么开", "退货要多久", "你们有哪些手机", "充电很烫正常吗",
      "14 Pro 有几种颜色", "手环防水吗", "快递一般几天到"]
EN = ["hi", "how big is the 14 pro battery", "my left earbud stopped working", "does the 14 pro have nfc",
      "what phones do you sell", "can I swim with the band 9", "how long does shipping take",
      "is it normal that my phone gets hot when charging", "what colours does the 14 pro come in", "thanks"]


@dataclass
class Message:
    text: str
    sent_at: float = 0.0
    accepted: bool = False
    deliveries: int = 0
    answered_at: Optional[float] = None
    replies: List[str] = field(default_factory=list)


@dataclass
class Conversation:
    channel: str  # wechat | telegram
    user: str  # openid or chat id
    messages: List[Message]

    @property
    def sender_id(self) -> str:
        return f"{self.channel}:{self.user}"


class Stack:
    """`bot run` with both platforms on the fakes; the health server tells the children's pids."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.wechat, self.telegram = FakeWeChat(), FakeTelegram()
        self.wechat.start()
        self.telegram.start()
        self.rasa_port, self.health_port = free_port(), free_port()
        self.rasa_token = secrets.token_hex(16)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "TELEGRAM_", "REDIS_URL"))}
        env.update(
            CANYU_DATA_DIR=str(data_dir), CANYU_HEALTH_PORT=str(self.health_port), RASA_TOKEN=self.rasa_token,
            CANYU_REST_TOKEN=secrets.token_hex(16), PYTHONPATH=str(HOME), RASA_TELEMETRY_ENABLED="false",
            HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2",
            **platform_env(self.wechat, self.telegram, WECHAT_TOKEN, TELEGRAM_SECRET))
        self.log = data_dir.parent / "bot-run.out"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--port", str(self.rasa_port),
                 "--actions-port", str(free_port()), "--console-port", str(free_port())],
                cwd=HOME, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def ready(self) -> Tuple[bool, Dict[str, Any]]:
        try:
            response = requests.get(f"http://127.0.0.1:{self.health_port}/ready", timeout=10)
            return response.status_code == 200, response.json()
        except (requests.RequestException, ValueError):
            return False, {}

    def wait_ready(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bot run exited; see {self.log}")
            if self.ready()[0]:
                return
            time.sleep(1)
        raise SystemExit(f"bot run not ready after {timeout:.0f} s; see {self.log}")

    def child_pid(self, kind: str) -> Optional[int]:
        children = self.ready()[1].get("children") or {}
        for name, state in children.items():
            if name == kind or name.startswith(kind + "-"):
                return state.get("pid")
        return None

    def kill(self, kind: str) -> Optional[int]:
        pid = self.child_pid(kind)
        if pid:
            os.kill(pid, signal.SIGKILL)
        return pid

    def tracker_events(self, sender_id: str) -> List[Dict[str, Any]]:
        response = requests.get(f"{self.url}/conversations/{sender_id}/tracker",
                                params={"token": self.rasa_token}, timeout=60)
        response.raise_for_status()
        return response.json().get("events") or []

    def dead_letters(self) -> List[str]:
        """Every dead-letter item's text (the console shows the same lists)."""
        import redis

        red = redis.Redis(unix_socket_path=str(self.data_dir / "redis" / "redis.sock"), decode_responses=True)
        return [item for key in red.scan_iter("canyu:delivery:*:dead") for item in red.lrange(key, 0, -1)]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.wechat.stop()
        self.telegram.stop()


def _wechat_deliver(stack: Stack, convo: Conversation, message: Message, msg_id: int) -> Optional[str]:
    """Up to three deliveries like WeChat; the passive reply's text, "" for `success`, None if all failed."""
    xml = (f"<xml><ToUserName><![CDATA[gh_chaos]]></ToUserName><FromUserName><![CDATA[{convo.user}]]>"
           f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{message.text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    for _attempt in range(3):
        message.deliveries += 1
        ts, nonce = str(int(time.time())), str(random.randrange(10**9))
        params = {"signature": sign(WECHAT_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": convo.user}
        started = time.monotonic()
        try:
            response = requests.post(f"{stack.url}/webhooks/wechat/webhook", params=params,
                                     data=xml.encode("utf-8"), timeout=5)
            if response.status_code == 200:
                if response.text in ("success", ""):
                    return ""
                return str(xmltodict.parse(response.text)["xml"]["Content"])
        except requests.RequestException:
            pass
        time.sleep(max(0.0, 5 - (time.monotonic() - started)))
    return None


def _telegram_deliver(stack: Stack, convo: Conversation, message: Message, update_id: int) -> bool:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        message.deliveries += 1
        try:
            response = requests.post(f"{stack.url}/webhooks/telegram/webhook",
                                     json=update_message(update_id, int(convo.user), message.text),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}, timeout=10)
            if response.status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(5)
    return False


def _platform_texts(stack: Stack, convo: Conversation) -> List[str]:
    if convo.channel == "wechat":
        return stack.wechat.texts(convo.user)
    return stack.telegram.texts(int(convo.user))


def run_conversation(stack: Stack, convo: Conversation, answer_timeout: float) -> None:
    for message in convo.messages:
        before = len(_platform_texts(stack, convo))
        message.sent_at = time.monotonic()
        if convo.channel == "wechat":
            passive = _wechat_deliver(stack, convo, message, uuid.uuid4().int % 10**18)
            message.accepted = passive is not None
            if passive:
                message.replies.append(passive)
                message.answered_at = time.monotonic()
        else:
            message.accepted = _telegram_deliver(stack, convo, message, random.randrange(10**9))
        if not message.accepted:
            continue
        deadline = time.monotonic() + answer_timeout
        while message.answered_at is None and time.monotonic() < deadline:
            if len(_platform_texts(stack, convo)) > before:
                message.answered_at = time.monotonic()
            else:
                time.sleep(0.1)
        time.sleep(0.3)  # let a multi-part answer arrive before the next message
        message.replies += _platform_texts(stack, convo)[before:]


@dataclass
class Row:
    fault: str
    conversations: int
    sent: int = 0
    accepted: int = 0
    answered: int = 0
    lost: int = 0
    dead: int = 0
    duplicated: int = 0
    refused: int = 0
    tracker_lost: int = 0
    p99_ms: float = 0.0
    killed: str = ""
    examples: List[str] = field(default_factory=list)


def _check(stack: Stack, convos: List[Conversation], row: Row) -> None:
    dead_texts = " ".join(stack.dead_letters())
    latencies = []
    for convo in convos:
        try:
            users = [e for e in stack.tracker_events(convo.sender_id) if e.get("event") == "user"]
        except requests.RequestException:
            users = []
        said = [e.get("text") for e in users]
        for message in convo.messages:
            row.sent += 1
            if not message.accepted:
                row.refused += 1
                continue
            row.accepted += 1
            processed = said.count(message.text)
            if processed > 1 or len(message.replies) != len(set(message.replies)):
                row.duplicated += 1
            if processed == 0:
                row.tracker_lost += 1
            if message.answered_at is not None:
                row.answered += 1
                latencies.append((message.answered_at - message.sent_at) * 1000)
            elif message.text in dead_texts:
                row.dead += 1
            else:
                row.lost += 1
                row.examples.append(f"lost: {convo.sender_id} {message.text!r} ({message.deliveries} deliveries, "
                                    f"processed {processed}x)")
            if processed > 1 or len(message.replies) != len(set(message.replies)):
                row.examples.append(f"duplicated: {convo.sender_id} {message.text!r} processed {processed}x, "
                                    f"replies {message.replies}")
    row.p99_ms = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 2 else 0.0


def campaign(stack: Stack, fault: str, n: int, messages: int, concurrency: int, answer_timeout: float,
             rng: random.Random) -> Row:
    convos = []
    for i in range(n):
        channel = "wechat" if i % 2 == 0 else "telegram"
        user = "o" + uuid.uuid4().hex[:27] if channel == "wechat" else str(rng.randrange(10**9, 2 * 10**9))
        texts = rng.sample(ZH if channel == "wechat" else EN, messages)
        convos.append(Conversation(channel, user, [Message(t) for t in texts]))
    row = Row(fault, n)
    expected = n * messages / concurrency * 1.0  # seconds, roughly, at ~1 message per second per worker
    kill_at = time.monotonic() + rng.uniform(0.2, 0.6) * expected

    def killer() -> None:
        while time.monotonic() < kill_at:
            time.sleep(0.2)
        pid = stack.kill(fault) if fault != "none" else None
        row.killed = f"{fault} pid {pid}" if pid else "nothing"

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda c: run_conversation(stack, c, answer_timeout), convos))
    thread.join()
    stack.wait_ready()
    time.sleep(5)  # late sends and retries settle
    _check(stack, convos, row)
    return row


def table(rows: List[Row]) -> str:
    head = ("| fault | conversations | sent | accepted | answered | lost | dead letters | duplicated | refused "
            "| tracker events lost | p99 ms |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(f"| {r.fault} ({r.killed}) | {r.conversations} | {r.sent} | {r.accepted} | {r.answered} "
                     f"| {r.lost} | {r.dead} | {r.duplicated} | {r.refused} | {r.tracker_lost} | {r.p99_ms:.0f} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200, help="per fault kind")
    parser.add_argument("--messages", type=int, default=3, help="per conversation")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--faults", default="actions,rasa,console,redis")
    parser.add_argument("--answer-timeout", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="canyu-chaos-")) / "data"
    print(f"chaos: {args.conversations} conversations x {args.messages} messages per fault, concurrency "
          f"{args.concurrency}, {os.cpu_count()} cores; data in {data}", flush=True)
    stack = Stack(data)
    rows: List[Row] = []
    try:
        stack.wait_ready()
        rng = random.Random(args.seed)
        for fault in args.faults.split(","):
            print(f"fault: {fault}…", flush=True)
            rows.append(campaign(stack, fault.strip(), args.conversations, args.messages, args.concurrency,
                                 args.answer_timeout, rng))
            print(table(rows[-1:]), flush=True)
            for example in rows[-1].examples[:20]:
                print("  " + example, flush=True)
    finally:
        stack.stop()
    print()
    print(table(rows))
    return 0 if all(r.lost == 0 and r.duplicated == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
