"""The console's WSGI app: pages, the demo identity cookie, HERP token minting, and the
same-origin reverse proxy `/api/*` -> the function host (which adds the caller's token)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote

import jwt
import requests
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Request, Response

from . import templates
from .config import IDENTITIES, IDENTITIES_BY_ID, ConsoleConfig, Identity
from .emulator_note import EmulatorNote

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"console.js", "console.css"}
COOKIE = "herp_console_account"
DEFAULT_PAGE = "/settings/integrations/outlook"
# RFC 9110 7.6.1 hop-by-hop fields, plus what requests re-frames itself (it decodes gzip and
# the body is re-sent whole, so the upstream length/encoding no longer apply).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-encoding",
}
FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Accept-Language", "Authorization", "If-Match")
SANDBOX_NOTE = "minted by the sandbox console (HS256, HERP_JWT_SECRET); HERP Hire issues the real one"
PATH_SAFE = "/!$&'()*+,;=:@-._~"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def mint_token(config: ConsoleConfig, identity: Identity, now: int | None = None) -> str:
    """The HS256 caller token HERP Hire would give its frontend for this account."""
    now = int(time.time()) if now is None else now
    claims = {
        "sub": identity.account_id,
        "company_id": identity.company_id,
        "role": identity.role,
        "iss": config.jwt_issuer,
        "aud": config.jwt_audience,
        "iat": now,
        "exp": now + config.token_lifetime,
    }
    return jwt.encode(claims, config.jwt_secret, algorithm="HS256")


def error_response(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json")


def safe_next(value: str | None) -> str:
    """Only same-origin paths: no scheme, no `//host`, no backslash tricks."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return DEFAULT_PAGE
    return value


LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}


def local_host(host: str) -> bool:
    """Host header `localhost` or `127.0.0.1` (or `[::1]`), with or without a port."""
    name = host.strip().lower()
    if not name.startswith("["):
        name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    elif "]:" in name:
        name = name.rsplit(":", 1)[0]
    return name in LOCAL_HOSTS


