"""Load: N conversations × M messages over REST, WeChat and Telegram, through the real connectors.

    ~/.cache/canyu/venv/bin/python bench/load.py [-n 1000] [--messages 10] [--concurrency 24]
                                                 [--channels rest,wechat,telegram] [--url URL]

Without --url it starts its own stack (tests/harness.py `start_assistant`: embedded Redis, action server,
Rasa, console) with WeChat and Telegram pointed at the fake platforms of tests/fakes on loopback, as
tests/fakes/rasa_channels.py does. With --url it drives a running assistant over REST only (the token from
`CANYU_REST_TOKEN`).

The N conversations are spread over the channels in turn (1,000 over three channels = 334 + 333 + 333),
each with a fresh user, `--concurrency` conversations at a time; a user sends their next message once the
answer to the last one is in (as a person does). Messages are everyday zh/en questions (this file's own
list): Chinese on WeChat, English on Telegram, both on REST.
- REST: the HTTP answer. Latency = request to response.
- WeChat: the signed webhook (plain mode), as WeChat pushes it: the HTTP request waits at most 5 s and is
  delivered again, same MsgId, up to 3 times. The answer is the passive reply, or the texts that reach the
  fake server's `message/custom/send` afterwards. Latency = first delivery to the first answer text.
- Telegram: the webhook with the secret token; the answer is what reaches the fake Bot API's `sendMessage`
  (which applies Telegram's flood limits: 1 message/s per chat, 30/s per bot). Latency likewise.

Columns: lost = accepted (HTTP 200) but no answer within --timeout (an empty REST answer is lost too);
duplicated = a message whose answer text arrived more than once (counted at the fake platform per message:
the texts that arrived between it and the user's next message; for WeChat the passive reply counts as one
arrival); errors = refused or failed HTTP requests (a 503 with an apology is an error, not a loss).
Exit status 1 when any message is lost or any channel's p99 is 5 s or more (WeChat's deadline).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import QUIET_ENV  # noqa: E402

P99_LIMIT_MS = 5000.0
WECHAT_DEADLINE_S = 5.0
WECHAT_DELIVERIES = 3

ZH = [
    ["你好", "小米14 Pro支持无线充电吗", "14 Pro 续航怎么样", "14 Pro 有几种颜色", "多久能发货", "可以七天无理由退货吗",
     "手环9能戴着游泳吗", "充电宝能带上飞机吗", "好的谢谢", "再见"],
    ["在吗", "Buds 5 降噪效果怎么样", "Buds 5 能同时连两台手机吗", "保修多久", "屏幕碎了怎么修", "维修大概多少钱",
     "快递用的哪家", "能开发票吗", "明白了，谢谢", "拜拜"],
    ["您好", "小米14和14 Pro有什么区别", "14 Pro多少钱", "有没有分期", "我的订单到哪了", "算了，先不查了",
     "手环能测血氧吗", "系统怎么升级", "谢谢你", "再见啦"],
    ["hi", "充电宝20000毫安能给笔记本充电吗", "充电宝充满要多久", "包邮吗", "退款多久到账", "耳机丢了一只能单买吗",
     "手机发烫正常吗", "MilletOS 有什么新功能", "好的", "谢谢，再见"],
]
EN = [
    ["hi", "does the 14 pro have wireless charging", "how long does the 14 pro battery last",
     "what colours does the 14 pro come in", "how long does shipping take", "can I return it if I don't like it",
     "is the Band 9 waterproof",
     "can I take the power bank on a plane", "thanks!", "bye"],
    ["hello", "how good is the noise cancelling on the Buds 5", "how much are the Buds 5", "how long is the warranty",
     "my screen cracked, how do I get it repaired", "how much does a screen repair cost", "how long does delivery take",
     "where do I download my invoice", "got it, thanks", "goodbye"],
    ["hey there", "what's the difference between the 14 and the 14 pro", "how much is the 14 pro",
     "do you offer installments", "where is my order", "never mind, I'll check later",
     "does the band measure blood oxygen", "how do I update MilletOS", "thank you", "see you"],
    ["good morning", "can the 20000 power bank charge a laptop", "how long does the power bank take to charge",
     "is shipping free", "how long does a refund take", "I lost one earbud, can I buy just one",
     "my phone gets hot, is that normal", "what's new in MilletOS", "ok", "thanks, bye"],
]


def script(channel: str, index: int, messages: int) -> List[str]:
    """The conversation `index` of a channel: WeChat in Chinese, Telegram in English, REST both in turn."""
    pool = ZH if channel == "wechat" or (channel == "rest" and index % 2) else EN
    lines = pool[(index // 2 if channel == "rest" else index) % len(pool)]
    return [lines[i % len(lines)] for i in range(messages)]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


@dataclass
class Tally:
    conversations: int = 0
    messages: int = 0
    answered: int = 0
    lost: int = 0
    duplicated: int = 0
    errors: int = 0
    retried: int = 0
    handed_off: int = 0
    latencies_ms: List[float] = field(default_factory=list)
    samples: List[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: Any) -> None:
        with self.lock:
            for name, amount in counts.items():
                if name == "latency_ms":
                    self.latencies_ms.append(amount)
                elif name == "sample":
                    if len(self.samples) < 12:
                        self.samples.append(amount)
                else:
                    setattr(self, name, getattr(self, name) + amount)


class Inbox:
    """What the fake platforms delivered, per recipient, with arrival times; waiters are woken on arrival."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._by_user: Dict[str, List[Tuple[float, str]]] = defaultdict(list)

    def add(self, user: str, text: str) -> None:
        with self._cond:
            self._by_user[user].append((time.perf_counter(), text))
            self._cond.notify_all()

    def count(self, user: str) -> int:
        with self._cond:
            return len(self._by_user[user])

    def since(self, user: str, start: int) -> List[Tuple[float, str]]:
        with self._cond:
            return list(self._by_user[user][start:])

    def wait(self, user: str, start: int, timeout: float, quiet: float) -> List[Tuple[float, str]]:
        """Arrivals after index `start`: waits up to `timeout` for the first, then until `quiet` s pass without one."""
        deadline = time.perf_counter() + timeout
        with self._cond:
            items = self._by_user[user]
            while len(items) <= start:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return []
                self._cond.wait(min(left, 1.0))
            while True:
                seen = len(items)
                quiet_until = items[-1][0] + quiet
                while len(items) == seen:
                    left = quiet_until - time.perf_counter()
                    if left <= 0:
                        return list(items[start:])
                    self._cond.wait(min(left, 1.0))


