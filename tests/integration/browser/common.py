"""What every browser flow shares: headless Chromium on this closed network, numbered screenshots,
the page dumped when a step fails, a navigation step that waits for the *new* page, and what makes
each flow independent of every other (an account and a console user of its own).

Why the navigation step: after a click that leaves the page, the old page stays in the browser
until the new one commits. A wait for an element can match the old page's element (or find an id
the two pages share) and then read it as it goes stale. `Flow.leave` waits for the old document
to be gone first, and only then for the element on the new page."""

import json
import os
import secrets
import sys
import tempfile
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

SHOTS = os.environ.get("SCREENSHOT_DIR", "target/e2e/screenshots")

# axe-core (npm, tests/integration/browser/package.json): the accessibility rules every screen a
# flow takes a screenshot of is held to. Its source is handed to the page through the driver,
# which the pages' content security policy does not govern.
AXE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_modules", "axe-core", "axe.min.js")
# WCAG 2.1 A and AA, and axe's best practices; a "serious" or "critical" finding fails the flow.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = ("serious", "critical")


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
        # A wait's condition that reads an element the page has just replaced (a list re-rendered
        # by the answer it waits for) is asked again, not failed: the page changed, look again.
        self.wait = WebDriverWait(self.driver, 30, ignored_exceptions=[StaleElementReferenceException])
        return self

    def act_as(self, user: str) -> None:
        """Every request this browser makes from now on carries `Authorization: Bearer
        local-user:<user>`: under the local demo's DASHBOARD_AUTH the flow is a dashboard user of
        its own, as an operator signed in through an identity provider is in a deployment."""
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd(
            "Network.setExtraHTTPHeaders", {"headers": {"authorization": f"Bearer local-user:{user}"}}
        )

    def leave(self, action, until):
        """Runs `action` (a click, a submit, a `driver.refresh`) that leaves the current page,
        waits until that page is gone, then for `until` (an expected condition) on the new one, and
        returns what `until` returned.

        The old page is marked with a value in its `window`, which no other document has: it is
        gone once the marker is. (Selenium's `staleness_of` asks about an element of the old
        page, and chromedriver sometimes answers that with an error of another kind while the
        page is being replaced, which it does not count as stale.)"""
        marker = secrets.token_hex(8)
        self.driver.execute_script("window.__flowPage = arguments[0]", marker)
        action()

        def replaced(driver) -> bool:
            try:
                return driver.execute_script("return window.__flowPage || null") != marker
            except WebDriverException:  # between two documents: ask again
                return False

        self.wait.until(replaced)
        return self.wait.until(until)

    def shot(self, name: str, accessible: "bool | str" = True) -> None:
        """Saves the screen and checks it with axe-core: the counts per impact go to
        `$SCREENSHOT_DIR/accessibility.json`, and a serious or critical finding fails the flow.
        `accessible=False` for a page that is not the platform's (WeChat's stand-in pages, a
        shop's, the browser's own JSON view); `"report"` for vendored markup the platform serves
        but does not write (Swagger UI): counted, not failed."""
        self.steps += 1
        path = os.path.join(SHOTS, f"{self.prefix}{self.steps}-{name}.png")
        self.driver.save_screenshot(path)
        print(f"  screenshot {path}")
        if accessible:
            self.check_accessibility(f"{self.prefix}{self.steps}-{name}", fail=accessible is True)

    def check_accessibility(self, screen: str, fail: bool = True) -> None:
        if not getattr(self, "_axe", None):
            with open(AXE, encoding="utf-8") as source:
                self._axe = source.read()
        if not self.driver.execute_script("return typeof window.axe === 'object'"):
            self.driver.execute_script(self._axe)
        found = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
            ".then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5)}))), (e) => done({error: String(e)}));",
            AXE_TAGS,
        )
        assert isinstance(found, list), f"axe-core did not run on {screen}: {found}"
        counts = {impact: sum(1 for v in found if v["impact"] == impact) for impact in ("minor", "moderate", "serious", "critical")}
        report_path = os.path.join(SHOTS, "accessibility.json")
        report = {}
        if os.path.exists(report_path):
            with open(report_path, encoding="utf-8") as existing:
                report = json.load(existing)
        report[screen] = {"counts": counts, "violations": found}
        with open(report_path, "w", encoding="utf-8") as out:
            json.dump(report, out, ensure_ascii=False, indent=1)
        failing = [v for v in found if v["impact"] in FAILING]
        assert not fail or not failing, f"accessibility of {screen}: " + "; ".join(f"{v['impact']} {v['id']} ({v['help']}) at {v['nodes']}" for v in failing)

    def __exit__(self, kind, error, trace) -> bool:
        try:
            if error is not None:
                self.shot("failure", accessible=False)
                print(self.driver.current_url, file=sys.stderr)
                print(self.driver.page_source[:3000], file=sys.stderr)
        finally:
            self.driver.quit()
            self._profile.cleanup()
        return False


def unique(prefix: str) -> str:
    """A name no other run or flow uses (`prefix` + 12 hex digits)."""
    return f"{prefix}{secrets.token_hex(6)}"


def new_appid() -> str:
    """An appid no other run or flow uses: `wx` and 16 hex digits, as WeChat's look."""
    return f"wx{secrets.token_hex(8)}"


def standin_post(standin: str, path: str, body: dict) -> dict:
    """A control call on the WeChat stand-in."""
    request = urllib.request.Request(
        f"{standin}{path}", data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else {}


def add_account(standin: str, appid: str, nick: str, service_type: int = 2) -> None:
    """Gives the stand-in's admin an account of the flow's own to authorize (WeChat's side)."""
    standin_post(standin, "/standin/accounts", {
        "appid": appid, "user_name": f"gh_{appid[-12:]}", "nick_name": nick, "principal_name": "示例科技有限公司",
        "service_type": service_type, "verify_type": 0, "func_info": [1, 2, 3, 4, 6, 7, 11, 15],
    })
