"""The host as a subprocess, serving a throwaway app, against Azurite."""

from __future__ import annotations

import base64
import json
import textwrap
import time

import pytest
import requests
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from .conftest import HostProcess, host_env

pytestmark = pytest.mark.integration

APP = textwrap.dedent("""
    import json, logging, os, pathlib, time
    import azure.functions as func

    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    bp = func.Blueprint()
    MARKERS = pathlib.Path(os.environ["MARKERS"])

    def mark(name, **data):
        with open(MARKERS / name, "a") as f:
            f.write(json.dumps(data) + "\\n")

    @app.route(route="greet/{name:alpha}/{id:int?}", methods=["GET", "POST"])
    def greet(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({
            "method": req.method, "route": dict(req.route_params), "query": dict(req.params),
            "body": req.get_body().decode(), "header": req.headers.get("x-test"),
            "function": context.function_name, "url": req.url,
        }), status_code=201, mimetype="application/json",
            headers={"Location": "/api/greet/elsewhere", "X-One": "1", "X-Two": "2"})

    @app.route(route="files/{*path}")
    def files(req):
        return func.HttpResponse(req.route_params.get("path", "<none>"))

    @app.route(route="enqueue/{text}", methods=["POST"])
    @app.queue_output(arg_name="out", queue_name="texts", connection="AzureWebJobsStorage")
    def enqueue(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
        out.set(req.route_params["text"])
        return func.HttpResponse(status_code=202)

    @app.route(route="boom")
    def boom(req):
        raise RuntimeError("kaboom from the app")

    @app.route(route="settings")
    async def settings(req):
        names = ("FROM_FILE", "BOTH", "AZURE_FUNCTIONS_ENVIRONMENT")
        return func.HttpResponse(json.dumps({k: os.environ.get(k) for k in names}))

    @app.route(route="length", methods=["POST"])
    def length(req):
        declared = int(req.headers.get("content-length") or 0)
        if declared > 1024 * 1024:  # what shared.http does: refused before the body is read
            return func.HttpResponse("too large", status_code=413)
        return func.HttpResponse(str(len(req.get_body())))

    @app.route(route="outlook/callback")
    def callback(req):
        logging.info("callback invoked")
        return func.HttpResponse("ok")

    @bp.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer")
    def tick(timer: func.TimerRequest):
        mark("tick", past_due=timer.past_due)

    @bp.timer_trigger(schedule="0 0 3 * * *", arg_name="timer", run_on_startup=False)
    def nightly(timer: func.TimerRequest):
        mark("nightly", past_due=timer.past_due)

    @bp.timer_trigger(schedule="0 0 3 * * *", arg_name="timer", run_on_startup=True)
    def at_startup(timer: func.TimerRequest):
        mark("startup", past_due=timer.past_due)

    @bp.queue_trigger(arg_name="text", queue_name="texts", connection="AzureWebJobsStorage")
    def as_text(text: str):
        mark("texts", body=text, type=type(text).__name__)

    @bp.queue_trigger(arg_name="msg", queue_name="%JOBS_QUEUE%", connection="AzureWebJobsStorage")
    def work(msg: func.QueueMessage):
        body = msg.get_body().decode()
        mark("work", body=body, dequeue_count=msg.dequeue_count, id=msg.id, t=time.time())
        if body.startswith("slow"):
            time.sleep(1)
        if body.startswith("fail"):
            raise ValueError("failing on purpose")

    app.register_functions(bp)
""")

HOST_JSON = {
    "version": "2.0",
    "extensions": {
        "http": {"routePrefix": "api"},
        "queues": {
            "maxPollingInterval": "00:00:01",
            "visibilityTimeout": "00:00:01",
            "batchSize": 4,
            "maxDequeueCount": 5,
            "messageEncoding": "base64",
        },
    },
}

LOCAL_SETTINGS = {
    "IsEncrypted": False,
    "Values": {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "TICK_SCHEDULE": "* * * * * *",
        "JOBS_QUEUE": "jobs",
        "FROM_FILE": "file",
        "BOTH": "file",
    },
}


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("app")
    (d / "function_app.py").write_text(APP)
    (d / "host.json").write_text(json.dumps(HOST_JSON))
    (d / "local.settings.json").write_text(json.dumps(LOCAL_SETTINGS))
    (d / "markers").mkdir()
    return d


@pytest.fixture(scope="module")
def host(app_dir, host_azurite, tmp_path_factory):
    env = host_env(MARKERS=str(app_dir / "markers"), BOTH="env", AZURITE_QUEUE_ENDPOINT=host_azurite.queue_endpoint)
    env.pop("AZURE_FUNCTIONS_ENVIRONMENT", None)  # the host sets Development, as Core Tools does
    h = HostProcess(app_dir, env, tmp_path_factory.mktemp("log") / "host.err")
    try:
        h.wait_ready()
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="module")
def jobs(host_azurite, host):
    return QueueClient.from_connection_string(
        host_azurite.connection_string, "jobs", message_encode_policy=TextBase64EncodePolicy()
    )


