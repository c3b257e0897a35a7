"""The operator's console in a real browser (headless Chromium), the whole path an operator takes.

empty list → 添加公众号 → WeChat's authorization page (the stand-in) → authorize → back at the
console: the card appears → edit the reply rules (a wrong rule first: its message in words) → the
stand-in's follower gets the new reply → the follower appears in the list → send them a text
(sent), and a send WeChat refuses for the 48-hour window (the answer in words) → an image
uploaded (browser → staging bucket → WeChat), shown, used in a keyword rule and sent → a custom
menu built in the form (a name over WeChat's limit refused in words), published, its keys linked to
the reply rules, a follower's tap answered → a tag put on the follower → a campaign QR code made,
its image shown, a newcomer's scan counted → the account's API use, WeChat's quota for one API and
a reset → an article written, previewed, published, another mass sent to one tag's followers → the
sites web authorization may return to (a wrong one refused in words, then saved) → every tab walked
with the keyboard alone, a tag made without the mouse → every tab on a wide screen and at a phone's
size → another user authorizes the account through their own link: the console says it left. The console signs in by itself (the stand-in's identity provider) and refuses a token it did
not ask for; the platform's start page and the console's header say who is signed in. Screenshots go to $SCREENSHOT_DIR (default target/e2e/screenshots), prefixed
"console-". Independent of every other flow and of earlier runs: the console's operator is a user
of its own (signed in as a new name, so the list starts empty), and the account and the follower
are new to this run.
"""

import base64
import json
import os
import re
import struct
import sys
import tempfile
import time
import zlib
import urllib.error
import urllib.parse
import urllib.request

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from common import SHOTS, Flow, add_account, new_appid, standin_post, unique

WATCH = os.environ["WATCH_URL"].rstrip("/")
STANDIN = os.environ["STANDIN_URL"].rstrip("/")
CONSOLE = f"{WATCH}/lambda-url/console"
ACCOUNT = new_appid()
NICK = "控制台测试号"
FAN = unique("o_console_")
OPERATOR = unique("console-")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Stops at WeChat's redirect, as a browser closed there would: the push moves the account."""

    def redirect_request(self, *args, **kwargs):
        return None


def standin(path: str, body: dict) -> dict:
    return standin_post(STANDIN, path, body)


def standin_calls(endpoint: str) -> int:
    query = urllib.parse.urlencode({"endpoint": endpoint})
    return int(json.loads(urllib.request.urlopen(f"{STANDIN}/standin/calls?{query}", timeout=30).read())["calls"])


def reply_content(pushed: dict) -> str:
    found = re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", pushed.get("reply_xml") or "", re.S)
    return found.group(1) if found else ""


