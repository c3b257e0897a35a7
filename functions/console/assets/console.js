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
        setup: (appid) => `/lambda-url/account-setup/wechat/authorizers/${encodeURIComponent(appid)}`,
        publishing: (appid) => `/lambda-url/publishing/wechat/authorizers/${encodeURIComponent(appid)}`,
      }
    : {
        list: "/wechat/authorizers",
        start: "/wechat/authorize-url",
        account: (appid) => `/wechat/authorizers/${encodeURIComponent(appid)}`,
        media: (appid) => `/wechat/authorizers/${encodeURIComponent(appid)}/media`,
        setup: (appid) => `/wechat/authorizers/${encodeURIComponent(appid)}`,
        publishing: (appid) => `/wechat/authorizers/${encodeURIComponent(appid)}`,
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
    1014: "保存需要注明基于哪个版本",
    1020: "这个身份不是平台登记的后端",
    1021: "操作过于频繁，请稍后再试",
    1022: "没有这个素材，或它不属于这个公众号",
    1023: "文件还没有传到素材存储（或上传链接已过期），请重新上传",
    1024: "文件与声明的不符（格式、大小或内容），微信没有收到任何内容，请重新选择文件",
    1025: "临时素材已过期（微信只保留 3 天），请重新上传同一文件",
    1026: "没有这个二维码，或临时二维码已过期",
  };

  // The rules API's messages name the field and the rule in English; the common ones in words a
  // merchant reads (anything else is shown as it came).
  const RULE_FIELDS = { keyword: "关键词", key: "菜单 key", scene: "二维码场景值", "text.content": "回复内容", "image.media_id": "图片素材", reply: "回复", name: "名称", msgtype: "回复类型" };
  function ruleWords(msg) {
    const text = String(msg || "").replace(/^rules\[\d+\]: /, "");
    const field = (name) => RULE_FIELDS[name] || name;
    let m;
    if ((m = text.match(/^(\S+) is empty$/))) return `「${field(m[1])}」不能为空`;
    if ((m = text.match(/^(\S+) is missing$/))) return `缺少「${field(m[1])}」`;
    if ((m = text.match(/^(\S+) is longer than (\d+) (bytes|characters)$/))) return `「${field(m[1])}」太长：最多 ${m[2]} ${m[3] === "bytes" ? "字节" : "个字"}`;
    if (/^keyword starts or ends with white space/.test(text)) return "关键词的开头和结尾不能是空格";
    return text;
  }

  class ApiError extends Error {
    constructor(words, code, body) {
      super(words);
      this.code = code;
      this.body = body;
    }
  }

  function words(status, body) {
    const code = body && body.code;
    if (code === 1010 && body.errcode === 45009 && body.api) {
      return `该公众号今天的「${body.api}」接口额度已用完，${time(body.resets_at)} 恢复；也可以在「接口额度」中重置`;
    }
    if (code === 1010 && body.reason === "permission_not_granted" && body.msg) {
      return `公众号管理员授权时没有授予所需的权限集，请让管理员重新授权（${body.msg.split(":")[0]}）`;
    }
    if (code === 1010) {
      return REFUSALS[body.reason] || `微信拒绝了这个请求（错误码 ${body.errcode}）`;
    }
    if (code === 1013) {
      return `已被他人修改（当前版本 ${body.version}），请重新加载后再修改`;
    }
    if (code === 1001 && body.rule !== undefined && body.rule !== null) {
      return `第 ${Number(body.rule) + 1} 条规则有误：${ruleWords(body.msg)}`;
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

  // The card's follower figure comes from the same count as the followers tab's, and follows it
  // whenever the tab reads it again.
  function followerCount(account, count) {
    if (typeof count !== "number") return;
    account.follower_count = count;
    const card_ = document.querySelector(`.card[data-appid="${CSS.escape(account.authorizer_appid)}"] .meta`);
    if (card_) card_.textContent = `粉丝 ${count} · 授权于 ${time(account.authorized_at)}`;
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
    const active = document.querySelector(".tab.active");
    if (active && ["menu", "tags", "qrcodes", "quota", "articles"].includes(active.dataset.tab)) tab(active.dataset.tab);
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
    rulesDoc.rules.push({ on: "keyword", match: "exact", keyword: "图片", reply: { msgtype: "image", image: { media_id: handle } } });
    renderRules();
    tab("rules");
    result("rules-result", "已加入一条关键词「图片」的规则：可修改关键词，然后点击「保存规则」", true);
  }

  // --- the custom menu: a form, a phone preview, and the reply rule each key reaches ------------
  const BUTTON_TYPES = {
    click: "点击推事件（自动回复）",
    view: "跳转网页",
    miniprogram: "打开小程序",
    media_id: "发送图片素材",
    article_id: "发送已发表的文章",
    scancode_push: "扫码推事件",
    scancode_waitmsg: "扫码带提示",
    pic_sysphoto: "拍照发图",
    pic_photo_or_album: "拍照或相册发图",
    pic_weixin: "微信相册发图",
    location_select: "发送位置",
  };
  const KEY_TYPES = ["click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select"];
  const FIELDS = { view: ["url"], miniprogram: ["url", "appid", "pagepath"], media_id: ["media_id"], article_id: ["article_id"] };
  const FIELD_LABELS = {
    key: "事件 key（自动回复按它回复）",
    url: "网页地址 https://…",
    appid: "小程序 appid",
    pagepath: "小程序页面路径",
    media_id: "永久图片素材（句柄）",
    article_id: "文章 article_id",
  };
  const fieldsOf = (type) => (KEY_TYPES.includes(type) ? ["key"] : FIELDS[type] || []);
  let menuDoc = { button: [] };
  let menuVersion = 0;
  let openPopup = null;

  function input(value, label, onInput, attrs = {}) {
    const node = el("input", { attrs: { "aria-label": label, placeholder: label, autocomplete: "off", ...attrs } });
    node.value = value || "";
    node.addEventListener("input", () => onInput(node.value));
    return node;
  }

  function smallButton(text, onClick, attrs = {}) {
    const node = el("button", { cls: "secondary", text, attrs: { type: "button", ...attrs } });
    node.addEventListener("click", onClick);
    return node;
  }

  // The fields of a button that does something: its type and what that type needs.
  function actionFields(button, path) {
    const select = el("select", { attrs: { "aria-label": `${path} 类型`, "data-field": "type" } });
    for (const [type, label] of Object.entries(BUTTON_TYPES)) {
      const option = el("option", { text: label, attrs: { value: type } });
      select.append(option);
    }
    select.value = BUTTON_TYPES[button.type] ? button.type : "click";
    if (!button.type) button.type = select.value;
    select.addEventListener("change", () => {
      for (const field of ["key", "url", "appid", "pagepath", "media_id", "article_id"]) delete button[field];
      button.type = select.value;
      renderMenu();
    });
    const fields = fieldsOf(button.type).map((field) =>
      input(button[field], FIELD_LABELS[field], (value) => { button[field] = value; }, { "data-field": field }));
    return [select, ...fields];
  }

  function renderMenu() {
    const form = $("menu-form");
    form.replaceChildren(...menuDoc.button.map((top, i) => {
      const path = `一级菜单 ${i + 1}`;
      const name = input(top.name, `${path} 名称`, (value) => { top.name = value; renderPhone(); }, { "data-field": "name", maxlength: "16" });
      const hasSubs = Array.isArray(top.sub_button);
      const fields = [name];
      if (!hasSubs) fields.push(...actionFields(top, path));
      fields.push(smallButton(hasSubs ? "改为单个按钮" : "改为子菜单", () => {
        if (hasSubs) {
          delete top.sub_button;
          top.type = "click";
        } else {
          for (const field of ["type", "key", "url", "appid", "pagepath", "media_id", "article_id"]) delete top[field];
          top.sub_button = [{ type: "click", name: "", key: "" }];
        }
        renderMenu();
      }));
      fields.push(smallButton("删除", () => { menuDoc.button.splice(i, 1); renderMenu(); }, { "aria-label": `删除${path}` }));
      const box = el("div", { cls: "menu-button", attrs: { "data-index": String(i) } }, [el("div", { cls: "fields" }, fields)]);
      if (hasSubs) {
        for (const [j, sub] of top.sub_button.entries()) {
          const subPath = `${path} 子菜单 ${j + 1}`;
          const subName = input(sub.name, `${subPath} 名称`, (value) => { sub.name = value; renderPhone(); }, { "data-field": "name", maxlength: "60" });
          const remove = smallButton("删除", () => { top.sub_button.splice(j, 1); renderMenu(); }, { "aria-label": `删除${subPath}` });
          box.append(el("div", { cls: "fields sub", attrs: { "data-sub": String(j) } }, [subName, ...actionFields(sub, subPath), remove]));
        }
        if (top.sub_button.length < 5) {
          box.append(el("div", { cls: "sub" }, [smallButton("添加子菜单", () => {
            top.sub_button.push({ type: "click", name: "", key: "" });
            renderMenu();
          }, { "data-add": "sub" })]));
        }
      }
      return box;
    }));
    $("add-menu-button").disabled = menuDoc.button.length >= 3;
    renderPhone();
  }

  // The menu as a follower's phone shows it: the bar, and a top button's sub-buttons above it.
  function renderPhone() {
    $("phone-title").textContent = selected ? selected.nick_name || selected.authorizer_appid : "公众号";
    const popup = $("phone-popup");
    popup.hidden = true;
    const bar = $("phone-bar");
    bar.replaceChildren(...menuDoc.button.map((top, i) => {
      const button = el("button", { text: top.name || "（未命名）", attrs: { type: "button", "data-index": String(i) } });
      button.addEventListener("click", () => {
        if (!Array.isArray(top.sub_button) || openPopup === i) {
          openPopup = null;
          popup.hidden = true;
          return;
        }
        openPopup = i;
        popup.replaceChildren(...top.sub_button.map((sub) => el("div", { text: sub.name || "（未命名）" })));
        popup.style.left = `${(i * 100) / menuDoc.button.length}%`;
        popup.style.width = `${100 / menuDoc.button.length}%`;
        popup.hidden = false;
      });
      return button;
    }));
  }

  // Empty optional fields are left out: the API names what is really missing.
  function cleanMenu() {
    const clean = (button) => {
      const out = {};
      for (const [key, value] of Object.entries(button)) {
        if (key === "sub_button") out.sub_button = value.map(clean);
        else if (typeof value === "string" && value.trim() !== "") out[key] = value.trim();
      }
      if (!out.name) out.name = "";
      return out;
    };
    return { button: menuDoc.button.map(clean) };
  }

  function showMenuState(data) {
    menuVersion = data.version;
    $("menu-version").textContent = String(data.version);
    menuDoc = JSON.parse(JSON.stringify(data.menu || data.live || { button: [] }));
    const sync = $("menu-sync");
    if (!data.menu && data.live) {
      sync.textContent = "下面是公众号现在在微信上的菜单（在微信公众平台设置，不是在本平台）。修改后发布将替换它。";
    } else if (!data.in_sync) {
      sync.textContent = data.live
        ? "微信上的菜单已在别处被修改，与本平台保存的不同。下面是本平台保存的版本，发布将替换微信上的菜单。"
        : "微信上已没有菜单（可能在微信公众平台删除了）。下面是本平台保存的版本，可以重新发布。";
    }
    sync.hidden = !((!data.menu && data.live) || !data.in_sync);
    const keys = (data.keys || []).map((k) => el("li", {
      cls: k.rule === null ? "missing" : "",
      attrs: { "data-key": k.key },
      text: k.rule === null
        ? `「${k.key}」没有自动回复规则：粉丝点击后不会收到回复`
        : `「${k.key}」→ 第 ${k.rule + 1} 条自动回复规则`,
    }));
    for (const index of data.unused_click_rules || []) {
      keys.push(el("li", { cls: "missing", text: `第 ${index + 1} 条自动回复规则回复的菜单 key 不在任何菜单中` }));
    }
    $("menu-keys").replaceChildren(...keys);
    renderMenu();
  }

  async function loadMenu() {
    $("menu-result").textContent = "";
    try {
      const { data } = await api("GET", `${routes.setup(selected.authorizer_appid)}/menu`);
      showMenuState(data);
    } catch (err) {
      result("menu-result", err.message, false);
    }
  }

  async function publishMenu(remove) {
    const url = `${routes.setup(selected.authorizer_appid)}/menu`;
    const headers = { "if-match": `"${menuVersion}"` };
    $("publish-menu").disabled = true;
    try {
      const { data } = remove
        ? await api("DELETE", url, { headers })
        : await api("PUT", url, { body: cleanMenu(), headers });
      showMenuState(data);
      result("menu-result", remove
        ? `已删除（版本 ${data.version}）：粉丝 5 分钟内不再看到菜单`
        : `已发布（版本 ${data.version}）：粉丝重新进入公众号后（最长约 5 分钟）看到新菜单`, true);
    } catch (err) {
      result("menu-result", err.message, false);
    } finally {
      $("publish-menu").disabled = false;
    }
  }

  // --- follower tags ------------------------------------------------------------------------------
  // Tag names by id, for the followers' list (filled whenever the tags are read).
  const tagNames = new Map();

  async function loadTags() {
    const body = $("tags").tBodies[0];
    try {
      const { data } = await api("GET", `${routes.setup(selected.authorizer_appid)}/tags`);
      tagNames.clear();
      for (const tag of data.tags) tagNames.set(tag.id, tag.name);
      body.replaceChildren(...data.tags.map((tag) => {
        const name = input(tag.name, `标签 ${tag.id} 名称`, () => {}, { maxlength: "30" });
        const rename = smallButton("改名", () => tagAction("PUT", tag.id, { name: name.value.trim() }, "已改名"));
        const remove = smallButton("删除", () => tagAction("DELETE", tag.id, undefined, "已删除"));
        return el("tr", { attrs: { "data-tag": String(tag.id) } }, [el("td", {}, [name]), el("td", { text: tag.count }), el("td", {}, [rename, remove])]);
      }));
      $("tag-pick").replaceChildren(...data.tags.map((tag) => el("option", { text: tag.name, attrs: { value: String(tag.id) } })));
      const audience = $("mass-audience").value;
      $("mass-audience").replaceChildren(
        el("option", { text: "全部粉丝", attrs: { value: "all" } }),
        ...data.tags.map((tag) => el("option", { text: `标签「${tag.name}」（${tag.count} 人）`, attrs: { value: String(tag.id) } })),
      );
      if ([...$("mass-audience").options].some((o) => o.value === audience)) $("mass-audience").value = audience;
      if (!data.tags.length) body.replaceChildren(el("tr", {}, [el("td", { text: "还没有标签", attrs: { colspan: "3" } })]));
    } catch (err) {
      result("tags-result", err.message, false);
    }
  }

  async function tagAction(method, id, body, done) {
    try {
      await api(method, `${routes.setup(selected.authorizer_appid)}/tags/${id}`, { body });
      result("tags-result", done, true);
      await loadTags();
    } catch (err) {
      result("tags-result", err.message, false);
    }
  }

  async function createTag() {
    const name = $("tag-name").value.trim();
    if (!name) return result("tags-result", "请填写标签名", false);
    try {
      const { data } = await api("POST", `${routes.setup(selected.authorizer_appid)}/tags`, { body: { name } });
      $("tag-name").value = "";
      result("tags-result", `已创建标签「${data.tag.name}」`, true);
      await loadTags();
    } catch (err) {
      result("tags-result", err.message, false);
    }
  }

  async function tagFollowers(remove) {
    const openids = $("tag-openids").value.split(/[\s,]+/).filter(Boolean);
    const tag = $("tag-pick").value;
    if (!openids.length || !tag) return result("tags-result", "请填写粉丝 OpenID 并选择标签", false);
    try {
      const { data } = await api("POST", `${routes.setup(selected.authorizer_appid)}/tags/${tag}/followers`, { body: { openids, remove } });
      result("tags-result", remove ? `已为 ${data.removed} 位粉丝取消标签` : `已为 ${data.tagged} 位粉丝打上标签`, true);
      await loadTags();
    } catch (err) {
      result("tags-result", err.message, false);
    }
  }

  // --- parametric QR codes: made, shown, and what they brought --------------------------------
  async function createQr() {
    const name = $("qr-name").value.trim();
    const scene = $("qr-scene").value.trim();
    const permanent = $("qr-kind").value === "permanent";
    if (!name || !scene) return result("qr-result", "请填写名称和场景值", false);
    const body = { name, permanent };
    if (/^[1-9][0-9]{0,8}$/.test(scene)) body.scene_id = Number(scene);
    else body.scene_str = scene;
    if (!permanent) body.expire_seconds = Math.round(Number($("qr-days").value || "30") * 86400);
    $("create-qr").disabled = true;
    try {
      const { data } = await api("POST", `${routes.setup(selected.authorizer_appid)}/qrcodes`, { body });
      result("qr-result", data.existing ? `这个场景值已有永久二维码「${data.code.name}」` : `已生成「${data.code.name}」`, true);
      await loadQrCodes();
      await showQr(data.code);
    } catch (err) {
      result("qr-result", err.message, false);
    } finally {
      $("create-qr").disabled = false;
    }
  }

  async function loadQrCodes() {
    const body = $("qrcodes").tBodies[0];
    try {
      const { data } = await api("GET", `${routes.setup(selected.authorizer_appid)}/qrcodes?limit=100`);
      $("qr-permanent").textContent = `永久二维码已用 ${data.permanent_count} / ${data.permanent_limit}`;
      body.replaceChildren(...data.codes.map((code) => el("tr", { attrs: { "data-qr": code.id } }, [
        el("td", { text: code.name }),
        el("td", { text: code.kind === "permanent" ? "永久" : `临时，至 ${time(code.expires_at)}` }),
        el("td", { text: `${code.scene}${code.rules && code.rules.subscribe !== null ? `（欢迎语：第 ${code.rules.subscribe + 1} 条规则）` : "（没有欢迎语规则）"}` }),
        el("td", { cls: `qr-${code.status}`, text: code.status === "active" ? "有效" : "已过期" }),
        el("td", {}, [smallButton("查看", () => showQr(code), { "data-use": "view" })]),
      ])));
      if (!data.codes.length) body.replaceChildren(el("tr", {}, [el("td", { text: "还没有二维码", attrs: { colspan: "5" } })]));
    } catch (err) {
      result("qr-result", err.message, false);
    }
  }

  // The code's image (fetched with the operator's token, shown from memory) and its figures.
  async function showQr(code) {
    const base = `${routes.setup(selected.authorizer_appid)}/qrcodes/${code.id}`;
    $("qr-view").hidden = false;
    const image = $("qr-image");
    image.removeAttribute("src");
    image.alt = `「${code.name}」的二维码`;
    try {
      const { data } = await api("GET", `${base}?days=30`);
      const lines = [el("p", { text: `「${code.name}」近 30 天：新关注 ${data.totals.follows}，已关注粉丝扫码 ${data.totals.scans}`, attrs: { id: "qr-totals" } })];
      for (const day of data.days) lines.push(el("p", { cls: "hint", text: `${day.date}：新关注 ${day.follows}，扫码 ${day.scans}` }));
      $("qr-stats").replaceChildren(...lines);
      if (code.status !== "active") return;
      const headers = token() ? { authorization: `Bearer ${token()}` } : {};
      const response = await fetch(`${base}/image`, { headers });
      if (!response.ok) throw new ApiError("二维码图片暂时取不到，请稍后再试", null, null);
      if (image.src) URL.revokeObjectURL(image.src);
      image.src = URL.createObjectURL(await response.blob());
    } catch (err) {
      result("qr-result", err.message, false);
    }
  }

  // --- the account's API quota: what the platform called, WeChat's figures, a reset --------------
  async function loadUsage() {
    const body = $("usage").tBodies[0];
    try {
      const { data } = await api("GET", `${routes.setup(selected.authorizer_appid)}/quota/usage?days=7`);
      const rows = [];
      for (const day of data.days.slice().reverse()) {
        for (const [name, count] of Object.entries(day.calls)) {
          rows.push(el("tr", { attrs: { "data-api": name } }, [el("td", { text: day.date }), el("td", { text: name }), el("td", { text: count })]));
        }
      }
      body.replaceChildren(...(rows.length ? rows : [el("tr", {}, [el("td", { text: "近 7 天平台没有替这个公众号调用接口", attrs: { colspan: "3" } })])]));
    } catch (err) {
      result("quota-result", err.message, false);
    }
  }

  async function queryQuota() {
    const path = $("quota-api").value;
    try {
      const { data } = await api("GET", `${routes.setup(selected.authorizer_appid)}/quota?cgi_path=${encodeURIComponent(path)}`);
      const q = data.quota || {};
      result("quota-result", `${path}：今日已用 ${q.used}，每日上限 ${q.daily_limit}（剩余 ${q.remain}）`, true);
    } catch (err) {
      result("quota-result", err.message, false);
    }
  }

  async function resetQuota() {
    try {
      const { data } = await api("POST", `${routes.setup(selected.authorizer_appid)}/quota/reset`);
      result("quota-result", `已重置：本月第 ${data.resets_used} 次，每月最多 ${data.resets_per_month} 次`, true);
      await loadUsage();
    } catch (err) {
      result("quota-result", err.message, false);
    }
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
      rulesDoc = { rules: data.rules };
      renderRules();
    } catch (err) {
      result("rules-result", err.message, false);
    }
  }

  async function saveRules() {
    let document_ = rulesDoc;
    if ($("rules-advanced").open) {
      try {
        document_ = JSON.parse($("rules").value);
      } catch (err) {
        result("rules-result", `不是合法的 JSON：${err.message}`, false);
        return;
      }
    }
    try {
      const { data } = await api("PUT", `${routes.account(selected.authorizer_appid)}/reply-rules`, {
        body: document_,
        headers: { "if-match": `"${rulesVersion}"` },
      });
      rulesVersion = data.version;
      $("rules-version").textContent = String(data.version);
      rulesDoc = { rules: data.rules };
      renderRules();
      result("rules-result", `已保存（版本 ${data.version}），30 秒内对所有粉丝生效`, true);
    } catch (err) {
      // The API names the rule (its index): the message goes beside that rule too.
      if (err.body && Number.isInteger(err.body.rule)) {
        if ($("rules-advanced").open) {
          try {
            rulesDoc = JSON.parse($("rules").value);
            renderRules();
          } catch (_) { /* the JSON view keeps what was typed */ }
        }
        renderRules(err.body.rule, err.body.msg);
      }
      result("rules-result", err.message, false);
    }
  }

  // --- reply rules as a form: one block per rule, the JSON kept beside it as the advanced view ----
  let rulesDoc = { rules: [] };
  // WeChat's own words in 公众号后台: 被关注回复, 关键词回复 (全匹配 / 半匹配), 收到消息回复.
  const TRIGGERS = { subscribe: "被关注回复", keyword: "关键词回复", default: "收到消息回复", scan: "扫码回复（带参数二维码）", click: "菜单点击回复" };
  const MATCHES = { exact: "全匹配", contains: "半匹配（包含关键词）", prefix: "开头匹配" };
  const REPLIES = { text: "回复文字", image: "回复图片素材" };

  function syncRulesJson() {
    $("rules").value = JSON.stringify(rulesDoc, null, 2);
  }

  function ruleField(label, value, onInput, attrs = {}) {
    const field = el("input", { attrs: { autocomplete: "off", ...attrs } });
    field.value = value || "";
    field.addEventListener("input", () => {
      onInput(field.value);
      syncRulesJson();
    });
    return el("label", { text: label }, [field]);
  }

  function ruleSelect(label, options, value, onChange, attrs = {}) {
    const select = el("select", { attrs });
    for (const [key, text] of Object.entries(options)) select.append(el("option", { text, attrs: { value: key } }));
    select.value = value;
    select.addEventListener("change", () => {
      onChange(select.value);
      syncRulesJson();
      renderRules();
    });
    return el("label", { text: label }, [select]);
  }

  // Renders the form from `rulesDoc`; `errorAt`/`message`: the rule the API refused, and why.
  function renderRules(errorAt, message) {
    syncRulesJson();
    const blocks = rulesDoc.rules.map((rule, i) => {
      const n = i + 1;
      const fields = [ruleSelect("触发", TRIGGERS, rule.on, (on) => {
        // Another trigger: the fields of the old one go (the API refuses a keyword on a click rule).
        for (const name of ["keyword", "match", "ignore_case", "key", "scene"]) delete rule[name];
        rule.on = on;
        if (on === "keyword") rule.match = "exact";
      }, { "data-field": "on" })];
      if (rule.on === "keyword") {
        fields.push(ruleField("关键词", rule.keyword, (v) => { rule.keyword = v; }, { "data-field": "keyword", maxlength: "60" }));
        fields.push(ruleSelect("匹配方式", MATCHES, rule.match || "exact", (m) => { rule.match = m; }, { "data-field": "match" }));
      }
      if (rule.on === "subscribe" || rule.on === "scan") {
        fields.push(ruleField("二维码场景值（可不填：对所有粉丝）", rule.scene, (v) => { if (v) rule.scene = v; else delete rule.scene; }, { "data-field": "scene", maxlength: "64" }));
      }
      if (rule.on === "click") {
        fields.push(ruleField("菜单 key", rule.key, (v) => { rule.key = v; }, { "data-field": "key", maxlength: "128" }));
      }
      const reply = rule.reply || (rule.reply = { msgtype: "text", text: { content: "" } });
      if (REPLIES[reply.msgtype]) {
        fields.push(ruleSelect("回复", REPLIES, reply.msgtype, (type) => {
          rule.reply = type === "text" ? { msgtype: "text", text: { content: "" } } : { msgtype: "image", image: { media_id: "" } };
        }, { "data-field": "reply-type" }));
        if (reply.msgtype === "text") {
          const area = el("textarea", { attrs: { rows: "2", "data-field": "content", maxlength: "2048" } });
          area.value = reply.text.content || "";
          area.addEventListener("input", () => { reply.text.content = area.value; syncRulesJson(); });
          fields.push(el("label", { text: "回复内容" }, [area]));
        } else {
          fields.push(ruleField("图片素材句柄（在「素材」中上传）", reply.image.media_id, (v) => { reply.image.media_id = v; }, { "data-field": "media" }));
        }
      } else {
        fields.push(el("p", { cls: "hint", text: `回复类型「${reply.msgtype}」请在「高级：以 JSON 编辑」中修改` }));
      }
      const move = (to) => {
        const [moved] = rulesDoc.rules.splice(i, 1);
        rulesDoc.rules.splice(to, 0, moved);
        renderRules();
      };
      const controls = el("div", { cls: "row" });
      if (i > 0) controls.append(smallButton("上移", () => move(i - 1), { "aria-label": `第 ${n} 条规则上移` }));
      if (i < rulesDoc.rules.length - 1) controls.append(smallButton("下移", () => move(i + 1), { "aria-label": `第 ${n} 条规则下移` }));
      controls.append(smallButton("删除", () => { rulesDoc.rules.splice(i, 1); renderRules(); }, { "aria-label": `删除第 ${n} 条规则` }));
      const block = el("fieldset", { cls: "rule", attrs: { "data-rule": String(i) } }, [el("legend", { text: `第 ${n} 条` }), ...fields, controls]);
      if (i === errorAt) {
        block.classList.add("invalid");
        block.append(el("p", { cls: "rule-error", text: message ? ruleWords(message) : "这条规则有误", attrs: { role: "alert" } }));
      }
      return block;
    });
    $("rules-form").replaceChildren(...(blocks.length ? blocks : [el("p", { cls: "empty-rules", text: "还没有自动回复规则：点击「添加规则」" })]));
  }

  function addRule() {
    rulesDoc.rules.push({ on: "keyword", match: "exact", keyword: "", reply: { msgtype: "text", text: { content: "" } } });
    renderRules();
    const last = $("rules-form").querySelector(`fieldset[data-rule="${rulesDoc.rules.length - 1}"] [data-field="keyword"]`);
    if (last) last.focus();
  }

  // Leaving the JSON view: what was typed there becomes the form (if it is JSON).
  function closeAdvanced() {
    if ($("rules-advanced").open) return;
    try {
      const typed = JSON.parse($("rules").value);
      rulesDoc = { ...typed, rules: Array.isArray(typed.rules) ? typed.rules : [] };
      renderRules();
    } catch (err) {
      $("rules-advanced").open = true;
      result("rules-result", `JSON 有误，请先修正：${err.message}`, false);
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
        // A button, so the keyboard reaches it as the mouse does.
        const openid = el("td", { cls: "openid" }, [el("button", { cls: "link", text: f.openid, attrs: { type: "button", title: "给这位粉丝发消息" } })]);
        openid.firstChild.addEventListener("click", () => {
          $("send-to").value = f.openid;
          tab("send");
        });
        const window_ = f.window_open_until ? `开放至 ${time(f.window_open_until)}` : "已关闭";
        // A follower's record may still carry a tag deleted since: only the account's tags show.
        const tags = (f.tags || []).filter((id) => tagNames.has(id)).map((id) => tagNames.get(id)).join("、");
        body.append(el("tr", {}, [openid, el("td", { text: f.subscribed ? "关注中" : "已取消关注" }), el("td", { text: time(f.last_message_at) }), el("td", { text: window_ }), el("td", { cls: "tags", text: tags })]));
      }
      followersCursor = data.next_cursor;
      $("more-followers").hidden = !followersCursor;
      const shown = body.rows.length;
      result("followers-result", shown ? `共 ${data.subscribed_count} 位关注中的粉丝，已显示 ${shown} 位` : "还没有粉丝记录", true);
      followerCount(selected, data.subscribed_count);
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

  // --- 图文与群发: drafts written here, previewed, published or mass sent --------------------------
  // A mass send carries an Idempotency-Key made when it is first asked for and kept until it is
  // answered: a click again after a timeout repeats the same send, which WeChat will not deliver
  // twice.
  const massKeys = new Map();
  // 发表 is what 公众号后台 calls publishing without notifying followers (the API's freepublish).
  const PUBLISH_WORDS = { published: "已发表", failed: "发表失败", refused_by_review: "未通过审核", original_check_failed: "原创校验未通过", banned: "已被封禁", deleted_by_account: "已删除" };

  async function loadDrafts() {
    const appid = selected.authorizer_appid;
    try {
      const media = await api("GET", `${routes.media(appid)}?limit=50`);
      const covers = media.data.media.filter((m) => m.status === "ready" && m.type === "image" && m.lifetime === "permanent");
      const chosen = $("draft-cover").value;
      $("draft-cover").replaceChildren(...covers.map((m) => el("option", { text: m.handle, attrs: { value: m.handle } })));
      if (covers.some((m) => m.handle === chosen)) $("draft-cover").value = chosen;
      const { data } = await api("GET", `${routes.publishing(appid)}/drafts?count=20`);
      $("drafts").tBodies[0].replaceChildren(...data.item.map((d) => {
        const first = (d.content.news_item || [])[0] || {};
        const actions = el("td");
        for (const [use, text, run] of [["preview", "预览", previewDraft], ["publish", "发表", publishDraft], ["mass", "群发", massSendDraft], ["delete", "删除", deleteDraft]]) {
          const button = el("button", { cls: use === "publish" ? "" : "secondary", text, attrs: { type: "button", "data-use": use } });
          button.addEventListener("click", () => run(d.media_id, first.title));
          actions.append(button);
        }
        return el("tr", { attrs: { "data-draft": d.media_id } }, [el("td", { text: first.title || d.media_id }), el("td", { text: time(d.update_time) }), actions]);
      }));
      if (!data.item.length) $("drafts").tBodies[0].replaceChildren(el("tr", {}, [el("td", { text: "草稿箱是空的", attrs: { colspan: "3" } })]));
    } catch (err) {
      result("draft-result", err.message, false);
    }
  }

  async function saveDraft() {
    const article = {
      title: $("draft-title").value.trim(),
      content: $("draft-content").value,
      cover: $("draft-cover").value,
      comments: $("draft-comments").value,
    };
    if ($("draft-author").value.trim()) article.author = $("draft-author").value.trim();
    $("save-draft").disabled = true;
    try {
      await api("POST", `${routes.publishing(selected.authorizer_appid)}/drafts`, { body: { articles: [article] } });
      result("draft-result", `已存入草稿箱：「${article.title}」`, true);
      await loadDrafts();
    } catch (err) {
      result("draft-result", err.message, false);
    } finally {
      $("save-draft").disabled = false;
    }
  }

  async function previewDraft(mediaId, title) {
    const openid = $("preview-openid").value.trim();
    if (!openid) {
      result("publish-result", "请先填写接收预览的粉丝 OpenID", false);
      return;
    }
    try {
      await api("POST", `${routes.publishing(selected.authorizer_appid)}/broadcasts/preview`, { body: { openid, msgtype: "mpnews", mpnews: { media_id: mediaId } } });
      result("publish-result", `已把「${title}」预览发给 ${openid}`, true);
    } catch (err) {
      result("publish-result", err.message, false);
    }
  }

  // Waits for what WeChat pushes about a job (a publication, a mass send), as the platform keeps it.
  async function outcome(url) {
    const deadline = Date.now() + 60000;
    for (;;) {
      const { data } = await api("GET", url);
      if (data.source === "push" || Date.now() > deadline) return data;
      await new Promise((done) => setTimeout(done, 500));
    }
  }

  async function publishDraft(mediaId, title) {
    const base = routes.publishing(selected.authorizer_appid);
    try {
      const { data } = await api("POST", `${base}/drafts/${encodeURIComponent(mediaId)}/publish`);
      result("publish-result", `「${title}」已提交发表，等待微信的结果…`, true);
      await loadDrafts();
      const done = await outcome(`${base}/publications/${encodeURIComponent(data.publish_id)}`);
      const words = PUBLISH_WORDS[done.status] || "发表中";
      const links = (done.article_urls || []).join(" ");
      result("publish-result", `「${title}」${words}${links ? `：${links}` : ""}`, done.status === "published");
    } catch (err) {
      result("publish-result", err.message, false);
    }
  }

  async function massSendDraft(mediaId, title) {
    const base = routes.publishing(selected.authorizer_appid);
    const audience = $("mass-audience").value || "all";
    const to = audience === "all" ? { all: true } : { tag_id: Number(audience) };
    // One key per draft and audience: a click after a timeout repeats the same send (WeChat makes
    // it once), another audience is another send.
    const send = `${mediaId}|${audience}`;
    if (!massKeys.has(send)) massKeys.set(send, `console-${mediaId}-${audience}-${Date.now()}`);
    try {
      const { data } = await api("POST", `${base}/broadcasts`, {
        body: { to, msgtype: "mpnews", mpnews: { media_id: mediaId } },
        headers: { "idempotency-key": massKeys.get(send) },
      });
      massKeys.delete(send);
      result("publish-result", `「${title}」已提交群发，等待微信的发送结果…`, true);
      await loadDrafts();
      const done = await outcome(`${base}/broadcasts/${encodeURIComponent(data.msg_id)}`);
      const ok = done.status === "sendsuccess";
      result("publish-result", ok ? `「${title}」群发完成：${done.total_count} 位粉丝中送达 ${done.sent_count} 位` : `「${title}」群发未完成（${done.status || done.msg_status}）`, ok);
    } catch (err) {
      result("publish-result", err.message, false);
    }
  }

  async function deleteDraft(mediaId, title) {
    try {
      await api("DELETE", `${routes.publishing(selected.authorizer_appid)}/drafts/${encodeURIComponent(mediaId)}`);
      result("publish-result", `已删除草稿「${title}」`, true);
      await loadDrafts();
    } catch (err) {
      result("publish-result", err.message, false);
    }
  }

  // A panel says it is loading (aria-busy, and 「加载中…」 shown by the style sheet) until every
  // answer asked for is in, and takes no input meanwhile (inert): an edit made then would be
  // replaced by the answer. A table with no rows says so in a row of its own.
  const loading = new Map();
  async function busy(name, load) {
    const body = $(`tab-${name}`);
    loading.set(name, (loading.get(name) || 0) + 1);
    body.setAttribute("aria-busy", "true");
    body.inert = true;
    try {
      await load();
    } finally {
      loading.set(name, loading.get(name) - 1);
      if (!loading.get(name)) {
        body.removeAttribute("aria-busy");
        body.inert = false;
      }
    }
  }

  function emptyTable(id, text) {
    const table = $(id);
    if (table.tBodies[0].rows.length) return;
    const columns = String(table.tHead.rows[0].cells.length);
    table.tBodies[0].append(el("tr", { cls: "empty-row" }, [el("td", { text, attrs: { colspan: columns } })]));
  }

  const LOADERS = {
    followers: () => loadTags().then(() => loadFollowers(true)),
    media: () => loadMedia().then(() => emptyTable("media", "还没有素材：在上面选择图片上传")),
    menu: () => loadMenu(),
    tags: () => loadTags().then(() => emptyTable("tags", "还没有标签")),
    qrcodes: () => loadQrCodes().then(() => emptyTable("qrcodes", "还没有二维码")),
    quota: () => loadUsage().then(() => emptyTable("usage", "近 7 天平台没有替这个公众号调用接口")),
    articles: () => Promise.all([loadDrafts(), loadTags()]),
  };

  function tab(name) {
    for (const button of document.querySelectorAll(".tab")) {
      button.classList.toggle("active", button.dataset.tab === name);
      button.setAttribute("aria-pressed", String(button.dataset.tab === name));
    }
    for (const body of document.querySelectorAll(".tab-body")) body.hidden = body.id !== `tab-${name}`;
    if (selected && LOADERS[name]) busy(name, LOADERS[name]);
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
  $("add-rule").addEventListener("click", addRule);
  $("rules-advanced").addEventListener("toggle", closeAdvanced);
  $("reload-rules").addEventListener("click", loadRules);
  $("more-followers").addEventListener("click", () => loadFollowers(false));
  $("only-subscribed").addEventListener("change", () => loadFollowers(true));
  $("send").addEventListener("click", send);
  $("save-origins").addEventListener("click", saveOrigins);
  $("upload-media").addEventListener("click", uploadMedia);
  $("add-menu-button").addEventListener("click", () => {
    if (menuDoc.button.length < 3) menuDoc.button.push({ type: "click", name: "", key: "" });
    renderMenu();
  });
  $("publish-menu").addEventListener("click", () => publishMenu(false));
  $("delete-menu").addEventListener("click", () => publishMenu(true));
  $("reload-menu").addEventListener("click", loadMenu);
  $("create-tag").addEventListener("click", createTag);
  $("tag-followers").addEventListener("click", () => tagFollowers(false));
  $("untag-followers").addEventListener("click", () => tagFollowers(true));
  $("create-qr").addEventListener("click", createQr);
  $("save-draft").addEventListener("click", saveDraft);
  $("query-quota").addEventListener("click", queryQuota);
  $("reset-quota").addEventListener("click", resetQuota);
  $("qr-kind").addEventListener("change", () => { $("qr-days").disabled = $("qr-kind").value === "permanent"; });
  for (const button of document.querySelectorAll(".tab")) button.addEventListener("click", () => tab(button.dataset.tab));
  // Coming back from WeChat's authorization page with Back: show the new account.
  window.addEventListener("pageshow", (e) => e.persisted && loadAccounts());
  loadAccounts().then(() => {
    if (refusedSignIn) notice("登录未被接受：这个登录不是本页发起的（可能是别人发来的链接），已忽略。请点击「登录」重新登录。");
  });
})();
