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
  const STATUS = { active: ["有効 (active)", ""], renewal_required: ["更新が必要 (renewal_required)", "warn"],
    reauth_required: ["再認証が必要 (reauth_required)", "err"] };
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
        el("thead", {}, el("tr", {}, ["テナント (tenant)", "状態 (status)", "管理者アカウント (admin)", "連携日時 (linked)", ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, links.map((t) => el("tr", {},
          el("td", {}, el("div", {}, dash(t.tenant_name)), el("div", { class: "muted" }, dash(t.tenant_id))),
          el("td", {}, badge(t.status)),
          el("td", {}, account(t.admin_account)),
          el("td", {}, time(t.linked_at)),
          el("td", {}, el("a", { href: "/settings/integrations/outlook/" + encodeURIComponent(t.tenant_id) }, "連携詳細を確認・変更する (details)")))))));
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
    let last = null;
    async function load() {
      try {
        const t = await api("GET", path);
        last = t;
        const rooms = t.rooms || {};
        show(
          t.status === "renewal_required" ? el("div", { class: "notice", role: "alert" },
            "連携に使った Microsoft 365 の管理者アカウントが管理者権限を失ったか削除されました。Outlook 連携は引き続き使えますが、最新の会議室を取得できません。" +
            "同じテナントの有効な管理者アカウントで「更新する」を実行してください。(renewal required)") : null,
          el("div", { class: "card" }, el("dl", { class: "fields" },
            el("dt", {}, "テナント名 (name)"), el("dd", {}, dash(t.tenant_name)),
            el("dt", {}, "テナントID"), el("dd", {}, el("code", {}, dash(t.tenant_id))),
            el("dt", {}, "状態 (status)"), el("dd", { id: "tenant-status", "data-status": t.status }, badge(t.status)),
            el("dt", {}, "管理者アカウント (admin)"), el("dd", {}, account(t.admin_account)),
            el("dt", {}, "連携日時 (linked)"), el("dd", {}, time(t.linked_at)),
            el("dt", {}, "連携更新日時 (renewed)"), el("dd", {}, time(t.renewed_at)),
            el("dt", {}, "会議室数 (rooms)"), el("dd", { id: "room-count" }, dash(rooms.count)),
            el("dt", {}, "会議室の同期 (rooms synced)"), el("dd", { id: "rooms-synced" }, rooms.synced_at ? time(rooms.synced_at) : el("span", { class: "badge warn" }, "同期中… (syncing)")),
            el("dt", {}, "同期エラー (last error)"), el("dd", {}, rooms.last_error ? el("span", { class: "badge err" }, describe(rooms.last_error)) : "—"))),
          await roomTable(id));
        return t;
      } catch (err) { show(errorBox(err)); return null; }
    }
    // Rooms sync in the background (a queue): read again every 2 s until `done(link)` or 30 s.
    async function poll(done) {
      for (let i = 0; i < 15; i++) {
        await new Promise((r) => setTimeout(r, 2000));
        const t = await load();
        if (!t || done(t)) return;
      }
    }
    action($("renew"), async () => go((await api("POST", path + "/renew")).authorize_url));
    action($("sync-rooms"), async () => {
      const before = last && JSON.stringify([last.status, last.rooms]);
      await api("POST", path + "/rooms/sync");
      toast("会議室の同期を受け付けました。(room sync queued)");
      await poll((t) => JSON.stringify([t.status, t.rooms]) !== before);
    });
    action($("unlink"), async () => {
      if (!confirm("テナントの連携を解除すると、このテナントの全てのユーザーレベル連携も解除されます。解除しますか？\n(Unlinking removes every user link of this tenant.)")) return;
      await api("DELETE", path);
      location.assign("/settings/integrations/outlook?result=unlinked");
    });
    const t = await load();
    if (t && !(t.rooms || {}).synced_at) await poll((l) => (l.rooms || {}).synced_at || l.status !== "active");
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
      const linkButton = el("button", { type: "button", class: "primary link-account" }, "新しいアカウントを連携する (link an account)");
      action(linkButton, async () => go((await api("POST", "/outlook/user-links/authorize", { tenant_id: t.tenant_id })).authorize_url));
      const links = t.links || [];
      return el("section", { class: "card", "data-tenant-id": t.tenant_id },
        el("h2", {}, dash(t.tenant_name), " ", badge(t.status), " ", el("span", { class: "muted" }, dash(t.tenant_id))),
        links.length ? el("table", {},
          el("thead", {}, el("tr", {}, ["アカウント (account)", "連携方法 (via)", "状態 (status)", "連携日時 (linked)", ""].map((h) => el("th", {}, h)))),
          el("tbody", {}, links.map((l) => linkRow(l, t.tenant_id)))) : el("p", { class: "muted" }, "連携済みのアカウントはありません。(no linked account)"),
        el("div", { class: "actions" }, linkButton));
    }
    function linkRow(link, tenantId) {
      const unlink = el("button", { type: "button", class: "danger unlink" }, "連携解除 (unlink)");
      action(unlink, async () => {
        if (!confirm(`${dash(link.account && link.account.email)} の連携を解除しますか？ (unlink this account?)`)) return;
        await api("DELETE", "/outlook/user-links/" + encodeURIComponent(link.link_id));
        toast("連携を解除しました。(unlinked)");
        await load();
      });
      let relink = null;
      if (link.status === "reauth_required") {
        relink = el("button", { type: "button", class: "primary relink" }, "再連携する (link again)");
        action(relink, async () => go((await api("POST", "/outlook/user-links/authorize", { tenant_id: tenantId })).authorize_url));
      }
      return el("tr", { "data-link-id": link.link_id }, el("td", {}, account(link.account)), el("td", {}, VIA[link.via] || dash(link.via)),
        el("td", {}, badge(link.status)), el("td", {}, time(link.linked_at)), el("td", { class: "actions" }, relink, unlink));
    }
    await load();
  }

  // --- 選考予定 (interviews): calendar picker, room finder, free/busy, create; the list, edit, cancel --
  // The API has no "list my events" route (HERP Hire keeps its own schedules): the schedule ids made
  // here are kept in this browser's localStorage, per company, and each one is read from Outlook.
  const RESPONSE = { none: ["未回答 (none)", "warn"], accepted: ["承諾 (accepted)", ""], declined: ["辞退 (declined)", "err"],
    tentative: ["仮承諾 (tentative)", "warn"] };
  const responseBadge = (r) => { const [label, cls] = RESPONSE[r] || [dash(r), "warn"]; return el("span", { class: "badge " + cls }, label); };
  const storeKey = () => "herp-console-schedules:" + ds.company;
  const stored = () => { try { return JSON.parse(localStorage.getItem(storeKey()) || "[]"); } catch (e) { return []; } };
  const remember = (id) => localStorage.setItem(storeKey(), JSON.stringify([id, ...stored().filter((s) => s !== id)]));
  const withSeconds = (v) => (v.length === 5 ? v + ":00" : v);
  const localDate = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const emails = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  const httpLink = (href, text) => (/^https?:\/\//.test(href || "") ? el("a", { href, target: "_blank", rel: "noopener" }, text) : "—");

  // Reads the change feed from the start, then every 2 s, always passing the last `next`.
  function followFeed(onChanges, onState) {
    let after = null;
    async function tick() {
      try {
        for (;;) {
          const page = await api("GET", "/outlook/changes" + (after ? "?after=" + encodeURIComponent(after) : ""));
          if (page.next) after = page.next;
          if (page.changes.length) onChanges(page.changes);
          if (page.changes.length < 100) break;
        }
        onState(null);
      } catch (err) { onState(err); }
      setTimeout(tick, 2000);
    }
    return tick();
  }

  async function eventsPage() {
    const form = $("event-form");
    const f = form.elements;
    const chosen = new Map(); // room email -> display name
    let list = [];
    const tenantOf = {};
    f.date.value = localDate(new Date(Date.now() + 86400000)); // tomorrow
    try {
      const [cals, links] = await Promise.all([api("GET", "/outlook/calendars"), api("GET", "/outlook/user-links")]);
      list = cals.calendars;
      for (const t of links.tenants) for (const l of t.links || []) tenantOf[l.link_id] = t.tenant_id;
      const errors = (cals.errors || []).map((e) => el("div", { class: "error-box" }, "連携 ", el("code", {}, e.link_id), ": ",
        el("code", {}, e.code), ": ", e.message));
      if (!list.length) show(el("p", { class: "muted" }, "利用できるカレンダーがありません。「個人設定 > 外部サービスアカウント」でアカウントを連携してください。(no calendar: link an account first)"), ...errors);
      else show(...errors);
    } catch (err) { show(errorBox(err)); }
    form.hidden = !list.length;
    list.forEach((c, i) => f.calendar.append(el("option", { value: String(i), ...(c.can_edit ? {} : { disabled: "" }) },
      `${dash(c.account && c.account.email)} / ${dash(c.name)}${c.is_default ? " (既定)" : ""}${c.can_edit ? "" : " (閲覧のみ)"}`)));
    const firstWritable = list.findIndex((c) => c.can_edit);
    if (firstWritable >= 0) f.calendar.value = String(firstWritable);
    const calendar = () => list[Number(f.calendar.value)];
    const tenant = () => calendar() && tenantOf[calendar().link_id];
    const slot = () => ({ start: f.date.value + "T" + withSeconds(f.start.value), end: f.date.value + "T" + withSeconds(f.end.value), time_zone: f.time_zone.value });

    async function onCalendar() {
      const c = calendar();
      if (!c) return;
      f.online_meeting.disabled = !c.teams_available;
      if (!c.teams_available) f.online_meeting.checked = false;
      if (!tenant()) return;
      try {
        const { rooms } = await api("GET", "/outlook/tenants/" + encodeURIComponent(tenant()) + "/rooms");
        const buildings = [...new Set(rooms.map((r) => r.building).filter(Boolean))].sort();
        const picked = f.building.value;  // a reply that comes late must not undo the user's choice
        f.building.replaceChildren(el("option", { value: "" }, "指定なし (any)"), ...buildings.map((b) => el("option", { value: b }, b)));
        if (buildings.includes(picked)) f.building.value = picked;
      } catch (err) { toast(errorText(err), true); }
    }
    f.calendar.addEventListener("change", onCalendar);
    if (list.length) onCalendar();

    function renderChosen() {
      const box = $("chosen-rooms");
      if (!chosen.size) return box.replaceChildren(el("span", { class: "muted" }, "なし (none)"));
      box.replaceChildren(...[...chosen].map(([email, name]) => {
        const remove = el("button", { type: "button", class: "chip", title: "外す (remove)" }, `${name} <${email}> ×`);
        remove.addEventListener("click", () => { chosen.delete(email); renderChosen(); });
        return remove;
      }));
    }
    action($("find-rooms"), async () => {
      const c = calendar();
      const body = { link_id: c.link_id, ...slot(), limit: 5 };
      if (f.min_capacity.value) body.min_capacity = Number(f.min_capacity.value);
      if (f.building.value) body.building = f.building.value;
      const answer = await api("POST", "/outlook/tenants/" + encodeURIComponent(tenant()) + "/rooms/find", body);
      const out = $("found-rooms");
      if (!answer.rooms.length) return out.replaceChildren(el("li", { class: "muted" }, `空いている会議室はありません (no free room; checked ${answer.checked})`));
      out.replaceChildren(...answer.rooms.map((r) => {
        const add = el("button", { type: "button" }, "追加 (add)");
        add.addEventListener("click", () => { chosen.set(r.email, r.display_name || r.email); renderChosen(); });
        return el("li", { class: "room" }, add, " ", el("strong", {}, dash(r.display_name)), " ",
          el("span", { class: "muted" }, `${dash(r.building)} ${dash(r.floor)} / 定員 ${dash(r.capacity)} / ${r.email}`));
      }), el("li", { class: "muted" }, `空き状況を確認した会議室: ${answer.checked} (checked)${answer.stale ? " / 会議室一覧が古い可能性があります (stale)" : ""}`));
    });
    action($("show-availability"), async () => {
      const c = calendar();
      const who = [...emails(f.attendees.value), ...chosen.keys()];
      if (c.account && c.account.email) who.unshift(c.account.email);
      const day = { start: f.date.value + "T08:00:00", end: f.date.value + "T20:00:00" };
      const answer = await api("POST", "/outlook/availability", { link_id: c.link_id, emails: [...new Set(who)], ...day,
        time_zone: f.time_zone.value, interval_minutes: 30 });
      $("availability").replaceChildren(freeBusyGrid(answer, 8, slot()));
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = $("create-event");
      button.disabled = true;
      const c = calendar();
      const payload = {
        schedule_id: "sch-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 6),
        link_id: c.link_id, calendar_id: c.calendar_id, subject: f.subject.value, ...slot(),
        body: { content_type: "text", content: f.body.value },
        attendees: emails(f.attendees.value).map((email) => ({ email, type: "required" })),
        rooms: [...chosen.keys()], online_meeting: f.online_meeting.checked,
      };
      try {
        const created = await api("POST", "/outlook/events", payload);
        remember(created.schedule_id);
        toast("選考予定を Outlook に登録しました。(interview created)");
        chosen.clear(); renderChosen(); $("found-rooms").replaceChildren();
        await renderEvents();
      } catch (err) { toast(errorText(err), true); } finally { button.disabled = false; }
    });
    await renderEvents();
    let first = true;
    followFeed((changes) => {
      const mine = new Set(stored());
      if (!first && changes.some((c) => mine.has(c.schedule_id))) {
        for (const id of new Set(changes.map((c) => c.schedule_id).filter((id) => mine.has(id)))) refreshEvent(id, true);
      }
    }, () => { first = false; });
  }

  // The free/busy grid of a day: one row per address, one cell per interval; the chosen slot is outlined.
  function freeBusyGrid(answer, fromHour, slot) {
    const step = answer.interval_minutes;
    const cells = (answer.schedules[0] && answer.schedules[0].availability_view.length) || 0;
    const label = (i) => { const m = fromHour * 60 + i * step; return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`; };
    const inSlot = (i) => { const t = label(i) + ":00"; return t >= slot.start.slice(11) && t < slot.end.slice(11); };
    const KIND = { 0: "free", 1: "tentative", 2: "busy", 3: "oof", 4: "elsewhere" };
    return el("table", { class: "freebusy" },
      el("thead", {}, el("tr", {}, el("th", {}, "空き状況 (free/busy)"), Array.from({ length: cells }, (_, i) =>
        el("th", { class: inSlot(i) ? "slot" : "" }, label(i).endsWith(":00") ? String(Number(label(i).slice(0, 2))) : "")))),
      el("tbody", {}, answer.schedules.map((s) => el("tr", {}, el("td", {}, s.email, s.error ? el("div", { class: "muted" }, `${s.error.code}: ${s.error.message}`) : null),
        Array.from(s.availability_view || "", (d, i) => el("td", { class: `fb ${KIND[d] || "unknown"}${inSlot(i) ? " slot" : ""}`, title: `${label(i)} ${KIND[d] || d}` }, ""))))),
      el("caption", {}, "□ 空き (free)  ■ 予定あり (busy)  ▨ 仮 (tentative)  — 枠は選んだ時間 (outline: the chosen slot)"));
  }

  async function renderEvents() {
    const ids = stored();
    const box = $("events");
    if (!ids.length) return box.replaceChildren(el("p", { class: "muted" }, "まだありません (none yet)"));
    box.replaceChildren(...ids.map((id) => el("section", { class: "card event", "data-schedule-id": id }, el("p", { class: "muted" }, id + " 読み込み中… (loading)"))));
    await Promise.all(ids.map((id) => refreshEvent(id)));
  }
  async function refreshEvent(id, fromFeed) {
    const card = document.querySelector(`section.event[data-schedule-id="${CSS.escape(id)}"]`);
    if (!card) return renderEvents();
    // A change from the feed never wipes an edit in progress, one opened while the read was on its way too.
    const editing = () => fromFeed && card.querySelector("form.edit:not([hidden])");
    if (editing()) return;
    try {
      const e = await api("GET", "/outlook/events/" + encodeURIComponent(id));
      if (!editing()) card.replaceChildren(...eventCard(e));
    } catch (err) {
      if (editing()) return;
      const gone = { event_cancelled: "キャンセル済み (cancelled)", event_deleted_in_outlook: "Outlookで削除されました (deleted in Outlook)" }[err.code];
      card.replaceChildren(el("h3", {}, id, " ", gone ? el("span", { class: "badge err state" }, gone) : null), errorBox(err));
    }
  }
  function eventCard(e) {
    const people = (e.attendees || []).map((a) => el("li", { "data-email": a.email }, dash(a.name || a.email), " ", el("span", { class: "muted" }, a.email), " ", responseBadge(a.response)));
    const rooms = (e.rooms || []).map((r) => el("li", { "data-email": r.email }, r.email, " ", responseBadge(r.response)));
    const edit = el("button", { type: "button" }, "編集 (edit)");
    const cancel = el("button", { type: "button", class: "danger" }, "キャンセル (cancel)");
    const notify = el("input", { type: "checkbox", checked: "", name: "notify" });
    const reload = el("button", { type: "button" }, "再読込 (reload)");
    const editor = editForm(e);
    edit.addEventListener("click", () => { editor.hidden = !editor.hidden; });
    action(reload, () => refreshEvent(e.schedule_id));
    action(cancel, async () => {
      if (!confirm(`「${e.subject}」をキャンセルしますか？ (cancel this interview?)`)) return;
      await api("DELETE", `/outlook/events/${encodeURIComponent(e.schedule_id)}?notify=${notify.checked}`);
      toast(notify.checked ? "予定をキャンセルし、参加者に通知しました。(cancelled with notice)" : "予定を削除しました (通知なし)。(deleted without notice)");
      await refreshEvent(e.schedule_id);
    });
    return [
      el("h3", {}, dash(e.subject), " ", el("span", { class: "muted" }, e.schedule_id)),
      el("dl", { class: "fields" },
        el("dt", {}, "日時 (time)"), el("dd", { class: "when" }, `${e.start.slice(0, 16).replace("T", " ")} – ${e.end.slice(11, 16)} (${e.time_zone})`),
        el("dt", {}, "面接官 (attendees)"), el("dd", {}, people.length ? el("ul", { class: "plain attendees" }, people) : "—"),
        el("dt", {}, "会議室 (rooms)"), el("dd", {}, rooms.length ? el("ul", { class: "plain rooms" }, rooms) : "—"),
        el("dt", {}, "Teams"), el("dd", { class: "join" }, e.join_url ? httpLink(e.join_url, "会議に参加 (join link)") : "—"),
        el("dt", {}, "Outlook"), el("dd", {}, httpLink(e.web_link, "Outlook で開く (web link)")),
        el("dt", {}, "本文 (body)"), el("dd", {}, el("pre", { class: "body" }, dash(e.body && e.body.content)))),
      el("div", { class: "actions" }, edit, reload, cancel, el("label", { class: "inline" }, notify, " 参加者に通知する (notify attendees)")),
      editor,
    ];
  }
  function editForm(e) {
    const form = el("form", { class: "event-form edit", hidden: "" },
      el("div", { class: "row" },
        el("label", {}, "日付 (date) ", el("input", { name: "date", type: "date", value: e.start.slice(0, 10) })),
        el("label", {}, "開始 (start) ", el("input", { name: "start", type: "time", value: e.start.slice(11, 16) })),
        el("label", {}, "終了 (end) ", el("input", { name: "end", type: "time", value: e.end.slice(11, 16) }))),
      el("label", {}, "会議室 (room emails) ", el("textarea", { name: "rooms", rows: "2" }, (e.rooms || []).map((r) => r.email).join("\n"))),
      el("label", {}, "本文 (body) ", el("textarea", { name: "body", rows: "2" }, (e.body && e.body.content) || "")),
      el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, "保存 (save)")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = form.elements;
      const patch = {};
      const start = f.date.value + "T" + withSeconds(f.start.value), end = f.date.value + "T" + withSeconds(f.end.value);
      if (start !== e.start || end !== e.end) Object.assign(patch, { start, end });
      const rooms = emails(f.rooms.value);
      if (rooms.join() !== (e.rooms || []).map((r) => r.email).join()) patch.rooms = rooms;
      if (f.body.value !== ((e.body && e.body.content) || "")) patch.body = { content_type: (e.body && e.body.content_type) || "text", content: f.body.value };
      if (!Object.keys(patch).length) return toast("変更はありません。(nothing changed)");
      try {
        await api("PATCH", "/outlook/events/" + encodeURIComponent(e.schedule_id), patch);
        toast("Outlook の予定を更新しました。(interview updated: " + Object.keys(patch).join(", ") + ")");
        await refreshEvent(e.schedule_id);
      } catch (err) { toast(errorText(err), true); }
    });
    return form;
  }

  // --- 日程調整 (scheduling): free slots on a week grid, holds (仮押さえ) in Outlook, confirm one --------
  // Holds made here are kept in this browser's localStorage per company (the API has no list route),
  // with what the confirm needs: the organizer's link, the other interviewers, the rooms of the slots.
  const holdKey = () => "herp-console-holds:" + ds.company;
  const storedHolds = () => { try { return JSON.parse(localStorage.getItem(holdKey()) || "[]"); } catch (e) { return []; } };
  const rememberHold = (meta) => localStorage.setItem(holdKey(), JSON.stringify([meta, ...storedHolds().filter((h) => h.hold_id !== meta.hold_id)]));
  const HOLD_STATUS = { held: ["仮押さえ中 (held)", "warn"], confirmed: ["確定 (confirmed)", ""], released: ["解除 (released)", "err"],
    expired: ["期限切れ (expired)", "err"] };
  const WEEKDAY = ["日", "月", "火", "水", "木", "金", "土"];
  const newId = (prefix) => prefix + "-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 6);

  async function schedulingPage() {
    const form = $("slot-form");
    const f = form.elements;
    const members = JSON.parse(ds.members || "[]");
    const tenantOf = {};
    let list = [], found = [];
    const picked = new Set();
    f.from.value = localDate(new Date(Date.now() + 86400000)); // tomorrow
    try {
      const [cals, links] = await Promise.all([api("GET", "/outlook/calendars"), api("GET", "/outlook/user-links")]);
      list = cals.calendars.filter((c) => c.can_edit);
      for (const t of links.tenants) for (const l of t.links || []) tenantOf[l.link_id] = t.tenant_id;
      if (!list.length) show(el("p", { class: "muted" }, "利用できるカレンダーがありません。「個人設定 > 外部サービスアカウント」でアカウントを連携してください。(no calendar: link an account first)"));
      else show();
    } catch (err) { show(errorBox(err)); }
    form.hidden = !list.length;
    list.forEach((c, i) => f.calendar.append(el("option", { value: String(i) }, `${dash(c.account && c.account.email)} / ${dash(c.name)}${c.is_default ? " (既定)" : ""}`)));
    $("members").replaceChildren(...members.map((m) => el("label", { class: "inline member" },
      el("input", { type: "checkbox", name: "member", value: m.id }), " ", m.name, " ", el("span", { class: "muted" }, m.id))));
    const calendar = () => list[Number(f.calendar.value)];
    const tenant = () => calendar() && tenantOf[calendar().link_id];
    const interviewers = () => [
      ...[...form.querySelectorAll("input[name=member]:checked")].map((i) => ({ herp_account_id: i.value })),
      ...emails(f.others.value).map((email) => ({ email })),
    ];
    async function onCalendar() {
      if (!tenant()) return;
      try {
        const { rooms } = await api("GET", "/outlook/tenants/" + encodeURIComponent(tenant()) + "/rooms");
        const buildings = [...new Set(rooms.map((r) => r.building).filter(Boolean))].sort();
        f.building.replaceChildren(el("option", { value: "" }, "指定なし (any)"), ...buildings.map((b) => el("option", { value: b }, b)));
      } catch (err) { toast(errorText(err), true); }
    }
    f.calendar.addEventListener("change", onCalendar);
    if (list.length) onCalendar();

    function renderPicked() {
      for (const b of document.querySelectorAll("#slot-grid button.slot")) b.classList.toggle("picked", picked.has(b.dataset.slotId));
      $("hold-slots").hidden = !found.length;
      $("picked-count").textContent = `${picked.size} 枠を選択中 (picked)`;
    }
    // One column per day of the window, a week to a row; each free slot a button that picks it.
    function renderGrid(answer) {
      const byDay = {};
      for (const s of answer.slots) (byDay[s.start.slice(0, 10)] = byDay[s.start.slice(0, 10)] || []).push(s);
      const days = [];
      for (let d = new Date(answer.window.from + "T00:00:00Z"); d <= new Date(answer.window.to + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1)) days.push(new Date(d));
      const column = (d) => {
        const key = d.toISOString().slice(0, 10);
        const slots = byDay[key] || [];
        return el("div", { class: "day" + (slots.length ? "" : " empty"), "data-date": key },
          el("div", { class: "date" }, `${key.slice(5).replace("-", "/")} (${WEEKDAY[d.getUTCDay()]})`),
          slots.length ? slots.map((s) => {
            const b = el("button", { type: "button", class: "slot", "data-slot-id": s.slot_id, "data-start": s.start },
              `${s.start.slice(11, 16)}–${s.end.slice(11, 16)}`, s.room ? el("span", { class: "muted room" }, s.room.display_name || s.room.email) : null);
            b.addEventListener("click", () => { picked.has(s.slot_id) ? picked.delete(s.slot_id) : picked.add(s.slot_id); renderPicked(); });
            return b;
          }) : el("div", { class: "muted" }, "—"));
      };
      const weeks = [];
      for (let i = 0; i < days.length; i += 7) weeks.push(el("div", { class: "week" }, days.slice(i, i + 7).map(column)));
      $("slot-grid").replaceChildren(
        el("p", { class: "muted" }, `${answer.slots.length} 枠 / ${answer.window.from} – ${answer.window.to} (${answer.time_zone}) / 確認した面接官 ${answer.checked.interviewers}・会議室 ${answer.checked.rooms}`),
        ...weeks);
      renderPicked();
    }
    action($("find-slots"), async () => {
      const c = calendar();
      const body = { tenant_id: tenant(), link_id: c.link_id, interviewers: interviewers(), duration_minutes: Number(f.duration.value),
        time_zone: f.time_zone.value, from: f.from.value, days: Number(f.days.value), limit: 100 };
      if (f.need_room.checked) {
        body.room = {};
        if (f.min_capacity.value) body.room.min_capacity = Number(f.min_capacity.value);
        if (f.building.value) body.room.building = f.building.value;
      }
      const answer = await api("POST", "/outlook/slots/find", body);
      found = answer.slots;
      picked.clear();
      renderGrid(answer);
    });
    action($("hold-slots"), async () => {
      const chosen = found.filter((s) => picked.has(s.slot_id));
      if (!chosen.length) throw new ApiError(0, "no_slot_picked", "仮押さえする枠を選んでください (pick slots first)");
      const c = calendar();
      const body = { hold_id: newId("hold"), link_id: c.link_id, subject: f.subject.value, time_zone: f.time_zone.value,
        interviewers: interviewers(), slots: chosen.map((s) => ({ start: s.start, end: s.end, ...(s.room ? { room: s.room.email } : {}) })) };
      await api("POST", "/outlook/holds", body);
      rememberHold({ hold_id: body.hold_id, link_id: c.link_id, calendar_id: c.calendar_id, subject: body.subject,
        organizer: c.account && c.account.email, others: emails(f.others.value), online: !!c.teams_available,
        rooms: Object.fromEntries(chosen.filter((s) => s.room).map((s) => [s.start + "/" + s.end, s.room.email])) });
      toast("Outlook に仮押さえしました。(slots held)");
      picked.clear(); renderPicked();
      await renderHolds();
    });
    await renderHolds();
  }

  async function renderHolds() {
    const metas = storedHolds();
    const box = $("holds");
    if (!metas.length) return box.replaceChildren(el("p", { class: "muted" }, "まだありません (none yet)"));
    const cards = await Promise.all(metas.map(async (meta) => {
      try { return holdCard(meta, await api("GET", "/outlook/holds/" + encodeURIComponent(meta.hold_id))); }
      catch (err) { return el("section", { class: "card hold", "data-hold-id": meta.hold_id }, el("h3", {}, meta.hold_id), errorBox(err)); }
    }));
    box.replaceChildren(...cards);
  }
  function holdCard(meta, hold) {
    const [label, cls] = HOLD_STATUS[hold.status] || [hold.status, "warn"];
    const held = hold.status === "held";
    const release = el("button", { type: "button", class: "danger release" }, "仮押さえを解除 (release)");
    action(release, async () => {
      await api("DELETE", "/outlook/holds/" + encodeURIComponent(hold.hold_id));
      toast("仮押さえを解除しました。(hold released)");
      await renderHolds();
    });
    const rows = hold.slots.map((s) => {
      const confirmButton = el("button", { type: "button", class: "primary confirm" }, "この枠で確定 (confirm)");
      action(confirmButton, async () => {
        const people = new Set([...s.held_on, ...meta.others].filter((e) => e && e !== meta.organizer));
        const room = meta.rooms[s.start + "/" + s.end];
        const event = { schedule_id: newId("sch"), link_id: meta.link_id, calendar_id: meta.calendar_id, subject: meta.subject,
          body: { content_type: "text", content: "HERP Hire の日程調整で確定した面接です。" },
          attendees: [...people].map((email) => ({ email, type: "required" })), rooms: room ? [room] : [], online_meeting: meta.online };
        const made = await api("POST", "/outlook/holds/" + encodeURIComponent(hold.hold_id) + "/confirm", { slot_id: s.slot_id, event });
        remember(made.schedule_id); // listed on 選考予定 too
        toast("面接を確定し、仮押さえを外しました。(interview confirmed, holds removed)");
        await renderHolds();
      });
      return el("tr", { "data-slot-id": s.slot_id },
        el("td", { class: "when" }, `${s.start.slice(0, 16).replace("T", " ")} – ${s.end.slice(11, 16)}`),
        el("td", { class: "held-on" }, s.held_on.join(", ") || "—"),
        el("td", {}, held ? confirmButton : null));
    });
    return el("section", { class: "card hold", "data-hold-id": hold.hold_id, "data-status": hold.status },
      el("h3", {}, dash(meta.subject), " ", el("span", { class: "badge state " + cls }, label), " ", el("span", { class: "muted" }, hold.hold_id)),
      el("p", { class: "muted" }, "期限 (expires) ", time(hold.expires_at),
        hold.schedule_id ? [" / 選考予定 (schedule) ", el("a", { href: "/events" }, hold.schedule_id)] : null),
      el("table", { class: "hold-slots" }, el("thead", {}, el("tr", {}, ["日時 (slot)", "仮押さえ先 (held on)", ""].map((h) => el("th", {}, h)))), el("tbody", {}, rows)),
      held ? el("div", { class: "actions" }, release) : null);
  }

  // --- 変更履歴 (changes from Outlook) ---------------------------------------------------------------
  const CHANGE = {
    "event.updated": "Outlookで変更 (updated)", "event.responses_changed": "回答の変更 (responses changed)",
    "event.deleted_in_outlook": "Outlookで削除 (deleted in Outlook)", "event.cancelled_in_outlook": "Outlookでキャンセル (cancelled in Outlook)",
    "event.room_declined": "会議室が辞退 (room declined)", "event.room_replaced": "会議室を差し替え (room replaced)",
    "link.reauth_required": "再認証が必要 (reauth required)", "tenant.renewal_required": "連携更新が必要 (renewal required)",
  };
  async function changesPage() {
    const rows = [];
    const body = el("tbody", {});
    show(el("table", { class: "changes" }, el("thead", {}, el("tr", {}, ["日時 (occurred)", "種類 (type)", "選考予定 (schedule)", "項目 (fields)", "Outlook の今 (event now)"].map((h) => el("th", {}, h)))), body));
    const summary = (e) => e ? [el("div", {}, dash(e.subject), " ", el("span", { class: "muted" }, `${e.start.slice(0, 16).replace("T", " ")} – ${e.end.slice(11, 16)}`)),
      ...(e.attendees || []).map((a) => el("div", {}, a.email, " ", responseBadge(a.response))),
      ...(e.rooms || []).map((r) => el("div", {}, r.email, " ", responseBadge(r.response)))] : "—";
    await followFeed((changes) => {
      for (const c of changes) rows.unshift(el("tr", { "data-type": c.type, "data-schedule-id": dash(c.schedule_id) },
        el("td", {}, time(c.occurred_at)), el("td", {}, CHANGE[c.type] || c.type),
        el("td", {}, dash(c.schedule_id || c.tenant_id || (c.link && c.link.link_id))), el("td", {}, (c.fields || []).join(", ") || "—"),
        el("td", {}, summary(c.event))));
      body.replaceChildren(...rows);
    }, (err) => {
      $("feed-state").replaceChildren(err ? errorBox(err) : `${rows.length} 件 / 最終確認 ${new Date().toLocaleTimeString("ja-JP")} (live, every 2 s)`);
    });
  }

  // --- 運用状況 (health, admin) ------------------------------------------------------------------
  const HINT = {
    reauth_required: "このアカウントの利用者が 個人設定 > 外部サービスアカウント で再連携してください。(the user relinks in 個人設定)",
    renewal_required: "管理者が 全体設定 > 外部サービス連携 > 連携詳細 の「連携更新」を行ってください。(an admin renews: 連携更新)",
  };
  async function healthPage() {
    let h;
    try { h = await api("GET", "/outlook/health"); } catch (err) { show(errorBox(err)); return; }
    const subs = (list) => list.length ? list.map((s) => el("div", { class: "subscription" }, dash(s.calendar_id), " ",
      el("span", { class: "muted" }, "期限 (expires) "), time(s.expires_at), " ",
      el("span", { class: "muted" }, "再認可 (reauthorized) "), time(s.reauthorized_at), " ",
      el("span", { class: "muted" }, "最終通知 (last notification) "), time(s.last_notification_at))) : "—";
    const tenants = h.tenants.map((t) => el("section", { class: "tenant", "data-tenant-id": t.tenant_id },
      el("h2", {}, dash(t.tenant_name), " ", badge(t.status), " ", el("span", { class: "muted" }, dash(t.tenant_id))),
      HINT[t.status] ? el("p", { class: "hint warn" }, HINT[t.status]) : null,
      el("p", {}, "管理者 (admin): ", account(t.admin_account), " 会議室 (rooms): ", dash(t.rooms.count), " / 同期 (synced) ", time(t.rooms.synced_at),
        t.rooms.last_error ? el("span", { class: "badge err" }, t.rooms.last_error) : null),
      el("table", {}, el("thead", {}, el("tr", {}, ["アカウント (account)", "HERP", "状態 (status)", "資格情報の確認 (credential checked)", "購読 (subscriptions)"].map((x) => el("th", {}, x)))),
        el("tbody", {}, t.accounts.map((a) => el("tr", { "data-account-id": a.account.id },
          el("td", {}, account(a.account)), el("td", {}, a.herp_account_ids.join(", ") || "—"),
          el("td", {}, badge(a.status), HINT[a.status] ? el("div", { class: "hint" }, HINT[a.status]) : null),
          el("td", {}, time(a.credential_checked_at)), el("td", {}, subs(a.subscriptions))))))));
    const w = h.webhook, c = h.client_credential;
    show(...(tenants.length ? tenants : [el("p", { class: "muted" }, "連携しているテナントはありません (no tenant linked)")]),
      el("h2", {}, "HERP Webhook"),
      el("p", { id: "webhook" }, `未配信 (pending) ${w.pending} / 配信断念 (dead-lettered) ${w.dead_lettered} / 最終配信 (last delivered) `, time(w.last_delivered_at)),
      el("h2", {}, "サービス (service)"),
      el("p", {}, `タイムゾーンデータ (time zone data) ${h.time_zone_data} / クライアント資格情報 (client credential) ${c.kind}, 期限 (expires) `, time(c.expires_at)));
  }

  const PAGES = { "tenant-list": tenantList, "tenant-detail": tenantDetail, "user-links": userLinks, events: eventsPage, changes: changesPage,
    scheduling: schedulingPage, health: healthPage };
  finishFlow().then(() => { if (PAGES[ds.page]) PAGES[ds.page](); });
})();
