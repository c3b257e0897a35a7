"""Web authorization on behalf of an account, in a real browser (headless Chromium).

The account's owner lets the shop (served here, on SHOP_PORT) be returned to. The shop's page
links to a start its *server* minted for the shop's logged-in user → web-oauth → WeChat's consent
page (the stand-in, as the WeChat user "alice") → 允许 → web-oauth's callback → back at the shop
with a wx_ticket, which the shop's server redeems on the account's route for the same user → the
shop's page shows the verified OpenID and its own user id bound to it. Then the decline path: 拒绝
→ the platform's "你已拒绝授权" page → its link back to the shop. Last, a shop page's JS-SDK
`wx.config` from the shop's server, which WeChat's check (the stand-in's) accepts for the page.

The account (new to this run, granting permission set 4) is authorized first, through the
dashboard's page as an admin would, by a dashboard user of this flow's own: nothing here depends on
another flow or an earlier run. Screenshots go to $SCREENSHOT_DIR (default target/e2e/screenshots),
prefixed "web-". Run by scripts/e2e.sh inside scripts/run-local.sh.
"""

import html
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from common import SHOTS, Flow, add_account, new_appid, unique

WATCH = os.environ["WATCH_URL"].rstrip("/")
STANDIN = os.environ["STANDIN_URL"].rstrip("/")
SHOP_PORT = int(os.environ.get("SHOP_PORT", "9200"))
SHOP = f"http://127.0.0.1:{SHOP_PORT}"
ACCOUNT = new_appid()
NICK = "示例服务号"
SHOP_USER = unique("shop-user-")
# The dashboard user who authorizes the account and reads its bindings.
OPERATOR = unique("web-")
AS_OPERATOR = {"authorization": f"Bearer local-user:{OPERATOR}"}


def call(method: str, path: str, body: dict, function: str = "account-actions") -> dict:
    """A call to account-actions (or another account function; the backend family: IAM-signed
    from a named backend in a deployment; this flow's user here)."""
    request = urllib.request.Request(
        f"{WATCH}/lambda-url/{function}/wechat/{path}",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **AS_OPERATOR},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as err:
        return json.load(err)


def start_link(scope: str) -> str:
    """The shop's server mints a single-use start for its logged-in user."""
    answer = call("POST", f"backend/authorizers/{ACCOUNT}/web-starts",
                  {"scope": scope, "return_to": f"{SHOP}/bind", "user_ref": SHOP_USER})
    assert answer.get("code") == 0, answer
    return answer["data"]["start_url"]


def redeem(ticket: str) -> dict:
    """The shop's server redeems the ticket on the account's route and binds the follower to its
    session's user (the one the start was minted for)."""
    return call("POST", f"backend/authorizers/{ACCOUNT}/web-tickets", {"ticket": ticket, "user_ref": SHOP_USER})


