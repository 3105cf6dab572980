"""One extra real assistant (Rasa + actions + console + Redis) with the WeChat and Telegram channels on the fakes.

Shared by tests/test_wechat_rasa.py and tests/test_telegram_rasa.py (started once per test session):

    stack = channels_assistant(tmp_path_factory)
    user = WeChatUser(stack, "oUser123"); user.say("你好")          # -> the bot's texts
    user = TelegramUser(stack, 4242); user.say("hi")
"""

from __future__ import annotations

import atexit
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests
import xmltodict

from connectors._wechat_protocol import sign
from tests.fakes.telegram import FakeTelegram, update_callback, update_message
from tests.fakes.wechat import FakeWeChat

WECHAT_TOKEN = "canyuRasaWeChatToken"
TELEGRAM_SECRET = "canyu-rasa-secret"

CREDENTIALS = """\
connectors.rest.RestInput:
connectors.wechat.WeChatInput:
connectors.telegram.TelegramInput:
"""


@dataclass
class ChannelsStack:
    assistant: Any
    wechat: FakeWeChat
    telegram: FakeTelegram
    env: Dict[str, str]

    @property
    def url(self) -> str:
        return self.assistant.url


_stack: Optional[ChannelsStack] = None


def platform_env(wechat: FakeWeChat, telegram: FakeTelegram, wechat_token: str = WECHAT_TOKEN,
                 telegram_secret: str = TELEGRAM_SECRET) -> Dict[str, str]:
    """The environment that points a stack's WeChat and Telegram channels (webhook mode) at these fakes."""
    return {
        "WECHAT_TOKEN": wechat_token, "WECHAT_APP_ID": wechat.app_id, "WECHAT_APP_SECRET": wechat.secret,
        "WECHAT_API_BASE": wechat.url + "/cgi-bin/", "TELEGRAM_TOKEN": telegram.token,
        "TELEGRAM_SECRET_TOKEN": telegram_secret, "TELEGRAM_API_BASE": telegram.url, "TELEGRAM_MODE": "webhook",
    }


def channels_assistant(tmp_path_factory: Any) -> ChannelsStack:
    global _stack
    if _stack is not None:
        return _stack
    from tests.harness import start_assistant

    wechat = FakeWeChat()
    wechat.start()
    telegram = FakeTelegram()
    telegram.start()
    folder = Path(tmp_path_factory.mktemp("channels"))
    credentials = folder / "credentials.yml"
    credentials.write_text(CREDENTIALS, encoding="utf-8")
    env = platform_env(wechat, telegram)
    env["CANYU_CONSOLE_TRUST_PROXY"] = "1"  # the attack probe comes from two addresses through X-Forwarded-For
    env["CANYU_ACTIONS"] = "http"  # test_inbound_delivery stops the action server to see /ready fail
    try:
        assistant = start_assistant(folder / "data", credentials=credentials, env=env)
    except Exception:
        wechat.stop()
        telegram.stop()
        raise
    _stack = ChannelsStack(assistant, wechat, telegram, env)

    def stop() -> None:
        assistant.stop()
        wechat.stop()
        telegram.stop()

    atexit.register(stop)
    return _stack


def _wait_quiet(get: Any, before: int, first_timeout: float, quiet: float) -> List[str]:
    """Wait for new items after index `before`, then until none arrive for `quiet` seconds."""
    deadline = time.monotonic() + first_timeout
    while len(get()) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    last_count, last_change = len(get()), time.monotonic()
    while time.monotonic() - last_change < quiet:
        time.sleep(0.1)
        if len(get()) != last_count:
            last_count, last_change = len(get()), time.monotonic()
    return get()[before:]


