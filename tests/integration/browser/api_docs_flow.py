"""The API reference in a real browser (headless Chromium): the console's 接口文档 link → the page
that renders docs/openapi.yaml with the vendored Swagger UI. Every operation of the document is
shown, and the console's content security policy blocks nothing on the way (a page that needed a
looser policy would lose parts silently). Screenshots prefixed "api-". Run by scripts/e2e.sh.
"""

import os
import sys
import time

import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from common import SHOTS, Flow

WATCH = os.environ["WATCH_URL"].rstrip("/")
CONSOLE = f"{WATCH}/lambda-url/console"
METHODS = {"get", "put", "post", "delete", "patch"}


def main() -> int:
    started = time.monotonic()
    with open("docs/openapi.yaml", encoding="utf-8") as f:
        document = yaml.safe_load(f)
    operations = sum(1 for item in document["paths"].values() for m in item if m in METHODS)
    with Flow("api-") as flow:
        driver, wait, shot = flow.driver, flow.wait, flow.shot
        # Every policy violation of every page this tab opens, recorded before the page's own scripts run.
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )})
        driver.get(CONSOLE)
        link = wait.until(ec.element_to_be_clickable((By.ID, "api-docs")))
        flow.leave(link.click, ec.presence_of_element_located((By.CSS_SELECTOR, "#swagger-ui .opblock")))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#swagger-ui .opblock")) == operations)
        shot("reference", accessible="report")
        paths = {e.get_attribute("data-path") for e in driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
        for path in ("/wechat/authorizers/{appid}/messages", "/wechat/backend/authorizers/{appid}/web-tickets"):
            assert path in paths, sorted(paths)
        # One operation opened: its parameters and responses are there.
        operation = driver.find_element(By.ID, "operations-acting-sendMessage")
        operation.find_element(By.CLASS_NAME, "opblock-summary").click()
        wait.until(lambda d: "Idempotency-Key" in d.find_element(By.ID, "operations-acting-sendMessage").text)
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", operation)
        shot("send-message", accessible="report")
        violations = driver.execute_script("return window.__violations")
        assert violations == [], violations
        assert driver.find_element(By.ID, "download-openapi").get_attribute("href").endswith("/openapi.yaml")
    print(f"API reference browser flow passed in {time.monotonic() - started:.1f} s "
          f"({operations} operations shown, {flow.steps} screenshots in {SHOTS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
