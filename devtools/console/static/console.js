// HERP Hire sandbox console: fills <main> of each page from the API (same origin /api/*; the
// console server adds the caller's HERP token). Every API value reaches the DOM as text only.
"use strict";
(function () {
  const ds = document.body.dataset;
  const isAdmin = ds.role === "admin";

  const REASONS = {
    consent_denied: "Microsoft 365 側でアクセス許可が拒否されました。(consent denied)",
    admin_required: "Microsoft 365 の管理者権限を持つアカウントでサインインしてください。(admin required)",
    tenant_mismatch: "連携しているテナントとは別のテナントのアカウントでサインインしました。(tenant mismatch)",
    tenant_not_linked: "このテナントはまだ連携されていません。管理者にテナントの連携を依頼してください。(tenant not linked)",
    state_invalid: "連携リクエストが無効です (不明または使用済み)。もう一度やり直してください。(state invalid)",
    state_expired: "連携リクエストの有効期限が切れました。もう一度やり直してください。(state expired)",
    mailbox_unavailable: "このアカウントでは Outlook のメールボックスを利用できません。ライセンスを確認してください。(mailbox unavailable)",
    app_not_configured: "アプリ登録がディレクトリ ロールを送っていません (manifest の groupMembershipClaims を \"DirectoryRole\" に)。運用者に連絡してください。(app not configured)",
    microsoft_error: "Microsoft 側でエラーが発生しました。時間をおいて再度お試しください。(Microsoft error)",
  };
  const STATUS = { active: ["有効", ""], renewal_required: ["更新が必要", "warn"], reauth_required: ["再認証が必要", "err"] };
  const VIA = { user: "ユーザー連携 (user)", tenant_admin: "テナント管理者 (tenant admin)" };

  // --- DOM helpers: text only, never innerHTML ---------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const $ = (id) => document.getElementById(id);
  const content = () => $("content");
  const show = (...nodes) => content().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  const dash = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));
  function time(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : el("span", { title: iso }, d.toLocaleString("ja-JP"));
  }
  function badge(status) {
    const [label, cls] = STATUS[status] || [dash(status), "warn"];
    return el("span", { class: "badge " + cls }, label);
  }
  const describe = (e) => (typeof e === "string" ? e : e.message || e.code || JSON.stringify(e));
  const account = (a) => (a ? [el("div", {}, dash(a.display_name)), el("div", { class: "muted" }, dash(a.email))] : "—");

  let toastTimer = null;
  function toast(message, isError) {
    const box = $("toast");
    box.textContent = message;
    box.className = "toast" + (isError ? " error" : "");
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, isError ? 12000 : 6000);
  }

  // --- API -----------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  async function api(method, path, payload) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    let res;
    try { res = await fetch("/api" + path, init); } catch (e) {
      throw new ApiError(0, "network_error", "コンソールに接続できません (network error): " + e.message);
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const fallback = res.status === 404 ? "この API はまだ利用できません (not found / not implemented yet)" : res.statusText;
      throw new ApiError(res.status, err.code || "http_" + res.status, err.message || fallback);
    }
    return data;
  }
  function errorBox(err) {
    return el("div", { class: "error-box", role: "alert" }, "エラー (HTTP ", String(err.status || "-"), ") ",
      el("code", {}, dash(err.code)), ": ", dash(err.message));
  }
  const errorText = (err) => `${err.code}: ${err.message}`;

  // Runs an action from a button: disabled while pending, errors as a toast.
  function action(button, run) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try { await run(); } catch (err) { toast(errorText(err), true); } finally { button.disabled = false; }
    });
  }
  // Leaves for Microsoft's sign-in page (only an http(s) URL from the API is followed).
  function go(authorizeUrl) {
    const url = new URL(authorizeUrl, location.href);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new ApiError(0, "bad_url", "unexpected authorize_url");
    location.assign(url.href);
  }

  // --- the end of a flow: ?result=confirm&completion=... (confirmed here) or ?result=error&reason=... --
  // The callback links nothing: the HERP session that started the flow confirms it, so the
  // code is POSTed with the current identity before the page loads its data.
  const RESULTS = {
    linked: (userPage) => userPage ? "Microsoft 365 アカウントを連携しました。(account linked)" : "Outlook との連携が完了しました。(tenant linked)",
    renewed: () => "テナントとの連携を更新しました。(link renewed)",
    unlinked: () => "連携を解除しました。(unlinked)",
  };
  async function finishFlow() {
    const params = new URLSearchParams(location.search);
    const result = params.get("result");
    const completion = params.get("completion");
    const reason = params.get("reason") || "";
    if (!result) return;
    // Off the URL first: a reload must not confirm twice, and the code should not linger in history.
    for (const name of ["result", "reason", "completion"]) params.delete(name);
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
    const userPage = ds.page === "user-links";
    if (result === "confirm" && completion) {
      try {
        const answer = await api("POST", "/outlook/link-completions", { completion });
        toast((RESULTS[answer.result] || RESULTS.linked)(userPage));
      } catch (err) {
        toast(`連携を確定できませんでした (confirm failed): ${errorText(err)}`, true);
      }
    } else if (RESULTS[result]) {
      toast(RESULTS[result](userPage));
    } else if (result === "error") {
      toast(`連携できませんでした: ${REASONS[reason] || "不明なエラー (unknown error)"} [${reason || "-"}]`, true);
    }
  }

  // --- 外部サービス連携 (tenant links) ---------------------------------------------------------
  async function tenantList() {
    const button = $("link-tenant");
    if (button) action(button, async () => go((await api("POST", "/outlook/tenant-links/authorize")).authorize_url));
    try {
      const { tenant_links: links } = await api("GET", "/outlook/tenant-links");
      if (!links.length) return show(el("p", { class: "muted" }, "連携済みのテナントはありません。(no linked tenant yet)"));
      show(el("table", {},
        el("thead", {}, el("tr", {}, ["テナント", "状態", "管理者アカウント", "連携日時", ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, links.map((t) => el("tr", {},
          el("td", {}, el("div", {}, dash(t.tenant_name)), el("div", { class: "muted" }, dash(t.tenant_id))),
          el("td", {}, badge(t.status)),
          el("td", {}, account(t.admin_account)),
          el("td", {}, time(t.linked_at)),
          el("td", {}, el("a", { href: "/settings/integrations/outlook/" + encodeURIComponent(t.tenant_id) }, "連携詳細を確認・変更する")))))));
    } catch (err) { show(errorBox(err)); }
  }

  // The cached rooms of a tenant (every room, with what Graph's `room` knows of it).
  async function roomTable(tenantId) {
    const { rooms } = await api("GET", "/outlook/tenants/" + encodeURIComponent(tenantId) + "/rooms");
    const yesNo = (v) => (v === null || v === undefined ? "—" : v ? "○" : "×");
    return el("details", { class: "card", id: "room-table" },
      el("summary", {}, "会議室一覧 (rooms: " + rooms.length + ")"),
      el("table", {}, el("thead", {}, el("tr", {},
        ["会議室 (room)", "定員 (capacity)", "建物 (building)", "階 (floor)", "リスト (room list)",
         "車椅子 (accessible)", "予約 (bookable)", "タグ (tags)"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rooms.map((r) => el("tr", {},
        el("td", {}, el("div", {}, dash(r.display_name)), el("div", { class: "muted" }, r.email)),
        el("td", {}, dash(r.capacity)), el("td", {}, dash(r.building)), el("td", {}, dash(r.floor)),
        el("td", {}, dash(r.room_list)), el("td", {}, yesNo(r.wheelchair_accessible)),
        el("td", {}, r.bookable ? "予約可" : el("span", { class: "badge warn" }, "予約不可 (reserved)")),
        el("td", {}, (r.tags || []).join(", ") || "—"))))));
  }

  async function tenantDetail() {
    const id = ds.tenantId;
    const path = "/outlook/tenant-links/" + encodeURIComponent(id);
    async function load() {
      try {
        const t = await api("GET", path);
        const rooms = t.rooms || {};
        show(
          t.status === "renewal_required" ? el("div", { class: "notice", role: "alert" },
            "連携に使った Microsoft 365 の管理者アカウントが管理者権限を失ったか削除されました。Outlook 連携は引き続き使えますが、最新の会議室を取得できません。" +
            "同じテナントの有効な管理者アカウントで「更新する」を実行してください。(renewal required)") : null,
          el("div", { class: "card" }, el("dl", { class: "fields" },
            el("dt", {}, "テナント名 (name)"), el("dd", {}, dash(t.tenant_name)),
            el("dt", {}, "テナントID"), el("dd", {}, el("code", {}, dash(t.tenant_id))),
            el("dt", {}, "状態 (status)"), el("dd", {}, badge(t.status)),
            el("dt", {}, "管理者アカウント (admin)"), el("dd", {}, account(t.admin_account)),
            el("dt", {}, "連携日時 (linked)"), el("dd", {}, time(t.linked_at)),
            el("dt", {}, "連携更新日時 (renewed)"), el("dd", {}, time(t.renewed_at)),
            el("dt", {}, "会議室数 (rooms)"), el("dd", {}, dash(rooms.count)),
            el("dt", {}, "会議室の同期 (rooms synced)"), el("dd", {}, time(rooms.synced_at)),
            el("dt", {}, "同期エラー (last error)"), el("dd", {}, rooms.last_error ? el("span", { class: "badge err" }, describe(rooms.last_error)) : "—"))),
          await roomTable(id));
      } catch (err) { show(errorBox(err)); }
    }
    action($("renew"), async () => go((await api("POST", path + "/renew")).authorize_url));
    action($("sync-rooms"), async () => {
      await api("POST", path + "/rooms/sync");
      toast("会議室の同期を受け付けました。(room sync queued)");
      setTimeout(load, 3000);
    });
    action($("unlink"), async () => {
      if (!confirm("テナントの連携を解除すると、このテナントの全てのユーザーレベル連携も解除されます。解除しますか？\n(Unlinking removes every user link of this tenant.)")) return;
      await api("DELETE", path);
      location.assign("/settings/integrations/outlook?result=unlinked");
    });
    await load();
  }

  // --- Outlookユーザー一覧 (user links) --------------------------------------------------------
  async function userLinks() {
    async function load() {
      try {
        const { tenants } = await api("GET", "/outlook/user-links");
        if (!tenants.length) return show(el("p", { class: "muted" },
          "連携済みのテナントがありません。管理者が「外部サービス連携」でテナントを連携すると、ここでアカウントを連携できます。(no linked tenant)"));
        show(...tenants.map(tenantCard));
      } catch (err) { show(errorBox(err)); }
    }
    function tenantCard(t) {
      const linkButton = el("button", { type: "button", class: "primary" }, "新しいアカウントを連携する");
      action(linkButton, async () => go((await api("POST", "/outlook/user-links/authorize", { tenant_id: t.tenant_id })).authorize_url));
      const links = t.links || [];
      return el("section", { class: "card" },
        el("h2", {}, dash(t.tenant_name), " ", badge(t.status), " ", el("span", { class: "muted" }, dash(t.tenant_id))),
        links.length ? el("table", {},
          el("thead", {}, el("tr", {}, ["アカウント", "連携方法", "状態", "連携日時", ""].map((h) => el("th", {}, h)))),
          el("tbody", {}, links.map(linkRow))) : el("p", { class: "muted" }, "連携済みのアカウントはありません。(no linked account)"),
        el("div", { class: "actions" }, linkButton));
    }
    function linkRow(link) {
      const unlink = el("button", { type: "button", class: "danger" }, "連携解除");
      action(unlink, async () => {
        if (!confirm(`${dash(link.account && link.account.email)} の連携を解除しますか？ (unlink this account?)`)) return;
        await api("DELETE", "/outlook/user-links/" + encodeURIComponent(link.link_id));
        toast("連携を解除しました。(unlinked)");
        await load();
      });
      return el("tr", {}, el("td", {}, account(link.account)), el("td", {}, VIA[link.via] || dash(link.via)),
        el("td", {}, badge(link.status)), el("td", {}, time(link.linked_at)), el("td", {}, unlink));
    }
    await load();
  }

  // --- カレンダー (calendars + try creating an event) ----------------------------------------
  async function calendars() {
    const form = $("event-form");
    const select = form.elements.calendar;
    try {
      const { calendars: list } = await api("GET", "/outlook/calendars");
      form.hidden = !list.length;
      if (!list.length) show(el("p", { class: "muted" }, "利用できるカレンダーがありません。(no calendar: link an account first)"));
      else show(el("table", {},
        el("thead", {}, el("tr", {}, ["アカウント", "カレンダー", "既定", "編集", "Teams"].map((h) => el("th", {}, h)))),
        el("tbody", {}, list.map((c) => el("tr", {}, el("td", {}, account(c.account)), el("td", {}, dash(c.name)),
          el("td", {}, c.is_default ? "✓" : ""), el("td", {}, c.can_edit ? "✓" : ""), el("td", {}, c.teams_available ? "✓" : ""))))));
      list.forEach((c, i) => select.append(el("option", { value: String(i) }, `${dash(c.account && c.account.email)} / ${dash(c.name)}`)));
      form.addEventListener("submit", (event) => { event.preventDefault(); createEvent(form, list[Number(select.value)]); });
    } catch (err) { show(errorBox(err)); form.hidden = true; }
  }
  async function createEvent(form, calendar) {
    const out = $("event-result");
    const f = form.elements;
    const lines = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
    const seconds = (v) => (v.length === 16 ? v + ":00" : v);
    const payload = {
      schedule_id: "console-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8),
      link_id: calendar && calendar.link_id, calendar_id: calendar && calendar.calendar_id,
      subject: f.subject.value, start: seconds(f.start.value), end: seconds(f.end.value), time_zone: f.time_zone.value,
      attendees: lines(f.attendees.value).map((email) => ({ email, type: "required" })),
      rooms: lines(f.rooms.value), online_meeting: f.online_meeting.checked,
    };
    out.hidden = false;
    try {
      const event = await api("POST", "/outlook/events", payload);
      out.textContent = JSON.stringify(event, null, 2);
      toast("予定を作成しました。(event created)");
    } catch (err) { out.textContent = `HTTP ${err.status} ${err.code}: ${err.message}`; toast(errorText(err), true); }
  }

  const PAGES = { "tenant-list": tenantList, "tenant-detail": tenantDetail, "user-links": userLinks, calendars };
  finishFlow().then(() => { if (PAGES[ds.page]) PAGES[ds.page](); });
})();
