"""The WSGI app: HTTP triggers under the route prefix, and the admin endpoints."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import unquote

import azure.functions as func
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from .routes import Router, split_path

log = logging.getLogger("devtools.host")
# The Functions host refuses a request body over 100 MB with 413 (Azure Functions HTTP trigger
# docs, "Limits": "The HTTP request length is limited to 100 MB (104,857,600 bytes)").
MAX_REQUEST_BYTES = 104_857_600


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug would log the request line with its query string; we log our own line. Its
    error lines (a malformed request line, a bad version) quote the request line too: they are
    logged with every query cut off, since a query may hold an OAuth `code` or `state`."""

    def log_request(self, *args, **kwargs):
        pass

    def log_error(self, format: str, *args) -> None:
        message = format % args if args else format
        if "?" in message:  # everything after it may be query, however the line is quoted
            message = message.split("?", 1)[0] + "?... (query not logged)"
        super().log_error("%s", message)


class LazyBodyRequest(func.HttpRequest):
    """An HttpRequest whose body is read from the connection when the function first asks for
    it: an app that refuses a body by its Content-Length (shared.http: 413 over 1 MiB) never
    makes the host read megabytes first. werkzeug's stream stops at Content-Length, and the
    server closes every connection after its response, so an unread body does no harm."""

    def __init__(self, *, read_body, **kwargs):
        super().__init__(body=b"", **kwargs)
        self._read_body = read_body
        self._body: bytes | None = None

    def get_body(self) -> bytes:
        if self._body is None:
            self._body = self._read_body()
        return self._body

    def get_json(self):
        return json.loads(self.get_body().decode("utf-8"))


def empty(status: int) -> Response:
    resp = Response(status=status)
    del resp.headers["Content-Type"]
    return resp


def build_router(functions, route_prefix: str) -> Router:
    router = Router(route_prefix)
    for f in functions:
        if f.kind == "httpTrigger":
            router.add(f.trigger.get("route") or f.name, f.trigger.get("methods"), f)
    return router


def _raw_path(environ) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        raw = raw.split("?", 1)[0]
        if "://" in raw:  # absolute-form request target
            raw = "/" + raw.split("://", 1)[1].partition("/")[2]
        return raw
    return environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")


def _to_response(result) -> Response:
    if isinstance(result, func.HttpResponse):
        headers = result.headers
        out = [(k, v) for k, v in headers.items() if k.lower() != "set-cookie"]
        # like the Python worker: one value per header name (the last), except Set-Cookie
        merged = {}
        for k, v in out:
            merged[k.lower()] = (k, v)
        pairs = list(merged.values()) + [("Set-Cookie", v) for v in headers.get_all("Set-Cookie")]
        if "content-type" not in merged:
            ct = result.mimetype
            if ct.startswith("text/"):
                ct = f"{ct}; charset={result.charset}"
            pairs.append(("Content-Type", ct))
        resp = Response(result.get_body(), status=result.status_code)
        resp.headers.clear()
        for k, v in pairs:
            resp.headers.add(k, v)
        return resp
    if isinstance(result, str):
        return Response(result, status=200, content_type="text/plain; charset=utf-8")
    if isinstance(result, (bytes, bytearray)):
        return Response(bytes(result), status=200, content_type="application/octet-stream")
    raise TypeError(f"HTTP function returned {type(result).__name__}, expected func.HttpResponse")


class HostApp:
    """WSGI application. ``run_in_background(function, input_text)`` serves the admin API."""

    def __init__(self, functions, route_prefix, invoker, run_in_background):
        self.functions = {f.name.lower(): f for f in functions}
        self.router = build_router(functions, route_prefix)
        self.invoker = invoker
        self.run_in_background = run_in_background

    def __call__(self, environ, start_response):
        request = Request(environ)
        started = time.monotonic()
        raw_path = _raw_path(environ)
        name = "-"
        try:
            segments = split_path(raw_path)
            if segments[:1] == ["admin"]:
                response, name = self.admin(request, [unquote(s) for s in segments[1:]])
            else:
                matched = self.router.match(request.method, raw_path)
                if matched is None:
                    response = empty(404)
                else:
                    function, route_params = matched
                    name = function.name
                    response = self.invoke_http(request, function, route_params)
        except Exception:  # a host bug: still answer
            log.exception("host error on %s %s", request.method, raw_path)
            response = empty(500)
        log.info(
            "%s %s %s %d %s",
            request.method,
            raw_path,
            response.status_code,
            round((time.monotonic() - started) * 1000),
            name,
        )
        return response(environ, start_response)

    def invoke_http(self, request: Request, function, route_params) -> Response:
        headers = {}
        for k, v in request.headers.items():
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return empty(413)  # like the Functions host, before reading any of it
        req = LazyBodyRequest(
            method=request.method,
            url=request.url,
            headers=headers,
            params={k: request.args.get(k) for k in request.args.keys()},
            route_params=route_params,
            read_body=lambda: request.get_data(cache=False),
        )
        try:
            result = self.invoker(function, req)
        except Exception:  # logged by the invoker, with the traceback
            return empty(500)  # like Core Tools: no body, nothing about the error
        try:
            if result is None:
                raise TypeError("HTTP function returned None, expected func.HttpResponse")
            return _to_response(result)
        except Exception:
            log.exception("function '%s' returned an unusable value", function.name)
            return empty(500)

    def admin(self, request: Request, rest: list[str]):
        """-> (response, function name or '-')"""
        if rest == ["host", "status"] and request.method == "GET":
            body = json.dumps({"state": "Running"})
            return Response(body, content_type="application/json"), "-"
        if len(rest) != 2 or rest[0].lower() != "functions" or request.method != "POST":
            return empty(404), "-"
        function = self.functions.get(rest[1].lower())
        if function is None or function.kind == "httpTrigger":
            return empty(404), "-"
        data = request.get_data(cache=False)
        try:
            payload = json.loads(data) if data.strip() else {}
        except ValueError:
            return empty(400), function.name
        text = payload.get("input") if isinstance(payload, dict) else None
        self.run_in_background(function, "" if text is None else str(text))
        return empty(202), function.name
