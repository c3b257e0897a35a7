// The operator's console: plain JavaScript, no framework, no build step. Everything shown from
// the API is written with textContent, never parsed as markup, so nothing an account, a follower or
// WeChat sends can become markup. The page keeps no secret: the operator's own token (from the
// OIDC redirect's URL fragment, or pasted) lives in this tab's sessionStorage only.
"use strict";

(() => {
  const local = document.querySelector('meta[name="console-routes"]').content === "lambda-url";
  const routes = local
    ? {
        list: "/lambda-url/authorizer-list",
        start: "/lambda-url/qr-url-issuer",
        account: (appid) => `/lambda-url/account-actions/wechat/authorizers/${encodeURIComponent(appid)}`,
        media: (appid) => `/lambda-url/media-library/wechat/authorizers/${encodeURIComponent(appid)}/media`,
      }
    : {
        list: "/wechat/authorizers",
        start: "/wechat/authorize-url",
        account: (appid) => `/wechat/authorizers/${encodeURIComponent(appid)}`,
        media: (appid) => `/wechat/authorizers/${encodeURIComponent(appid)}/media`,
      };

  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "console-token";

  // --- who the operator is --------------------------------------------------------------------
  // The console signs in by itself (OIDC implicit flow): it makes a state and a nonce, keeps them
  // in this tab, and sends the browser to the identity provider. The answer lands here with
  // #id_token=…&state=…: the token is kept only if the state is the one this tab made and the
  // token carries its nonce. Anything else in the fragment (a link with someone else's token, to
  // have the operator add accounts into that tenant) is refused. Either way the fragment leaves the
  // address bar, so it is not bookmarked or shared.
  const signIn = (() => {
    try {
      return JSON.parse(document.querySelector('meta[name="console-signin"]').content || "null");
    } catch (_) {
      return null;
    }
  })();
  const PENDING_KEY = "console-signin-pending";
  const random = () => {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };
  const claimsOf = (jwt) => {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const text = new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
      return JSON.parse(text);
    } catch (_) {
      return null;
    }
  };
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const fromRedirect = fragment.get("id_token");
  let refusedSignIn = false;
  if (fromRedirect || fragment.get("access_token")) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
    let pending = null;
    try {
      pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
    } catch (_) {
      pending = null;
    }
    sessionStorage.removeItem(PENDING_KEY);
    const claims = fromRedirect && claimsOf(fromRedirect);
    if (pending && fragment.get("state") === pending.state && claims && claims.nonce === pending.nonce) {
      sessionStorage.setItem(TOKEN_KEY, fromRedirect);
    } else {
      refusedSignIn = true;
    }
  }
  const token = () => sessionStorage.getItem(TOKEN_KEY);

  function startSignIn() {
    const pending = { state: random(), nonce: random() };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const query = new URLSearchParams({
      response_type: "id_token",
      client_id: signIn.client_id,
      redirect_uri: window.location.origin + window.location.pathname,
      scope: "openid",
      state: pending.state,
      nonce: pending.nonce,
    });
    window.location.assign(`${signIn.authorize}?${query}`);
  }

  // --- the API, its answers in words ----------------------------------------------------------
  const REFUSALS = {
    outside_window: "超出 48 小时客服窗口：该粉丝 48 小时内没有给公众号发消息，微信现在不允许发送",
    window_quota: "这次客服窗口允许的消息已发完，请等粉丝再次发消息",
    follower_blocked: "粉丝已关闭该公众号的消息",
    not_following: "该用户没有关注这个公众号",
    invalid_openid: "这个 OpenID 不是该公众号的粉丝",
    daily_quota: "该公众号今天的接口调用次数已用完",
    api_unauthorized: "该公众号无权使用这个接口（客服消息需要认证的公众号）",
    permission_not_granted: "授权时没有授予消息管理权限，请重新授权",
    too_many_articles: "图文消息只能有一篇文章",
    token_refused: "微信连续两次拒绝了公众号的令牌，请重试",
  };
  const CODES = {
    1000: "平台配置有误，请联系管理员",
    1001: "请求参数有误",
    1002: "平台还没有收到微信推送的 component_verify_ticket（上线后 10 分钟内推送），请稍后再试",
    1003: "微信拒绝了这个请求",
    1004: "存储暂时不可用，请稍后重试",
    1005: "平台正在刷新令牌，请稍后重试",
    1006: "未登录或登录已过期，请重新登录",
    1007: "没有这个公众号，或它不属于你",
    1008: "该公众号已取消授权",
    1009: "该公众号需要管理员重新授权",
    1011: "微信没有应答，消息可能已经发出（平台不会重试），请先与粉丝确认",
    1012: "同样的请求正在处理中，请稍候",
    1014: "保存规则需要注明基于哪个版本",
    1020: "这个身份不是平台登记的后端",
    1021: "操作过于频繁，请稍后再试",
    1022: "没有这个素材，或它不属于这个公众号",
    1023: "文件还没有传到素材存储（或上传链接已过期），请重新上传",
    1024: "文件与声明的不符（格式、大小或内容），微信没有收到任何内容，请重新选择文件",
    1025: "临时素材已过期（微信只保留 3 天），请重新上传同一文件",
  };

  class ApiError extends Error {
    constructor(words, code, body) {
      super(words);
      this.code = code;
      this.body = body;
    }
  }

  function words(status, body) {
    const code = body && body.code;
    if (code === 1010) {
      return REFUSALS[body.reason] || `微信拒绝了这条消息（错误码 ${body.errcode}）`;
    }
    if (code === 1013) {
      return `规则已被他人修改（当前版本 ${body.version}），请重新加载后再修改`;
    }
    if (code === 1001 && body.rule !== undefined && body.rule !== null) {
      return `第 ${Number(body.rule) + 1} 条规则有误：${body.msg}`;
    }
    if (CODES[code]) {
      return code === 1001 && body.msg ? `${CODES[code]}：${body.msg}` : CODES[code];
    }
    return `平台返回了无法识别的应答（HTTP ${status}）`;
  }

  async function api(method, url, { body, headers = {} } = {}) {
    const init = { method, headers: { accept: "application/json", ...headers } };
    if (token()) init.headers.authorization = `Bearer ${token()}`;
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (_) {
      throw new ApiError("无法连接到平台，请检查网络", null, null);
    }
    let json = null;
    try {
      json = await response.json();
    } catch (_) {
      json = null;
    }
    if (!response.ok || !json || json.code !== 0) {
      if (json && json.code === 1006) $("signin").hidden = false;
      throw new ApiError(words(response.status, json), json && json.code, json);
    }
    return { data: json.data, etag: response.headers.get("etag"), page: json };
  }

  // --- small helpers ----------------------------------------------------------------------------
  function el(tag, { text, cls, attrs } = {}, children = []) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const child of children) node.append(child);
    return node;
  }
  const time = (secs) => (secs ? new Date(secs * 1000).toLocaleString("zh-CN", { hour12: false }) : "—");
  function notice(text, ok = false) {
    const box = $("notice");
    box.textContent = text;
    box.className = ok ? "ok" : "";
    box.hidden = !text;
  }
  function result(id, text, ok) {
    const box = $(id);
    box.textContent = text;
    box.className = ok ? "ok" : "error";
  }

  // --- accounts ---------------------------------------------------------------------------------
  const STATUS = { authorized: "已授权", needs_reauthorization: "需要重新授权", revoked: "已取消授权" };
  let selected = null;

  function avatar(account) {
    const box = el("div", { cls: "avatar", text: (account.nick_name || account.authorizer_appid).slice(0, 1) });
    if (account.avatar) {
      const img = el("img", { attrs: { alt: "", referrerpolicy: "no-referrer" } });
      img.addEventListener("load", () => box.replaceChildren(img));
      img.src = String(account.avatar).replace(/^http:\/\//, "https://");
    }
    return box;
  }

  function card(account) {
    const labels = el("div", { cls: "labels" }, [
      el("span", { cls: "label", text: account.service_type_info_text }),
      el("span", { cls: "label", text: account.verify_type_info === -1 ? "未认证" : account.verify_type_info_text }),
      el("span", { cls: `label status-${account.status}`, text: STATUS[account.status] || account.status }),
    ]);
    const count = account.follower_count === null || account.follower_count === undefined ? "—" : account.follower_count;
    const node = el("article", { cls: "card", attrs: { "data-appid": account.authorizer_appid, tabindex: "0" } }, [
      avatar(account),
      el("div", { cls: "name", text: account.nick_name || account.authorizer_appid }),
      labels,
      el("div", { cls: "meta", text: `粉丝 ${count} · 授权于 ${time(account.authorized_at)}` }),
    ]);
    node.addEventListener("click", () => open(account));
    node.addEventListener("keydown", (e) => e.key === "Enter" && open(account));
    return node;
  }

  async function loadAccounts() {
    const list = $("accounts");
    try {
      const { data, page } = await api("GET", `${routes.list}?limit=100`);
      notice("");
      // Who the platform takes the operator for: every account below is theirs.
      $("signed-in").textContent = page.user || "";
      document.querySelector(".who").hidden = !page.user;
      // Accounts another user's authorization took from this one: said, never silently gone.
      const moved = Array.isArray(page.moved_away) ? page.moved_away : [];
      $("moved-list").replaceChildren(...moved.map((m) =>
        el("li", { text: `${m.nick_name || m.authorizer_appid}（${m.authorizer_appid}）· ${time(m.moved_at)} 转出` })));
      $("moved-away").hidden = !moved.length;
      if (!data.length) {
        list.replaceChildren(el("p", { cls: "empty", attrs: { id: "empty" }, text: "还没有公众号。点击「添加公众号」，让公众号管理员扫码授权。" }));
        return;
      }
      list.replaceChildren(...data.map(card));
      // Keep the open account open (its editor may hold unsaved changes): mark its card only.
      for (const node of document.querySelectorAll(".card")) {
        node.classList.toggle("selected", Boolean(selected) && node.dataset.appid === selected.authorizer_appid);
      }
    } catch (err) {
      list.replaceChildren();
      notice(err.message);
    }
  }

  async function addAccount() {
    try {
      // The platform answers a signed, single-use start link: WeChat shows its authorization
      // page only to a browser arriving from the platform's own page, so the browser goes there.
      const { data } = await api("GET", `${routes.start}?auth_type=1`);
      window.location.assign(data.start_url);
    } catch (err) {
      notice(err.message);
    }
  }

  // --- one account: rules, followers, sending ---------------------------------------------------
  let rulesVersion = 0;
  let followersCursor = null;

  function open(account) {
    selected = account;
    for (const node of document.querySelectorAll(".card")) {
      node.classList.toggle("selected", node.dataset.appid === account.authorizer_appid);
    }
    $("detail").hidden = false;
    $("detail-title").textContent = `${account.nick_name || account.authorizer_appid}（${account.authorizer_appid}）`;
    loadRules();
    loadFollowers(true);
    loadOrigins();
    loadMedia();
  }

  // --- media: an image uploaded once, used in replies and sends ------------------------------------
  // The file goes from the browser straight to the staging bucket (a presigned PUT the platform
  // signed for exactly its type, size and SHA-256), then the platform sends it to WeChat.
  const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif"];
  const MEDIUM_STATUS = { staged: "待上传", ready: "可用", expired: "已过期" };
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

  async function uploadMedia() {
    const file = $("media-file").files[0];
    if (!file) return result("media-result", "请先选择一张图片", false);
    if (!IMAGE_TYPES.includes(file.type)) return result("media-result", "只能上传 PNG、JPEG 或 GIF 图片", false);
    if (file.size > 2 * 1024 * 1024) return result("media-result", "图片不能超过 2 MB", false);
    const media = routes.media(selected.authorizer_appid);
    $("upload-media").disabled = true;
    result("media-result", "正在上传…", true);
    try {
      const bytes = await file.arrayBuffer();
      const declared = {
        type: "image",
        lifetime: $("media-lifetime").value,
        content_type: file.type,
        size: file.size,
        sha256: hex(await crypto.subtle.digest("SHA-256", bytes)),
      };
      const { data } = await api("POST", media, { body: declared });
      let medium = data.medium;
      if (data.upload) {
        // Exactly the signed headers (the browser sets the length itself).
        const headers = {};
        for (const [name, value] of Object.entries(data.upload.headers)) {
          if (name.toLowerCase() !== "content-length") headers[name] = value;
        }
        let put;
        try {
          put = await fetch(data.upload.url, { method: data.upload.method, headers, body: bytes });
        } catch (_) {
          throw new ApiError("无法连接到素材存储，请检查网络", null, null);
        }
        if (!put.ok) throw new ApiError(`素材存储拒绝了这个文件（HTTP ${put.status}）`, null, null);
      }
      if (medium.status !== "ready") {
        medium = (await api("POST", `${media}/${encodeURIComponent(medium.handle)}/complete`)).data.medium;
      }
      const preview = $("media-preview");
      if (preview.src) URL.revokeObjectURL(preview.src);
      preview.src = URL.createObjectURL(file);
      preview.hidden = false;
      result("media-result", data.existing && !data.upload ? `这个文件已经上传过：${medium.handle}` : `已上传到微信：${medium.handle}`, true);
      await loadMedia();
    } catch (err) {
      result("media-result", err.message, false);
    } finally {
      $("upload-media").disabled = false;
    }
  }

  async function loadMedia() {
    const body = $("media").tBodies[0];
    try {
      const { data } = await api("GET", `${routes.media(selected.authorizer_appid)}?limit=50`);
      body.replaceChildren(...data.media.map((m) => {
        const use = el("td");
        if (m.status === "ready" && m.type === "image") {
          const rule = el("button", { cls: "secondary", text: "用于自动回复", attrs: { type: "button", "data-use": "rule" } });
          rule.addEventListener("click", () => useInRule(m.handle));
          const send_ = el("button", { cls: "secondary", text: "发给粉丝", attrs: { type: "button", "data-use": "send" } });
          send_.addEventListener("click", () => {
            $("send-media").value = m.handle;
            tab("send");
          });
          use.append(rule, send_);
        }
        return el("tr", { attrs: { "data-handle": m.handle } }, [
          el("td", { cls: "handle", text: m.handle }),
          el("td", { text: m.lifetime === "temporary" ? "临时图片" : "永久图片" }),
          el("td", { cls: `medium-${m.status}`, text: MEDIUM_STATUS[m.status] || m.status }),
          el("td", { text: m.expires_at ? time(m.expires_at) : "长期" }),
          use,
        ]);
      }));
    } catch (err) {
      result("media-result", err.message, false);
    }
  }

  // Adds a keyword rule answering with the image to the rules being edited (saved with 保存规则).
  function useInRule(handle) {
    let document_;
    try {
      document_ = JSON.parse($("rules").value || "{}");
    } catch (_) {
      return result("media-result", "规则编辑器里的内容不是合法的 JSON，请先修正", false);
    }
    const rules = Array.isArray(document_.rules) ? document_.rules : [];
    rules.push({ on: "keyword", match: "exact", keyword: "图片", reply: { msgtype: "image", image: { media_id: handle } } });
    $("rules").value = JSON.stringify({ ...document_, rules }, null, 2);
    tab("rules");
    result("rules-result", "已加入一条关键词「图片」的规则：可修改关键词，然后点击「保存规则」", true);
  }

  // --- web authorization: the sites the account's followers may be sent back to ---------------
  async function loadOrigins() {
    $("origins-result").textContent = "";
    try {
      const { data } = await api("GET", `${routes.account(selected.authorizer_appid)}/web-origins`);
      $("web-origins").value = data.origins.join("\n");
    } catch (err) {
      result("origins-result", err.message, false);
    }
  }

  async function saveOrigins() {
    const origins = $("web-origins").value.split(/[\s,]+/).filter(Boolean);
    try {
      const { data } = await api("PUT", `${routes.account(selected.authorizer_appid)}/web-origins`, { body: { origins } });
      $("web-origins").value = data.origins.join("\n");
      result("origins-result", data.origins.length ? `已保存：${data.origins.length} 个网站` : "已保存：网页授权已关闭", true);
    } catch (err) {
      result("origins-result", err.message, false);
    }
  }

  async function loadRules() {
    $("rules-result").textContent = "";
    try {
      const { data } = await api("GET", `${routes.account(selected.authorizer_appid)}/reply-rules`);
      rulesVersion = data.version;
      $("rules-version").textContent = String(data.version);
      $("rules").value = JSON.stringify({ rules: data.rules }, null, 2);
    } catch (err) {
      result("rules-result", err.message, false);
    }
  }

  async function saveRules() {
    let document_;
    try {
      document_ = JSON.parse($("rules").value);
    } catch (err) {
      result("rules-result", `不是合法的 JSON：${err.message}`, false);
      return;
    }
    try {
      const { data } = await api("PUT", `${routes.account(selected.authorizer_appid)}/reply-rules`, {
        body: document_,
        headers: { "if-match": `"${rulesVersion}"` },
      });
      rulesVersion = data.version;
      $("rules-version").textContent = String(data.version);
      $("rules").value = JSON.stringify({ rules: data.rules }, null, 2);
      result("rules-result", `已保存（版本 ${data.version}），30 秒内对所有粉丝生效`, true);
    } catch (err) {
      result("rules-result", err.message, false);
    }
  }

  async function loadFollowers(fresh) {
    const body = $("followers").tBodies[0];
    if (fresh) {
      followersCursor = null;
      body.replaceChildren();
      $("followers-result").textContent = "";
    }
    const query = new URLSearchParams({ limit: "20" });
    if ($("only-subscribed").checked) query.set("subscribed", "true");
    if (followersCursor) query.set("cursor", followersCursor);
    try {
      const { data } = await api("GET", `${routes.account(selected.authorizer_appid)}/followers?${query}`);
      for (const f of data.followers) {
        const openid = el("td", { cls: "openid", text: f.openid, attrs: { title: "给这位粉丝发消息" } });
        openid.addEventListener("click", () => {
          $("send-to").value = f.openid;
          tab("send");
        });
        const window_ = f.window_open_until ? `开放至 ${time(f.window_open_until)}` : "已关闭";
        body.append(el("tr", {}, [openid, el("td", { text: f.subscribed ? "关注中" : "已取消关注" }), el("td", { text: time(f.last_message_at) }), el("td", { text: window_ })]));
      }
      followersCursor = data.next_cursor;
      $("more-followers").hidden = !followersCursor;
      const shown = body.rows.length;
      result("followers-result", shown ? `共 ${data.subscribed_count} 位关注中的粉丝，已显示 ${shown} 位` : "还没有粉丝记录", true);
    } catch (err) {
      result("followers-result", err.message, false);
    }
  }

  async function send() {
    const to = $("send-to").value.trim();
    const content = $("send-text").value;
    const medium = $("send-media").value.trim();
    if (!to || (!content && !medium)) {
      result("send-result", "请填写粉丝 OpenID，以及内容或图片素材", false);
      return;
    }
    // An image by its handle: the platform sends the medium's current media_id.
    const message = medium
      ? { touser: to, msgtype: "image", image: { media_id: medium } }
      : { touser: to, msgtype: "text", text: { content } };
    $("send").disabled = true;
    try {
      await api("POST", `${routes.account(selected.authorizer_appid)}/messages`, {
        body: message,
        headers: { "idempotency-key": crypto.randomUUID() },
      });
      result("send-result", "已发送", true);
    } catch (err) {
      result("send-result", err.message, false);
    } finally {
      $("send").disabled = false;
    }
  }

  function tab(name) {
    for (const button of document.querySelectorAll(".tab")) button.classList.toggle("active", button.dataset.tab === name);
    for (const body of document.querySelectorAll(".tab-body")) body.hidden = body.id !== `tab-${name}`;
    if (name === "followers" && selected) loadFollowers(true);
    if (name === "media" && selected) loadMedia();
  }

  // --- wiring -----------------------------------------------------------------------------------
  if (signIn) {
    $("sign-in").hidden = false;
    $("sign-in").addEventListener("click", startSignIn);
  }
  $("add-account").addEventListener("click", addAccount);
  $("refresh").addEventListener("click", loadAccounts);
  $("save-token").addEventListener("click", () => {
    const value = $("token").value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    $("token").value = "";
    $("signin").hidden = true;
    loadAccounts();
  });
  $("save-rules").addEventListener("click", saveRules);
  $("reload-rules").addEventListener("click", loadRules);
  $("more-followers").addEventListener("click", () => loadFollowers(false));
  $("only-subscribed").addEventListener("change", () => loadFollowers(true));
  $("send").addEventListener("click", send);
  $("save-origins").addEventListener("click", saveOrigins);
  $("upload-media").addEventListener("click", uploadMedia);
  for (const button of document.querySelectorAll(".tab")) button.addEventListener("click", () => tab(button.dataset.tab));
  // Coming back from WeChat's authorization page with Back: show the new account.
  window.addEventListener("pageshow", (e) => e.persisted && loadAccounts());
  loadAccounts().then(() => {
    if (refusedSignIn) notice("登录未被接受：这个登录不是本页发起的（可能是别人发来的链接），已忽略。请点击「登录」重新登录。");
  });
})();
