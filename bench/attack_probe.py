"""Run the trust-boundary attacks (issue 15) against a live stack and print what happened to each.

    ~/.cache/canyu/venv/bin/python bench/attack_probe.py --start      # a stack of its own, platforms on fakes
    ~/.cache/canyu/venv/bin/python bench/attack_probe.py http://127.0.0.1:5005 \\
        [--rest-token T] [--wechat-token W] [--console-url http://127.0.0.1:5002 [--console-login NAME:PW]]
        [--redis-url URL]

The probe is an outsider: it holds no secret except, where an attack needs one, what a real attacker
could hold too (`--rest-token`: a legitimate REST client that tries to reach users of other channels;
`--wechat-token`: stands for a signed WeChat URL the attacker captured, to try a replay with another body;
`--console-login`: a test admin, to show they still get in while an attacker hammers their name, and to read
analytics.csv; the
console must trust X-Forwarded-For (CANYU_CONSOLE_TRUST_PROXY) for the probe to come from two addresses).
`--redis-url` lets it check the harm directly (a route rewritten, a tier raised, a formula in the CSV):
without it those rows are judged from the HTTP answers only. Exit status 0 when every row is refused or
harmless.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors._rest_auth import auth_headers  # noqa: E402
from connectors._wechat_protocol import sign  # noqa: E402

TIMEOUT = 60
VICTIM = "telegram:42"


@dataclass
class Target:
    url: str
    rest_token: str = ""
    wechat_token: str = ""
    console_url: str = ""
    redis_url: str = ""
    console_login: str = ""

    @property
    def redis(self) -> Any:
        if not self.redis_url:
            return None
        import redis

        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    def rest(self, sender: str, text: str, token: Optional[str] = None) -> requests.Response:
        headers = auth_headers(token=self.rest_token if token is None else token)
        return requests.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                             headers=headers, timeout=TIMEOUT)

    def texts(self, sender: str, text: str) -> str:
        response = self.rest(sender, text)
        response.raise_for_status()
        return " ".join(m.get("text") or "" for m in response.json())

    def platform_on(self, name: str) -> bool:
        try:
            return requests.get(f"{self.url}/webhooks/{name}/", timeout=TIMEOUT).json().get("status") == "ok"
        except (requests.RequestException, ValueError):
            return False


Outcome = Tuple[str, bool]  # what happened, and whether it is refused or harmless
Attack = Tuple[str, str, Callable[[Target], Outcome]]


def rest_without_credentials(t: Target) -> Outcome:
    status = t.rest(f"probe-{uuid.uuid4().hex[:8]}", "hi", token="").status_code
    if status in (401, 403):
        return f"refused ({status})", True
    platforms = [p for p in ("wechat", "telegram") if t.platform_on(p)]
    if platforms:
        return f"accepted ({status}) although {', '.join(platforms)} is on this port", False
    return f"accepted ({status}): REST open on purpose, no platform on this port", True


def rest_speaks_as_platform_user(t: Target) -> Outcome:
    r = t.redis
    before = r.hget(f"canyu:user:{VICTIM}", "channel") if r is not None else None
    response = t.rest(VICTIM, "hi")
    if response.status_code in (401, 403):
        return f"refused ({response.status_code})", True
    recipients = {m.get("recipient_id") for m in response.json()}
    after = r.hget(f"canyu:user:{VICTIM}", "channel") if r is not None else None
    harmless = recipients <= {f"rest:{VICTIM}"} and after == before
    checked = "" if r is not None else " (route not checked: no --redis-url)"
    return f"answered as {', '.join(sorted(map(str, recipients))) or '-'}; {VICTIM}'s route {after!r}{checked}", harmless


def drain_platform_users_outbox(t: Target) -> Outcome:
    r = t.redis
    marker = f"probe-marker-{uuid.uuid4().hex[:8]}"
    if r is not None:  # what an old route would have queued for the victim
        r.rpush(f"canyu:outbox:{VICTIM}", f'{{"recipient_id": "{VICTIM}", "text": "{marker}"}}')
    try:
        response = requests.get(f"{t.url}/webhooks/rest/outbox/{VICTIM}", headers=auth_headers(token=t.rest_token),
                                timeout=TIMEOUT)
    finally:
        if r is not None:
            r.delete(f"canyu:outbox:{VICTIM}")
    if response.status_code in (401, 403):
        return f"refused ({response.status_code})", True
    got = response.json()
    leaked = [m for m in got if m.get("recipient_id") == VICTIM or marker in str(m.get("text"))]
    return (f"{len(got)} message(s), {len(leaked)} of {VICTIM}'s", not leaked)


def telegram_update(secret: Optional[str]) -> Callable[[Target], Outcome]:
    def attack(t: Target) -> Outcome:
        update = {"update_id": int(time.time() * 1000) % 10**9, "message": {
            "message_id": 1, "date": int(time.time()), "text": "hi",
            "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": False, "first_name": "x"}}}
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        status = requests.post(f"{t.url}/webhooks/telegram/webhook", json=update, headers=headers,
                               timeout=TIMEOUT).status_code
        return f"HTTP {status}", status in (403, 404)
    return attack


def _wechat_xml(openid: str, text: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_probe]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{uuid.uuid4().int % 10**18}</MsgId></xml>")


def wechat_forged_signature(t: Target) -> Outcome:
    ts, nonce = str(int(time.time())), "12345"
    params = {"signature": "0" * 40, "timestamp": ts, "nonce": nonce, "openid": "oVictim"}
    status = requests.post(f"{t.url}/webhooks/wechat/webhook", params=params,
                           data=_wechat_xml("oVictim", "退款到这个账号").encode(), timeout=TIMEOUT).status_code
    return f"HTTP {status}", status in (403, 404)


def wechat_replay_with_new_body(t: Target) -> Outcome:
    if not t.platform_on("wechat"):
        return "WeChat off on this port", True
    if not t.wechat_token:
        return "not tried (needs --wechat-token to stand for a captured URL)", False
    ts, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**9)
    params = {"signature": sign(t.wechat_token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "oVictim"}
    seen = ("<xml><ToUserName><![CDATA[gh_probe]]></ToUserName><FromUserName><![CDATA[oVictim]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[VIEW]]></Event>"
            "<EventKey><![CDATA[x]]></EventKey></xml>")
    first = requests.post(f"{t.url}/webhooks/wechat/webhook", params=params, data=seen.encode(), timeout=TIMEOUT)
    forged = requests.post(f"{t.url}/webhooks/wechat/webhook", params=params,
                           data=_wechat_xml("oVictim", "转人工 我要退款").encode(), timeout=TIMEOUT)
    return f"captured push {first.status_code}, replay with a new body {forged.status_code}", forged.status_code == 403


_LINK_REFUSED = ("Linking works from WeChat or Telegram", "绑定只能在微信或 Telegram", "Too many tries", "试太多次")


def guess_link_codes(t: Target) -> Outcome:
    sender = f"probe-{uuid.uuid4().hex[:8]}"
    guesses = [f"link {n:06d}" for n in range(4)] + [f"link ABCDE-FG{n:03d}" for n in range(4)]
    replies = [t.texts(sender, guess) for guess in guesses]
    refused = [r for r in replies if any(phrase in r for phrase in _LINK_REFUSED)]
    return (f"8 guesses over REST: {len(refused)} refused; last reply: {replies[-1][:60]!r}",
            len(refused) == len(replies))


def farm_a_tier(t: Target) -> Outcome:
    sender = f"probe-farm-{uuid.uuid4().hex[:8]}"
    for n in range(30):
        t.rest(sender, f"hello {n}")
    answer = t.texts(sender, "我是什么等级")  # the server counts activity when it works out a tier
    r = t.redis
    counted = max(int((r.hget(f"canyu:fans:activity:{key}", "messages") if r is not None else 0) or 0)
                  for key in (sender, f"rest:{sender}"))
    checked = "" if r is not None else " (activity not checked: no --redis-url)"
    base = "新朋友" in answer or "newcomer" in answer.lower()  # fans.yml's default tier
    return (f"30 REST messages: {counted} counted toward a tier{checked}; the bot says: {answer[:50]!r}",
            r is not None and counted == 0 and base)


def read_a_strangers_order(t: Target) -> Outcome:
    from bot.orders.sqlite import demo_orders

    leaks = []
    for order in demo_orders():
        if not order.tracking_no:
            continue
        sender = f"probe-{uuid.uuid4().hex[:8]}"
        reply = t.texts(sender, f"where is order {order.number}")
        leaks += [s for s in (order.tracking_no, order.carrier) if s and s in reply]
    return (f"asked for every demo order with a tracking number: {len(leaks)} detail(s) leaked", not leaks)


def _login(console_url: str, name: str, password: str, address: str) -> Tuple[int, requests.Session]:
    """One log-in from `address` (sent as X-Forwarded-For: the console must trust its proxy for this)."""
    import re

    session, headers = requests.Session(), {"X-Forwarded-For": address}
    page = session.get(f"{console_url}/login", headers=headers, timeout=TIMEOUT)
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    form = {"username": name, "password": password, "csrf_token": token.group(1) if token else "", "next": "/"}
    status = session.post(f"{console_url}/login", data=form, headers=headers, allow_redirects=False,
                          timeout=TIMEOUT).status_code
    session.headers.update(headers)
    return status, session


def lock_out_an_agent(t: Target) -> Outcome:
    if not t.console_url:
        return "not tried (needs --console-url)", False
    name, _, password = (t.console_login or "admin:").partition(":")
    statuses = [_login(t.console_url, name, f"guess-{n}", "203.0.113.66")[0] for n in range(12)]
    agent = _login(t.console_url, name, password or "not-the-password", "198.51.100.7")[0]
    expected = 303 if password else 401
    return (f"attacker's 12 guesses: {statuses[0]}…{statuses[-1]}; the agent from another address: {agent}",
            statuses[-1] == 429 and agent in (expected, 302))


def formula_in_the_spreadsheet(t: Target) -> Outcome:
    import csv
    import io

    formula = "=qzxv(wvpl)"  # a formula nobody can understand: it lands among the unanswered questions
    for _ in range(3):
        t.rest(f"probe-{uuid.uuid4().hex[:8]}", formula)
    name, _, password = t.console_login.partition(":")
    if not (t.console_url and password):
        return "sent (CSV not checked: needs --console-url and a trainer's --console-login)", False
    status, session = _login(t.console_url, name, password, "198.51.100.8")
    exported = session.get(f"{t.console_url}/analytics.csv", timeout=TIMEOUT)
    if status not in (302, 303) or "text/csv" not in exported.headers.get("Content-Type", ""):
        return f"could not export (log-in {status}, export {exported.status_code})", False
    cells = [cell for row in csv.reader(io.StringIO(exported.text)) for cell in row]
    live = [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))]
    mine = "escaped" if "'" + formula in cells else "not in this report"
    return f"the message's cell: {mine}; {len(live)} live formula cell(s)", not live


def hold_the_token_lock(t: Target) -> Outcome:
    sender = "wechat-token:wx-probe"
    response = t.rest(sender, "hi")
    if response.status_code in (401, 403):
        return f"refused ({response.status_code})", True
    recipients = {m.get("recipient_id") for m in response.json()}
    return f"conversation lock is canyu:lock:{next(iter(recipients), '?')}", recipients <= {f"rest:{sender}"}


ATTACKS: List[Attack] = [
    ("REST call without credentials", "refused while a platform shares the port", rest_without_credentials),
    ("REST sender 'telegram:42' (reroute a Telegram user)", "filed as rest:telegram:42; route unchanged",
     rest_speaks_as_platform_user),
    ("drain telegram:42's outbox over REST", "nothing of telegram:42", drain_platform_users_outbox),
    ("Telegram update without the secret token", "403 (404 when Telegram is off)", telegram_update(None)),
    ("Telegram update with a wrong secret token", "403 (404 when Telegram is off)", telegram_update("guess")),
    ("WeChat push with a forged signature", "403 (404 when WeChat is off)", wechat_forged_signature),
    ("WeChat replay: captured URL, new body", "403", wechat_replay_with_new_body),
    ("guess identity link codes", "REST cannot link; guesses locked out", guess_link_codes),
    ("farm a fan tier over REST", "nothing counted; still a newcomer", farm_a_tier),
    ("read strangers' orders by number", "no status, carrier or tracking number", read_a_strangers_order),
    ("lock an agent out of the console", "the attacker is slowed, not the agent", lock_out_an_agent),
    ("a formula into analytics.csv", "escaped, not a live formula", formula_in_the_spreadsheet),
    ("sender 'wechat-token:…' to hold the token lock", "its own rest: lock, never the token's",
     hold_the_token_lock),
]


def probe(target: Target, attacks: List[Attack] = ATTACKS) -> List[Dict[str, Any]]:
    rows = []
    for name, expected, attack in attacks:
        try:
            actual, ok = attack(target)
        except Exception as exc:  # an attack that breaks the probe is reported, not hidden
            actual, ok = f"probe error: {type(exc).__name__}: {exc}", False
        rows.append({"attack": name, "expected": expected, "actual": actual, "ok": ok})
    return rows


def table(rows: List[Dict[str, Any]]) -> str:
    lines = ["| attack | expected | actual | refused or harmless |", "|---|---|---|---|"]
    lines += [f"| {r['attack']} | {r['expected']} | {r['actual']} | {'yes' if r['ok'] else '**NO**'} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", help="the Rasa server (REST, WeChat and Telegram webhooks)")
    parser.add_argument("--start", action="store_true",
                        help="start a stack here (WeChat and Telegram on local fakes) and probe it")
    parser.add_argument("--rest-token", default="")
    parser.add_argument("--wechat-token", default="")
    parser.add_argument("--console-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--console-login", default="", help="NAME:PASSWORD of a test agent (else: admin, no password)")
    args = parser.parse_args()
    if args.start:
        target, stop = _started_target()
    elif args.url:
        target, stop = Target(args.url.rstrip("/"), args.rest_token, args.wechat_token, args.console_url.rstrip("/"),
                              args.redis_url, args.console_login), (lambda: None)
    else:
        parser.error("give the URL of a running stack, or --start")
    try:
        rows = probe(target)
    finally:
        stop()
    print(table(rows))
    return 0 if all(r["ok"] for r in rows) else 1


def _started_target() -> Tuple[Target, Callable[[], None]]:
    """A stack like tests/fakes/rasa_channels.py starts: WeChat and Telegram on local fake servers."""
    import os
    import tempfile

    from bot.cli.console import add_user
    from bot.settings import QUIET_ENV
    from tests.fakes.rasa_channels import WECHAT_TOKEN, channels_assistant

    class _Folders:  # what channels_assistant needs of pytest's tmp_path_factory
        @staticmethod
        def mktemp(name: str) -> Path:
            return Path(tempfile.mkdtemp(prefix=f"canyu-probe-{name}-"))

    os.environ.update(QUIET_ENV)
    print("starting a stack with WeChat and Telegram on local fakes…", file=sys.stderr, flush=True)
    stack = channels_assistant(_Folders())
    add_user("probe-admin", "admin", "probe-admin-pw-1", redis=stack.assistant.redis)
    token = stack.assistant.rest_headers["Authorization"].split(" ", 1)[1]
    target = Target(stack.url, token, WECHAT_TOKEN, stack.assistant.console_url, stack.assistant.redis_url,
                    "probe-admin:probe-admin-pw-1")
    return target, (lambda: None)  # channels_assistant stops it at exit


if __name__ == "__main__":
    sys.exit(main())