class WeChatUser:
    """A WeChat user chatting with the assistant through the fake WeChat platform."""

    def __init__(self, stack: ChannelsStack, openid: Optional[str] = None) -> None:
        self.stack = stack
        self.openid = openid or "o" + uuid.uuid4().hex[:27]
        self.sender_id = f"wechat:{self.openid}"

    def push(self, xml: str) -> requests.Response:
        ts, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**9)
        params = {"signature": sign(WECHAT_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": self.openid}
        return requests.post(self.stack.url + "/webhooks/wechat/webhook", params=params, data=xml.encode("utf-8"),
                             timeout=30)

    def text_xml(self, text: str, msg_id: Optional[int] = None) -> str:
        return (f"<xml><ToUserName><![CDATA[gh_canyu]]></ToUserName><FromUserName><![CDATA[{self.openid}]]>"
                f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id or uuid.uuid4().int % 10**18}</MsgId></xml>")

    def _head(self, msg_type: str) -> str:
        return (f"<xml><ToUserName><![CDATA[gh_canyu]]></ToUserName><FromUserName><![CDATA[{self.openid}]]>"
                f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>")

    def image_xml(self, media_id: str) -> str:
        """A picture message as WeChat pushes it (`PicUrl` is WeChat's CDN; we download by `MediaId`)."""
        return (self._head("image") + f"<PicUrl><![CDATA[http://mmbiz.qpic.invalid/{media_id}]]></PicUrl>"
                f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{uuid.uuid4().int % 10**18}</MsgId></xml>")

    def location_xml(self, lat: float, lon: float, label: str = "") -> str:
        return (self._head("location") + f"<Location_X>{lat}</Location_X><Location_Y>{lon}</Location_Y>"
                f"<Scale>15</Scale><Label><![CDATA[{label}]]></Label><MsgId>{uuid.uuid4().int % 10**18}</MsgId></xml>")

    def event_xml(self, event: str) -> str:
        return (f"<xml><ToUserName><![CDATA[gh_canyu]]></ToUserName><FromUserName><![CDATA[{self.openid}]]>"
                f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[]]></EventKey></xml>")

    def api_texts(self) -> List[str]:
        return self.stack.wechat.texts(self.openid)

    def send(self, xml: str, expect_reply: bool = True, timeout: float = 90) -> List[str]:
        """Push one message; the passive reply, or else what arrives via the customer-service API."""
        before = len(self.api_texts())
        started = time.monotonic()
        resp = self.push(xml)
        assert resp.status_code == 200, resp.text
        if resp.text not in ("success", ""):
            return [xmltodict.parse(resp.text)["xml"]["Content"]]
        if time.monotonic() - started < 3.5 or not expect_reply:  # a quick `success`: nothing to say
            time.sleep(1.0)
            return self.api_texts()[before:]
        return _wait_quiet(self.api_texts, before, timeout, 1.0)

    def say(self, text: str, **kwargs: Any) -> List[str]:
        return self.send(self.text_xml(text), **kwargs)


class TelegramUser:
    """A Telegram user chatting with the assistant through the fake Bot API (webhook deliveries)."""

    _ids = iter(range(int(time.time()) % 100000 * 1000, 10**12))

    def __init__(self, stack: ChannelsStack, chat_id: Optional[int] = None) -> None:
        self.stack = stack
        self.chat_id = chat_id or (uuid.uuid4().int % 10**9)
        self.sender_id = f"telegram:{self.chat_id}"

    def post(self, update: Dict[str, Any], secret: str = TELEGRAM_SECRET) -> requests.Response:
        return requests.post(self.stack.url + "/webhooks/telegram/webhook", json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": secret}, timeout=30)

    def texts(self) -> List[str]:
        return self.stack.telegram.texts(self.chat_id)

    def deliver(self, update: Dict[str, Any], timeout: float = 90, quiet: float = 2.5) -> List[str]:
        before = len(self.texts())
        resp = self.post(update)
        assert resp.status_code == 200, resp.text
        return _wait_quiet(self.texts, before, timeout, quiet)

    def say(self, text: str, **kwargs: Any) -> List[str]:
        return self.deliver(update_message(next(self._ids), self.chat_id, text), **kwargs)

    def press(self, callback_data: str, **kwargs: Any) -> List[str]:
        return self.deliver(update_callback(next(self._ids), self.chat_id, callback_data), **kwargs)

    def last_keyboard(self) -> List[Dict[str, Any]]:
        for m in reversed(self.stack.telegram.messages(self.chat_id)):
            if m.get("reply_markup"):
                return [row[0] for row in m["reply_markup"]["inline_keyboard"]]
        return []
