"""End to end: messages the bot cannot answer land in the review inbox, grouped; on the trainer page
in headless Chromium a group is added to an intent (the YAML diff is checked), the bot is retrained
and reloaded from the page, and then it answers those messages. Knowledge answers that look wrong
(rated 👎 by button or typed, asked again, followed by "转人工") land there too, with the answer; a
trainer filters them and marks a recent answer wrong on the page.

Runs its own assistant with `CANYU_HOME` on a temporary copy of the project files, so the repo's
intents/ are never touched. Screenshots: tests/artifacts/trainer/.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bot.console.users import UserStore
from bot.trainer.review import Review
from tests.browser import log_in, start_chromium
from tests.harness import new_sender, start_assistant

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts" / "trainer"
# Cantonese "where is my order" (traditional characters): the demo NLU has only Mandarin examples.
CANTONESE = ["我張單喺邊", "我張單幾時到", "我張單寄咗未呀", "我張單點解仲未到"]
PAYPAL = ["can I pay with paypal", "paypal accepted?", "is paypal ok for payment"]
_SKIP_COPY = {".git", "var", "models", "reports", "tests", "bot", "connectors", "bench", "docs", "build", ".pytest_cache",
              ".mypy_cache", ".ruff_cache", ".import_linter_cache", ".grimp_cache"}  # tool caches change as others lint


def _project_copy(target: Path) -> Path:
    target.mkdir(parents=True)
    for entry in REPO.iterdir():
        if entry.name in _SKIP_COPY or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name)
        else:
            shutil.copy2(entry, target / entry.name)
    for code in ("bot", "connectors"):  # code stays the repo's (read-only use)
        (target / code).symlink_to(REPO / code)
    return target


def _last_intent(assistant: Any, sender: str) -> Dict[str, Any]:
    events = assistant.tracker(sender)["events"]
    return [e for e in events if e.get("event") == "user"][-1]["parse_data"]["intent"]


@pytest.fixture(scope="module")
def trainer_stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("trainer-e2e")
    home = _project_copy(base / "home")
    assistant = start_assistant(base / "data", env={"CANYU_HOME": str(home)})
    UserStore(assistant.redis).add("tina", "trainer-pass-123", "trainer", "Tina")
    try:
        yield assistant, home
    finally:
        assistant.stop()


def test_missed_messages_grouped_assigned_retrained_answered(trainer_stack: Any) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    assistant, home = trainer_stack
    before: Dict[str, List[str]] = {}
    before_conf: Dict[str, float] = {}
    for text in CANTONESE + PAYPAL:
        sender = new_sender("miss")
        before[text] = [m.get("text", "") for m in assistant.say(sender, text)]
        before_conf[text] = float(_last_intent(assistant, sender)["confidence"])

    # 1. the inbox holds them, grouped, biggest group first
    groups = Review(assistant.redis, str(home)).groups()
    as_sets = [sorted(i["text"] for i in g["items"]) for g in groups]
    assert as_sets[0] == sorted(CANTONESE), as_sets
    # which PayPal phrasings the current model misses varies with the NLU (one or more); those it misses form one group
    paypal_missed = sorted(t for g in as_sets for t in g if t in PAYPAL)
    assert paypal_missed and paypal_missed in as_sets, as_sets

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    orders_yml = home / "intents" / "orders.yml"
    original = orders_yml.read_text(encoding="utf-8")
    driver = start_chromium("1280,2000")
    # an element read while the page re-renders goes stale: retry on that
    wait = WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,))
    try:
        # 2. log in as a trainer and open the page
        log_in(driver, assistant.console_url, "tina", "trainer-pass-123", next_path="/trainer")
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "1")
        cards = driver.find_elements(By.CSS_SELECTOR, ".group")
        assert len(cards) >= 2
        first_items = [span.text for span in cards[0].find_elements(By.CSS_SELECTOR, "li.item .text")]
        assert sorted(first_items) == sorted(CANTONESE)
        assert cards[0].get_attribute("data-size") == "4"
        wait.until(lambda d: d.execute_script(
            "return Array.from(document.querySelectorAll('.charts img')).every(i => i.complete && i.naturalWidth > 300)"))
        driver.save_screenshot(str(ARTIFACTS / "trainer_page_inbox.png"))

        # 3. add the Cantonese group to order_status: the diff is exactly the four examples
        Select(cards[0].find_element(By.CSS_SELECTOR, "select.intent")).select_by_value("order_status")
        cards[0].find_element(By.CSS_SELECTOR, "button.assign").click()
        diff_box = wait.until(EC.visibility_of_element_located((By.ID, "diff")))
        diff = diff_box.text
        added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
        assert sorted(line.strip() for line in added) == sorted(f"+    - {t}".strip() for t in CANTONESE), diff
        assert "intents/orders.yml" in diff
        now = orders_yml.read_text(encoding="utf-8")
        assert now.replace("".join(f"{line[1:]}\n" for line in added), "") == original  # comments/order kept
        driver.save_screenshot(str(ARTIFACTS / "trainer_page_assigned.png"))
        print("\n" + diff)

        # the PayPal group goes to ask_product (the KB has the payment methods)
        wait.until(lambda d: all("張單" not in c.text for c in d.find_elements(By.CSS_SELECTOR, ".group")))
        paypal_card = next(c for c in driver.find_elements(By.CSS_SELECTOR, ".group") if "paypal" in c.text.lower())
        Select(paypal_card.find_element(By.CSS_SELECTOR, "select.intent")).select_by_value("ask_product")
        paypal_card.find_element(By.CSS_SELECTOR, "button.assign").click()
        wait.until(lambda d: "paypal" in d.find_element(By.ID, "diff").text)

        # 4. retrain and reload from the page
        started = time.monotonic()
        driver.find_element(By.ID, "retrain").click()
        WebDriverWait(driver, 1200, poll_frequency=2).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-retrained") == "1"
            or "error" in d.find_element(By.ID, "status").text.lower() or "failed" in d.find_element(By.ID, "status").text.lower())
        status = driver.find_element(By.ID, "status").text
        assert "the bot now uses the new model" in status, status
        print(f"retrain + reload from the page: {time.monotonic() - started:.0f} s ({status})")
        driver.save_screenshot(str(ARTIFACTS / "trainer_page_retrained.png"))
    finally:
        driver.quit()

    # 5. the bot now understands them: same intent and same answer as the Mandarin question
    reference = [m.get("text", "") for m in assistant.say(new_sender("ref"), "我的订单到哪了")]
    assert reference
    for text in CANTONESE:
        sender = new_sender("after")
        replies = [m.get("text", "") for m in assistant.say(sender, text)]
        intent = _last_intent(assistant, sender)
        assert intent["name"] == "order_status", (text, intent, before_conf[text])
        assert replies == reference, (text, replies, before[text])
    for text in paypal_missed:
        sender = new_sender("after")
        assistant.say(sender, text)
        assert _last_intent(assistant, sender)["name"] == "ask_product", text


def test_wrong_answers_reach_the_inbox_and_a_trainer_marks_one(trainer_stack: Any) -> None:
    """The real rating flow (👎 button payload, typed 👎 / 没用), a rephrase and a request for a person after a
    knowledge answer file the answered question; on the page a trainer filters wrong answers and marks one."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    assistant, home = trainer_stack
    conversations = {
        "button": ["How do I update MilletOS?", '/rate_answer{"rating":"down"}', "it did not say how long it takes"],
        "thumb": ["米粒OS怎么升级？", "👎"],
        "typed": ["米粒OS怎么升级？", "没用"],
        "again": ["How do I update MilletOS?", "how do I update milletos please"],
        "person": ["米粒OS怎么升级？", "转人工"],
        "fine": ["How do I update MilletOS?", "how long does shipping take"],
        "mark": ["How many years of updates will the 14 Pro get?"],
    }
    senders = {name: new_sender(f"wrong-{name}") for name in conversations}
    for name, messages in conversations.items():
        for text in messages:
            assert assistant.say(senders[name], text), (name, text)

    review = Review(assistant.redis, str(home))
    review.groups()  # syncs
    by_sender: Dict[str, List[Dict[str, Any]]] = {}
    for item in review.inbox.all_items():
        by_sender.setdefault(item["sender"], []).append(item)

    def item_of(name: str, text: str) -> Dict[str, Any]:
        found = [i for i in by_sender.get(senders[name], []) if i["text"] == text]
        assert found, (name, by_sender.get(senders[name]))
        return found[0]

    for name, reason in (("button", "rated_down"), ("thumb", "rated_down"), ("typed", "rated_down"),
                         ("again", "rephrased"), ("person", "asked_for_person")):
        item = item_of(name, conversations[name][0])
        assert reason in item["reasons"], (name, item)
        assert item["answer"]["entry"] == "os_update_how" and item["answer"]["kind"] == "faq", item
        assert item["answer"]["confidence"] > 0.5 and item["answer"]["text"]
    assert item_of("button", "How do I update MilletOS?")["comment"] == "it did not say how long it takes"
    from bot.trainer.inbox import WRONG_ANSWER

    assert not [i for i in by_sender.get(senders["fine"], []) if set(i["reasons"]) & set(WRONG_ANSWER)]
    assert not by_sender.get(senders["mark"])

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver = start_chromium("1280,2000")
    wait = WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,))
    try:
        log_in(driver, assistant.console_url, "tina", "trainer-pass-123", next_path="/trainer")
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "1")
        # the wrong-answer filter: every item listed comes with the answer that missed
        Select(driver.find_element(By.ID, "reason-filter")).select_by_value("rated_down,rephrased,asked_for_person,marked_wrong")
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "1"
                   and d.find_elements(By.CSS_SELECTOR, "li.item"))
        items = driver.find_elements(By.CSS_SELECTOR, "li.item")
        assert all(i.find_elements(By.CSS_SELECTOR, ".answer .entry") for i in items)
        page = driver.find_element(By.ID, "groups").text
        assert "os_update_how (faq" in page and "asked again" in page and "wanted a person" in page and "rated 👎" in page

        # Recent answers: mark the 14 Pro answer wrong
        question = conversations["mark"][0]
        row = wait.until(lambda d: next(r for r in d.find_elements(By.CSS_SELECTOR, "tr.answer-row")
                                        if r.find_element(By.CSS_SELECTOR, ".question").text == question))
        answer_id = row.get_attribute("data-answer")
        row.find_element(By.CSS_SELECTOR, "input.note").send_keys("it should say six years of patches")
        driver.save_screenshot(str(ARTIFACTS / "trainer_page_recent_answers.png"))
        row.find_element(By.CSS_SELECTOR, "button.wrong").click()
        wait.until(lambda d: "marked wrong" in d.find_element(By.ID, "status").text)
        wait.until(lambda d: "marked_wrong" in (d.find_element(
            By.CSS_SELECTOR, f'tr.answer-row[data-answer="{answer_id}"]').get_attribute("data-reasons") or ""))
        wait.until(lambda d: question in d.find_element(By.ID, "groups").text)
        driver.save_screenshot(str(ARTIFACTS / "trainer_page_marked_wrong.png"))
    finally:
        driver.quit()
    marked = [i for i in review.inbox.open_items(reasons=["marked_wrong"]) if i["sender"] == senders["mark"]]
    assert len(marked) == 1 and marked[0]["text"] == question
    assert marked[0]["signals"][0]["by"] == "tina" and marked[0]["signals"][0]["note"] == "it should say six years of patches"
    assert marked[0]["answer"]["id"] == answer_id and marked[0]["answer"]["entry"]
