"""Argument binding and response conversion, without a server."""

import json
import logging

import azure.functions as func
import pytest
from werkzeug.test import Client

from devtools.host.app import Function, FunctionNameFilter, Invoker
from devtools.host.http import HostApp


def http_function(fn, route="r/{id}", methods=None):
    trigger = {"type": "httpTrigger", "name": "req", "route": route, "direction": 0}
    if methods:
        trigger["methods"] = methods
    return Function(fn.__name__, fn, trigger)


def client(*functions, background=None):
    app = HostApp(list(functions), "api", Invoker("."), background or (lambda f, t: None))
    return Client(app)


def test_binding_name_context_and_async():
    async def handler(request, context):
        return func.HttpResponse(
            json.dumps(
                {"id": request.route_params["id"], "fn": context.function_name, "inv": bool(context.invocation_id)}
            ),
            mimetype="application/json",
        )

    f = http_function(handler)
    f.trigger["name"] = "request"
    r = client(f).get("/api/r/5")
    assert r.status_code == 200 and r.json == {"id": "5", "fn": "handler", "inv": True}


def test_response_headers_cookies_charset():
    def cookies(req):
        resp = func.HttpResponse("hé", status_code=302, headers={"Location": "/next"}, charset="utf-8")
        resp.headers.add("Set-Cookie", "a=1")
        resp.headers.add("Set-Cookie", "b=2")
        return resp

    r = client(http_function(cookies)).get("/api/r/1")
    assert r.status_code == 302 and r.headers["Location"] == "/next"
    assert r.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.get_data() == "hé".encode()


def test_methods_filter_is_404():
    f = http_function(lambda req: "ok", methods=["POST"])
    f.name = "only_post"
    c = client(f)
    assert c.post("/api/r/1").status_code == 200
    assert c.get("/api/r/1").status_code == 404


@pytest.mark.parametrize("result", [None, 42])
def test_bad_return_value_is_500(result):
    r = client(http_function(lambda req: result)).get("/api/r/1")
    assert r.status_code == 500 and r.get_data() == b""


def test_admin_endpoint():
    calls = []
    timer = Function("tick", lambda t: None, {"type": "timerTrigger", "name": "t"})
    c = client(timer, http_function(lambda req: "x"), background=lambda f, t: calls.append((f.name, t)))
    assert c.post("/admin/functions/TICK", json={"input": "abc"}).status_code == 202
    assert c.post("/admin/functions/tick").status_code == 202
    assert c.post("/admin/functions/tick", data="{not json").status_code == 400
    assert c.get("/admin/functions/tick").status_code == 404
    assert c.post("/admin/functions/<lambda>").status_code == 404  # HTTP functions: no
    assert calls == [("tick", "abc"), ("tick", "")]


def test_log_records_carry_the_function_name(caplog):
    seen = []

    class Grab(logging.Handler):
        def emit(self, record):
            seen.append(record.function)

    handler = Grab()
    handler.addFilter(FunctionNameFilter())
    logging.getLogger().addHandler(handler)
    try:

        def logs(req):
            logging.getLogger("app").warning("inside")
            return "ok"

        client(http_function(logs)).get("/api/r/1")
        logging.getLogger("app").warning("outside")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "logs" in seen and seen[-1] == "host"
