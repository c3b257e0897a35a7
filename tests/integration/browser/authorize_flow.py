"""The authorization flow in a real browser (headless Chromium), as an official-account admin does it.

qr-url-issuer page -> "授权" link -> WeChat's authorization page (the stand-in) -> Authorize ->
auth-callback result page -> the account appears in authorizer-list. A screenshot of every step is
saved under $SCREENSHOT_DIR (default target/e2e/screenshots). Run by `scripts/test.sh` through
`scripts/run-local.sh --then`, which exports WATCH_URL and STANDIN_URL; exits non-zero on failure.
Independent of every other flow: the admin authorizes an account new to this run, as a dashboard
user of its own, so the list it reads holds this flow's account alone.
"""

import json
import os
import sys
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from common import SHOTS, Flow, add_account, new_appid, unique

WATCH = os.environ["WATCH_URL"].rstrip("/")
STANDIN = os.environ["STANDIN_URL"].rstrip("/")
ACCOUNT = new_appid()
NICK = "示例订阅号"


def main() -> int:
    started = time.monotonic()
    add_account(STANDIN, ACCOUNT, NICK, service_type=0)
    with Flow("") as flow:
        driver, wait, shot = flow.driver, flow.wait, flow.shot
        flow.act_as(unique("authorize-"))
        # 1. The dashboard's authorization page (the browser asks for text/html).
        driver.get(f"{WATCH}/lambda-url/qr-url-issuer?auth_type=1")
        link = wait.until(ec.presence_of_element_located((By.ID, "authorize")))
        shot("qr-url-issuer")
        href = link.get_attribute("href")
        assert "/cgi-bin/componentloginpage?" in href, href

        # 2. Following it lands on WeChat's authorization page, listing the admin's accounts.
        button = flow.leave(link.click, ec.element_to_be_clickable((By.ID, f"authorize-{ACCOUNT}")))
        assert driver.current_url.startswith(STANDIN), driver.current_url
        shot("wechat-authorization-page", accessible=False)

        # 3. Authorize: WeChat redirects the browser to auth-callback with auth_code.
        flow.leave(button.click, ec.presence_of_element_located((By.ID, "platform-title")))
        assert "/lambda-url/auth-callback" in driver.current_url, driver.current_url
        body = driver.find_element(By.TAG_NAME, "body").text
        callback_url = driver.current_url
        shot("auth-callback-result")
        assert NICK in body, f"the callback page should name the account: {body!r}"

        # 4. The dashboard lists the account.
        driver.get(f"{WATCH}/lambda-url/authorizer-list")
        wait.until(ec.presence_of_element_located((By.TAG_NAME, "body")))
        shot("authorizer-list", accessible=False)
        listed = json.loads(driver.find_element(By.TAG_NAME, "body").text)
        assert listed["code"] == 0 and [a["authorizer_appid"] for a in listed["data"]] == [ACCOUNT], listed
        mine = listed["data"][0]
        assert (mine["status"], mine["nick_name"]) == ("authorized", NICK), mine

        # 5. Reloading the callback URL (single-use auth_code) is refused with a clear page.
        driver.get(callback_url)
        title = wait.until(ec.presence_of_element_located((By.ID, "platform-title"))).text
        shot("auth-callback-reloaded")
        assert title == "授权链接已使用", f"a reused callback must be refused, got {title!r}"
    print(f"browser flow passed in {time.monotonic() - started:.1f} s ({flow.steps} screenshots in {SHOTS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
