"""HTML of the emulator's browser pages. Deliberately plain and stable: tests drive
these pages with `requests` (GET the page, POST the same URL with `username`/`action`).
"""

from __future__ import annotations

from html import escape

_STYLE = (
    "body{font-family:Segoe UI,Arial,sans-serif;max-width:38em;margin:3em auto}"
    "button{display:block;width:100%;margin:.3em 0;padding:.6em;text-align:left}"
    ".error{color:#a80000;white-space:pre-wrap}"
)


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _hidden(params: dict) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in params.items()
        if k not in ("username", "action")
    )


def sign_in(params: dict, users: list, heading: str, note: str = "", error: str = "") -> str:
    """Account picker: one submit button per user; posting one signs that user in (and
    accepts the requested permissions); the cancel button declines."""
    buttons = [
        f'<button type="submit" name="username" value="{escape(u.upn)}">'
        f"{escape(u.display_name)} &lt;{escape(u.upn)}&gt;</button>"
        for u in users
    ]
    err = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    body = (
        f"{err}<p>{escape(note)}</p>"
        f'<form method="post">{_hidden(params)}'
        f"{''.join(buttons)}"
        f'<button type="submit" name="action" value="cancel">Cancel</button></form>'
    )
    return _page(heading, body)


def need_admin_approval(params: dict, user: dict, message: str, missing: list = ()) -> str:
    """Entra's "Need admin approval" interrupt (AADSTS90093/90094): the user can only go back
    to the application without granting consent. `missing` (the permissions not granted) is
    an emulator aid; Entra's page does not list them."""
    listed = f'<p id="missing">Not granted in this organization: {escape(" ".join(missing))}</p>' if missing else ""
    body = (
        f'<p class="error" id="error">{escape(message)}</p>{listed}'
        f"<p>Signed in as {escape(user.upn)}.</p>"
        f'<form method="post">{_hidden(params)}'
        f'<input type="hidden" name="username" value="{escape(user.upn)}">'
        f'<button type="submit" name="action" value="cancel">'
        f"Return to the application without granting consent</button></form>"
    )
    return _page("Need admin approval", body)


def error(message: str) -> str:
    """Errors Entra shows on its own page instead of redirecting (bad client or reply URL)."""
    return _page(
        "Sign in",
        f'<p>Sorry, but we\'re having trouble signing you in.</p><p class="error" id="error">{escape(message)}</p>',
    )