class ConsoleApp:
    def __init__(self, config: ConsoleConfig, emulator: EmulatorNote | None = None):
        self.config = config
        self.emulator = emulator if emulator is not None else EmulatorNote(config.emulator_url, config.ca_bundle)
        self.http = requests.Session()
        self.http.trust_env = False  # the API is local: no proxies, no netrc credentials
        self.url_map = Map(
            [
                Rule("/", endpoint="identity_page", methods=["GET"]),
                Rule("/identity", endpoint="choose_identity", methods=["POST"]),
                Rule("/settings/integrations/outlook", endpoint="tenant_list", methods=["GET"]),
                Rule("/settings/integrations/outlook/<tenant_id>", endpoint="tenant_detail", methods=["GET"]),
                Rule("/settings/accounts/outlook", endpoint="user_links", methods=["GET"]),
                Rule("/events", endpoint="events", methods=["GET"]),
                Rule("/changes", endpoint="changes", methods=["GET"]),
                Rule("/scheduling", endpoint="scheduling", methods=["GET"]),
                Rule("/health", endpoint="health", methods=["GET"]),
                Rule("/calendars", endpoint="calendars", methods=["GET"]),
                Rule("/static/<name>", endpoint="static", methods=["GET"]),
                Rule("/favicon.ico", endpoint="favicon", methods=["GET"]),
                Rule("/api", endpoint="proxy"),
                Rule("/api/<path:rest>", endpoint="proxy"),
            ],
            strict_slashes=False,
        )

    # --- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        if not local_host(request.host):
            # DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 would reach
            # this console (and its token minting) as same-origin; its requests carry its Host.
            response = error_response(421, "misdirected_request", "The sandbox console answers only to localhost.")
            return response(environ, start_response)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = exc.get_response(environ)
        return response(environ, start_response)

    # --- identity -----------------------------------------------------------------------
    def identity(self, request: Request) -> Identity | None:
        return IDENTITIES_BY_ID.get(request.cookies.get(COOKIE, ""))

    def on_identity_page(self, request: Request) -> Response:
        next_url = safe_next(request.args.get("next"))
        body = templates.identity_body(self.identity(request), next_url)
        return self.page(request, "HERPアカウントを選ぶ (Choose a demo account)", body, page="")

    def on_choose_identity(self, request: Request) -> Response:
        identity = IDENTITIES_BY_ID.get(request.form.get("account_id", ""))
        if identity is None:
            return self.page(
                request,
                "HERPアカウントを選ぶ (Choose a demo account)",
                templates.identity_body(self.identity(request), DEFAULT_PAGE),
                page="",
                status=400,
                warning="不明なアカウントです (unknown account)",
            )
        response = redirect(safe_next(request.form.get("next")), code=303)
        response.set_cookie(COOKIE, identity.account_id, httponly=True, samesite="Lax", path="/")
        return response

    # --- pages --------------------------------------------------------------------------
    def page(
        self,
        request: Request,
        title: str,
        body: str,
        *,
        page: str,
        data: dict | None = None,
        status: int = 200,
        warning: str = "",
    ) -> Response:
        if not warning and not self.config.jwt_secret:
            warning = "HERP_JWT_SECRET が設定されていません: API 呼び出しにトークンを付与できません (not configured)"
        html = templates.layout(
            title,
            body,
            identity=self.identity(request),
            here=self.here(request),
            page=page,
            data=data,
            emulator=self.emulator.get(),
            warning=warning,
        )
        return Response(html, status=status, mimetype="text/html", headers=PAGE_HEADERS)

    @staticmethod
    def here(request: Request) -> str:
        query = request.query_string.decode("latin-1")
        return request.path + (f"?{query}" if query else "")

    def app_page(self, request: Request, title: str, body: str, page: str, data: dict | None = None):
        """A settings page: needs a chosen identity (else the picker, coming back here after)."""
        if self.identity(request) is None:
            return redirect(f"/?next={quote(self.here(request), safe='')}", code=303)
        return self.page(request, title, body, page=page, data=data)

    def on_tenant_list(self, request):
        return self.app_page(request, "外部サービス連携 (Outlook)", templates.TENANT_LIST, "tenant-list")

    def on_tenant_detail(self, request, tenant_id):
        return self.app_page(
            request, "Outlook連携詳細", templates.TENANT_DETAIL, "tenant-detail", {"tenant-id": tenant_id}
        )

    def on_user_links(self, request):
        return self.app_page(request, "Outlookユーザー一覧", templates.USER_LINKS, "user-links")

    def on_events(self, request):
        return self.app_page(request, "選考予定 (Interviews)", templates.EVENTS, "events")

    def on_scheduling(self, request):
        """日程調整: the company's HERP accounts are offered by name (their HERP ids go to the API)."""
        me = self.identity(request)
        members = [{"id": i.account_id, "name": i.name} for i in IDENTITIES if me and i.company_id == me.company_id]
        data = {"members": json.dumps(members, ensure_ascii=False)}
        return self.app_page(request, "日程調整 (Scheduling)", templates.SCHEDULING, "scheduling", data)

    def on_changes(self, request):
        return self.app_page(request, "変更履歴 (Changes from Outlook)", templates.CHANGES, "changes")

    def on_health(self, request):
        return self.app_page(request, "運用状況 (Health)", templates.HEALTH, "health")

    def on_calendars(self, request):  # the old address of the event form
        return redirect("/events", code=301)

    def on_static(self, request, name):
        if name not in STATIC_FILES:
            raise NotFound()
        response = send_from_directory(STATIC_DIR, name, request.environ, max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def on_favicon(self, request):
        return Response(status=204)

    # --- reverse proxy ------------------------------------------------------------------
    def on_proxy(self, request: Request, rest: str = "") -> Response:
        headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
        identity = self.identity(request)
        minted = False
        if "Authorization" not in headers and identity is not None:
            if self.config.jwks_url:
                return error_response(
                    500,
                    "configuration_error",
                    "HERP_JWT_JWKS_URL is set: the API trusts HERP's keys, and only the sandbox (HS256) lets "
                    "the console mint a caller token.",
                )
            if not self.config.jwt_secret:
                return error_response(
                    500, "configuration_error", "HERP_JWT_SECRET is not set: the console cannot mint a caller token."
                )
            headers["Authorization"] = f"Bearer {mint_token(self.config, identity)}"
            minted = True
        url = self.config.api_base + quote(request.path, safe=PATH_SAFE)
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        body = request.get_data(cache=False)
        try:
            upstream = self.http.request(
                request.method, url, headers=headers, data=body or None, allow_redirects=False, timeout=(5, 120)
            )
        except requests.Timeout:
            return error_response(504, "api_timeout", f"The API at {self.config.api_base} did not answer in time.")
        except requests.RequestException:
            return error_response(
                502,
                "api_unreachable",
                f"The API at {self.config.api_base} is not reachable: is the function host running (make run)?",
            )
        response = Response(upstream.content, status=f"{upstream.status_code} {upstream.reason or ''}".strip())
        response.headers.clear()
        for name, value in upstream.raw.headers.iteritems():  # repeated fields stay separate
            if name.lower() not in HOP_BY_HOP:
                response.headers.add(name, value)
        if minted:
            response.headers["X-Sandbox-Token"] = SANDBOX_NOTE
        return response
