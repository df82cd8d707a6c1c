"""``python -m devtools.host --port P [--host H] [--app-dir DIR]``: serve function_app.py
the way Azure Functions Core Tools (``func start``) does. See devtools/host/README.md."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from werkzeug.serving import make_server

from . import app as app_mod
from .http import HostApp, QuietRequestHandler
from .ncrontab import parse_schedule
from .queues import QueueListener, QueueSender, admin_message
from .routes import RouteError, RouteTemplate
from .settings import SettingError, load_host_config, load_local_settings
from .timers import TimerRunner, timer_request

log = logging.getLogger("devtools.host")
SHUTDOWN_GRACE = 5.0  # seconds running invocations get to finish on Ctrl-C / SIGTERM


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m devtools.host", description=__doc__)
    p.add_argument("--port", type=int, default=7071)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--app-dir", default=".", type=Path)
    return p.parse_args(argv)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def describe(f, base: str) -> str:
    if f.kind == "httpTrigger":
        methods = f.trigger.get("methods")
        shown = f"[{','.join(m.upper() for m in methods)}] " if methods else ""
        return f"{f.name}: {shown}{base}/{(f.trigger.get('route') or f.name).lstrip('/')}"
    return f"{f.name}: {f.kind}"


def main(argv=None) -> int:
    args = parse_args(argv)
    app_dir = args.app_dir.resolve()
    app_mod.setup_logging()
    if not (app_dir / "function_app.py").is_file():
        return fail(f"no function_app.py in {app_dir}")
    try:
        load_local_settings(app_dir)
        # Core Tools runs the app as Development unless the environment (or local.settings.json)
        # says otherwise; Azure leaves it unset (the app refuses its sandbox-only HS256 there).
        os.environ.setdefault("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
        config = load_host_config(app_dir)
    except SettingError as exc:
        return fail(str(exc))
    os.chdir(app_dir)  # the worker's working directory is the app root, as in Core Tools
    try:
        functions = app_mod.load_app(app_dir)
    except app_mod.AppLoadError as exc:
        traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        return fail(str(exc))

    usable = []
    for f in functions:
        try:
            app_mod.resolve_bindings(f, os.environ)
            if f.kind == "httpTrigger":
                RouteTemplate(f.trigger.get("route") or f.name)
            elif f.kind == "timerTrigger":
                parse_schedule(f.trigger.get("schedule", ""))
            elif f.kind not in ("httpTrigger", "queueTrigger"):
                raise SettingError(f"trigger type '{f.kind}' is not supported by devtools.host")
        except (SettingError, RouteError) as exc:  # Core Tools: the function is disabled, the host runs on
            log.error("The function '%s' failed indexing: %s", f.name, exc)
            continue
        for b in f.other:
            log.warning(
                "function '%s': binding '%s' (%s) is not provided by devtools.host; it receives None",
                f.name,
                b.get("name"),
                b.get("type"),
            )
        usable.append(f)

    stop = threading.Event()
    invoker = app_mod.Invoker(app_dir, QueueSender(config.queues.message_encoding, os.environ))

    def run_in_background(function, text):
        value = timer_request(False) if function.kind == "timerTrigger" else admin_message(text)

        def target():
            try:
                invoker(function, value)
            except Exception:
                pass  # logged by the invoker

        threading.Thread(target=target, name=f"admin:{function.name}", daemon=True).start()

    wsgi = HostApp(usable, config.route_prefix, invoker, run_in_background)
    try:
        server = make_server(args.host, args.port, wsgi, threaded=True, request_handler=QuietRequestHandler)
    except OSError as exc:
        return fail(f"cannot listen on {args.host}:{args.port}: {exc}")
    server.daemon_threads = True

    workers = []
    for f in usable:
        try:
            if f.kind == "timerTrigger":
                workers.append(TimerRunner(f, invoker, stop))
            elif f.kind == "queueTrigger":
                workers.append(QueueListener(f, config.queues, invoker, stop, os.environ))
        except SettingError as exc:
            log.error("The function '%s' cannot start: %s", f.name, exc)

    base = f"http://{args.host}:{server.server_port}"
    api = base + (f"/{config.route_prefix}" if config.route_prefix else "")
    print("Functions:\n", flush=True)
    for f in usable:
        print(f"        {describe(f, api)}\n", flush=True)
    print(f"host ready {base}", flush=True)

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    for w in workers:
        w.start()
    while not stop.wait(0.5):
        pass
    log.info("shutting down")
    server.shutdown()
    if not app_mod.invocations.wait_idle(SHUTDOWN_GRACE):
        log.warning(
            "%d invocation(s) still running after %.0f s; exiting anyway", app_mod.invocations.running, SHUTDOWN_GRACE
        )
    time.sleep(0.1)  # let the server threads write the last responses
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