class Shop(http.server.BaseHTTPRequestHandler):
    """The site: a page with the login link, and /bind that redeems the ticket server-side."""

    bindings: dict = {}

    def log_message(self, *args) -> None:  # quiet
        pass

    def page(self, title: str, body: str) -> None:
        data = (
            f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body style='font-family:sans-serif;margin:2em'><h1 id='shop-title'>{html.escape(title)}</h1>{body}</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/":
            self.page(
                "示例商城",
                f"<p>会员 <b>{SHOP_USER}</b>，绑定微信后可收到发货通知。</p>"
                f"<p><a id='login' href='{html.escape(start_link('snsapi_userinfo'))}'>绑定微信</a></p>",
            )
        elif url.path == "/jssdk":
            # The page's wx.config, asked for by the shop's server for this very page (the
            # browser's address without its #…, which a server never sees anyway).
            answer = call("POST", f"backend/authorizers/{ACCOUNT}/jssdk/config", {"url": f"{SHOP}{self.path}"},
                          function="account-setup")
            if answer.get("code") != 0:
                self.page("JS-SDK 配置失败", f"<p id='shop-error'>{html.escape(json.dumps(answer, ensure_ascii=False))}</p>")
                return
            config = json.dumps(answer["data"], ensure_ascii=False)
            self.page(
                "分享商品",
                "<p>这个页面在微信里打开时，用下面的配置调用 wx.config（公众号的 appId 和 jsapi_ticket 签名）。</p>"
                f"<pre id='wx-config'>{html.escape(config)}</pre>",
            )
        elif url.path == "/bind" and "wx_ticket" in query:
            answer = redeem(query["wx_ticket"])
            if answer.get("code") != 0:
                self.page("绑定失败", f"<p id='shop-error'>{html.escape(json.dumps(answer, ensure_ascii=False))}</p>")
                return
            who = answer["data"]
            binding = who.get("binding") or {}
            Shop.bindings[binding.get("user_ref")] = binding.get("openid")
            self.page(
                "绑定成功",
                f"<p>OpenID: <code id='openid'>{html.escape(who['openid'])}</code></p>"
                f"<p>会员: <code id='user_ref'>{html.escape(str(who['user_ref']))}</code></p>"
                f"<p>昵称: <span id='nickname'>{html.escape((who.get('profile') or {}).get('nickname', ''))}</span></p>"
                f"<p>公众号: <code id='appid'>{html.escape(who['authorizer_appid'])}</code></p>"
                f"<p>绑定: <span id='bound'>{'已绑定' if binding else '未绑定'}</span></p>",
            )
        else:
            self.page("示例商城", "<p id='shop-plain'>没有授权信息</p>")


def main() -> int:
    started = time.monotonic()
    add_account(STANDIN, ACCOUNT, NICK)
    alice = f"o{ACCOUNT[-4:]}_alice"  # the stand-in's OpenID of WeChat user "alice" at the account
    server = http.server.ThreadingHTTPServer(("127.0.0.1", SHOP_PORT), Shop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with Flow("web-") as flow:
        driver, wait, shot = flow.driver, flow.wait, flow.shot
        try:
            # 0. The account is authorized through the dashboard's page, as its admin does (the
            #    header stands in for the admin's sign-in; the follower's steps below carry it too,
            #    which nothing on those routes reads).
            flow.act_as(OPERATOR)
            driver.get(f"{WATCH}/lambda-url/qr-url-issuer?auth_type=1")
            link = wait.until(ec.element_to_be_clickable((By.ID, "authorize")))
            account = flow.leave(link.click, ec.element_to_be_clickable((By.ID, f"authorize-{ACCOUNT}")))
            title = flow.leave(account.click, ec.presence_of_element_located((By.ID, "platform-title")))
            assert "/lambda-url/auth-callback" in driver.current_url, driver.current_url
            assert title.text == "授权成功", title.text

            # 0b. The account's owner lets the shop's pages be returned to (the dashboard route).
            origins = call("PUT", f"authorizers/{ACCOUNT}/web-origins", {"origins": [SHOP]})
            assert origins.get("data") == {"origins": [SHOP]}, origins

            # 1. WeChat knows this browser as "alice".
            driver.get(f"{STANDIN}/standin/wechat-user?name=alice")

            # 2. The shop's page → web-oauth → WeChat's consent page for the account.
            driver.get(f"{SHOP}/")
            login = wait.until(ec.element_to_be_clickable((By.ID, "login")))
            shot("shop", accessible=False)
            allow = flow.leave(login.click, ec.element_to_be_clickable((By.ID, "allow")))
            assert driver.current_url.startswith(f"{STANDIN}/connect/oauth2/authorize?appid={ACCOUNT}&redirect_uri="), driver.current_url
            assert NICK in driver.find_element(By.ID, "asks").text
            shot("wechat-consent", accessible=False)

            # 3. 允许 → callback → back at the shop, which redeemed the ticket server-side.
            openid = flow.leave(allow.click, ec.presence_of_element_located((By.ID, "openid"))).text
            assert driver.current_url.startswith(f"{SHOP}/bind?wx_ticket="), driver.current_url
            shot("shop-bound", accessible=False)
            assert openid == alice, openid
            assert driver.find_element(By.ID, "user_ref").text == SHOP_USER
            assert driver.find_element(By.ID, "nickname").text == "微信用户 alice"
            assert Shop.bindings == {SHOP_USER: alice}, Shop.bindings
            assert driver.find_element(By.ID, "bound").text == "已绑定"
            # The platform finds the binding from the shop's side.
            bindings = f"{WATCH}/lambda-url/account-actions/wechat/authorizers/{ACCOUNT}/bindings?user_ref={SHOP_USER}"
            with urllib.request.urlopen(urllib.request.Request(bindings, headers=AS_OPERATOR), timeout=30) as response:
                found = json.load(response)
            assert found["data"]["openid"] == alice, found

            # 4. Reloading the shop's URL: the ticket was spent, the shop learns nothing more.
            error = flow.leave(driver.refresh, ec.presence_of_element_located((By.ID, "shop-error"))).text
            assert '"code": 1016' in error, error
            shot("ticket-reused", accessible=False)

            # 5. The decline path: 拒绝 → the platform's page → its link back to the shop.
            driver.get(f"{SHOP}/")
            login = wait.until(ec.element_to_be_clickable((By.ID, "login")))
            deny = flow.leave(login.click, ec.element_to_be_clickable((By.ID, "deny")))
            title = flow.leave(deny.click, ec.presence_of_element_located((By.ID, "declined-title"))).text
            assert title == "你已拒绝授权", title
            assert "/lambda-url/web-oauth/" in driver.current_url and "code=" not in driver.current_url
            shot("declined")
            flow.leave(driver.find_element(By.ID, "back").click, ec.presence_of_element_located((By.ID, "shop-plain")))
            assert driver.current_url == f"{SHOP}/bind", driver.current_url

            # 6. JS-SDK: a page of the shop gets its wx.config from the shop's server (the
            #    account's appid, signed with its jsapi_ticket); WeChat's check (the stand-in's)
            #    passes for the page's address as the browser has it, fragment and all.
            driver.get(f"{SHOP}/jssdk?item=42#share")
            config = json.loads(wait.until(ec.presence_of_element_located((By.ID, "wx-config"))).text)
            assert config["appId"] == ACCOUNT, config
            verdict = urllib.request.Request(
                f"{STANDIN}/standin/jssdk/verify",
                data=json.dumps({**config, "appid": config["appId"], "url": driver.current_url}).encode(),
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(verdict, timeout=30) as response:
                assert json.load(response) == {"ok": True}, (config, driver.current_url)
            shot("jssdk-config", accessible=False)
        finally:
            server.shutdown()
    print(f"web authorization browser flow passed in {time.monotonic() - started:.1f} s ({flow.steps} screenshots in {SHOTS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
