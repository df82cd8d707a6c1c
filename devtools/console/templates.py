"""Server-rendered HTML of the console: one shell per page; console.js fills `<main>` from
the API. Every value goes through `escape`; the pages carry no token and no secret."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from .config import IDENTITIES, Identity
from .emulator_note import EmulatorSummary

NAV = (
    ("/settings/integrations/outlook", "全体設定 > 外部サービス連携", "Integrations"),
    ("/settings/accounts/outlook", "個人設定 > 外部サービスアカウント", "My Outlook accounts"),
    ("/events", "選考予定", "Interviews"),
    ("/scheduling", "日程調整", "Scheduling"),
    ("/changes", "変更履歴", "Changes from Outlook"),
    ("/health", "運用状況", "Health (admin)"),
)
ROLE_LABEL = {"admin": "管理者", "member": "メンバー"}
ADMIN_BADGE = ' <span class="badge">admin</span>'
NO_MAILBOX_BADGE = ' <span class="badge warn">no mailbox</span>'
CURRENT = ' class="current"'


def _attrs(values: dict) -> str:
    return "".join(f' data-{escape(k)}="{escape(str(v))}"' for k, v in values.items() if v is not None)


def _who(identity: Identity | None, here: str) -> str:
    switch = f'<a href="/?next={escape(quote(here, safe=""))}">切り替え (switch)</a>'
    if identity is None:
        return f'<div class="who">HERPアカウント未選択 (no identity) {switch}</div>'
    return (
        f'<div class="who"><strong>{escape(identity.name)}</strong> '
        f'<span class="muted">{escape(identity.account_id)} / {escape(identity.company_id)} / '
        f"{escape(ROLE_LABEL.get(identity.role, identity.role))}</span> {switch}</div>"
    )


def _emulator(summary: EmulatorSummary | None) -> str:
    if summary is None:
        return ""
    if not summary.reachable:
        return (
            f'<p class="emulator muted">Microsoftエミュレーター ({escape(summary.url)}) '
            "に接続できません (not reachable)</p>"
        )
    tenants = []
    for t in summary.tenants:
        users = "".join(
            f"<li><code>{escape(u.upn)}</code> {escape(u.name)}"
            f"{ADMIN_BADGE if u.is_admin else ''}{NO_MAILBOX_BADGE if not u.has_mailbox else ''}</li>"
            for u in t.users
        )
        domain = f" <code>{escape(t.domain)}</code>" if t.domain else ""
        tenants.append(f"<li><strong>{escape(t.name)}</strong>{domain}<ul>{users}</ul></li>")
    return (
        '<details class="emulator"><summary>Microsoft 365 デモユーザー (emulator demo users, '
        f'{escape(summary.url)})</summary><p class="muted">サインイン画面ではこれらのアカウントを選べます。'
        f"パスワードは不要です (pick one; no password).</p><ul>{''.join(tenants)}</ul></details>"
    )


def layout(
    title: str,
    body: str,
    *,
    identity: Identity | None,
    here: str,
    page: str = "",
    data: dict | None = None,
    emulator: EmulatorSummary | None = None,
    warning: str = "",
) -> str:
    path = here.split("?")[0]
    nav = "".join(
        f'<a href="{href}"{CURRENT if path.startswith(href) else ""}>'
        f'{escape(ja)} <span class="muted">({escape(en)})</span></a>'
        for href, ja, en in NAV
    )
    if emulator is not None and emulator.reachable:
        nav += (
            f'<a id="outlook-view" href="{escape(emulator.url)}/_emulator/outlook" target="outlook">'
            'Outlook <span class="muted">(emulator)</span></a>'
        )
    attrs = _attrs(
        {
            "page": page,
            "role": identity.role if identity else None,
            "company": identity.company_id if identity else None,
            **(data or {}),
        }
    )
    warn = f'<p class="banner error">{escape(warning)}</p>' if warning else ""
    script = '<script src="/static/console.js"></script>' if page else ""
    return f"""<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - HERP Hire sandbox</title>
<link rel="stylesheet" href="/static/console.css">
</head>
<body{attrs}>
<header class="topbar">
  <a class="brand" href="/">HERP Hire <span class="muted">sandbox console</span></a>
  <nav>{nav}</nav>
  {_who(identity, here)}
