"""Debian's headless Chromium driven by Selenium, set up one way for every browser test.

`./canyu test` installs `chromium` and `chromium-driver`; without them these tests fail with a message that
says so (they never skip, so a missing browser cannot pass CI silently). The flags keep Chromium off the
network (this machine has none) and give each driver a fresh profile.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=en",
)


def start_chromium(window_size: str = "1280,1600") -> Any:
    """A new headless Chromium WebDriver (call `.quit()` when done, or use `chromium()`)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            raise RuntimeError(f"{path} is missing: apt-get install chromium chromium-driver (./canyu test does it)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={window_size}", f"--user-data-dir={tempfile.mkdtemp(prefix='canyu-chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


@contextmanager
def chromium(window_size: str = "1280,1600") -> Iterator[Any]:
    driver = start_chromium(window_size)
    try:
        yield driver
    finally:
        driver.quit()


def submit_login(driver: Any, console_url: str, name: str, password: str, next_path: str = "/") -> None:
    """Fill in and submit the console's login form (fresh cookies); returns without waiting for the answer."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{console_url}/login?next={next_path}")
    wait_for(lambda: driver.find_element(By.ID, "username"), what="the login form").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()


def log_in(driver: Any, console_url: str, name: str, password: str, next_path: str = "/", timeout: float = 60) -> None:
    """Log in through the console's form and wait for its redirect to `next_path`.

    `click()` returns before the form's POST and redirect land: navigating straight on races the redirect,
    which can replace the page the test asked for.
    """
    from selenium.webdriver.support.wait import WebDriverWait

    submit_login(driver, console_url, name, password, next_path)
    landed = console_url + next_path
    WebDriverWait(driver, timeout).until(
        lambda d: d.current_url.split("?")[0] == landed and d.execute_script("return document.readyState") == "complete",
        message=f"no redirect to {next_path} after logging in as {name} (still at {driver.current_url})")


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; errors count as "not yet" (a page mid-reload)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # stale elements while the page re-renders
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