class _Recorded(list):  # type: ignore[type-arg]
    """The fakes' `sent` list, telling the inbox about every append."""

    def __init__(self, on_append: Callable[[Dict[str, Any]], None]) -> None:
        super().__init__()
        self._on_append = on_append

    def append(self, item: Dict[str, Any]) -> None:
        super().append(item)
        self._on_append(item)


def _duplicated(texts: Sequence[str]) -> bool:
    return len(texts) != len(set(texts))


@dataclass
class Target:
    url: str
    rest_headers: Dict[str, str]
    inbox: Inbox
    timeout: float
    quiet: float
    wechat_token: str = ""
    telegram_secret: str = ""
    show: int = 0
    shown: List[str] = field(default_factory=list)
    redis: Optional[Any] = None

    _local: threading.local = field(default_factory=threading.local, repr=False)

    def _show(self, channel: str, text: str, answer: Sequence[str]) -> None:
        if len(self.shown) < self.show:
            self.shown.append(f"  {channel}: {text!r} -> " + " | ".join(a.replace("\n", " ")[:90] for a in answer))

    def handed_off(self, tally: Tally, sender_id: str) -> bool:
        """A silent bot is right while a person has the conversation (escalation.yml): not lost, but counted."""
        if self.redis is None or not self.redis.exists(f"canyu:handoff:{sender_id}"):
            return False
        tally.add(messages=1, handed_off=1, sample=f"{sender_id} is queued for a person: conversation ended")
        return True

    @property
    def session(self) -> requests.Session:
        session: Optional[requests.Session] = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    # REST ----------------------------------------------------------------------------------------
    def rest(self, tally: Tally, texts: List[str]) -> None:
        name = f"load-{uuid.uuid4().hex[:12]}"
        for text in texts:
            started = time.perf_counter()
            try:
                response = self.session.post(f"{self.url}/webhooks/rest/webhook",
                                             json={"sender": name, "message": text},
                                             headers=self.rest_headers, timeout=self.timeout)
            except requests.RequestException as exc:
                tally.add(messages=1, errors=1, sample=f"rest {type(exc).__name__}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                tally.add(messages=1, errors=1, sample=f"rest {response.status_code} {response.text[:80]}")
                continue
            answer = [m.get("text") or str(m) for m in response.json()]
            if not answer:
                if self.handed_off(tally, f"rest:{name}"):
                    return
                tally.add(messages=1, lost=1, sample=f"rest: empty answer to {text!r}")
                continue
            self._show("rest", text, answer)
            tally.add(messages=1, answered=1, latency_ms=elapsed, duplicated=int(_duplicated(answer)))

    # WeChat --------------------------------------------------------------------------------------
    def _wechat_push(self, openid: str, xml: str) -> requests.Response:
        from connectors._wechat_protocol import sign

        ts, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**9)
        params = {"signature": sign(self.wechat_token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": openid}
        return self.session.post(f"{self.url}/webhooks/wechat/webhook", params=params, data=xml.encode("utf-8"),
                                 timeout=WECHAT_DEADLINE_S)

    def wechat(self, tally: Tally, texts: List[str]) -> None:
        import xmltodict

        openid = "o" + uuid.uuid4().hex[:27]
        for text in texts:
            msg_id = uuid.uuid4().int % 10**18
            xml = (f"<xml><ToUserName><![CDATA[gh_canyu]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
                   f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                   f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
            before = self.inbox.count(openid)
            started = time.perf_counter()
            passive: List[Tuple[float, str]] = []
            accepted, failure = False, ""
            for delivery in range(WECHAT_DELIVERIES):  # WeChat's own schedule: 5 s each, same MsgId
                if delivery:
                    tally.add(retried=1)
                try:
                    response = self._wechat_push(openid, xml)
                except requests.Timeout:
                    failure = "no HTTP answer in 5 s"
                    continue
                except requests.RequestException as exc:
                    failure = type(exc).__name__
                    continue
                if response.status_code != 200:
                    failure = f"HTTP {response.status_code} {response.text[:80]}"
                    continue
                accepted = True
                body = response.text.strip()
                if body.startswith("<xml"):
                    passive.append((time.perf_counter(), xmltodict.parse(body)["xml"]["Content"]))
                break
            if not accepted:
                tally.add(messages=1, errors=1, sample=f"wechat: {failure} for {text!r}")
                continue
            quiet = 0.3 if passive else self.quiet  # a passive reply is the whole answer; wait a moment for repeats
            late = self.inbox.wait(openid, before, 0.3 if passive else self.timeout, quiet)
            arrivals = sorted(passive + late)
            if not arrivals:
                if self.handed_off(tally, f"wechat:{openid}"):
                    return
                tally.add(messages=1, lost=1, sample=f"wechat: no answer to {text!r} in {self.timeout:.0f} s")
                continue
            self._show("wechat", text, [("(passive) " if (t, a) in passive else "") + a for t, a in arrivals])
            tally.add(messages=1, answered=1, latency_ms=(arrivals[0][0] - started) * 1000,
                      duplicated=int(_duplicated([t for _, t in arrivals])))

    # Telegram ------------------------------------------------------------------------------------
    def telegram(self, tally: Tally, texts: List[str], chat_id: int) -> None:
        from tests.fakes.telegram import update_message

        for i, text in enumerate(texts):
            update_id = chat_id * 100 + i
            before = self.inbox.count(str(chat_id))
            started = time.perf_counter()
            try:
                response = self.session.post(f"{self.url}/webhooks/telegram/webhook",
                                             json=update_message(update_id, chat_id, text),
                                             headers={"X-Telegram-Bot-Api-Secret-Token": self.telegram_secret},
                                             timeout=self.timeout)
            except requests.RequestException as exc:
                tally.add(messages=1, errors=1, sample=f"telegram {type(exc).__name__}")
                continue
            if response.status_code != 200:
                tally.add(messages=1, errors=1, sample=f"telegram {response.status_code} {response.text[:80]}")
                continue
            arrivals = self.inbox.wait(str(chat_id), before, self.timeout, self.quiet)
            if not arrivals:
                if self.handed_off(tally, f"telegram:{chat_id}"):
                    return
                tally.add(messages=1, lost=1, sample=f"telegram: no answer to {text!r} in {self.timeout:.0f} s")
                continue
            self._show("telegram", text, [a for _, a in arrivals])
            tally.add(messages=1, answered=1, latency_ms=(arrivals[0][0] - started) * 1000,
                      duplicated=int(_duplicated([t for _, t in arrivals])))


@dataclass
class OwnStack:
    assistant: Any
    wechat: Any
    telegram: Any

    def stop(self) -> None:
        self.assistant.stop()
        self.wechat.stop()
        self.telegram.stop()


def start_stack(inbox: Inbox, wechat_token: str, telegram_secret: str) -> OwnStack:
    """The real stack with all three channels, WeChat and Telegram on the fakes (as tests/fakes/rasa_channels.py)."""
    from tests.fakes.rasa_channels import CREDENTIALS, platform_env
    from tests.fakes.telegram import FakeTelegram
    from tests.fakes.wechat import FakeWeChat
    from tests.harness import start_assistant

    wechat, telegram = FakeWeChat(), FakeTelegram()
    wechat.sent = _Recorded(lambda m: inbox.add(m.get("touser", ""), (m.get("text") or {}).get("content", str(m))))
    telegram.sent = _Recorded(lambda m: inbox.add(str(m.get("chat_id")), m.get("text") or str(m)))
    wechat.start()
    telegram.start()
    folder = Path(tempfile.mkdtemp(prefix="canyu-load-"))
    credentials = folder / "credentials.yml"
    credentials.write_text(CREDENTIALS, encoding="utf-8")
    env = platform_env(wechat, telegram, wechat_token, telegram_secret)
    try:
        assistant = start_assistant(folder / "data", credentials=credentials, env=env)
    except Exception:
        wechat.stop()
        telegram.stop()
        raise
    return OwnStack(assistant, wechat, telegram)


def stack_counters(console_url: str) -> str:
    """received / answered / failed by channel from the stack's own /metrics (a cross-check of the table)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        page = requests.get(console_url + "/metrics", timeout=30).text
    except requests.RequestException as exc:
        return f"/metrics unreachable: {exc}"
    sums: Dict[str, Dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(page):
        if family.name in ("canyu_messages_received", "canyu_messages_answered", "canyu_messages_failed",
                           "canyu_messages_redelivered"):
            for s in family.samples:
                if s.name.endswith("_total"):
                    sums[s.labels.get("channel", "?")][family.name.replace("canyu_messages_", "")] += s.value
    return "; ".join(f"{ch}: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(kinds.items()))
                     for ch, kinds in sorted(sums.items())) or "(no message counters on /metrics)"


def table(tallies: Dict[str, Tally], seconds: float) -> List[str]:
    head = (f"{'channel':<9}| {'conversations':>13} | {'messages':>8} | {'p50 ms':>7} | {'p95 ms':>7} | "
            f"{'p99 ms':>7} | {'msg/s':>6} | {'lost':>4} | {'duplicated':>10} | {'errors':>6}")
    rows = [head, "-" * len(head)]
    everything = Tally()
    for t in tallies.values():
        for attr in ("conversations", "messages", "answered", "lost", "duplicated", "errors", "retried", "handed_off"):
            setattr(everything, attr, getattr(everything, attr) + getattr(t, attr))
        everything.latencies_ms += t.latencies_ms
    for name, t in list(tallies.items()) + [("all", everything)]:
        lat = t.latencies_ms
        rows.append(f"{name:<9}| {t.conversations:>13,} | {t.messages:>8,} | {percentile(lat, 50):>7.0f} | "
                    f"{percentile(lat, 95):>7.0f} | {percentile(lat, 99):>7.0f} | {t.messages / seconds:>6.1f} | "
                    f"{t.lost:>4} | {t.duplicated:>10} | {t.errors:>6}")
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--conversations", type=int, default=1000, help="conversations in all (default 1000)")
    parser.add_argument("--messages", type=int, default=10, help="messages per conversation (default 10)")
    parser.add_argument("--concurrency", type=int, default=24, help="conversations at a time (default 24)")
    parser.add_argument("--channels", default=None,
                        help="comma-separated (default rest,wechat,telegram; rest with --url)")
    parser.add_argument("--url", default=None, help="a running assistant's Rasa URL: REST only, CANYU_REST_TOKEN")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before an answer counts as lost")
    parser.add_argument("--quiet", type=float, default=1.5,
                        help="seconds without a new text that end an answer sent through a platform API")
    parser.add_argument("--show", type=int, default=0, help="print the first N messages and their answers")
    args = parser.parse_args(argv)
    os.environ.update(QUIET_ENV)
    raw = args.channels or ("rest" if args.url else "rest,wechat,telegram")
    channels = [c.strip() for c in raw.split(",") if c.strip()]
    if set(channels) - {"rest", "wechat", "telegram"} or not channels:
        parser.error(f"--channels {raw!r}: use rest, wechat and/or telegram")
    if args.url and channels != ["rest"]:
        parser.error(f"--channels {raw!r} with --url: a running stack is driven over REST only (the fake "
                     "platforms need the stack this script starts); drop --url or use --channels rest")

    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    load_before = os.getloadavg()
    print(f"# bench/load.py, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"# command: {command}")
    print(f"# machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in load_before)} at start")
    print(f"# {args.conversations:,} conversations × {args.messages} messages over {', '.join(channels)}, "
          f"{args.concurrency} conversations at a time, an answer is lost after {args.timeout:.0f} s", flush=True)

    inbox = Inbox()
    own: Optional[OwnStack] = None
    wechat_token, telegram_secret = "canyuLoadWeChat" + uuid.uuid4().hex[:8], "canyu-load-" + uuid.uuid4().hex[:8]
    if args.url:
        from connectors._rest_auth import auth_headers

        target = Target(args.url.rstrip("/"), auth_headers(token=os.environ.get("CANYU_REST_TOKEN", "")), inbox,
                        args.timeout, args.quiet)
        print(f"# stack: running at {args.url}", flush=True)
    else:
        print("# stack: own (embedded Redis, action server, Rasa, console; fake WeChat and Telegram on loopback), "
              "starting…", flush=True)
        own = start_stack(inbox, wechat_token, telegram_secret)
        target = Target(own.assistant.url, own.assistant.rest_headers, inbox, args.timeout, args.quiet,
                        wechat_token, telegram_secret, redis=own.assistant.redis)
    target.show = args.show
    tallies = {name: Tally() for name in channels}
    first_chat = int(time.time()) % 100000 * 10000

    def conversation(i: int) -> None:
        channel = channels[i % len(channels)]
        index = i // len(channels)
        texts = script(channel, index, args.messages)
        tally = tallies[channel]
        tally.add(conversations=1)
        try:
            if channel == "rest":
                target.rest(tally, texts)
            elif channel == "wechat":
                target.wechat(tally, texts)
            else:
                target.telegram(tally, texts, first_chat + i)
        except Exception as exc:  # the bench's own bug must show, not hang the run
            tally.add(errors=1, sample=f"{channel}: {type(exc).__name__}: {exc}")

    try:
        # warm-up (not counted): one short conversation per channel, so model caches are loaded
        warm = Tally()
        for channel in channels:
            if channel == "telegram":
                target.telegram(warm, script(channel, 0, 2), first_chat - 1)
            else:
                getattr(target, channel)(warm, script(channel, 0, 2))
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(conversation, range(args.conversations)))
        seconds = time.perf_counter() - started
        print()
        for row in table(tallies, seconds):
            print(row)
        retried = sum(t.retried for t in tallies.values())
        handed = sum(t.handed_off for t in tallies.values())
        print(f"\n{seconds:.0f} s; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end"
              + (f"; WeChat deliveries repeated after 5 s without an answer: {retried}"
                 if "wechat" in channels else ""))
        if handed:
            print(f"{handed} conversations were handed to a person (the bot then stays silent, by design): "
                  "their later messages were not sent")
        if own is not None:
            print(f"stack /metrics: {stack_counters(own.assistant.console_url)}")
        for line in target.shown:
            print(line)
        for name, t in tallies.items():
            for sample in t.samples:
                print(f"  {name}: {sample}")
        worst = max(percentile(t.latencies_ms, 99) for t in tallies.values())
        lost = sum(t.lost for t in tallies.values())
        if lost or worst >= P99_LIMIT_MS:
            print(f"FAIL: {lost} lost, worst p99 {worst:.0f} ms (limit: 0 lost, p99 < {P99_LIMIT_MS:.0f} ms)")
            return 1
        print(f"OK: 0 lost, worst p99 {worst:.0f} ms < {P99_LIMIT_MS:.0f} ms")
        return 0
    finally:
        if own is not None:
            own.stop()


if __name__ == "__main__":
    sys.exit(main())