def png(width: int, height: int, rgb: tuple, salt: bytes) -> bytes:
    """A real PNG (a browser decodes and shows it), unique to this run through a text chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"tEXt", b"run\x00" + salt)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# How the keyboard walk names a control: its id, else its tag and place among the panel's elements
# (the rules' and tables' controls are made by the script, without ids).
DESCRIBE = "const d = (p, e) => e.id ? `#${e.id}` : `${e.tagName.toLowerCase()}@${[...p.querySelectorAll('*')].indexOf(e)}`;"
# The controls a mouse user sees in a panel, in the page's order: the native ones, and anything
# else the pointer shows as clickable (outermost only: a button's text inherits its cursor).
VISIBLE_CONTROLS = DESCRIBE + """
const p = document.getElementById(arguments[0]);
const pointer = (e) => e && getComputedStyle(e).cursor === 'pointer';
const native = 'a[href], button, input, select, textarea, summary, [tabindex]';
return [...p.querySelectorAll('*')]
  .filter((e) => e.matches(native) ? !e.disabled && e.tabIndex >= 0 : pointer(e) && !pointer(e.parentElement))
  .filter((e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden')
  .map((e) => ({id: d(p, e)}));"""
# The focused control, if it is in the panel, and whether it shows that it has the focus.
FOCUSED = DESCRIBE + """
const p = document.getElementById(arguments[0]);
const e = document.activeElement;
if (!e || e === p || !p.contains(e)) return null;
const s = getComputedStyle(e);
return {id: d(p, e), ring: e.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2};"""


def keyboard_walk(driver, press, panel: str) -> list:
    """Presses Tab from where the focus is until it enters `panel`, then until it leaves it:
    what was focused inside, in order."""
    for _ in range(40):
        press(Keys.TAB)
        now = driver.execute_script(FOCUSED, panel)
        if now:
            break
    else:
        raise AssertionError(f"Tab never reached {panel}")
    seen = [now]
    for _ in range(300):
        press(Keys.TAB)
        now = driver.execute_script(FOCUSED, panel)
        if not now:
            return seen
        seen.append(now)
    raise AssertionError(f"Tab never left {panel}: {seen[-5:]}")


def main() -> int:
    started = time.monotonic()
    # An account of the operator's that nothing else in the run touches.
    add_account(STANDIN, ACCOUNT, NICK)
    with Flow("console-") as flow:
        driver, wait, shot = flow.driver, flow.wait, flow.shot
        def into_view(element_id: str) -> None:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", driver.find_element(By.ID, element_id))
        def text_of(element_id: str) -> str:
            return driver.find_element(By.ID, element_id).text
        def open_tab(name: str) -> None:
            # A tab reloads its panel when opened: wait for that answer (the panel is aria-busy
            # from the click until it is in), not for what the panel showed before it.
            driver.find_element(By.CSS_SELECTOR, f'.tab[data-tab="{name}"]').click()
            wait.until(lambda d: d.find_element(By.ID, f"tab-{name}").get_attribute("aria-busy") is None)
        # 0. The console signs in by itself: 登录 → the identity provider (the stand-in's, as this
        #    flow's operator) → back with a token carrying the console's own state and nonce, kept
        #    in this tab only and out of the address bar. The demo reads the token's subject, which
        #    makes this flow's operator a user of its own.
        driver.get(f"{STANDIN}/standin/idp-user?name={OPERATOR}")
        driver.get(CONSOLE)
        sign_in = wait.until(ec.element_to_be_clickable((By.ID, "sign-in")))
        flow.leave(sign_in.click, ec.presence_of_element_located((By.ID, "accounts")))
        stored = lambda d: d.execute_script("return sessionStorage.getItem('console-token')")  # noqa: E731
        token = wait.until(stored)
        assert driver.execute_script("return window.location.hash") == "", driver.current_url
        wait.until(lambda d: text_of("signed-in") == f"local:{OPERATOR}")
        # A link carrying someone else's token (a phishing link to a tenant of theirs): refused,
        # said in words, and the operator stays who they are.
        claims = base64.urlsafe_b64encode(json.dumps({"sub": "mallory", "nonce": "x"}).encode()).decode().rstrip("=")
        driver.get("about:blank")  # (a new document: only the fragment differing would not reload)
        driver.get(f"{CONSOLE}#id_token=eyJhbGciOiJub25lIn0.{claims}.&state=forged")
        wait.until(lambda d: "登录未被接受" in text_of("notice"))
        assert stored(driver) == token, "the foreign token was not kept"
        assert driver.execute_script("return window.location.hash") == "", driver.current_url
        shot("sign-in-refused")

        # 1. The empty console (this operator has no account yet).
        driver.get(CONSOLE)
        wait.until(ec.presence_of_element_located((By.ID, "empty")))
        shot("empty")
        assert driver.execute_script("return document.querySelectorAll('.card').length") == 0

        # 2. 添加公众号 → the platform's page (which says who will manage the account) → WeChat's →
        #    authorize this account.
        authorize = flow.leave(driver.find_element(By.ID, "add-account").click, ec.element_to_be_clickable((By.ID, "authorize")))
        assert text_of("for-user") == f"local:{OPERATOR}", text_of("for-user")
        account = flow.leave(authorize.click, ec.element_to_be_clickable((By.ID, f"authorize-{ACCOUNT}")))
        title = flow.leave(account.click, ec.presence_of_element_located((By.ID, "platform-title")))
        assert "/lambda-url/auth-callback" in driver.current_url, driver.current_url
        assert title.text == "授权成功", title.text

        # 3. Back at the console: the card, with its labels and status.
        driver.get(CONSOLE)
        card = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f'.card[data-appid="{ACCOUNT}"]')))
        assert NICK in card.text and "服务号" in card.text and "微信认证" in card.text and "已授权" in card.text, card.text
        wait.until(lambda d: text_of("signed-in") == f"local:{OPERATOR}")
        shot("account-card")

        # 4. Its rules, in the form: a keyword rule without its keyword is refused, the API's
        #    message shown in words beside that rule (nothing saved); then a welcome and a
        #    keyword rule, saved; the JSON view says the same.
        # (Opened from the keyboard: the card takes the focus and Enter opens it.)
        card.send_keys(Keys.ENTER)
        wait.until(lambda d: text_of("rules-version") == "0" and d.find_elements(By.CSS_SELECTOR, "#rules-form .empty-rules"))
        set_rules = "document.getElementById('rules').value = arguments[0];"
        rule = lambda i: driver.find_element(By.CSS_SELECTOR, f'#rules-form fieldset[data-rule="{i}"]')  # noqa: E731
        field = lambda i, name: rule(i).find_element(By.CSS_SELECTOR, f'[data-field="{name}"]')  # noqa: E731
        driver.find_element(By.ID, "add-rule").click()
        field(0, "content").send_keys("x")
        driver.find_element(By.ID, "save-rules").click()
        message = wait.until(lambda d: text_of("rules-result"))
        assert message == "第 1 条规则有误：「关键词」不能为空", message
        assert "invalid" in rule(0).get_attribute("class"), rule(0).get_attribute("class")
        assert rule(0).find_element(By.CLASS_NAME, "rule-error").text == "「关键词」不能为空", rule(0).text
        assert text_of("rules-version") == "0"
        into_view("rules-form")
        shot("rules-refused")
        Select(field(0, "on")).select_by_value("subscribe")
        field(0, "content").clear()
        field(0, "content").send_keys("欢迎关注控制台测试号")
        driver.find_element(By.ID, "add-rule").click()
        field(1, "keyword").send_keys("价格")
        Select(field(1, "match")).select_by_value("contains")
        field(1, "content").send_keys("控制台设置的价格：88 元")
        driver.find_element(By.ID, "save-rules").click()
        wait.until(lambda d: text_of("rules-result").startswith("已保存（版本 1）"))
        saved = json.loads(driver.find_element(By.ID, "rules").get_attribute("value"))["rules"]
        assert [(r["on"], r.get("keyword"), r.get("match"), r["reply"]["text"]["content"]) for r in saved] == [
            ("subscribe", None, None, "欢迎关注控制台测试号"), ("keyword", "价格", "contains", "控制台设置的价格：88 元")], saved
        into_view("rules-form")
        shot("rules-saved")

        # 5. The stand-in's follower gets the new reply once event-callback's rules cache (a second
        #    locally) has taken the save: ask until it answers, at most 30 s. Before the save
        #    nothing answered this account, so the first answer by the rule is the save's effect.
        deadline = time.monotonic() + 30
        while True:
            answer = reply_content(standin("/standin/push/text", {"appid": ACCOUNT, "openid": FAN, "content": "请问价格？"}))
            if answer == "控制台设置的价格：88 元" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert answer == "控制台设置的价格：88 元", answer

        # 6. The follower, listed once the ledger took the message (seconds), and a text to them.
        # (Each click on the tab reloads the list: look only once its answer is in.)
        deadline = time.monotonic() + 30
        while True:
            open_tab("followers")
            wait.until(lambda d: text_of("followers-result"))
            if driver.find_elements(By.XPATH, f'//td[@class="openid" and .="{FAN}"]'):
                break
            assert time.monotonic() < deadline, text_of("followers-result")
            time.sleep(0.5)
        row = driver.find_element(By.XPATH, f'//td[@class="openid" and .="{FAN}"]/..')
        assert "开放至" in row.text, row.text
        # The card's figure is the tab's: both say one follower (the card said 0 before the
        # ledger took the message, and follows the tab without a reload).
        assert text_of("followers-result").startswith("共 1 位关注中的粉丝"), text_of("followers-result")
        meta = driver.find_element(By.CSS_SELECTOR, f'.card[data-appid="{ACCOUNT}"] .meta').text
        assert meta.startswith("粉丝 1 ·"), meta
        shot("followers")
        row.find_element(By.CSS_SELECTOR, ".openid button").click()
        assert driver.find_element(By.ID, "send-to").get_attribute("value") == FAN
        driver.find_element(By.ID, "send-text").send_keys("您好，价格已发送")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: text_of("send-result") == "已发送")
        sent = json.loads(urllib.request.urlopen(f"{STANDIN}/standin/sent", timeout=30).read())
        assert any(m["touser"] == FAN and m["content"] == "您好，价格已发送" for m in sent), sent
        # WeChat refusing for the 48-hour window: the answer in words, not JSON.
        standin("/standin/faults", {"endpoint": "custom_send", "fault": {"kind": "errcode", "value": 45015}})
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: "48 小时客服窗口" in text_of("send-result"))
        assert "{" not in text_of("send-result")
        into_view("send-result")
        shot("send-outside-window")

        # 7. 素材: an image uploaded from the browser (to the staging bucket, then to WeChat), shown,
        #    used in a keyword rule (the follower gets the image) and sent to the follower.
        open_tab("media")
        picked = wait.until(ec.presence_of_element_located((By.ID, "media-file")))
        with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as image:
            image.write(png(96, 64, (7, 193, 96), unique("").encode()))
        picked.send_keys(image.name)
        uploads = standin_calls("add_material")
        driver.find_element(By.ID, "upload-media").click()
        wait.until(lambda d: text_of("media-result").startswith(("已上传到微信：", "平台", "素材存储", "文件", "无法")))
        message = text_of("media-result")
        assert message.startswith("已上传到微信：m"), message
        handle = message.split("：", 1)[1]
        assert standin_calls("add_material") == uploads + 1, "one upload to WeChat (permanent material)"
        row = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f'#media tr[data-handle="{handle}"]')))
        assert "可用" in row.text and "永久图片" in row.text, row.text
        assert driver.execute_script("return document.getElementById('media-preview').naturalWidth") == 96
        into_view("media")
        shot("media-uploaded")
        row.find_element(By.CSS_SELECTOR, 'button[data-use="rule"]').click()
        wait.until(lambda d: handle in d.find_element(By.ID, "rules").get_attribute("value"))
        driver.find_element(By.ID, "save-rules").click()
        wait.until(lambda d: text_of("rules-result").startswith("已保存（版本 2）"))
        deadline = time.monotonic() + 30
        while True:
            pushed = standin("/standin/push/text", {"appid": ACCOUNT, "openid": FAN, "content": "图片"})
            media_id = re.search(r"<MediaId><!\[CDATA\[(.*?)\]\]></MediaId>", pushed.get("reply_xml") or "")
            if media_id or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert media_id and not media_id.group(1).startswith(handle[:4]), pushed
        open_tab("media")
        # (The flow's waits ask again when the row is not there yet or was just replaced.)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#media tr[data-handle="{handle}"] button[data-use="send"]').click() or True)
        assert driver.find_element(By.ID, "send-media").get_attribute("value") == handle
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: text_of("send-result") == "已发送")
        sent = json.loads(urllib.request.urlopen(f"{STANDIN}/standin/sent", timeout=30).read())
        assert any(m["touser"] == FAN and m["msgtype"] == "image" for m in sent), sent
        into_view("send-result")
        shot("media-sent")
        os.unlink(image.name)

        # 8. 自定义菜单: built in the form (a button and a parent of two), shown on the phone's bar;
        #    a name over WeChat's limit refused in words first; published; the keys without a
        #    reply rule flagged, then linked once a rule answers one; a follower's tap gets it.
        open_tab("menu")
        assert text_of("menu-version") == "0" and text_of("menu-result") == ""
        driver.find_element(By.ID, "add-menu-button").click()
        top = lambda i: driver.find_element(By.CSS_SELECTOR, f'#menu-form .menu-button[data-index="{i}"]')  # noqa: E731
        top(0).find_element(By.CSS_SELECTOR, 'input[data-field="name"]').send_keys("价格查询一下")
        top(0).find_element(By.CSS_SELECTOR, 'input[data-field="key"]').send_keys("PRICE")
        driver.find_element(By.ID, "add-menu-button").click()
        top(1).find_element(By.CSS_SELECTOR, 'input[data-field="name"]').send_keys("服务")
        next(b for b in top(1).find_elements(By.TAG_NAME, "button") if b.text == "改为子菜单").click()
        sub = lambda j: top(1).find_element(By.CSS_SELECTOR, f'.sub[data-sub="{j}"]')  # noqa: E731
        sub(0).find_element(By.CSS_SELECTOR, 'input[data-field="name"]').send_keys("官网")
        Select(sub(0).find_element(By.CSS_SELECTOR, 'select[data-field="type"]')).select_by_value("view")
        sub(0).find_element(By.CSS_SELECTOR, 'input[data-field="url"]').send_keys("https://www.example.com/")
        top(1).find_element(By.CSS_SELECTOR, 'button[data-add="sub"]').click()
        sub(1).find_element(By.CSS_SELECTOR, 'input[data-field="name"]').send_keys("联系我们")
        sub(1).find_element(By.CSS_SELECTOR, 'input[data-field="key"]').send_keys("CONTACT")
        menu_creates = standin_calls("menu_create")
        driver.find_element(By.ID, "publish-menu").click()
        message = wait.until(lambda d: text_of("menu-result"))
        assert message.startswith("请求参数有误：button[0].name") and "{" not in message, message
        assert standin_calls("menu_create") == menu_creates, "nothing sent to WeChat"
        name = top(0).find_element(By.CSS_SELECTOR, 'input[data-field="name"]')
        name.clear()
        name.send_keys("价格")
        driver.find_element(By.ID, "publish-menu").click()
        wait.until(lambda d: text_of("menu-result").startswith("已发布（版本 1）"))
        assert standin_calls("menu_create") == menu_creates + 1
        keys = text_of("menu-keys")
        assert "「PRICE」没有自动回复规则" in keys and "「CONTACT」没有自动回复规则" in keys, keys
        bar = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#phone-bar button")]
        assert bar == ["价格", "服务"], bar
        driver.find_element(By.CSS_SELECTOR, '#phone-bar button[data-index="1"]').click()
        popup = wait.until(ec.visibility_of_element_located((By.ID, "phone-popup")))
        assert popup.text.split("\n") == ["官网", "联系我们"], popup.text
        into_view("menu-form")
        shot("menu-published")
        # A rule for PRICE (the rules' editor), then the menu says which rule answers it.
        open_tab("rules")
        driver.find_element(By.CSS_SELECTOR, "#rules-advanced summary").click()
        document = json.loads(driver.find_element(By.ID, "rules").get_attribute("value"))
        document["rules"].append({"on": "click", "key": "PRICE", "reply": {"msgtype": "text", "text": {"content": "菜单查价：88 元"}}})
        driver.execute_script(set_rules, json.dumps(document, ensure_ascii=False, indent=2))
        driver.find_element(By.ID, "save-rules").click()
        wait.until(lambda d: text_of("rules-result").startswith("已保存（版本 3）"))
        open_tab("menu")
        wait.until(lambda d: f"「PRICE」→ 第 {len(document['rules'])} 条自动回复规则" in text_of("menu-keys"))
        deadline = time.monotonic() + 30
        while True:
            answer = reply_content(standin("/standin/tap", {"appid": ACCOUNT, "openid": FAN, "key": "PRICE"}))
            if answer == "菜单查价：88 元" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert answer == "菜单查价：88 元", answer
        into_view("menu-keys")
        shot("menu-keys")

        # 9. 标签: the empty list says so; one created, the follower tagged (its count shown).
        open_tab("tags")
        wait.until(lambda d: [r.text for r in d.find_elements(By.CSS_SELECTOR, "#tags tbody tr")] == ["还没有标签"])
        assert driver.find_element(By.ID, "tab-tags").get_attribute("aria-busy") is None
        driver.find_element(By.ID, "tag-name").send_keys("老顾客")
        driver.find_element(By.ID, "create-tag").click()
        wait.until(lambda d: text_of("tags-result") == "已创建标签「老顾客」")
        driver.find_element(By.ID, "tag-openids").send_keys(FAN)
        driver.find_element(By.ID, "tag-followers").click()
        wait.until(lambda d: text_of("tags-result") == "已为 1 位粉丝打上标签")
        wait.until(lambda d: [c.text for c in d.find_elements(By.CSS_SELECTOR, "#tags tbody tr td:nth-child(2)")] == ["1"])
        into_view("tags")
        shot("tags")
        # The followers' list shows the tag on the follower.
        open_tab("followers")
        wait.until(lambda d: any(c.text == "老顾客" for c in d.find_elements(By.CSS_SELECTOR, "#followers td.tags")))

        # 10. 二维码: a poster's code made, its image shown; a newcomer scans it (the ledger counts
        #     the follow from the bus, seconds) and the code's figures say so.
        open_tab("qrcodes")
        driver.find_element(By.ID, "qr-name").send_keys("门店海报")
        driver.find_element(By.ID, "qr-scene").send_keys("shop-42")
        days = driver.find_element(By.ID, "qr-days")
        days.clear()
        days.send_keys("7")
        driver.find_element(By.ID, "create-qr").click()
        wait.until(lambda d: text_of("qr-result") == "已生成「门店海报」")
        wait.until(lambda d: d.execute_script("return document.getElementById('qr-image').naturalWidth") == 200)
        assert "新关注 0，已关注粉丝扫码 0" in text_of("qr-stats"), text_of("qr-stats")
        listed = urllib.request.Request(f"{WATCH}/lambda-url/account-setup/wechat/authorizers/{ACCOUNT}/qrcodes",
                                        headers={"authorization": f"Bearer local-user:{OPERATOR}"})
        with urllib.request.urlopen(listed, timeout=30) as response:
            code = json.load(response)["data"]["codes"][0]
        assert code["name"] == "门店海报" and code["scene"] == "shop-42", code
        newcomer = unique("o_qr_")
        standin("/standin/scan", {"ticket": code["ticket"], "openid": newcomer})
        deadline = time.monotonic() + 30
        while True:
            driver.find_element(By.CSS_SELECTOR, f'#qrcodes tr[data-qr="{code["id"]}"] button[data-use="view"]').click()
            wait.until(lambda d: "门店海报" in text_of("qr-stats"))
            if "新关注 1" in text_of("qr-stats") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "新关注 1，已关注粉丝扫码 0" in text_of("qr-stats"), text_of("qr-stats")
        into_view("qr-view")
        shot("qrcode")

        # 10b. 接口额度: what the platform called for the account (the code above among them),
        #      WeChat's figures for one API, a reset (counted: the first of the month's ten).
        open_tab("quota")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#usage tr[data-api="qrcode/create"]'))
        Select(driver.find_element(By.ID, "quota-api")).select_by_value("/cgi-bin/qrcode/create")
        driver.find_element(By.ID, "query-quota").click()
        wait.until(lambda d: "今日已用 1，" in text_of("quota-result"))
        driver.find_element(By.ID, "reset-quota").click()
        wait.until(lambda d: text_of("quota-result") == "已重置：本月第 1 次，每月最多 10 次")
        into_view("usage")
        shot("quota")

        # 10c. 图文与群发: an article written in the form with the uploaded image as its cover (its
        #      script and event attribute removed before WeChat sees it), previewed to the
        #      follower, published (WeChat's push says where); a second one mass sent to every
        #      follower (WeChat's push says how many it reached).
        open_tab("articles")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'#draft-cover option[value="{handle}"]'))
        def write_draft(title: str, content: str) -> None:
            for field, value in (("draft-title", title), ("draft-content", content)):
                driver.find_element(By.ID, field).clear()
                driver.find_element(By.ID, field).send_keys(value)
            Select(driver.find_element(By.ID, "draft-cover")).select_by_value(handle)
            driver.find_element(By.ID, "save-draft").click()
            wait.until(lambda d: text_of("draft-result") == f"已存入草稿箱：「{title}」")
        def draft_row(title: str):
            return wait.until(ec.presence_of_element_located((By.XPATH, f'//table[@id="drafts"]//tr[td[1][text()="{title}"]]')))
        write_draft("冬季新品上市", '<p onclick="steal()">三款新品，周末到店有礼</p><script>steal()</script>')
        media_id = draft_row("冬季新品上市").get_attribute("data-draft")
        kept = urllib.request.Request(f"{WATCH}/lambda-url/publishing/wechat/authorizers/{ACCOUNT}/drafts/{media_id}",
                                      headers={"authorization": f"Bearer local-user:{OPERATOR}"})
        with urllib.request.urlopen(kept, timeout=30) as response:
            content = json.load(response)["data"]["articles"][0]["content"]
        assert content == "<p>三款新品，周末到店有礼</p>", content
        driver.find_element(By.ID, "preview-openid").send_keys(FAN)
        previews = standin_calls("mass_preview")
        draft_row("冬季新品上市").find_element(By.CSS_SELECTOR, 'button[data-use="preview"]').click()
        wait.until(lambda d: text_of("publish-result") == f"已把「冬季新品上市」预览发给 {FAN}")
        assert standin_calls("mass_preview") == previews + 1
        into_view("drafts")
        shot("draft-previewed")
        draft_row("冬季新品上市").find_element(By.CSS_SELECTOR, 'button[data-use="publish"]').click()
        wait.until(lambda d: text_of("publish-result").startswith("「冬季新品上市」已发表：http"))
        into_view("publish-result")
        shot("article-published")
        # Mass sent to the followers of one tag: 老顾客, the one follower tagged in step 9.
        write_draft("周末到店有礼", "<p>本周六、周日到店，出示本消息领取小礼品。</p>")
        Select(driver.find_element(By.ID, "mass-audience")).select_by_visible_text("标签「老顾客」（1 人）")
        draft_row("周末到店有礼").find_element(By.CSS_SELECTOR, 'button[data-use="mass"]').click()
        wait.until(lambda d: text_of("publish-result").startswith("「周末到店有礼」群发完成："))
        assert text_of("publish-result") == "「周末到店有礼」群发完成：1 位粉丝中送达 1 位", text_of("publish-result")
        into_view("publish-result")
        shot("mass-sent")

        # 11. Web authorization's sites: a wrong one (its message, in words), then the shop's.
        open_tab("web")
        origins = wait.until(ec.visibility_of_element_located((By.ID, "web-origins")))
        origins.clear()
        origins.send_keys("http://shop.example.com")
        driver.find_element(By.ID, "save-origins").click()
        message = wait.until(lambda d: text_of("origins-result"))
        assert message.startswith("请求参数有误：origins[0]") and "https" in message, message
        # (The local run lets owners allow only its shop: OAUTH_RETURN_ORIGINS is the ceiling.)
        shop = f"http://127.0.0.1:{os.environ.get('SHOP_PORT', '9200')}"
        origins.clear()
        origins.send_keys(shop)
        driver.find_element(By.ID, "save-origins").click()
        wait.until(lambda d: text_of("origins-result") == "已保存：1 个网站")
        saved = urllib.request.Request(f"{WATCH}/lambda-url/account-actions/wechat/authorizers/{ACCOUNT}/web-origins",
                                       headers={"authorization": f"Bearer local-user:{OPERATOR}"})
        with urllib.request.urlopen(saved, timeout=30) as response:
            assert json.load(response)["data"] == {"origins": [shop]}
        into_view("origins-result")
        shot("web-origins")

        # 11b. The keyboard alone: each tab opened with Enter, then Tab walks its panel. Every
        #      control a mouse user sees there is reached, once, in the order the page shows
        #      them (no positive tabindex, nothing skipped, nothing hidden reached), and each
        #      shows where the focus is. Then a tag made without the mouse.
        press = lambda key: ActionChains(driver).send_keys(key).perform()  # noqa: E731
        walked = {}
        for name in [b.get_attribute("data-tab") for b in driver.find_elements(By.CSS_SELECTOR, ".tab")]:
            button = driver.find_element(By.CSS_SELECTOR, f'.tab[data-tab="{name}"]')
            driver.execute_script("arguments[0].focus()", button)
            press(Keys.ENTER)
            wait.until(lambda d: button.get_attribute("aria-pressed") == "true")
            wait.until(lambda d: d.find_element(By.ID, f"tab-{name}").get_attribute("aria-busy") is None)
            seen = keyboard_walk(driver, press, f"tab-{name}")
            visible = driver.execute_script(VISIBLE_CONTROLS, f"tab-{name}")
            assert [e["id"] for e in seen] == [e["id"] for e in visible], (name, seen, visible)
            assert all(e["ring"] for e in seen), (name, [e for e in seen if not e["ring"]])
            walked[name] = len(seen)
        print(f"  keyboard walk: {walked}")
        driver.execute_script("arguments[0].focus()", driver.find_element(By.CSS_SELECTOR, '.tab[data-tab="tags"]'))
        press(Keys.ENTER)
        wait.until(lambda d: d.find_element(By.ID, "tab-tags").get_attribute("aria-busy") is None)
        for _ in range(20):
            if driver.switch_to.active_element.get_attribute("id") == "tag-name":
                break
            press(Keys.TAB)
        press("键盘")
        press(Keys.TAB)
        assert driver.switch_to.active_element.get_attribute("id") == "create-tag"
        press(Keys.ENTER)
        wait.until(lambda d: text_of("tags-result") == "已创建标签「键盘」")
        # (Read in one script: the list is replaced when it reloads.)
        tag_names = "return [...document.querySelectorAll('#tags tbody td:first-child input')].map((i) => i.value)"
        wait.until(lambda d: "键盘" in d.execute_script(tag_names))
        shot("keyboard")
        # A tag deleted while the follower's record still carries it: the followers' list shows the
        # account's tags only (老顾客), never a deleted tag's bare id.
        tag_list = driver.find_element(By.ID, "tag-openids")
        tag_list.clear()
        tag_list.send_keys(FAN)
        Select(driver.find_element(By.ID, "tag-pick")).select_by_visible_text("键盘")
        driver.find_element(By.ID, "tag-followers").click()
        wait.until(lambda d: text_of("tags-result") == "已为 1 位粉丝打上标签")
        fan_tags = f"return [...document.querySelectorAll('#followers tr')].filter((r) => r.querySelector('.openid')?.textContent === '{FAN}').map((r) => r.querySelector('td.tags').textContent)"
        open_tab("followers")
        wait.until(lambda d: d.execute_script(fan_tags) == ["老顾客、键盘"])
        open_tab("tags")
        row = next(r for r in driver.find_elements(By.CSS_SELECTOR, "#tags tbody tr[data-tag]")
                   if r.find_element(By.TAG_NAME, "input").get_attribute("value") == "键盘")
        next(b for b in row.find_elements(By.TAG_NAME, "button") if b.text == "删除").click()
        wait.until(lambda d: text_of("tags-result") == "已删除")
        open_tab("followers")
        wait.until(lambda d: d.execute_script(fan_tags) == ["老顾客"])

        # 12. At a phone's size: one column, the buttons reachable.
        driver.set_window_size(390, 844)
        driver.get(CONSOLE)
        card = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f'.card[data-appid="{ACCOUNT}"]')))
        width = driver.execute_script("return document.documentElement.clientWidth")
        assert card.size["width"] > width * 0.85, (card.size, width)
        assert driver.find_element(By.ID, "add-account").is_displayed()
        assert driver.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        shot("phone")
        # Every tab of the account on a wide screen, then at 360 px (the narrowest phone the
        # console is made for): nothing wider than the screen; at 360 px each screen is kept and
        # held to the accessibility rules.
        driver.set_window_size(1920, 1000)
        card.click()
        wait.until(ec.visibility_of_element_located((By.ID, "detail")))
        tabs = [b.get_attribute("data-tab") for b in driver.find_elements(By.CSS_SELECTOR, ".tab")]
        for name in tabs:
            open_tab(name)
            wait.until(ec.visibility_of_element_located((By.ID, f"tab-{name}")))
            assert driver.execute_script(
                "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"), name
        driver.set_window_size(360, 800)
        for name in tabs:
            open_tab(name)
            wait.until(ec.visibility_of_element_located((By.ID, f"tab-{name}")))
            wide = driver.execute_script(
                "const w = document.documentElement.clientWidth;"
                "return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1)"
                ".slice(-3).map((e) => `${e.tagName}#${e.id}.${e.className}:${Math.round(e.getBoundingClientRect().right)}/${w}`)")
            assert not wide and driver.execute_script(
                "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"), (name, wide)
            into_view(f"tab-{name}")
            shot(f"phone-{name}")

        # 13. Another user authorizes the same account through their own link (a phishing link
        #    to their tenant, say): the account moves to them, and this operator's console says
        #    it left instead of just losing the card.
        other = f"local-user:{OPERATOR}-other"
        start = urllib.request.Request(f"{WATCH}/lambda-url/qr-url-issuer/wechat/authorize-url?auth_type=1",
                                       headers={"authorization": f"Bearer {other}"})
        with urllib.request.urlopen(start, timeout=30) as response:
            start_url = json.load(response)["data"]["start_url"]
        with urllib.request.urlopen(start_url, timeout=30) as response:
            page = response.read().decode()
        button = re.search(r'id="authorize" href="([^"]+)"', page).group(1).replace("&amp;", "&")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(button).query))
        form = urllib.parse.urlencode({"pre_auth_code": query["pre_auth_code"], "redirect_uri": query["redirect_uri"],
                                       "appid": ACCOUNT}).encode()
        no_redirect = urllib.request.build_opener(NoRedirect)
        try:
            no_redirect.open(urllib.request.Request(f"{STANDIN}/standin/authorize", data=form), timeout=30)
        except urllib.error.HTTPError as redirect:
            assert redirect.code == 302, redirect.code
        # (The push records the move for this operator first, then moves the account: wait for
        # both, the notice shown and the card gone.)
        deadline = time.monotonic() + 30
        while True:
            driver.get(CONSOLE)
            wait.until(lambda d: text_of("signed-in") == f"local:{OPERATOR}")
            moved = driver.find_element(By.ID, "moved-away").is_displayed()
            gone = not driver.find_elements(By.CSS_SELECTOR, f'.card[data-appid="{ACCOUNT}"]')
            if (moved and gone) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert ACCOUNT in text_of("moved-list") and NICK in text_of("moved-list"), text_of("moved-list")
        assert not driver.find_elements(By.CSS_SELECTOR, f'.card[data-appid="{ACCOUNT}"]')
        shot("account-moved-away")
    print(f"console browser flow passed in {time.monotonic() - started:.1f} s ({flow.steps} screenshots in {SHOTS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
