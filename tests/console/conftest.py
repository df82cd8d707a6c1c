"""Shared helpers of the console tests: a fake API (and emulator) as werkzeug servers on free
ports, the console's test configuration, signing in."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import jwt
import pytest
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from devtools.console.app import ConsoleApp
from devtools.console.config import ConsoleConfig

REPO = Path(__file__).resolve().parents[2]
SECRET = "console-test-secret-4f1b7c0e9a2d-do-not-leak"
ISSUER = "https://hire.herp.test"
AUDIENCE = "herp-outlook-integration"
AUTHORIZE_URL = "https://localhost:8443/organizations/oauth2/v2.0/authorize?client_id=x&state=abc%2Fdef"
PAGES = {
    "/settings/integrations/outlook": "外部サービス連携",
    "/settings/integrations/outlook/c0a1c0a1-0000-4000-8000-000000000001": "Outlook連携詳細",
    "/settings/accounts/outlook": "Outlookユーザー一覧",
    "/events": "選考予定",
    "/changes": "変更履歴",
    "/scheduling": "日程調整",
}


class FakeServer:
    """A werkzeug WSGI app on a free port in a thread; records every request it gets."""

    def __init__(self, handler):
        self.requests: list[dict] = []
        self.handler = handler
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @Request.application
    def wsgi(self, request: Request):
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode(),
                "body": request.get_data(),
                "headers": dict(request.headers),
            }
        )
        return self.handler(request)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def fake_api(request: Request) -> Response:
    path = request.path
    if path == "/api/outlook/tenant-links" and request.method == "GET":
        return Response(json.dumps({"tenant_links": []}), mimetype="application/json")
    if path == "/api/outlook/tenant-links/authorize":
        return Response(json.dumps({"authorize_url": AUTHORIZE_URL}), mimetype="application/json")
    if path == "/api/outlook/callback":
        return Response("", status=302, headers={"Location": AUTHORIZE_URL, "X-Flow": "sign-in"})
    if path.startswith("/api/outlook/user-links/") and request.method == "DELETE":
        return Response(status=204)
    if path == "/api/outlook/echo":
        body = json.dumps({"seen": request.get_data(as_text=True)})
        return Response(
            body,
            status=201,
            mimetype="application/json",
            headers=[("X-Upstream", "yes"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
        )
    return Response(
        json.dumps({"error": {"code": "not_found", "message": "No such route <x>."}}),
        status=404,
        mimetype="application/json",
    )


@pytest.fixture(scope="module")
def api():
    server = FakeServer(fake_api)
    yield server
    server.stop()


def make_config(api_base: str, **overrides) -> ConsoleConfig:
    values = dict(
        api_base=api_base, jwt_secret=SECRET, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, emulator_url="", ca_bundle=True
    )
    return ConsoleConfig(**{**values, **overrides})


@pytest.fixture
def client(api):
    api.requests.clear()
    return Client(ConsoleApp(make_config(api.url)))


def sign_in(client: Client, account_id: str = "u-admin-1"):
    response = client.post("/identity", data={"account_id": account_id, "next": "/"})
    assert response.status_code == 303
    return response


def decode(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