</header>
{warn}{_emulator(emulator)}
<main>
<h1>{escape(title)}</h1>
{body}
</main>
<footer class="sandbox muted">sandbox: この画面は HERP Hire のフロントエンドの代役です。API 呼び出しの HERP トークンはコンソールが
<code>HERP_JWT_SECRET</code> で発行します (sandbox only: the console mints the caller token itself; HERP Hire's frontend gets it from HERP).</footer>
<div id="toast" class="toast" role="status" aria-live="polite" hidden></div>
{script}
</body>
</html>
"""


def identity_body(current: Identity | None, next_url: str) -> str:
    rows = []
    for i in IDENTITIES:
        chosen = " (選択中 / current)" if current and current.account_id == i.account_id else ""
        rows.append(
            f'<li><button type="submit" name="account_id" value="{escape(i.account_id)}">'
            f'<strong>{escape(i.name)}</strong>{escape(chosen)}<br><span class="muted">'
            f"{escape(i.account_id)} / 企業 {escape(i.company_id)} / "
            f"{escape(ROLE_LABEL[i.role])} ({escape(i.role)})</span></button></li>"
        )
    return (
        "<p>HERP Hire のフロントエンドの代わりに、選んだアカウントの JWT をサーバー側で発行し、"
        "<code>/api/*</code> への呼び出しに付与します (the console mints a HERP token for the chosen "
        "account and adds it to every <code>/api/*</code> call).</p>"
        '<form method="post" action="/identity" class="identities">'
        f'<input type="hidden" name="next" value="{escape(next_url)}">'
        f'<ul class="plain">{"".join(rows)}</ul></form>'
    )


TENANT_LIST = """<p>Microsoft 365 のテナントを HERP 企業アカウントと連携します (tenant-level link; HERP admins only).</p>
<div class="actions"><button type="button" id="link-tenant" class="primary admin-only">Outlookと連携する</button>
<span class="muted member-only">テナントの連携には管理者権限が必要です (admins only).</span></div>
<div id="content" class="content"><p class="muted">読み込み中… (loading)</p></div>"""

TENANT_DETAIL = """<p><a href="/settings/integrations/outlook">&larr; 外部サービス連携</a></p>
<div id="content" class="content"><p class="muted">読み込み中… (loading)</p></div>
<section class="card admin-only"><h2>連携更新 <span class="muted">(renew)</span></h2>
  <p class="muted">連携に使った Microsoft 365 管理者アカウントが権限を失った・削除されたときは、同じテナントの別の管理者で更新します。ユーザーレベルの連携はそのまま残ります (user links are kept).</p>
  <div class="actions"><button type="button" id="renew" class="primary">更新する <span class="muted">(renew)</span></button>
  <button type="button" id="sync-rooms">会議室を同期 <span class="muted">(sync rooms)</span></button></div></section>
<section class="card admin-only"><h2>連携解除 <span class="muted">(unlink)</span></h2>
  <p class="muted">テナントの連携を解除すると、全てのアカウントのユーザーレベルの連携も解除されます (removes every user link of the tenant).</p>
  <div class="actions"><button type="button" id="unlink" class="danger">連携解除 <span class="muted">(unlink)</span></button></div></section>
<p class="muted member-only">連携の更新・解除は管理者のみ行えます (admins only).</p>"""

USER_LINKS = """<p>HERP アカウントに Microsoft 365 アカウントを連携すると、選考予定の作成時に Outlook カレンダーを選べます
(link your Microsoft 365 accounts; several are allowed).</p>
<div id="content" class="content"><p class="muted">読み込み中… (loading)</p></div>"""

EVENTS = """<p>Outlook カレンダーに選考予定を登録します (interviews in Outlook: pick a calendar, find a room, check free/busy).</p>
<div id="content" class="content"><p class="muted">読み込み中… (loading)</p></div>
<section class="card" id="create"><h2>選考予定を作成 <span class="muted">(new interview)</span></h2>
<form id="event-form" class="event-form" hidden>
  <label>カレンダーの追加先 (calendar) <select name="calendar" required></select></label>
  <label>件名 (subject) <input name="subject" required value="一次面接: 山田 太郎 様"></label>
  <div class="row">
    <label>日付 (date) <input name="date" type="date" required></label>
    <label>開始 (start) <input name="start" type="time" required value="10:00"></label>
    <label>終了 (end) <input name="end" type="time" required value="11:00"></label>
    <label>タイムゾーン (time zone) <input name="time_zone" value="Asia/Tokyo" required></label>
  </div>
  <label>面接官 (interviewers: one email per line) <textarea name="attendees" rows="2"></textarea></label>
  <fieldset class="finder"><legend>会議室 (rooms)</legend>
    <div class="row">
      <label>定員 (min capacity) <input name="min_capacity" type="number" min="1" value="4"></label>
      <label>建物 (building) <select name="building"><option value="">指定なし (any)</option></select></label>
      <button type="button" id="find-rooms">空いている会議室を探す <span class="muted">(find free rooms)</span></button>
    </div>
    <ul id="found-rooms" class="plain found"></ul>
    <p>選択中の会議室 (chosen): <span id="chosen-rooms" class="chips"><span class="muted">なし (none)</span></span></p>
  </fieldset>
  <div class="actions"><button type="button" id="show-availability">空き状況を表示 <span class="muted">(free/busy of the day)</span></button></div>
  <div id="availability" class="availability"></div>
  <label>本文 (body) <textarea name="body" rows="2">HERP Hire から登録された面接です。</textarea></label>
  <label class="inline"><input type="checkbox" name="online_meeting" checked> Microsoft Teams 会議URLを発行する (Teams meeting)</label>
  <div class="actions"><button type="submit" class="primary" id="create-event">作成する <span class="muted">(create)</span></button></div>
</form></section>
<h2>選考予定一覧 <span class="muted">(interviews made here: responses are read from Outlook)</span></h2>
<div id="events" class="content"><p class="muted">まだありません (none yet)</p></div>"""

CHANGES = """<p>Outlook で行われた変更 (辞退・会議室の回答・時間変更・削除) の履歴です。2 秒ごとに更新します
(<code>GET /api/outlook/changes?after=</code>, polled every 2 s, following <code>next</code>).</p>
<p class="muted" id="feed-state">読み込み中… (loading)</p>
<div id="content" class="content"></div>"""

SCHEDULING = """<p>面接官の空き枠を探し (HERP の日程調整のルール)、候補を Outlook に仮押さえし、1 つを確定します
(free slots by HERP's rules, held in Outlook as tentative events, then one confirmed as the interview).</p>
<div id="content" class="content"><p class="muted">読み込み中… (loading)</p></div>
<section class="card" id="search"><h2>空き枠を探す <span class="muted">(find free slots)</span></h2>
<form id="slot-form" class="event-form" hidden>
  <label>主催カレンダー (organizer: your calendar) <select name="calendar" required></select></label>
  <label>件名 (subject) <input name="subject" required value="一次面接: 山田 太郎 様"></label>
  <fieldset class="finder"><legend>面接官 (interviewers)</legend>
    <div id="members" class="members"></div>
    <label>その他の面接官 (others: one email per line) <textarea name="others" rows="2"></textarea></label>
  </fieldset>
  <div class="row">
    <label>所要時間 (duration) <select name="duration">
      <option value="30">30分</option><option value="45">45分</option><option value="60" selected>60分</option>
      <option value="90">90分</option><option value="120">120分</option></select></label>
    <label>開始日 (from) <input name="from" type="date" required></label>
    <label>日数 (days) <input name="days" type="number" min="1" max="30" value="7"></label>
    <label>タイムゾーン (time zone) <input name="time_zone" value="Asia/Tokyo" required></label>
  </div>
  <fieldset class="finder"><legend><label class="inline"><input type="checkbox" name="need_room"> 会議室も確保する (a room too)</label></legend>
    <div class="row">
      <label>定員 (min capacity) <input name="min_capacity" type="number" min="1" value="4"></label>
      <label>建物 (building) <select name="building"><option value="">指定なし (any)</option></select></label>
    </div>
  </fieldset>
  <div class="actions"><button type="button" id="find-slots" class="primary">空き枠を探す <span class="muted">(find slots)</span></button></div>
</form>
<div id="slot-grid" class="slot-grid"></div>
<div class="actions"><button type="button" id="hold-slots" hidden>選んだ枠を仮押さえ <span class="muted">(hold the picked slots)</span></button>
<span id="picked-count" class="muted"></span></div>
</section>
<h2>仮押さえ一覧 <span class="muted">(holds made here)</span></h2>
<div id="holds" class="content"><p class="muted">まだありません (none yet)</p></div>"""

HEALTH = """<p>連携の状態 (管理者のみ): テナント、アカウントの資格情報と変更通知の購読、HERP への Webhook
(<code>GET /api/outlook/health</code>).</p>
<div id="content" class="content"><p class="muted">読み込み中… (loading)</p></div>"""
