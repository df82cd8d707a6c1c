"""GET /_emulator/outlook: what the emulator's "Outlook" holds, as one HTML page for people (the
sandbox console links to it). For each mailbox its events: attendees and rooms with their
answers, the Teams join link, the body as Outlook keeps it (HTML). Its buttons act "in Outlook"
by POSTing to the existing control routes (control.py, control_events.py, control_outlook.py),
so a change made here is what a test's control call would make. Not part of any Microsoft surface.

`?tz=<IANA zone>` (default Asia/Tokyo) picks the zone times are shown and entered in; `?refresh=1`
reloads the page every 3 s while no field has the focus.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.wrappers import Response

from . import events as ev
from . import seed
from .records import Event, User

DEFAULT_TZ = "Asia/Tokyo"
RESPONSE_LABEL = {
    "none": "未回答 (none)",
    "accepted": "承諾 (accepted)",
    "declined": "辞退 (declined)",
    "tentativelyAccepted": "仮承諾 (tentative)",
    "organizer": "開催者 (organizer)",
}
STYLE = """
body{font:14px/1.5 "Segoe UI",system-ui,sans-serif;margin:0;background:#f3f2f1;color:#201f1e}
header{background:#0f6cbd;color:#fff;padding:.6em 1.5em;display:flex;gap:1.5em;align-items:center;flex-wrap:wrap}
header a{color:#fff}main{max-width:72em;margin:1em auto;padding:0 1.5em 3em}
section.box,article{background:#fff;border:1px solid #e1dfdd;border-radius:4px;padding:.8em 1em;margin:.8em 0}
article.gone{opacity:.6}h2{font-size:1.15em;margin:1.4em 0 .3em}h3{font-size:1.05em;margin:0 0 .3em}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3em .5em;border-bottom:1px solid #edebe9;vertical-align:top}
th{font-weight:normal;color:#605e5c;font-size:.85em}.muted{color:#605e5c}
.badge{display:inline-block;font-size:.8em;padding:0 .5em;border-radius:1em;background:#dff6dd;color:#107c10}
.badge.none,.badge.tentativelyAccepted{background:#fff4ce;color:#8a6d00}.badge.declined,.badge.gone{background:#fde7e9;color:#a4262c}
pre{white-space:pre-wrap;word-break:break-all;background:#faf9f8;padding:.5em;font-size:.8em;margin:.3em 0}
form.inline{display:inline-flex;gap:.4em;align-items:center;flex-wrap:wrap;margin:.2em .8em .2em 0}
button{font:inherit;padding:.15em .7em;cursor:pointer}#notice{position:fixed;right:1em;bottom:1em;max-width:30em;
padding:.7em 1em;border-radius:4px;color:#fff;background:#107c10}#notice.error{background:#a4262c}#notice:empty{display:none}
"""
SCRIPT = """
"use strict";
const TZ = document.body.dataset.tz;
function toIso(local) {  // "2026-12-02T10:00" in TZ -> an instant with Z
  const guess = new Date(local + ":00Z");
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {timeZone: TZ, hourCycle: "h23", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"})
    .formatToParts(guess).map((p) => [p.type, p.value]));
  const shown = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return new Date(2 * guess.getTime() - shown).toISOString();
}
const notice = document.getElementById("notice");
const said = sessionStorage.getItem("outlook-view-notice");
if (said) { notice.textContent = said; sessionStorage.removeItem("outlook-view-notice"); setTimeout(() => notice.textContent = "", 5000); }
async function post(path, body, label) {
  const res = await fetch("/_emulator/" + path, {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body)});
  if (!res.ok) {
    notice.className = "error";
    notice.textContent = label + ": HTTP " + res.status + " " + (await res.text());
    return;
  }
  sessionStorage.setItem("outlook-view-notice", label + ": OK");
  location.reload();
}
document.addEventListener("click", (e) => {
  const b = e.target.closest("button[data-post]");
  if (b && !b.form) post(b.dataset.post, JSON.parse(b.dataset.body || "{}"), b.textContent.trim());
});
document.addEventListener("submit", (e) => {
  const f = e.target.closest("form[data-post]");
  if (!f) return;
  e.preventDefault();
  const body = JSON.parse(f.dataset.body || "{}");
  for (const field of f.elements) {
    if (!field.name || field.value === "") continue;
    body[field.name] = field.dataset.local ? toIso(field.value) : field.type === "number" ? Number(field.value) : field.value;
  }
  post(f.dataset.post, body, f.querySelector("button").textContent.trim());
});
if (new URLSearchParams(location.search).get("refresh")) setInterval(() => {
  if (!["INPUT", "TEXTAREA", "SELECT"].includes((document.activeElement || {}).tagName)) location.reload();
}, 3000);
"""


def _zone(name: str | None) -> tuple[str, ZoneInfo]:
    try:
        return (name or DEFAULT_TZ), ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC", ZoneInfo("UTC")


def _button(label: str, path: str, body: dict | None = None, cls: str = "") -> str:
    data = f' data-body="{escape(json.dumps(body))}"' if body else ""
    return f'<button type="button" class="{cls}" data-post="{escape(path)}"{data}>{escape(label)}</button>'


def _badge(response: str) -> str:
    return f'<span class="badge {escape(response)}">{escape(RESPONSE_LABEL.get(response, response))}</span>'


def _local(t: dt.datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return t.astimezone(zone).strftime(fmt) if t else ""


def _attendee_rows(state, rec: Event, org: Event | None) -> str:
    rows = []
    can_answer = org is not None and org.live and rec.is_organizer
    for a in rec.attendees:
        room = state.room_by_address(rec.tenant_id, a.address) is not None
        kind = "会議室 (room)" if room else "参加者 (person)"
        answers = ""
        if can_answer:
            answers = " ".join(
                _button(label, f"events/{rec.key}/responses", {"email": a.address, "response": value})
                for label, value in (("承諾 (accept)", "accepted"), ("辞退 (decline)", "declined"))
            )
        rows.append(
            f'<tr data-email="{escape(a.address.lower())}"><td>{escape(a.name or a.address)}'
            f' <span class="muted">{escape(a.address)}</span></td><td>{kind}</td>'
            f'<td class="response">{_badge(a.response)}</td><td>{answers}</td></tr>'
        )
    if not rows:
        return '<p class="muted">参加者なし (no attendees)</p>'
    return f'<table class="attendees"><tr><th>出席者 (attendee)</th><th></th><th>回答 (response)</th><th></th></tr>{"".join(rows)}</table>'


def _controls(rec: Event, owner: User, zone: ZoneInfo) -> str:
    if not rec.live:
        return ""
    delete = _button("削除 (delete in Outlook)", f"users/{owner.id}/events/{rec.key}/delete", {}, "danger")
    if not rec.is_organizer:
        me = {"email": owner.address}
        return (
            '<p class="controls">この予定に回答 (answer as '
            + escape(owner.address)
            + "): "
            + _button("承諾 (accept)", f"events/{rec.key}/responses", {**me, "response": "accepted"})
            + " "
            + _button("辞退 (decline)", f"events/{rec.key}/responses", {**me, "response": "declined"})
            + f" {delete}</p>"
        )
    fmt = "%Y-%m-%dT%H:%M"
    return (
        '<div class="controls">'
        f'<form class="inline move" data-post="events/{escape(rec.key)}/outlook-edit">移動 (move): '
        f'<input type="datetime-local" name="start" data-local="1" value="{_local(rec.start, zone, fmt)}" required> – '
        f'<input type="datetime-local" name="end" data-local="1" value="{_local(rec.end, zone, fmt)}" required>'
        "<button>移動する (move)</button></form>"
        f'<form class="inline edit" data-post="events/{escape(rec.key)}/outlook-edit">'
        f'<input name="subject" value="{escape(rec.subject or "")}" size="24" aria-label="subject">'
        f'<input name="location" value="{escape((rec.location or {}).get("displayName") or "")}" size="16" '
        'aria-label="location"><button>件名・場所を変更 (edit)</button></form>'
        f'<form class="inline cancel" data-post="events/{escape(rec.key)}/outlook-cancel">'
        '<input name="comment" placeholder="キャンセルの連絡 (comment)" size="20">'
        "<button>キャンセル (cancel meeting)</button></form>"
        f"{delete}</div>"
    )


def _event(state, rec: Event, owner: User, zone: ZoneInfo) -> str:
    org = ev.organizer_record(state, rec)
    meeting = (org or rec).online_meeting
    flags = ["開催者 (organizer)" if rec.is_organizer else f"出席者のコピー (attendee copy of {rec.organizer_address})"]
    if rec.is_cancelled or (rec.deleted and rec.deleted.how in ("cancel", "outlook-cancel")):
        flags.append('<span class="badge gone">キャンセル (cancelled)</span>')
    if rec.deleted:
        flags.append(f'<span class="badge gone">削除済み (deleted: {escape(rec.deleted.how)})</span>')
    if rec.show_as != "busy":  # how the item blocks the owner's time (resources/event.md `showAs`)
        flags.append(f'<span class="badge showas {escape(rec.show_as)}">表示: {escape(rec.show_as)}</span>')
    if not rec.is_reminder_on:
        flags.append('<span class="badge noreminder">通知なし (no reminder)</span>')
    join = (
        f'<a class="join" href="{escape(meeting.join_url)}">{escape(meeting.join_url)}</a>'
        if meeting and rec.is_online_meeting
        else '<span class="muted">なし (none)</span>'
    )
    where = (rec.location or {}).get("displayName") or ""
    return (
        f'<article class="event{"" if rec.live else " gone"}" data-event-id="{escape(rec.key)}" '
        f'data-owner="{escape(owner.id)}" data-subject="{escape(rec.subject or "")}" '
        f'data-show-as="{escape(rec.show_as)}">'
        f"<h3>{escape(rec.subject or '(no subject)')}</h3>"
        f'<p><span class="when">{_local(rec.start, zone)} – {_local(rec.end, zone, "%H:%M")}</span>'
        f' <span class="muted">({escape(str(zone))})</span> {" ".join(flags)}</p>'
        f'<p class="muted">場所 (location): {escape(where) or "—"} / 返答 (my response): {_badge(rec.response)}</p>'
        f"{_attendee_rows(state, rec, org)}"
        f"<p>Teams: {join}</p>"
        "<details><summary>本文 (body, the HTML Outlook holds)</summary>"
        f'<pre class="body">{escape(rec.body)}</pre></details>'
        f"{_controls(rec, owner, zone)}</article>"
    )


def _tenants(state) -> str:
    parts = []
    for t in state.tenants.values():
        users = []
        for u in (u for u in state.users.values() if u.tenant_id == t.id):
            flags = " ".join(
                f'<span class="badge gone">{w}</span>'
                for w, on in (("deleted", u.deleted), ("disabled", u.disabled))
                if on
            )
            admin = '<span class="badge">admin</span>' if set(u.roles) & seed.CONSENT_GRANTING_ROLES else ""
            users.append(
                f'<tr data-user="{escape(u.id)}"><td>{escape(u.display_name)} <span class="muted">{escape(u.upn)}</span>'
                f" {admin} {flags}</td><td>"
                + _button("ユーザーを削除 (delete user)", f"users/{u.id}/delete")
                + " "
                + _button("セッションを無効化 (revoke sessions)", f"users/{u.id}/revoke-sessions")
                + "</td></tr>"
            )
        installed = "installed" if t.app_installed else "not installed"
        parts.append(
            f'<section class="box tenant" data-tenant="{escape(t.id)}"><h3>{escape(t.display_name)} '
            f'<span class="muted">{escape(t.domain)} / {escape(t.id)} / app {installed}</span> '
            + _button("アプリを削除 (remove the app from the tenant)", f"tenants/{t.id}/remove-app")
            + f"</h3><details><summary>ユーザー (users)</summary><table>{''.join(users)}</table></details></section>"
        )
    return "".join(parts)


THROTTLE = (
    '<form class="inline throttle" data-post="throttle">次の Graph 呼び出しを制限 (throttle the next calls): '
    '<input type="number" name="count" value="3" min="1" size="3" aria-label="count"> 回 '
    '<select name="status"><option>429</option><option>503</option><option>504</option></select> '
    '<input name="path_contains" placeholder="path contains (optional)" size="18" aria-label="path_contains">'
    "<button>制限する (throttle)</button></form>"
)


def outlook_page(state, request):
    tz_name, zone = _zone(request.args.get("tz"))
    with state.lock:
        mailboxes = []
        for u in state.users.values():
            if not u.has_mailbox:
                continue
            recs = sorted((r for r in state.events.values() if r.owner == u.id), key=lambda r: (not r.live, r.created))
            items = "".join(_event(state, r, u, zone) for r in recs) or '<p class="muted">予定なし (no events)</p>'
            gone = " (deleted)" if u.deleted else ""
            mailboxes.append(
                f'<section class="mailbox" data-mailbox="{escape(u.id)}" data-upn="{escape(u.upn)}">'
                f'<h2>{escape(u.display_name)} <span class="muted">{escape(u.address)}{gone}</span></h2>{items}</section>'
            )
        tenants = _tenants(state)
    refresh = request.args.get("refresh")
    toggle = (
        f'<a href="?tz={escape(tz_name)}">自動更新を止める (stop auto refresh)</a>'
        if refresh
        else f'<a href="?tz={escape(tz_name)}&amp;refresh=1">自動更新 (auto refresh, 3 s)</a>'
    )
    html = (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>Outlook (emulator)</title>'
        f'<style>{STYLE}</style></head><body data-tz="{escape(tz_name)}"><header><strong>Outlook</strong>'
        f"<span>Microsoft エミュレーター (emulator) / 時刻は {escape(tz_name)}</span>{toggle}"
        '<a href="/_emulator/state">state (JSON)</a></header><main>'
        "<h2>テナントと管理操作 (tenants: act as the customer's IT)</h2>"
        f'{tenants}<section class="box">{THROTTLE}</section>'
        "<h2>メールボックス (mailboxes)</h2>"
        f'{"".join(mailboxes)}</main><div id="notice" role="status"></div><script>{SCRIPT}</script></body></html>'
    )
    return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})
