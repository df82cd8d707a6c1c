"""The sandbox console (devtools.console): identity cookie, token minting, the /api proxy,
pages, escaping, settings, the emulator note and the command line. A tiny fake API and a fake
emulator run as werkzeug servers on free ports; the console runs in-process (test Client)
and, once, as `python -m devtools.console`."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import jwt
import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from devtools.console.app import COOKIE, DEFAULT_PAGE, ConsoleApp
from devtools.console.config import load_config
from devtools.console.emulator_note import EmulatorNote

from .conftest import (
    AUDIENCE,
    AUTHORIZE_URL,
    ISSUER,
    PAGES,
    REPO,
    SECRET,
    FakeServer,
    decode,
    fake_api,
    make_config,
    sign_in,
)


# --- identity cookie -------------------------------------------------------------------------
def test_pages_need_an_identity_and_come_back_after_choosing_one(client):
    response = client.get("/settings/accounts/outlook?result=linked")
    assert response.status_code == 303
    assert response.headers["Location"] == "/?next=%2Fsettings%2Faccounts%2Foutlook%3Fresult%3Dlinked"

    picker = client.get("/?next=/settings/accounts/outlook%3Fresult%3Dlinked")
    assert picker.status_code == 200
    for name in ("管理者 山田", "メンバー 佐藤", "メンバー 鈴木", "別会社 管理者"):
        assert name in picker.text
    assert 'value="/settings/accounts/outlook?result=linked"' in picker.text

    chosen = client.post(
        "/identity", data={"account_id": "u-member-2", "next": "/settings/accounts/outlook?result=linked"}
    )
    assert chosen.status_code == 303
    assert chosen.headers["Location"] == "/settings/accounts/outlook?result=linked"
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=u-member-2;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    page = client.get("/settings/accounts/outlook?result=linked")
    assert page.status_code == 200
    assert "メンバー 鈴木" in page.text and 'data-role="member"' in page.text


@pytest.mark.parametrize("next_url", ["//evil.example/x", "https://evil.example/", "/\\evil.example", ""])
def test_identity_redirect_stays_on_the_console(client, next_url):
    response = client.post("/identity", data={"account_id": "u-admin-1", "next": next_url})
    assert response.headers["Location"] == DEFAULT_PAGE


def test_unknown_identity_is_refused(client):
    response = client.post("/identity", data={"account_id": "u-nobody"})
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers
    assert client.get("/settings/integrations/outlook").status_code == 303


# --- proxy -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "account_id, company_id, role",
    [
        ("u-admin-1", "herp-demo-1", "admin"),
        ("u-member-1", "herp-demo-1", "member"),
        ("u-admin-9", "herp-demo-2", "admin"),
    ],
)
def test_proxy_adds_a_valid_hs256_token_for_the_chosen_identity(client, api, account_id, company_id, role):
    sign_in(client, account_id)
    before = int(time.time())
    assert client.get("/api/outlook/tenant-links").status_code == 200
    (seen,) = api.requests
    scheme, token = seen["headers"]["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = decode(token)
    assert (claims["sub"], claims["company_id"], claims["role"]) == (account_id, company_id, role)
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 3600
    assert "Cookie" not in seen["headers"]  # the console's cookie is not the API's business


def test_proxy_forwards_method_path_query_body_and_returns_status_body_headers(client, api):
    sign_in(client)
    body = json.dumps({"tenant_id": "t-1", "名前": "テスト"}, ensure_ascii=False).encode()
    response = client.post(
        "/api/outlook/echo?x=1&y=%E3%81%82&x=2", data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    (seen,) = api.requests
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/api/outlook/echo", "x=1&y=%E3%81%82&x=2")
    assert seen["body"] == body
    assert seen["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert response.status_code == 201
    assert response.json == {"seen": body.decode()}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Upstream"] == "yes"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    for hop in ("Connection", "Keep-Alive", "Transfer-Encoding"):
        assert hop not in response.headers


def test_proxy_keeps_an_authorization_the_request_already_has(client, api):
    sign_in(client)
    client.get("/api/outlook/tenant-links", headers={"Authorization": "Bearer caller-own-token"})
    assert api.requests[0]["headers"]["Authorization"] == "Bearer caller-own-token"


def test_proxy_without_identity_sends_no_token(client, api):
    assert client.get("/api/outlook/tenant-links").status_code == 200
    assert "Authorization" not in api.requests[0]["headers"]


def test_proxy_passes_a_302_through_without_following_it(client, api):
    response = client.get("/api/outlook/callback?code=c&state=s")
    assert response.status_code == 302
    assert response.headers["Location"] == AUTHORIZE_URL
    assert response.headers["X-Flow"] == "sign-in"
    assert [r["path"] for r in api.requests] == ["/api/outlook/callback"]
    assert api.requests[0]["query"] == "code=c&state=s"


def test_proxy_passes_errors_and_no_content_through(client, api):
    sign_in(client)
    missing = client.post("/api/outlook/tenant-links/t-1/rooms/sync")
    assert missing.status_code == 404
    assert missing.json == {"error": {"code": "not_found", "message": "No such route <x>."}}
    deleted = client.delete("/api/outlook/user-links/l%201%E3%81%82")
    assert deleted.status_code == 204 and deleted.data == b""
    assert api.requests[-1]["path"] == "/api/outlook/user-links/l 1あ"


def test_proxy_reports_an_unreachable_api_as_json(api):
    server = FakeServer(fake_api)
    server.stop()  # a port nobody listens on any more
    client = Client(ConsoleApp(make_config(server.url)))
    response = client.get("/api/outlook/tenant-links")
    assert response.status_code == 502
    assert response.json["error"]["code"] == "api_unreachable"


def test_proxy_without_a_secret_answers_configuration_error(api):
    client = Client(ConsoleApp(make_config(api.url, jwt_secret="")))
    sign_in(client)
    response = client.get("/api/outlook/tenant-links")
    assert response.status_code == 500 and response.json["error"]["code"] == "configuration_error"


# --- pages -----------------------------------------------------------------------------------
@pytest.mark.parametrize("path, title", PAGES.items())
def test_pages_render_with_their_title_header_and_script(client, path, title):
    sign_in(client)
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert f"<h1>{title}" in response.text
    assert "管理者 山田" in response.text  # who am I, in the header
    assert 'href="/?next=' in response.text  # switch identity
    for link in ("/settings/integrations/outlook", "/settings/accounts/outlook"):
        assert f'href="{link}"' in response.text
    assert '<script src="/static/console.js"></script>' in response.text
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert not re.search(r"https?://(?!localhost)[\w.-]+/[\w/.-]*\.(js|css)", response.text)  # no CDN


def test_tenant_detail_page_carries_the_tenant_id_escaped(client):
    sign_in(client)
    response = client.get("/settings/integrations/outlook/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%22")
    assert response.status_code == 200
    assert "<img src=x" not in response.text
    assert 'data-tenant-id="&lt;img src=x onerror=alert(1)&gt;&quot;"' in response.text


def test_scheduling_page_offers_the_company_members_by_name(client):
    sign_in(client, "u-member-1")
    response = client.get("/scheduling")
    assert response.status_code == 200
    members = re.search(r'data-members="([^"]*)"', response.text).group(1)
    listed = json.loads(html.unescape(members))
    assert [m["id"] for m in listed] == ["u-admin-1", "u-member-1", "u-member-2"]  # not herp-demo-2's admin
    assert {m["name"] for m in listed} == {"管理者 山田", "メンバー 佐藤", "メンバー 鈴木"}


def test_identity_page_escapes_the_next_parameter(client):
    response = client.get('/?next=/x"><script>alert(1)</script>')
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text


def test_static_assets(client):
    js = client.get("/static/console.js")
    assert js.status_code == 200 and "javascript" in js.mimetype
    assert not re.search(r"\.(innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write", js.text)
    assert "outlook/tenant-links/authorize" in js.text and "consent_denied" in js.text
    css = client.get("/static/console.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert client.get("/static/app.py").status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404


def test_the_secret_never_reaches_the_browser(client):
    responses = [
        client.get("/"),
        client.get("/?next=/calendars"),
        client.post("/identity", data={"account_id": "bad"}),
        client.get("/static/console.js"),
        client.get("/static/console.css"),
    ]
    for account_id in ("u-admin-1", "u-member-1"):
        responses.append(sign_in(client, account_id))
        responses += [client.get(path) for path in PAGES]
    assert len(responses) == 5 + 2 * (1 + len(PAGES))
    for response in responses:
        assert SECRET not in response.get_data(as_text=True)
        assert all(SECRET not in value for _, value in response.headers.items())


# --- settings --------------------------------------------------------------------------------
def write_settings(root: Path, name: str, values: dict):
    (root / name).write_text(json.dumps({"IsEncrypted": False, "Values": values}), encoding="utf-8")


def test_settings_env_wins_over_local_settings(tmp_path):
    write_settings(tmp_path, "local.settings.sample.json", {"HERP_JWT_SECRET": "from-sample"})
    write_settings(
        tmp_path,
        "local.settings.json",
        {
            "HERP_JWT_SECRET": "from-file",
            "HERP_JWT_ISSUER": "iss-file",
            "HERP_JWT_AUDIENCE": "aud-file",
            "MS_REDIRECT_URI": "http://localhost:17071/api/outlook/callback",
            "MS_AUTHORITY_HOST": "https://localhost:18443/",
            "REQUESTS_CA_BUNDLE": "ca.pem",
        },
    )
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = load_config(environ={"HERP_JWT_ISSUER": "iss-env"}, root=tmp_path)
    assert (config.jwt_secret, config.jwt_issuer, config.jwt_audience) == ("from-file", "iss-env", "aud-file")
    assert config.api_base == "http://localhost:17071"  # where MS_REDIRECT_URI lives
    assert config.emulator_url == "https://localhost:18443"
    assert config.ca_bundle == str(tmp_path / "ca.pem")  # relative to the repo root
    assert load_config(api_base="http://127.0.0.1:9/", environ={}, root=tmp_path).api_base == "http://127.0.0.1:9"
    assert load_config(environ={"CONSOLE_API_URL": "http://h:1"}, root=tmp_path).api_base == "http://h:1"


def test_settings_fall_back_to_the_sample(tmp_path):
    write_settings(tmp_path, "local.settings.sample.json", {"HERP_JWT_SECRET": "from-sample"})
    config = load_config(environ={}, root=tmp_path)
    assert config.jwt_secret == "from-sample"
    assert config.api_base == "http://localhost:7071"
    assert config.ca_bundle is True
    assert load_config(environ={}, root=REPO).jwt_secret  # the repo's own files configure a secret


# --- the emulator note -----------------------------------------------------------------------
EMULATOR_STATE = {
    "tenants": [{"id": "c0a1", "displayName": "Contoso <Ltd>", "domain": "contoso.onmicrosoft.com"}],
    "users": [
        {
            "id": "a1",
            "tenant_id": "c0a1",
            "userPrincipalName": "aiko.admin@contoso.onmicrosoft.com",
            "displayName": "Aiko Sato",
            "roles": ["62e90394-69f5-4237-9190-012177145e10"],
            "has_mailbox": True,
        },
        {
            "id": "a3",
            "tenant_id": "c0a1",
            "userPrincipalName": "carl.nomail@contoso.onmicrosoft.com",
            "displayName": "Carl Ito",
            "roles": [],
            "has_mailbox": False,
        },
        {
            "id": "a9",
            "tenant_id": "c0a1",
            "userPrincipalName": "gone@contoso.onmicrosoft.com",
            "displayName": "Gone",
            "roles": [],
            "deleted": True,
        },
    ],
}


def test_header_lists_the_emulator_demo_users(api):
    emulator = FakeServer(lambda request: Response(json.dumps(EMULATOR_STATE), mimetype="application/json"))
    try:
        local = emulator.url.replace("127.0.0.1", "localhost")
        client = Client(ConsoleApp(make_config(api.url, emulator_url=local)))
        sign_in(client)
        page = client.get("/settings/accounts/outlook").text
        assert [r["path"] for r in emulator.requests] == ["/_emulator/state"]
        assert "aiko.admin@contoso.onmicrosoft.com" in page and "carl.nomail@contoso.onmicrosoft.com" in page
        assert "Contoso &lt;Ltd&gt;" in page and "gone@contoso" not in page
        client.get("/calendars")
        assert len(emulator.requests) == 1  # cached: pages do not wait on the emulator each time
    finally:
        emulator.stop()
    unreachable = Client(ConsoleApp(make_config(api.url, emulator_url=local)))
    sign_in(unreachable)
    page = unreachable.get("/settings/accounts/outlook")
    assert page.status_code == 200 and "not reachable" in page.text


def test_no_emulator_call_for_a_non_local_authority(api):
    note = EmulatorNote("https://login.microsoftonline.com")
    assert note.get() is None


# --- command line ----------------------------------------------------------------------------
def test_command_line_serves_and_proxies(api):
    env = {
        **os.environ,
        "HERP_JWT_SECRET": SECRET,
        "HERP_JWT_ISSUER": ISSUER,
        "HERP_JWT_AUDIENCE": AUDIENCE,
        "MS_AUTHORITY_HOST": "https://login.example.test",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.console", "--port", "0", "--api", api.url],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"console ready (http://localhost:(\d+))\n", line)
        assert match, line
        base = f"http://127.0.0.1:{match.group(2)}"
        session = requests.Session()
        session.trust_env = False
        assert "管理者 山田" in session.get(base + "/", timeout=5).text
        session.post(base + "/identity", data={"account_id": "u-admin-9"}, timeout=5, allow_redirects=False)
        api.requests.clear()
        response = session.get(base + "/api/outlook/callback?state=s", timeout=5, allow_redirects=False)
        assert response.status_code == 302 and response.headers["Location"] == AUTHORIZE_URL
        assert decode(api.requests[0]["headers"]["Authorization"][7:])["company_id"] == "herp-demo-2"
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


# --- optional: a real browser (only where Playwright and /usr/bin/chromium already exist) ----
CHROMIUM = "/usr/bin/chromium"


@contextlib.contextmanager
def console_in_chromium(api_handler):
    """The console in front of a fake API (`api_handler`), and a Chromium page on it: (page, base, api)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no {CHROMIUM}")
    api = FakeServer(api_handler)
    server = make_server("127.0.0.1", 0, ConsoleApp(make_config(api.url)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            yield browser.new_page(), f"http://127.0.0.1:{server.server_port}", api
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
        api.stop()


def browser_api(request: Request) -> Response:
    if request.path == "/api/outlook/tenant-links":
        link = {
            "tenant_id": "t-1",
            "tenant_name": "<img src=x onerror=alert(1)>",
            "status": "renewal_required",
            "admin_account": {"id": "a1", "email": "aiko@contoso.test", "display_name": "Aiko"},
            "linked_at": "2025-01-01T00:00:00Z",
            "renewed_at": None,
            "rooms": {"count": 0, "synced_at": None, "last_error": None},
        }
        return Response(json.dumps({"tenant_links": [link]}), mimetype="application/json")
    return fake_api(request)


def test_browser_renders_the_tenant_list_and_the_result_toast():
    with console_in_chromium(browser_api) as (page, base, api):
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(base + "/?next=/settings/integrations/outlook%3Fresult%3Derror%26reason%3Dadmin_required")
        page.click("button[value=u-admin-1]")
        page.wait_for_selector("#toast:not([hidden])")
        assert "admin required" in page.text_content("#toast")
        assert "result=" not in page.url  # the toast is shown once
        page.wait_for_selector("table")
        assert "<img src=x onerror=alert(1)>" in page.text_content("table")  # shown as text
        assert page.locator("main img").count() == 0 and dialogs == []
        page.route("https://localhost:8443/**", lambda route: route.fulfill(status=200, body="consent"))
        page.click("#link-tenant")
        page.wait_for_url("https://localhost:8443/**")


def completion_api(request: Request) -> Response:
    """The API of a flow's end: the completion `good` confirms once, anything else is refused."""
    if request.path == "/api/outlook/link-completions" and request.method == "POST":
        if json.loads(request.get_data()).get("completion") == "good":
            link = {
                "link_id": "ul_1",
                "account": {"id": "e1", "email": "emi@contoso.test", "display_name": "Emi"},
                "linked_at": "2025-01-01T00:00:00Z",
                "via": "user",
                "status": "active",
            }
            return Response(json.dumps({"result": "linked", "user_link": link}), mimetype="application/json")
        return Response(
            json.dumps({"error": {"code": "completion_not_found", "message": "No such link completion."}}),
            status=404,
            mimetype="application/json",
        )
    if request.path == "/api/outlook/user-links":
        return Response(json.dumps({"tenants": []}), mimetype="application/json")
    return fake_api(request)


@pytest.mark.parametrize(
    "code,toast",
    [
        ("good", "account linked"),
        ("stolen", "completion_not_found: No such link completion."),
    ],
)
def test_browser_confirms_a_completion_as_the_current_identity_before_loading_the_page(code, toast):
    with console_in_chromium(completion_api) as (page, base, api):
        page.goto(base + "/?next=/settings/accounts/outlook%3Fresult%3Dconfirm%26completion%3D" + code)
        page.click("button[value=u-member-1]")
        page.wait_for_selector("#toast:not([hidden])")
        assert toast in page.text_content("#toast")
        assert "completion" not in page.url and "result=" not in page.url  # a reload confirms nothing
        page.wait_for_selector("#content >> text=連携済みのテナントがありません")
    confirms = [r for r in api.requests if r["path"] == "/api/outlook/link-completions"]
    assert len(confirms) == 1 and confirms[0]["method"] == "POST"
    assert json.loads(confirms[0]["body"]) == {"completion": code}
    claims = decode(confirms[0]["headers"]["Authorization"].removeprefix("Bearer "))
    assert claims["sub"] == "u-member-1"
    first_read = next(i for i, r in enumerate(api.requests) if r["path"] == "/api/outlook/user-links")
    assert api.requests.index(confirms[0]) < first_read  # confirmed before the page read its data


def rooms_api(request: Request) -> Response:
    if request.path == "/api/outlook/tenant-links/t-1":
        link = {
            "tenant_id": "t-1",
            "tenant_name": "Contoso",
            "status": "active",
            "admin_account": {"id": "a1", "email": "aiko@contoso.test", "display_name": "Aiko"},
            "linked_at": "2025-01-01T00:00:00Z",
            "renewed_at": None,
            "rooms": {"count": 2, "synced_at": "2025-01-01T00:00:00Z", "last_error": None},
        }
        return Response(json.dumps(link), mimetype="application/json")
    if request.path == "/api/outlook/tenants/t-1/rooms":
        room = {
            "email": "r1@contoso.test",
            "display_name": "Tokyo 1",
            "capacity": 6,
            "building": "Tokyo HQ",
            "floor": "3F",
            "room_list": "tokyo@contoso.test",
            "wheelchair_accessible": True,
            "bookable": True,
            "tags": ["video", "whiteboard"],
        }
        reserved = {
            **room,
            "email": "r2@contoso.test",
            "display_name": "Board room",
            "capacity": None,
            "wheelchair_accessible": None,
            "bookable": False,
            "tags": [],
        }
        return Response(
            json.dumps({"rooms": [room, reserved], "synced_at": "2025-01-01T00:00:00Z", "stale": False}),
            mimetype="application/json",
        )
    return fake_api(request)


def test_browser_lists_the_rooms_with_their_fields_on_the_tenant_detail_page():
    with console_in_chromium(rooms_api) as (page, base, api):
        page.goto(base + "/?next=/settings/integrations/outlook/t-1")
        page.click("button[value=u-admin-1]")
        page.wait_for_selector("#room-table")
        page.click("#room-table summary")
        rows = [page.locator("#room-table tbody tr").nth(i).inner_text() for i in range(2)]
        assert "rooms: 2" in page.text_content("#room-table summary")
        assert "Tokyo 1" in rows[0] and "video, whiteboard" in rows[0] and "予約可" in rows[0] and "○" in rows[0]
        assert "Board room" in rows[1] and "予約不可 (reserved)" in rows[1]


# --- sandbox-only minting; the journey's pages ------------------------------------------------
def test_minted_calls_say_so_and_jwks_mode_mints_nothing(client, api):
    sign_in(client)
    response = client.get("/api/outlook/tenant-links")
    assert "sandbox console" in response.headers["X-Sandbox-Token"]
    assert "X-Sandbox-Token" not in client.get("/api/outlook/echo", headers={"Authorization": "Bearer x"}).headers
    production = Client(ConsoleApp(make_config(api.url, jwks_url="https://herp.example/jwks")))
    sign_in(production)
    api.requests.clear()
    refused = production.get("/api/outlook/tenant-links")
    assert refused.status_code == 500 and "HERP_JWT_JWKS_URL" in refused.json["error"]["message"]
    assert api.requests == []
    assert "sandbox only" in client.get("/events").text  # every page says it plays the frontend


def test_the_old_calendars_page_moved_to_events(client):
    sign_in(client)
    response = client.get("/calendars")
    assert response.status_code == 301 and response.headers["Location"].endswith("/events")


def journey_api(request: Request) -> Response:
    """A user link that needs a new sign-in, and an events page whose calendar read fails."""
    if request.path == "/api/outlook/user-links":
        link = {
            "link_id": "ul_1",
            "account": {"id": "e1", "email": "emi@contoso.test", "display_name": "Emi"},
            "linked_at": "2025-01-01T00:00:00Z",
            "via": "user",
            "status": "reauth_required",
        }
        tenant = {"tenant_id": "t-1", "tenant_name": "Contoso", "status": "active", "links": [link]}
        return Response(json.dumps({"tenants": [tenant]}), mimetype="application/json")
    if request.path == "/api/outlook/user-links/authorize":
        return Response(json.dumps({"authorize_url": AUTHORIZE_URL}), mimetype="application/json")
    if request.path == "/api/outlook/calendars":
        body = {"error": {"code": "graph_unavailable", "message": "Microsoft Graph is not available."}}
        return Response(json.dumps(body), status=503, mimetype="application/json")
    if request.path == "/api/outlook/changes":
        return Response(json.dumps({"changes": [], "next": "c1"}), mimetype="application/json")
    return fake_api(request)


def test_browser_offers_a_relink_for_reauth_required_and_shows_api_errors_with_code():
    with console_in_chromium(journey_api) as (page, base, api):
        page.goto(base + "/?next=/settings/accounts/outlook")
        page.click("button[value=u-member-1]")
        row = page.locator("tr[data-link-id=ul_1]")
        row.wait_for()
        assert "再認証が必要 (reauth_required)" in row.inner_text()
        page.route("https://localhost:8443/**", lambda route: route.fulfill(status=200, body="sign-in"))
        row.locator("button.relink").click()
        page.wait_for_url("https://localhost:8443/**")
        authorize = [r for r in api.requests if r["path"] == "/api/outlook/user-links/authorize"]
        assert json.loads(authorize[0]["body"]) == {"tenant_id": "t-1"}
        page.goto(base + "/events")
        page.wait_for_selector("#content .error-box")
        assert "graph_unavailable: Microsoft Graph is not available." in page.text_content("#content .error-box")
        page.goto(base + "/changes")
        page.wait_for_selector("#feed-state >> text=live, every 2 s")
    feeds = [r for r in api.requests if r["path"] == "/api/outlook/changes"]
    assert feeds and feeds[0]["query"] == ""


# --- Host header (DNS rebinding) ---------------------------------------------------------------
@pytest.mark.parametrize("host", ["localhost", "localhost:7072", "127.0.0.1:7072", "LOCALHOST", "[::1]:7072"])
def test_local_host_headers_are_served(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:7072", "localhost.evil.example", "127.0.0.1.nip.io:7072", "", "[::2]:7072"]
)
def test_other_host_headers_are_refused_before_anything_runs(client, api, host):
    for path in ("/", "/api/outlook/tenant-links"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 421 and response.json["error"]["code"] == "misdirected_request"


def health_api(request: Request) -> Response:
    """An admin's health view: a tenant to renew and an account whose user must relink."""
    if request.path == "/api/outlook/health":
        emi = {"id": "e1", "email": "emi@contoso.test", "display_name": "Emi"}
        body = {
            "tenants": [
                {
                    "tenant_id": "t-1",
                    "tenant_name": "Contoso",
                    "status": "renewal_required",
                    "admin_account": {"id": "a1", "email": "aiko@contoso.test", "display_name": "Aiko"},
                    "rooms": {"count": 3, "synced_at": "2026-12-01T00:00:00Z", "last_error": None},
                    "accounts": [
                        {
                            "account": emi,
                            "herp_account_ids": ["u-member-1"],
                            "status": "reauth_required",
                            "credential_checked_at": "2026-12-01T00:00:00Z",
                            "subscriptions": [
                                {
                                    "calendar_id": "cal-1",
                                    "expires_at": "2026-12-08T00:00:00Z",
                                    "reauthorized_at": "2026-12-01T00:00:00Z",
                                    "last_notification_at": None,
                                }
                            ],
                        }
                    ],
                }
            ],
            "webhook": {"pending": 2, "dead_lettered": 1, "last_delivered_at": None},
            "time_zone_data": "2026a",
            "client_credential": {"kind": "secret", "expires_at": "2027-01-01T00:00:00Z"},
        }
        return Response(json.dumps(body), mimetype="application/json")
    return fake_api(request)


def test_browser_health_page_shows_links_with_relink_hints():
    with console_in_chromium(health_api) as (page, base, _api):
        page.goto(base + "/?next=/health")
        page.click("button[value=u-admin-1]")
        row = page.locator("tr[data-account-id=e1]")
        row.wait_for()
        assert "再認証が必要 (reauth_required)" in row.inner_text() and "個人設定" in row.inner_text()
        tenant = page.locator("section[data-tenant-id=t-1]").inner_text()
        assert "連携更新" in tenant and "cal-1" in tenant
        assert "dead-lettered) 1" in page.text_content("#webhook")
