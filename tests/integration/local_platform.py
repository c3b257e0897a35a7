"""Steps against the local platform (scripts/run-local.sh) that several end-to-end checks take,
over plain HTTP as a browser and WeChat would: an account of the check's own on WeChat's side,
authorized through the dashboard's link; the origins its owner lets web authorization return to;
a web-authorization ticket for a WeChat user from a start link.

Reads GATEWAY_URL and STANDIN_URL (run-local.sh exports them).
"""

import html
import json
import os
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, data: bytes | None = None, headers: dict | None = None,
          method: str | None = None) -> tuple[int, dict, str]:
    """(status, headers with lower-case names, body); redirects are not followed. GET, or POST
    with `data`, unless `method` says otherwise."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with opener.open(request, timeout=120) as response:
            status, found, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        status, found, body = err.code, err.headers, err.read()
    return status, {k.lower(): v for k, v in found.items()}, body.decode()


def standin(path: str, body: dict) -> dict:
    status, _, text = fetch(f"{os.environ['STANDIN_URL']}{path}", json.dumps(body).encode(),
                            {"content-type": "application/json"})
    assert status < 300, (path, status, text)
    return json.loads(text) if text else {}


def new_account(nick: str = "示例服务号") -> str:
    """A new appid on WeChat's side (every permission set, web service included)."""
    appid = f"wx{secrets.token_hex(8)}"
    standin("/standin/accounts", {
        "appid": appid, "user_name": f"gh_{appid[-12:]}", "nick_name": nick, "principal_name": "示例科技有限公司",
        "service_type": 2, "verify_type": 0, "func_info": [1, 2, 3, 4, 6, 7, 11, 15],
    })
    return appid


def authorize(appid: str, user: str | None = None) -> None:
    """The admin authorizes `appid` through the dashboard's start link, as dashboard user
    `local:<user>` (the local demo's default user without one)."""
    gateway, wechat = os.environ["GATEWAY_URL"], os.environ["STANDIN_URL"]
    headers = {"accept": "application/json", **({"authorization": f"Bearer local-user:{user}"} if user else {})}
    status, _, body = fetch(f"{gateway}/wechat/authorize-url?auth_type=1", headers=headers)
    assert status == 200, (status, body)
    status, _, page = fetch(json.loads(body)["data"]["start_url"])
    assert status == 200, (status, page)
    href = html.unescape(re.search(r'id="authorize" href="([^"]+)"', page).group(1))
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(href).query))
    form = {"pre_auth_code": query["pre_auth_code"], "redirect_uri": query["redirect_uri"], "appid": appid}
    status, found, body = fetch(f"{wechat}/standin/authorize", urllib.parse.urlencode(form).encode())
    assert status == 302, (status, body)
    status, _, body = fetch(found["location"])
    assert status in (200, 302), (status, body)


def web_origins(appid: str, user: str, *origins: str) -> None:
    """The account's owner (dashboard user `local:<user>`) lets web authorization return to
    `origins` (the dashboard route)."""
    status, _, body = fetch(f"{os.environ['GATEWAY_URL']}/wechat/authorizers/{appid}/web-origins",
                            json.dumps({"origins": list(origins)}).encode(),
                            {"content-type": "application/json", "authorization": f"Bearer local-user:{user}"}, "PUT")
    assert status == 200, (status, body)


def web_ticket(start_url: str, wechat_user: str) -> str:
    """WeChat user `wechat_user` opens a start link (a site's server minted it, or a public one)
    and allows; the `wx_ticket` the platform sends the browser back to the site with."""
    wechat = os.environ["STANDIN_URL"]
    status, found, body = fetch(start_url)
    assert status == 302, (status, body)
    cookie = {"cookie": f"wx_user={wechat_user}"}
    status, found, page = fetch(found["location"], headers=cookie)
    if status == 200:  # snsapi_userinfo asks; snsapi_base is silent (a redirect at once)
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
        fields = {k: html.unescape(v) for k, v in fields.items()}
        status, found, page = fetch(f"{wechat}/standin/oauth/consent",
                                    urllib.parse.urlencode({**fields, "answer": "allow"}).encode(), cookie)
    assert status in (302, 303), (status, page)
    status, found, body = fetch(found["location"])
    assert status == 302, (status, body)
    back = urllib.parse.urlsplit(found["location"])
    return dict(urllib.parse.parse_qsl(back.query))["wx_ticket"]


if __name__ == "__main__":
    # For checks written in other languages (examples/backend-typescript):
    #   python tests/integration/local_platform.py account USER     → a new appid, authorized by USER
    #   python tests/integration/local_platform.py web-origins APPID USER ORIGIN → USER lets ORIGIN be returned to
    #   python tests/integration/local_platform.py web-ticket START_URL WECHAT_USER → the ticket
    import sys

    match sys.argv[1:]:
        case ["account", user]:
            appid = new_account("示例后端")
            authorize(appid, user)
            print(appid)
        case ["web-origins", appid, user, origin]:
            web_origins(appid, user, origin)
        case ["web-ticket", start_url, wechat_user]:
            print(web_ticket(start_url, wechat_user))
        case _:
            sys.exit("usage: local_platform.py account USER | web-origins APPID USER ORIGIN | web-ticket START_URL WECHAT_USER")
