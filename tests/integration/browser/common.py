"""What every browser flow shares: headless Chromium on this closed network, numbered screenshots,
and the page dumped when a step fails."""

import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

SHOTS = os.environ.get("SCREENSHOT_DIR", "target/e2e/screenshots")


def browser(profile: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    # This machine's network is closed: without the background-networking flags Chromium keeps
    # dialling Google's hosts; --no-sandbox because CI runs as root.
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1000,700",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


class Flow:
    """One browser session: `driver`, `wait` (30 s), and `shot(name)` saving
    `$SCREENSHOT_DIR/<prefix><n>-<name>.png`. On an exception the last screen, the URL and the
    page are kept for the log; the browser is always closed."""

    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.steps = 0

    def __enter__(self) -> "Flow":
        os.makedirs(SHOTS, exist_ok=True)
        self._profile = tempfile.TemporaryDirectory()
        self.driver = browser(self._profile.name)
        self.driver.set_page_load_timeout(120)
        self.wait = WebDriverWait(self.driver, 30)
        return self

    def shot(self, name: str) -> None:
        self.steps += 1
        path = os.path.join(SHOTS, f"{self.prefix}{self.steps}-{name}.png")
        self.driver.save_screenshot(path)
        print(f"  screenshot {path}")

    def __exit__(self, kind, error, trace) -> bool:
        try:
            if error is not None:
                self.shot("failure")
                print(self.driver.current_url, file=sys.stderr)
                print(self.driver.page_source[:3000], file=sys.stderr)
        finally:
            self.driver.quit()
            self._profile.cleanup()
        return False
