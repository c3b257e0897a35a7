"""The authorization flow in a real browser (headless Chromium), as an official-account admin does it.

qr-url-issuer page -> "授权" link -> WeChat's authorization page (the stand-in) -> Authorize ->
auth-callback result page -> the account appears in authorizer-list. A screenshot of every step is
saved under $SCREENSHOT_DIR (default target/e2e/screenshots). Run by `scripts/test.sh` through
`scripts/run-local.sh --then`, which exports WATCH_URL and STANDIN_URL; exits non-zero on failure.
"""

import json
import os
import sys
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from common import SHOTS, Flow

WATCH = os.environ["WATCH_URL"].rstrip("/")
STANDIN = os.environ["STANDIN_URL"].rstrip("/")
ACCOUNT = os.environ.get("BROWSER_ACCOUNT", "wx1000000000000002")
NICK = "示例订阅号"


def main() -> int:
    started = time.monotonic()
    with Flow("") as flow:
        driver, wait, shot = flow.driver, flow.wait, flow.shot
        # 1. The dashboard's authorization page (the browser asks for text/html).
        driver.get(f"{WATCH}/lambda-url/qr-url-issuer?auth_type=1")
        link = wait.until(ec.presence_of_element_located((By.ID, "authorize")))
        shot("qr-url-issuer")
        href = link.get_attribute("href")
        assert "/cgi-bin/componentloginpage?" in href, href

        # 2. Following it lands on WeChat's authorization page, listing the admin's accounts.
        link.click()
        button = wait.until(ec.element_to_be_clickable((By.ID, f"authorize-{ACCOUNT}")))
        assert driver.current_url.startswith(STANDIN), driver.current_url
        shot("wechat-authorization-page")

        # 3. Authorize: WeChat redirects the browser to auth-callback with auth_code.
        button.click()
        wait.until(lambda d: "/lambda-url/auth-callback" in d.current_url)
        wait.until(ec.presence_of_element_located((By.ID, "title")))
        body = driver.find_element(By.TAG_NAME, "body").text
        callback_url = driver.current_url
        shot("auth-callback-result")
        assert NICK in body, f"the callback page should name the account: {body!r}"

        # 4. The dashboard lists the account.
        driver.get(f"{WATCH}/lambda-url/authorizer-list")
        wait.until(ec.presence_of_element_located((By.TAG_NAME, "body")))
        shot("authorizer-list")
        listed = json.loads(driver.find_element(By.TAG_NAME, "body").text)
        mine = [a for a in listed["data"] if a["authorizer_appid"] == ACCOUNT]
        assert listed["code"] == 0 and len(mine) == 1, listed
        assert (mine[0]["status"], mine[0]["nick_name"]) == ("authorized", NICK), mine[0]

        # 5. Reloading the callback URL (single-use auth_code) is refused with a clear page.
        driver.get(callback_url)
        title = wait.until(ec.presence_of_element_located((By.ID, "title"))).text
        shot("auth-callback-reloaded")
        assert title == "授权链接已使用", f"a reused callback must be refused, got {title!r}"
    print(f"browser flow passed in {time.monotonic() - started:.1f} s ({flow.steps} screenshots in {SHOTS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
