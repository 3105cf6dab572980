"""Photos and places in a handoff, and agents who are people (issue 18), over the real stack: Rasa, the action
server, Redis and the console, with WeChat and Telegram on the fake platforms (tests/fakes), the agent's page
in a real headless Chromium.

- a picture sent during a handoff is downloaded through the platform's API (WeChat `media/get`, Telegram
  getFile + the file server) and shows in the agent's transcript; a location shows as its coordinates; the
  bot says nothing over the agent;
- outside a handoff a picture gets an offer of a person and a location the nearest service centre;
- claiming tells the user the agent's name, resolving sends their sign-off; "file as feedback" makes an item
  with the user as its author; a perk over the role's limit is refused, within it granted, both logged.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
import requests

from bot.cli.console import add_user
from bot.feedback import FeedbackStore
from bot.handoff.discretion import DiscretionLog
from bot.media import MediaStore
from bot.settings import load_settings
from connectors._media import ChannelMediaStore
from connectors._wechat_api import WeChatApi
from tests.browser import chromium, log_in, wait_for
from tests.fakes.media import png
from tests.fakes.rasa_channels import ChannelsStack, TelegramUser, WeChatUser, channels_assistant
from tests.fakes.telegram import FakeTelegram, update_location, update_photo
from tests.fakes.wechat import FakeWeChat

ARTIFACTS = load_settings().home / "tests" / "artifacts"
AGENT, AGENT_PW = "li", "li-Media-Pass-1"
LEAD, LEAD_PW = "zhou", "zhou-Lead-Pass-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> ChannelsStack:
    running = channels_assistant(tmp_path_factory)
    add_user(AGENT, "agent", AGENT_PW, display="Li", redis=running.assistant.redis)
    add_user(LEAD, "admin", LEAD_PW, redis=running.assistant.redis)
    return running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium("1600,1100") as driver:
        yield driver


def session(stack: ChannelsStack, name: str = AGENT, password: str = AGENT_PW) -> Tuple[requests.Session, Dict]:
    url = stack.assistant.console_url
    s = requests.Session()
    page = s.get(url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = s.post(url + "/login", data={"username": name, "password": password, "csrf_token": token},
               allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), r.text
    page = s.get(url + "/agent", timeout=10).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return s, {"X-CSRF-Token": csrf}


def api(stack: ChannelsStack, auth: Tuple[requests.Session, Dict], path: str, body: Dict) -> requests.Response:
    s, headers = auth
    return s.post(stack.assistant.console_url + path, json=body, headers=headers, timeout=60)


def user_events(stack: ChannelsStack, sender_id: str) -> List[Dict[str, Any]]:
    return [e for e in stack.assistant.tracker(sender_id)["events"] if e["event"] == "user"]


def until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    return wait_for(check, timeout=timeout, what=what)


def shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"handoff-media-{name}.png"))


def photo_loaded(driver: Any) -> bool:
    return bool(driver.execute_script(
        "var i = document.querySelectorAll('#transcript img.photo');"
        "return i.length > 0 && Array.prototype.every.call(i, function (x) {"
        "  return x.complete && x.naturalWidth > 0; });"))


def open_conversation(driver: Any, sender_id: str, button: str = "open") -> None:
    from selenium.webdriver.common.by import By

    row = until(lambda: driver.find_element(By.CSS_SELECTOR, f'tr.queue-row[data-sender="{sender_id}"]'),
                f"{sender_id} in the queue")
    row.find_element(By.CSS_SELECTOR, f"button.{button}").click()


def test_wechat_photo_and_place_during_a_handoff_reach_the_agent(stack: ChannelsStack, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    user = WeChatUser(stack)
    assert user.say("转人工")  # queued, told so
    told = len(user.api_texts())
    picture = png(48, 32, (30, 120, 220))
    stack.wechat.add_media("MEDIA-cracked-screen", picture)
    resp = user.push(user.image_xml("MEDIA-cracked-screen"))
    assert resp.status_code == 200 and resp.text in ("success", ""), resp.text  # no canned reply over the agent
    resp = user.push(user.location_xml(31.19550, 121.43740, "上海市徐汇区肇嘉浜路"))
    assert resp.status_code == 200 and resp.text in ("success", ""), resp.text
    events = until(lambda: (lambda ev: ev if len(ev) >= 3 else None)(user_events(stack, user.sender_id)),
                   "the picture and the pin in the tracker")
    assert [e.get("text") for e in events].count("转人工") == 1, "each message reaches Rasa once"
    media = events[-2]["metadata"]["media"]
    assert media["content_type"] == "image/png" and media["size"] == len(picture), media
    assert MediaStore(stack.assistant.redis).get(media["id"]) == (picture, "image/png")
    assert events[-1]["metadata"]["location"]["latitude"] == pytest.approx(31.1955)
    assert any(c["path"] == "media/get" and c["query"]["media_id"] == "MEDIA-cracked-screen"
               for c in stack.wechat.calls)

    log_in(browser, stack.assistant.console_url, AGENT, AGENT_PW, "/agent")
    open_conversation(browser, user.sender_id, "claim")
    until(lambda: photo_loaded(browser), "the picture drawn in the agent's transcript")
    texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#transcript .msg .text")]
    assert any("31.19550" in t and "121.43740" in t and "肇嘉浜路" in t for t in texts), texts
    shot(browser, "wechat")
    until(lambda: "我是Li，接下来我来帮你。" in user.api_texts(), "the agent's name told on claim")
    time.sleep(1.0)
    assert user.api_texts()[told:] == ["我是Li，接下来我来帮你。"], "the bot said nothing else"


def test_telegram_photo_during_a_handoff_shows_in_chromium(stack: ChannelsStack, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    user = TelegramUser(stack)
    assert user.say("I need to talk to a human")
    told = len(user.texts())
    picture = png(40, 30, (20, 160, 60))
    stack.telegram.add_file("PHOTO-receipt", picture)
    photo = update_photo(next(user._ids), user.chat_id, "PHOTO-receipt", len(picture), caption="the receipt, 3 May")
    assert user.post(photo).status_code == 200
    assert user.post(update_location(next(user._ids), user.chat_id, 39.9139, 116.4103)).status_code == 200
    events = until(lambda: (lambda ev: ev if len(ev) >= 3 else None)(user_events(stack, user.sender_id)),
                   "the photo and the location in the tracker")
    media = events[-2]["metadata"]["media"]
    assert media.get("id") and media["size"] == len(picture), media
    assert "getFile" in stack.telegram.methods() and "download" in stack.telegram.methods()
    log_in(browser, stack.assistant.console_url, AGENT, AGENT_PW, "/agent")
    open_conversation(browser, user.sender_id)
    until(lambda: photo_loaded(browser), "the Telegram photo drawn in the agent's transcript")
    assert "[photo] the receipt, 3 May" in browser.find_element(By.ID, "transcript").text
    shot(browser, "telegram")
    time.sleep(1.5)
    assert user.texts()[told:] == [], "the bot stays silent during the handoff"


def test_a_picture_that_cannot_be_fetched_still_reaches_the_agent(stack: ChannelsStack) -> None:
    user = WeChatUser(stack)
    user.say("转人工")
    assert user.push(user.image_xml("MEDIA-never-uploaded")).status_code == 200
    events = until(lambda: (lambda ev: ev if len(ev) >= 2 else None)(user_events(stack, user.sender_id)),
                   "the failed picture in the tracker")
    assert "40007" in events[-1]["metadata"]["media"]["error"]


def test_outside_a_handoff_photo_and_location_get_answers(stack: ChannelsStack) -> None:
    wechat = WeChatUser(stack)
    stack.wechat.add_media("MEDIA-outside", png())
    answer = wechat.send(wechat.image_xml("MEDIA-outside"))
    assert answer and "同事" in answer[0], answer
    answer = wechat.send(wechat.location_xml(22.5470, 114.0856, "华强北"))
    assert answer and "深圳福田" in answer[0] and "离你最近" in answer[0], answer
    telegram = TelegramUser(stack)
    answer = telegram.deliver(update_photo(next(telegram._ids), telegram.chat_id, "PHOTO-never-stored", 10))
    assert any("colleague" in t for t in answer), answer
    answer = telegram.deliver(update_location(next(telegram._ids), telegram.chat_id, 30.6570, 104.0800))
    assert any("Chengdu Chunxi Road" in t for t in answer), answer


def test_claim_tells_the_name_and_resolve_sends_the_sign_off(stack: ChannelsStack) -> None:
    auth = session(stack)
    assert api(stack, auth, "/api/agent/profile", {"display": "Li", "signoff": "Li here, message me any time."}).ok
    user = TelegramUser(stack)
    user.say("talk to a human please")
    assert api(stack, auth, f"/api/conversations/{user.sender_id}/claim", {}).ok
    until(lambda: "Hi, I'm Li, I'll take it from here." in user.texts(), "the intro on Telegram")
    assert api(stack, auth, f"/api/conversations/{user.sender_id}/resolve", {}).ok
    until(lambda: "Li here, message me any time." in user.texts(), "the sign-off")
    texts = user.texts()
    assert texts.index("Li here, message me any time.") < len(texts) - 1  # then the rating question
    bad = api(stack, auth, "/api/agent/profile", {"display": "x" * 40})
    assert bad.status_code == 400 and "24" in bad.json()["error"]
    api(stack, auth, "/api/agent/profile", {"display": "Li", "signoff": ""})


def test_file_as_feedback_creates_an_item_linked_to_the_user(stack: ChannelsStack, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    auth = session(stack)
    user = WeChatUser(stack)
    user.say("转人工")
    assert api(stack, auth, f"/api/conversations/{user.sender_id}/claim", {}).ok
    complaint = "充电盒的盖子合不上，用了两周就松了，太失望了"
    user.say(complaint, expect_reply=False)
    log_in(browser, stack.assistant.console_url, AGENT, AGENT_PW, "/agent")
    open_conversation(browser, user.sender_id)  # in "Mine": the agent picks the message with ⚑ and files it
    message = until(lambda: [m for m in browser.find_elements(By.CSS_SELECTOR, "#transcript .msg.user")
                             if complaint in m.text][0], "the complaint in the transcript")
    until(lambda: browser.find_element(By.ID, "feedback-file").is_displayed(), "the owner's tools")
    message.find_element(By.CSS_SELECTOR, "button.file-feedback").click()
    assert browser.find_element(By.ID, "feedback-text").get_attribute("value") == complaint
    browser.find_element(By.ID, "feedback-file").click()
    filed = until(lambda: re.search(r"Filed as (FB\d+)", browser.find_element(By.ID, "feedback-result").text),
                  "the item number")
    shot(browser, "feedback")
    item_id = filed.group(1)
    store = FeedbackStore(stack.assistant.redis, use_vectors=False)
    assert item_id in [i.id for i in store.items_of(user.sender_id)]
    assert any(v.sender_id == user.sender_id and v.channel == "wechat" for v in store.voices(item_id))
    history = [h for h in stack.assistant.redis.lrange(f"canyu:handoff_log:{user.sender_id}", 0, -1)
               if "filed_feedback" in h]
    assert history and item_id in history[0] and AGENT in history[0]
    assert api(stack, auth, f"/api/conversations/{user.sender_id}/feedback", {"text": ""}).status_code == 400
    again = api(stack, auth, f"/api/conversations/{user.sender_id}/feedback", {"text": complaint, "kind": "complaint"})
    assert again.ok and again.json()["item"] == item_id and again.json()["outcome"] == "already", again.text


def test_a_perk_above_the_role_limit_is_refused(stack: ChannelsStack) -> None:
    auth = session(stack)
    user = TelegramUser(stack)
    user.say("I want a human")
    assert api(stack, auth, f"/api/conversations/{user.sender_id}/claim", {}).ok
    path = f"/api/conversations/{user.sender_id}/discretion"
    refused = api(stack, auth, path, {"kind": "credit", "amount": 80})
    assert refused.status_code == 403, refused.text
    assert "over the agent role's limit of ¥50" in refused.json()["error"] and "lead" in refused.json()["error"]
    assert api(stack, auth, path, {"kind": "gift", "gift": "power_bank"}).status_code == 403
    granted = api(stack, auth, path, {"kind": "credit", "amount": 30})
    assert granted.ok, granted.text
    until(lambda: any("¥30" in t for t in user.texts()), "the credit told to the user")
    assert api(stack, auth, path, {"kind": "gift", "gift": "sticker_pack"}).ok
    until(lambda: any("Millet sticker pack" in t for t in user.texts()), "the gift told to the user")
    log = DiscretionLog(stack.assistant.redis).entries(user.sender_id)
    assert [(e["kind"], e["outcome"]) for e in log] == [("credit", "refused"), ("gift", "refused"),
                                                         ("credit", "granted"), ("gift", "granted")]
    assert int(stack.assistant.redis.get(f"canyu:credit:{user.sender_id}")) == 30
    lead = session(stack, LEAD, LEAD_PW)  # a lead (admin) may go further
    assert api(stack, lead, path, {"kind": "credit", "amount": 80}).ok


def test_media_download_is_capped_and_checked(redis_server: Any) -> None:
    import redis as redis_lib

    r = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    with FakeWeChat() as fake, FakeTelegram() as tg:
        api_ = WeChatApi(fake.app_id, fake.secret, r, fake.url + "/cgi-bin/")
        store = ChannelMediaStore(r, limit=2000)
        fake.add_media("big", png(200, 200, (1, 2, 3)) + b"\0" * 4000)
        fake.add_media("text", b"<html>not a picture</html>", "image/jpeg")
        fake.add_media("ok", png())
        assert "limit" in store.fetch_wechat(api_, "big", "wechat:o1")["error"]
        assert "not a JPEG, PNG" in store.fetch_wechat(api_, "text", "wechat:o1")["error"]
        fake.expire_tokens()  # the shared token died: refreshed once, then the picture comes
        assert store.fetch_wechat(api_, "ok", "wechat:o1")["content_type"] == "image/png"
        assert "40007" in store.fetch_wechat(api_, "gone", "wechat:o1")["error"]
        assert "not set" in store.fetch_wechat(None, "ok", "wechat:o1")["error"]

        import asyncio

        from telegram import Bot, PhotoSize

        async def telegram_fetch(sizes: List[PhotoSize]) -> Dict[str, Any]:
            bot = Bot(tg.token, base_url=tg.url + "/bot", base_file_url=tg.url + "/file/bot")
            async with bot:
                return await store.fetch_telegram(bot, sizes, "telegram:9")

        tg.add_file("small", png(10, 10))
        tg.add_file("huge", b"\0" * 10)
        meta = asyncio.run(telegram_fetch([PhotoSize("small", "s", 10, 10, 90),
                                           PhotoSize("huge", "h", 2000, 2000, 5_000_000)]))
        assert meta.get("content_type") == "image/png", meta  # the largest size within the limit
        assert "limit" in asyncio.run(telegram_fetch([PhotoSize("huge", "h", 2000, 2000, 5_000_000)]))["error"]
        assert "invalid file_id" in asyncio.run(telegram_fetch([PhotoSize("nope", "n", 5, 5, 10)]))["error"].lower()


def test_a_bad_media_setting_is_named_and_the_defaults_hold(caplog: pytest.LogCaptureFixture) -> None:
    from bot.errors import ConfigError
    from bot.media import DEFAULT_MAX_BYTES, max_bytes

    with pytest.raises(ConfigError, match="CANYU_MEDIA_MAX_BYTES='5MB' is not a whole number of bytes"):
        max_bytes({"CANYU_MEDIA_MAX_BYTES": "5MB"})
    with caplog.at_level("ERROR"):
        assert MediaStore(None, env={"CANYU_MEDIA_MAX_BYTES": "5MB"}).limit == DEFAULT_MAX_BYTES
    assert "CANYU_MEDIA_MAX_BYTES='5MB'" in caplog.text

