"""Debian's headless Chromium driven by Selenium, set up one way for every browser test.

`./canyu test` installs `chromium` and `chromium-driver`; without them these tests fail with a message that
says so (they never skip, so a missing browser cannot pass CI silently). The flags keep Chromium off the
network (this machine has none) and give each driver a fresh profile.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

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