def marks(app_dir, name):
    path = app_dir / "markers" / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def peek(client):
    try:
        return list(client.peek_messages(max_messages=32))
    except ResourceNotFoundError:  # the host creates the poison queue when it needs it
        return []


def eventually(check, timeout=15.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def test_startup_lists_functions_then_ready(host):
    out = host.stdout_lines
    assert out[-1] == f"host ready {host.base}"
    text = "\n".join(out)
    assert f"greet: [GET,POST] {host.base}/api/greet/{{name:alpha}}/{{id:int?}}" in text
    assert "tick: timerTrigger" in text and "work: queueTrigger" in text


def test_http_route_params_query_body_headers(host):
    r = requests.post(
        f"{host.base}/api/greet/Ada/7?x=1&x=2&y=z",
        data=b"payload",
        headers={"X-Test": "hello"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 201
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Location"] == "/api/greet/elsewhere"
    assert (r.headers["X-One"], r.headers["X-Two"]) == ("1", "2")
    data = r.json()
    assert data["route"] == {"name": "Ada", "id": "7"}
    assert data["query"] == {"x": "1", "y": "z"}
    assert data["body"] == "payload" and data["method"] == "POST"
    assert data["header"] == "hello" and data["function"] == "greet"
    assert data["url"].startswith(f"{host.base}/api/greet/Ada/7?")
    # optional parameter absent
    assert requests.get(f"{host.base}/api/greet/Bob", timeout=10).json()["route"] == {"name": "Bob"}


def test_catch_all_and_percent_decoding(host):
    r = requests.get(f"{host.base}/api/files/a/b%20c/d.txt", timeout=10)
    assert (r.status_code, r.text) == (200, "a/b c/d.txt")


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/nothing"),
        ("GET", "/api/greet/Ada1"),
        ("GET", "/api/greet/Ada/x"),
        ("DELETE", "/api/greet/Ada"),
        ("GET", "/greet/Ada"),
        ("POST", "/admin/functions/nope"),
    ],
)
def test_404(host, method, path):
    assert requests.request(method, host.base + path, timeout=10).status_code == 404


def test_exception_is_500_with_empty_body_and_logged(host):
    r = requests.get(f"{host.base}/api/boom", timeout=10)
    assert r.status_code == 500 and r.content == b""
    assert eventually(lambda: "kaboom from the app" in host.stderr(), 5)
    assert "Traceback" in host.stderr()


def test_environment_wins_over_local_settings(host):
    assert requests.get(f"{host.base}/api/settings", timeout=10).json() == {
        "FROM_FILE": "file",
        "BOTH": "env",
        "AZURE_FUNCTIONS_ENVIRONMENT": "Development",
    }


def test_environment_decides_the_functions_environment(start_host, app_dir, tmp_path, host_azurite):
    other = start_host(
        app_dir,
        AZURE_FUNCTIONS_ENVIRONMENT="Production",
        MARKERS=str(tmp_path),
        AZURITE_QUEUE_ENDPOINT=host_azurite.queue_endpoint,
    )
    got = requests.get(f"{other.base}/api/settings", timeout=10).json()
    assert got["AZURE_FUNCTIONS_ENVIRONMENT"] == "Production"


def raw_exchange(host, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read the whole answer (the host closes every connection)."""
    import socket

    with socket.create_connection(("127.0.0.1", host.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_body_the_app_refuses_by_its_length_is_never_waited_for(host):
    # Content-Length says 5 MiB and nothing follows: the old host blocked reading it.
    head = b"POST /api/length HTTP/1.1\r\nHost: x\r\nContent-Length: 5242880\r\n\r\n"
    assert raw_exchange(host, head).startswith(b"HTTP/1.1 413")
    assert requests.post(f"{host.base}/api/length", data=b"abc", timeout=10).text == "3"


def test_a_body_over_the_functions_limit_is_413_from_the_host(host):
    head = b"POST /api/greet/x HTTP/1.1\r\nHost: x\r\nContent-Length: 104857601\r\n\r\n"
    assert raw_exchange(host, head).startswith(b"HTTP/1.1 413")


def test_a_malformed_request_line_is_logged_without_its_query(host):
    line = b"GET /api/outlook/callback?code=RAWCODE77 x&state=RAWSTATE88 HTTP/1.1\r\n\r\n"
    raw_exchange(host, line)  # http.server answers a bare 400 (no status line for HTTP/0.9)
    assert eventually(lambda: "Bad request" in host.stderr(), 5)
    assert "RAWCODE77" not in host.stderr() and "RAWSTATE88" not in host.stderr()


def test_request_log_has_path_but_no_query_or_header_values(host):
    r = requests.get(
        f"{host.base}/api/outlook/callback?code=SECRETCODE123&state=S7",
        headers={"Authorization": "Bearer TOKENVALUE456"},
        timeout=10,
    )
    assert r.status_code == 200
    assert eventually(lambda: "GET /api/outlook/callback 200" in host.stderr(), 5)
    log = host.stderr()
    assert "[callback]" in log and "callback invoked" in log
    assert "SECRETCODE123" not in log and "TOKENVALUE456" not in log


def test_timer_fires_every_second(host, app_dir):
    assert eventually(lambda: len(marks(app_dir, "tick")) >= 2, 10)
    assert marks(app_dir, "tick")[0] == {"past_due": False}


def test_run_on_startup(host, app_dir):
    assert eventually(lambda: marks(app_dir, "startup"), 5) == [{"past_due": False}]


def test_queue_trigger_annotated_str_gets_the_text(host, app_dir, host_azurite):
    texts = QueueClient.from_connection_string(
        host_azurite.connection_string, "texts", message_encode_policy=TextBase64EncodePolicy()
    )
    try:
        texts.create_queue()  # the host creates it too, maybe not yet
    except ResourceExistsError:
        pass
    texts.send_message("héllo")
    assert eventually(lambda: [m for m in marks(app_dir, "texts") if m["body"] == "héllo"], 10) == [
        {"body": "héllo", "type": "str"}
    ]


def test_queue_output_binding(host, app_dir):
    assert requests.post(f"{host.base}/api/enqueue/via-output", timeout=10).status_code == 202
    assert eventually(lambda: [m for m in marks(app_dir, "texts") if m["body"] == "via-output"], 10)


def test_queue_message_is_processed_and_deleted(host, app_dir, jobs):
    jobs.send_message("hello queue")
    done = eventually(lambda: [m for m in marks(app_dir, "work") if m["body"] == "hello queue"])
    assert done and done[0]["dequeue_count"] == 1
    assert eventually(lambda: not list(jobs.peek_messages(max_messages=32)), 5)


def test_messages_are_handled_concurrently(host, app_dir, jobs):
    for i in range(4):
        jobs.send_message(f"slow-{i}")  # each takes 1 s
    slow = lambda: [m for m in marks(app_dir, "work") if m["body"].startswith("slow-")]  # noqa
    assert eventually(lambda: len(slow()) == 4, 10)
    starts = [m["t"] for m in slow()]
    assert max(starts) - min(starts) < 0.9  # one after another they would start >= 3 s apart


def test_failing_message_goes_to_poison_after_5_dequeues(host, app_dir, jobs, host_azurite):
    jobs.send_message("fail-me")
    poison = QueueClient.from_connection_string(host_azurite.connection_string, "jobs-poison")
    expected = base64.b64encode(b"fail-me").decode()
    found = eventually(lambda: [m for m in peek(poison) if m.content == expected], 25, 0.25)
    assert found, host.stderr()[-3000:]
    attempts = [m["dequeue_count"] for m in marks(app_dir, "work") if m["body"] == "fail-me"]
    assert attempts == [1, 2, 3, 4, 5]
    assert not [m for m in jobs.peek_messages(max_messages=32) if m.content == expected]


def test_invalid_base64_goes_straight_to_poison(host, app_dir, host_azurite):
    raw = QueueClient.from_connection_string(host_azurite.connection_string, "jobs")
    raw.send_message("this is not base64!")
    poison = QueueClient.from_connection_string(host_azurite.connection_string, "jobs-poison")
    assert eventually(lambda: [m for m in peek(poison) if m.content == "this is not base64!"], 10)
    assert not [m for m in marks(app_dir, "work") if "not base64" in m["body"]]


def test_admin_runs_queue_function_without_a_queue(host, app_dir):
    r = requests.post(f"{host.base}/admin/functions/work", json={"input": "from admin"}, timeout=10)
    assert r.status_code == 202
    got = eventually(lambda: [m for m in marks(app_dir, "work") if m["body"] == "from admin"], 5)
    assert got and got[0]["dequeue_count"] == 1


def test_admin_runs_timer_function_now(host, app_dir):
    assert marks(app_dir, "nightly") == []
    r = requests.post(f"{host.base}/admin/functions/nightly", json={}, timeout=10)
    assert r.status_code == 202
    assert eventually(lambda: marks(app_dir, "nightly") == [{"past_due": False}], 5)


def test_admin_does_not_run_http_functions(host):
    r = requests.post(f"{host.base}/admin/functions/greet", json={"input": ""}, timeout=10)
    assert r.status_code == 404


def test_sigterm_exits_cleanly(host):
    """Last on purpose: stops the module's host."""
    assert host.stop() == 0
    assert "shutting down" in host.stderr()
